"""Device, seeding and mixed precision: the few run-time helpers the paper's code needs.

They sit at the top of the package, below everything else: the networks, the models,
the training pipeline and the course all use them, and they import nothing from the package.
"""

from __future__ import annotations

import random
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


def autocast(device: torch.device, enabled: bool = True) -> AbstractContextManager:
    """Mixed precision on CUDA only (bf16 where supported, else fp16).

    The CPU path stays plain fp32: whether bf16 autocast helps on a CPU depends on the
    CPU (it needs native bf16 instructions), so it is measured, not assumed; see
    ``bench/bench_cyclegan.py``.
    """
    if not enabled or device.type != "cuda":
        return nullcontext()
    dtype = torch.bfloat16 if torch.cuda.is_bf16_supported() else torch.float16
    return torch.autocast("cuda", dtype=dtype)
