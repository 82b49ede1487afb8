"""Device, seeding and mixed precision: the few run-time helpers the paper's code needs.

They sit at the top of the package, below everything else: the networks, the models,
the training pipeline and the course all use them, and they import nothing from the package.
"""

from __future__ import annotations

import ctypes
import ctypes.util
import os
import random
import signal
import sys
from contextlib import AbstractContextManager, nullcontext

import numpy as np
import torch


def get_device(prefer: str | None = None) -> torch.device:
    """CUDA if available, then Apple MPS, then the CPU (or ``prefer`` when given)."""
    if prefer:
        return torch.device(prefer)
    if torch.cuda.is_available():
        return torch.device("cuda")
    mps = getattr(torch.backends, "mps", None)
    if mps is not None and mps.is_available():
        return torch.device("mps")
    return torch.device("cpu")


def seed_everything(seed: int) -> torch.Generator:
    """Seed ``random``, NumPy and torch (all devices) and return a seeded CPU generator."""
    random.seed(seed)
    np.random.seed(seed % 2**32)
    torch.manual_seed(seed)
    return torch.Generator().manual_seed(seed)


ONEDNN_ISA_BELOW: dict[str, tuple[str, ...]] = {
    "SSE41": (),
    "AVX": ("SSE41",),
    "AVX2": ("AVX",),
    "AVX2_VNNI": ("AVX2",),
    "AVX2_VNNI_2": ("AVX2_VNNI",),
    "AVX512_CORE": ("AVX2",),
    "AVX512_CORE_VNNI": ("AVX512_CORE",),
    "AVX512_CORE_BF16": ("AVX512_CORE_VNNI",),
    "AVX10_1_512": ("AVX512_CORE_BF16", "AVX2_VNNI"),
    "AVX10_1_512_AMX": ("AVX10_1_512",),
    "AVX10_1_512_AMX_FP16": ("AVX10_1_512_AMX",),
    "AVX10_2": ("AVX10_1_512",),
    "AVX10_2_AMX_2": ("AVX10_1_512_AMX_FP16", "AVX10_2"),
}
"""oneDNN's instruction sets, each with those directly below it: the partial order that
oneDNN's documentation of ``ONEDNN_MAX_CPU_ISA`` gives (a cap allows its instruction set
and every one below it, so ``AVX2_VNNI_2`` allows no AVX-512 and ``AVX10_1_512`` no AMX)."""

ONEDNN_ISA_ALIASES = {
    "AVX512_CORE_FP16": "AVX10_1_512",
    "AVX512_CORE_AMX": "AVX10_1_512_AMX",
    "AVX512_CORE_AMX_FP16": "AVX10_1_512_AMX_FP16",
    "AVX10_2_512": "AVX10_2",
    "AVX10_2_512_AMX_2": "AVX10_2_AMX_2",
}
"""The older names oneDNN still accepts for the same caps."""


def onednn_isa_cap() -> str:
    """The highest instruction set oneDNN may use: ``$ONEDNN_MAX_CPU_ISA`` in capitals, or
    ``"ALL"`` when it is not set."""
    return os.environ.get("ONEDNN_MAX_CPU_ISA", "ALL").upper()


def onednn_may_use(isa: str) -> bool:
    """Whether ``ONEDNN_MAX_CPU_ISA`` lets oneDNN use the instruction set ``isa`` (a key of
    :data:`ONEDNN_ISA_BELOW`), were the CPU to have it.

    No cap, ``ALL`` or ``DEFAULT`` allows everything. A cap this table does not know counts
    as allowing none of them: the callers then choose fp32, which is right on every CPU,
    instead of a bf16 path that runs ten times slower where oneDNN may not use the
    instructions made for it.
    """
    cap = onednn_isa_cap()
    if cap in {"ALL", "DEFAULT"}:
        return True
    below = [ONEDNN_ISA_ALIASES.get(cap, cap)]
    while below:
        allowed = below.pop()
        if allowed == isa:
            return True
        below.extend(ONEDNN_ISA_BELOW.get(allowed, ()))
    return False


def cpu_has_amx() -> bool:
    """True when the CPU has AMX tiles (Intel Xeon since Sapphire Rapids), as PyTorch detects
    them, and oneDNN may use them.

    AMX multiplies bf16 matrices in hardware tiles; AVX512-BF16 alone (e.g. AMD EPYC) only
    converts and dots bf16 vectors. ``bench/course_speed.py`` measures what each gives.
    ``ONEDNN_MAX_CPU_ISA`` set to an instruction set below AMX (``AVX2``, ``AVX512_CORE``)
    keeps oneDNN off the tiles, and bf16 convolutions then run an order of magnitude slower
    than fp32, so the tiles count as absent. That variable, with ``ATEN_CPU_CAPABILITY=avx2``,
    is also how one CPU can stand in for an older one in a benchmark.
    """
    if not onednn_may_use("AVX10_1_512_AMX"):
        return False
    return bool(getattr(torch.cpu, "_is_amx_tile_supported", lambda: False)())


def cpu_has_native_bf16() -> bool:
    """True when the CPU computes bf16 in hardware, with AMX or AVX512-BF16 (as PyTorch
    detects them), and oneDNN may use those instructions."""
    if cpu_has_amx():
        return True
    avx512_bf16 = getattr(torch.cpu, "_is_avx512_bf16_supported", lambda: False)()
    return bool(avx512_bf16) and onednn_may_use("AVX512_CORE_BF16")


def cpu_bf16(enabled: bool) -> AbstractContextManager:
    """bf16 autocast on the CPU when ``enabled``, else nothing (plain fp32)."""
    return torch.autocast("cpu", dtype=torch.bfloat16) if enabled else nullcontext()


def autocast(device: torch.device, enabled: bool = True) -> AbstractContextManager:
    """Mixed precision on CUDA only (bf16 where supported, else fp16).

    The CPU path stays plain fp32 here: whether bf16 autocast helps on a CPU depends on
    the CPU and the model, so it is measured, not assumed (``bench/course_speed.py``), and
    turned on per lesson where it paid (:func:`cpu_bf16`, lessons 01-02 on AMX CPUs).
    """
    if not enabled or device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)


def end_with_parent() -> None:
    """Run in a worker process (a pool's ``initializer``): on Linux, the kernel sends the
    worker SIGTERM when the process that started it dies, so a killed notebook kernel or
    bench leaves no training running on the CPUs for nobody. Elsewhere it does nothing.
    """
    if not sys.platform.startswith("linux"):
        return
    libc = ctypes.CDLL(ctypes.util.find_library("c") or "libc.so.6", use_errno=True)
    pr_set_pdeathsig = 1  # from <linux/prctl.h>
    libc.prctl(pr_set_pdeathsig, signal.SIGTERM)
