"""How fast a CycleGAN trains on this machine: seconds per iteration, images/s, peak memory.

One *iteration* is what the trainer does per batch: ``set_input`` and the reference's
``optimize_parameters`` (both generators, then both discriminators). Everything here times
that, the device finished, as a median over repeats:

* :func:`estimate_epoch`: how long an epoch (and the whole run) of a :class:`Trainer` will
  take, timed on a throwaway copy of its model before training starts;
* :func:`measure_here` / :func:`measure`: images/s and peak memory of one model size, batch
  and precision (:class:`SpeedSpec`), in this process or in a fresh one;
* :func:`speed_table`: the measured rows as a plain-text table.

``bench/bench_cyclegan.py`` (plain fp32 vs the fast path) and ``bench/speed_table.py`` (the
memory/speed table) are command-line drivers over these functions.
"""

from __future__ import annotations

import json
import math
import resource
import statistics
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import torch

from cyclegan_lib.models import BaseModel, CycleGANModel, ModelConfig
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.runtime import get_device


def random_batch(batch_size: int, size: int, seed: int = 0) -> dict:
    """A batch like the unaligned loader's, of uniform noise in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(2, batch_size, 3, size, size, generator=g) * 2 - 1
    names = [f"{i}.png" for i in range(batch_size)]
    return {"A": images[0], "B": images[1], "A_paths": names, "B_paths": names}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def time_iteration(model: BaseModel, batch: dict) -> float:
    """Seconds for one ``set_input`` + ``optimize_parameters``, the device finished.

    Raises:
        RuntimeError: a loss came out NaN or infinite (a timing of a broken run means nothing).
    """
    _synchronize(model.device)
    start = time.perf_counter()
    model.set_input(batch)
    losses = model.optimize_parameters()
    _synchronize(model.device)
    elapsed = time.perf_counter() - start
    if not all(math.isfinite(value) for value in losses.values()):
        raise RuntimeError(f"non-finite loss while timing: {losses}")
    return elapsed


def seconds_per_iteration(
    model: BaseModel,
    batch: dict,
    iters: int,
    warmup: int = 1,
    progress: Callable[[range], Iterable[int]] | None = None,
) -> float:
    """Median wall time of ``iters`` training iterations after ``warmup`` untimed ones;
    ``progress`` (a tqdm bar, say) wraps the timed iterations."""
    for _ in range(warmup):
        time_iteration(model, batch)
    timed = range(iters) if progress is None else progress(range(iters))
    return statistics.median(time_iteration(model, batch) for _ in timed)


# ---------------------------------------------------------------- one row of the speed table
@dataclass(frozen=True)
class SpeedSpec:
    """One row of the memory/speed table: the model, the image size, batch and precision.

    ``amp`` turns on what the library does on CUDA for speed (autocast and channels-last);
    the CPU always trains in fp32.
    """

    size: int = 256
    batch_size: int = 1
    amp: bool = False
    n_blocks: int = 9
    ngf: int = 64
    ndf: int = 64
    iters: int = 10
    warmup: int = 3
    device: str | None = None


def build_model(spec: SpeedSpec, device: torch.device) -> CycleGANModel:
    """The reference CycleGAN (ResNet G, 70x70 PatchGAN, LSGAN, pool 50) at ``spec``'s size.

    Seeded, so two models of the same spec start from the same weights.
    """
    config = ModelConfig.for_model(
        "cycle_gan",
        netG=f"resnet_{spec.n_blocks}blocks",
        ngf=spec.ngf,
        ndf=spec.ndf,
        amp=spec.amp,
        channels_last=spec.amp,
    )
    torch.manual_seed(0)
    return CycleGANModel(config, device, torch.Generator().manual_seed(0))


def peak_resident_mib() -> float:
    """This process's peak resident memory in MiB.

    Linux's ``VmHWM``, which starts afresh in a new program; ``ru_maxrss`` would instead
    report the parent's size at ``fork`` (a 3 GiB notebook kernel, say) for a small child.
    """
    status = Path("/proc/self/status")
    if status.exists():
        for line in status.read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024  # kB
    maxrss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return maxrss / 2**20 if sys.platform == "darwin" else maxrss / 1024  # bytes there, else KiB


def _precision(spec: SpeedSpec, device: torch.device) -> str:
    if not (spec.amp and device.type == "cuda"):
        return "fp32"
    return "bf16" if torch.cuda.is_bf16_supported() else "fp16"


def measure_here(spec: SpeedSpec) -> dict:
    """Images/s and peak memory of full training iterations, in *this* process.

    Peak memory is ``torch.cuda.max_memory_allocated`` on CUDA (tensors only), and the
    process's peak resident set size on the CPU (which includes PyTorch itself, ~0.3 GiB).
    """
    device = get_device(spec.device)
    model = build_model(spec, device)
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    batch = random_batch(spec.batch_size, spec.size)
    seconds = seconds_per_iteration(model, batch, spec.iters, spec.warmup)
    on_cuda = device.type == "cuda"
    return {
        "device": torch.cuda.get_device_name(device) if on_cuda else "cpu",
        "size": spec.size,
        "batch_size": spec.batch_size,
        "precision": _precision(spec, device),
        "seconds_per_iteration": seconds,
        "images_per_second": spec.batch_size / seconds,
        "peak_memory_mib": torch.cuda.max_memory_allocated(device) / 2**20
        if on_cuda
        else peak_resident_mib(),
    }


_CHILD = (
    "import json, sys\n"
    "from cyclegan_lib.pipeline.speed import SpeedSpec, measure_here\n"
    "print(json.dumps(measure_here(SpeedSpec(**json.loads(sys.argv[1])))))\n"
)


def measure(spec: SpeedSpec, timeout: float = 1800) -> dict:
    """:func:`measure_here` in a fresh Python process, so peak memory counts only this row."""
    command = [sys.executable, "-c", _CHILD, json.dumps(asdict(spec))]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"measuring {spec} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed_specs(base: SpeedSpec, batch_sizes: Sequence[int], on_cuda: bool) -> list[SpeedSpec]:
    """fp32 and (on CUDA only) mixed precision, for each batch size."""
    precisions = (False, True) if on_cuda else (False,)
    return [replace(base, batch_size=b, amp=amp) for b in batch_sizes for amp in precisions]


def speed_table(rows: Sequence[dict]) -> str:
    """The measured rows as a plain-text table."""
    lines = [
        f"{'device':<24} {'px':>4} {'batch':>5} {'precision':>9} {'s/iter':>8} "
        f"{'images/s':>9} {'peak MiB':>9}"
    ]
    for r in rows:
        lines.append(
            f"{r['device'][:24]:<24} {r['size']:>4} {r['batch_size']:>5} {r['precision']:>9} "
            f"{r['seconds_per_iteration']:>8.3f} {r['images_per_second']:>9.2f} "
            f"{r['peak_memory_mib']:>9.0f}"
        )
    return "\n".join(lines)


# ---------------------------------------------------------------- before training
@dataclass(frozen=True)
class EpochEstimate:
    """How long training will take, from a few timed iterations."""

    seconds_per_iteration: float
    iterations_per_epoch: int
    epochs: int

    @property
    def epoch_seconds(self) -> float:
        return self.seconds_per_iteration * self.iterations_per_epoch

    @property
    def total_seconds(self) -> float:
        return self.epoch_seconds * self.epochs

    def describe(self) -> str:
        return (
            f"{self.seconds_per_iteration:.3f} s per iteration x {self.iterations_per_epoch} "
            f"iterations = {format_duration(self.epoch_seconds)} per epoch; "
            f"{self.epochs} epochs would take {format_duration(self.total_seconds)}"
        )


def format_duration(seconds: float) -> str:
    """``42 s``, ``7.5 min``, ``3.2 h`` or ``2.1 days``."""
    for unit, length in (("days", 86400), ("h", 3600), ("min", 60)):
        if seconds >= 2 * length:
            return f"{seconds / length:.1f} {unit}"
    return f"{seconds:.0f} s"


def estimate_epoch(trainer: Trainer, iters: int = 3) -> EpochEstimate:
    """Time ``iters`` iterations of a throwaway copy of the trainer's model on a real batch.

    The trainer's own model, pools and RNGs are untouched, so the run that follows is
    the same as without the estimate.
    """
    opt = trainer.opt
    with torch.random.fork_rng(devices=[trainer.context.device] if trainer.model.on_cuda else []):
        probe = CycleGANModel(trainer.model.config, trainer.context.device)
        items = [trainer.dataset[i % len(trainer.dataset)] for i in range(opt.batch_size)]
        batch = {key: _collate([item[key] for item in items]) for key in items[0]}
        seconds = seconds_per_iteration(probe, batch, iters)
    per_epoch = math.ceil(len(trainer.dataset) / (opt.batch_size * trainer.context.world_size))
    return EpochEstimate(seconds, per_epoch, opt.total_epochs - opt.epoch_count + 1)


def _collate(values: list) -> torch.Tensor | list:
    return torch.stack(values) if isinstance(values[0], torch.Tensor) else values
