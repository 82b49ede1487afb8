"""Helpers for lesson 05, the full-scale CycleGAN (Zhu et al. 2017, Sec. 4 and appendix 7).

What the command line does not need but the lesson does:

* data: count images per folder, try the reference's downloads and fall back, offline,
  to the embedded digits upscaled into the same ``trainA/trainB/testA/testB`` layout;
* pretrained generators: write a file laid out like the reference's published ones
  (old InstanceNorm running-statistics keys included), translate a folder with it;
* training: time iterations and estimate an epoch before starting, train whole epochs
  within a time budget, run ``cyclegan ...`` commands from a notebook;
* measuring: images/s and peak memory of one configuration, each in a fresh process;
* evaluating: cycle-reconstruction error and change, FID with torchvision's Inception.

``python -m cyclegan_lib.lessons.full_scale speed ...`` measures one configuration and prints
JSON; ``speed-table`` measures several and prints the table (``bench/gpu_check_lesson05.sh``).
"""

from __future__ import annotations

import argparse
import contextlib
import json
import math
import os
import resource
import shlex
import subprocess
import sys
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch import nn

from cyclegan_lib import cli
from cyclegan_lib.course import digits
from cyclegan_lib.course.env import get_device
from cyclegan_lib.models import CycleGANModel, ModelConfig
from cyclegan_lib.pipeline.datasets import DataOptions, create_dataset, is_image_file
from cyclegan_lib.pipeline.download import DownloadError, download_dataset, download_model
from cyclegan_lib.pipeline.trainer import Position, Trainer

DIGIT_DATASET = "digits2color"
PAPER_FLAGS = (
    "--model cycle_gan --netG resnet_9blocks --netD basic --norm instance --no_dropout "
    "--load_size 286 --crop_size 256 --gan_mode lsgan --pool_size 50 --lambda_A 10 "
    "--lambda_B 10 --lambda_identity 0.5 --lr 0.0002 --beta1 0.5 --n_epochs 100 "
    "--n_epochs_decay 100 --lr_policy linear --batch_size 1"
)
"""The configuration of the paper (Sec. 4 and appendix 7.1), as ``cyclegan train`` flags."""

STALE_KEYS = ("running_mean", "running_var")
"""What InstanceNorm layers saved in PyTorch < 0.4 files, the reference's published ones included."""


# ---------------------------------------------------------------- data
def count_images(root: str | Path) -> dict[str, int]:
    """Image files in each direct subfolder of ``root`` (``trainA``: 1067, ...), sorted by name."""
    root = Path(root)
    counts = {}
    for folder in sorted(p for p in root.iterdir() if p.is_dir() and not p.name.startswith(".")):
        counts[folder.name] = sum(1 for f in folder.rglob("*") if f.is_file() and is_image_file(f))
    return counts


def _upscaled(images: torch.Tensor, size: int) -> list[Image.Image]:
    """Digits in [-1, 1] as PIL images of ``size`` pixels (bicubic, as a camera would blur)."""
    pictures = []
    for array in digits.to_uint8(images):
        picture = Image.fromarray(array[..., 0] if array.shape[-1] == 1 else array)
        pictures.append(picture.resize((size, size), Image.BICUBIC))
    return pictures


def classes_in_turn(labels: torch.Tensor, n: int) -> torch.Tensor:
    """Indices of ``n`` items taking the classes in turn (0, 1, ..., 9, 0, 1, ...).

    So that even a handful of images per folder covers every class, in a fixed order.
    """
    rank_in_class = torch.zeros_like(labels)
    for digit in labels.unique():
        members = labels == digit
        rank_in_class[members] = torch.arange(int(members.sum()))
    order = torch.argsort(rank_in_class * (int(labels.max()) + 1) + labels)
    return order[:n]


def _write_domain(folder: Path, images: torch.Tensor, labels: torch.Tensor, size: int) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for index, (picture, label) in enumerate(
        zip(_upscaled(images, size), labels.tolist(), strict=True)
    ):
        picture.save(folder / f"{index:04d}_label{label}.png")


def build_digit_folders(root: str | Path, size: int, n_train: int, n_test: int) -> Path:
    """The offline stand-in for a real dataset: clean digits (A) and colour digits (B).

    Writes ``root/trainA``, ``trainB`` (the *unpaired* halves of the embedded training
    digits), ``testA``, ``testB`` (the same test digits in both domains, so labels are
    known), taking the ten classes in turn, upscaled from 32 to ``size`` pixels and named
    ``<index>_label<digit>.png``.
    Existing folders are replaced only if their counts differ. Returns ``root``.
    """
    root = Path(root)
    wanted = {"testA": n_test, "testB": n_test, "trainA": n_train, "trainB": n_train}
    if root.is_dir() and count_images(root) == wanted and _image_size(root) == size:
        return root
    unpaired = digits.unpaired_digits("train")
    clean_test, test_labels = digits.load_domain("clean", "test")
    color_test, _ = digits.load_domain("color", "test")
    domains = {
        "trainA": (unpaired.clean, unpaired.clean_labels, n_train),
        "trainB": (unpaired.color, unpaired.color_labels, n_train),
        "testA": (clean_test, test_labels, n_test),
        "testB": (color_test, test_labels, n_test),
    }
    for name, (images, labels, n) in domains.items():
        folder = root / name
        for old in folder.glob("*.png") if folder.is_dir() else ():
            old.unlink()
        chosen = classes_in_turn(labels, n)
        _write_domain(folder, images[chosen], labels[chosen], size)
    return root


def _image_size(root: Path) -> int | None:
    first = next(iter(sorted((root / "trainA").glob("*.png"))), None)
    return Image.open(first).size[0] if first else None


def labels_from_names(paths: Iterable[str]) -> torch.Tensor:
    """The digit in ``..._label<digit>.png`` file names (see :func:`build_digit_folders`)."""
    return torch.tensor([int(Path(p).stem.rsplit("_label", 1)[1]) for p in paths])


def fetch_dataset(name: str, root: str | Path) -> Path | None:
    """``cyclegan download dataset NAME``; None and one sentence when it cannot be fetched."""
    try:
        return download_dataset(name, root, progress=True)
    except DownloadError as error:
        print(f"No download ({error.__class__.__name__}): {str(error).split(';')[0]}.")
        return None


def fetch_pretrained(name: str, checkpoints_dir: str | Path) -> Path | None:
    """``cyclegan download model NAME``; None and one sentence when it cannot be fetched."""
    try:
        return download_model(name, checkpoints_dir, progress=True)
    except DownloadError as error:
        print(f"No download ({error.__class__.__name__}): {str(error).split(';')[0]}.")
        return None


def load_images(
    dataroot: str | Path, phase: str, side: str, size: int, n: int
) -> tuple[torch.Tensor, list[str]]:
    """The first ``n`` images of ``<dataroot>/<phase><side>`` as ``cyclegan test`` reads them.

    Resized to ``size`` without cropping or flipping (the reference's test settings).
    """
    options = DataOptions(
        dataroot=dataroot, dataset_mode="single", phase=phase,
        direction="AtoB" if side == "A" else "BtoA", load_size=size, crop_size=size,
        no_flip=True, serial_batches=True, max_dataset_size=n,
    )  # fmt: skip
    dataset = create_dataset(options)
    items = [dataset[i] for i in range(len(dataset))]
    return torch.stack([item["A"] for item in items]), [item["A_paths"] for item in items]


def read_result_images(folder: str | Path, stems: Sequence[str], label: str) -> torch.Tensor:
    """``<folder>/<stem>_<label>.png`` files written by ``cyclegan test``, as uint8 (N, H, W, 3)."""
    arrays = [np.asarray(Image.open(Path(folder) / f"{stem}_{label}.png")) for stem in stems]
    return torch.from_numpy(np.stack(arrays))


# ---------------------------------------------------------------- pretrained generators
def write_reference_checkpoint(net: nn.Module, path: str | Path) -> Path:
    """Save ``net`` the way the reference's 2017 files look: with stale InstanceNorm keys.

    Every InstanceNorm layer gets ``running_mean`` (zeros) and ``running_var`` (ones)
    entries, as PyTorch < 0.4 stored them; a correct loader must drop them (the
    reference's ``__patch_instance_norm_state_dict``) and load the rest strictly.
    """
    state = {key: value.detach().cpu() for key, value in net.state_dict().items()}
    for name, module in net.named_modules():
        if isinstance(module, nn.InstanceNorm2d):
            state[f"{name}.running_mean"] = torch.zeros(module.num_features)
            state[f"{name}.running_var"] = torch.ones(module.num_features)
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    torch.save(state, path)
    return path


@torch.no_grad()
def translate(generator: nn.Module, images: torch.Tensor, batch_size: int = 4) -> torch.Tensor:
    """``generator`` applied to ``images`` in [-1, 1], a few at a time, on its own device."""
    device = next(generator.parameters()).device
    outputs = [generator(chunk.to(device)).float().cpu() for chunk in images.split(batch_size)]
    return torch.cat(outputs)


# ---------------------------------------------------------------- the command line in a notebook
@contextlib.contextmanager
def working_directory(path: str | Path) -> Iterator[None]:
    """Run the block in folder ``path`` (``contextlib.chdir`` needs Python 3.11)."""
    previous = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(previous)


def run_cli(command: str, cwd: str | Path) -> int:
    """Run ``cyclegan ...`` through the console script's entry point, in folder ``cwd``.

    The same as typing the command in a terminal there (``cyclegan`` is
    :func:`cyclegan_lib.cli.main`), without starting a new Python. Returns the exit code.
    """
    words = shlex.split(command)
    if not words or words[0] != "cyclegan":
        raise ValueError(f"expected a command starting with 'cyclegan', got {command!r}")
    print(f"$ {command}", flush=True)
    with working_directory(cwd):
        try:
            code = cli.main(words[1:])
        except SystemExit as exit_:  # argparse's one-line errors exit with code 2
            code = exit_.code if isinstance(exit_.code, int) else 1
    sys.stdout.flush()
    sys.stderr.flush()
    print(f"(exit code {code})")
    return code


# ---------------------------------------------------------------- time
def random_batch(batch_size: int, size: int, seed: int = 0) -> dict:
    """A batch like the unaligned loader's, of uniform noise in [-1, 1]."""
    g = torch.Generator().manual_seed(seed)
    images = torch.rand(2, batch_size, 3, size, size, generator=g) * 2 - 1
    names = [f"{i}.png" for i in range(batch_size)]
    return {"A": images[0], "B": images[1], "A_paths": names, "B_paths": names}


def _synchronize(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def seconds_per_iteration(model: CycleGANModel, batch: dict, iters: int, warmup: int = 1) -> float:
    """Median wall time of ``iters`` full training iterations (both G, both D) after ``warmup``."""
    times = []
    for step in range(warmup + iters):
        _synchronize(model.device)
        start = time.perf_counter()
        model.set_input(batch)
        model.optimize_parameters()  # returns floats: the device has finished
        if step >= warmup:
            times.append(time.perf_counter() - start)
    return float(np.median(times))


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


def _collate(values: list):
    return torch.stack(values) if isinstance(values[0], torch.Tensor) else values


def train_for(
    trainer: Trainer,
    minutes: float,
    last_epoch: int | None = None,
    on_epoch: Callable[[Trainer], None] | None = None,
) -> Position:
    """Train whole epochs until ``last_epoch`` (default: the last) or the budget runs out.

    Another epoch starts only if the previous one's duration still fits in the budget,
    so a run stops at most about one epoch late, and always after a saved epoch:
    continue it later with ``--continue_train`` (or ``Trainer(..., continue_train=True)``).
    ``on_epoch(trainer)`` runs after each epoch (e.g. to show samples).
    """
    last = min(last_epoch or trainer.opt.total_epochs, trainer.opt.total_epochs)
    deadline = time.monotonic() + minutes * 60
    trainer.model.train()
    while trainer.position.epoch <= last:
        started = time.monotonic()
        trainer.run_epoch()
        trainer.end_epoch()
        if on_epoch is not None:
            on_epoch(trainer)
        if time.monotonic() + (time.monotonic() - started) > deadline:
            break
    return trainer.position


# ---------------------------------------------------------------- memory and speed
@dataclass(frozen=True)
class SpeedSpec:
    """One row of the memory/speed table: the model, the image size, batch and precision."""

    size: int = 256
    batch_size: int = 1
    amp: bool = False
    n_blocks: int = 9
    ngf: int = 64
    ndf: int = 64
    iters: int = 10
    warmup: int = 3
    device: str | None = None

    def args(self) -> list[str]:
        words = [f"--{k}={v}" for k, v in vars(self).items() if k not in ("amp", "device")]
        words += ["--amp"] if self.amp else []
        return words + ([f"--device={self.device}"] if self.device else [])


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


def measure_here(spec: SpeedSpec) -> dict:
    """Images/s and peak memory of full training iterations, in *this* process.

    Peak memory is ``torch.cuda.max_memory_allocated`` on CUDA (tensors only), and the
    process's peak resident set size on the CPU (which includes PyTorch itself, ~0.3 GiB).
    Mixed precision (``amp``) applies on CUDA only; the CPU always runs fp32.
    """
    device = get_device(spec.device)
    config = ModelConfig(netG=f"resnet_{spec.n_blocks}blocks", ngf=spec.ngf, ndf=spec.ndf,
                         amp=spec.amp, channels_last=spec.amp)  # fmt: skip
    torch.manual_seed(0)
    model = CycleGANModel(config, device, torch.Generator().manual_seed(0))
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = True
        torch.cuda.reset_peak_memory_stats(device)
    seconds = seconds_per_iteration(model, random_batch(spec.batch_size, spec.size), spec.iters,
                                    spec.warmup)  # fmt: skip
    if device.type == "cuda":
        peak = torch.cuda.max_memory_allocated(device) / 2**20
    else:
        peak = peak_resident_mib()
    return {
        "device": torch.cuda.get_device_name(device) if device.type == "cuda" else "cpu",
        "size": spec.size, "batch_size": spec.batch_size,
        "precision": ("bf16" if torch.cuda.is_bf16_supported() else "fp16")
        if spec.amp and device.type == "cuda" else "fp32",
        "seconds_per_iteration": seconds,
        "images_per_second": spec.batch_size / seconds,
        "peak_memory_mib": peak,
    }  # fmt: skip


def measure(spec: SpeedSpec, timeout: float = 1800) -> dict:
    """:func:`measure_here` in a fresh Python process, so peak memory counts only this row."""
    command = [sys.executable, "-m", "cyclegan_lib.lessons.full_scale", "speed", *spec.args()]
    done = subprocess.run(command, capture_output=True, text=True, timeout=timeout, check=False)
    if done.returncode != 0:
        last = (done.stderr.strip().splitlines() or ["no output"])[-1]
        raise RuntimeError(f"measuring {spec} failed: {last}")
    return json.loads(done.stdout.strip().splitlines()[-1])


def speed_specs(base: SpeedSpec, batch_sizes: Sequence[int], on_cuda: bool) -> list[SpeedSpec]:
    """fp32 and (on CUDA only) mixed precision, for each batch size."""
    precisions = (False, True) if on_cuda else (False,)
    return [
        SpeedSpec(**{**vars(base), "batch_size": b, "amp": amp})
        for b in batch_sizes
        for amp in precisions
    ]


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


# ---------------------------------------------------------------- evaluation
def cycle_report(x: torch.Tensor, fake: torch.Tensor, rec: torch.Tensor) -> dict[str, float]:
    """Mean absolute errors in 8-bit grey levels (0-255) for one direction.

    * ``cycle_error``: |F(G(x)) - x|, what the cycle loss (Zhu 2017, eq. 2) minimises;
    * ``change``: |G(x) - x|, how much the translation altered the image. A generator
      that copies its input scores a perfect cycle error of 0 with a change of 0, so
      read the two together.
    """
    to_levels = 255 / 2  # [-1, 1] spans 255 grey levels
    return {
        "cycle_error": float((rec - x).abs().mean() * to_levels),
        "change": float((fake - x).abs().mean() * to_levels),
    }


def inception_features(images: torch.Tensor, batch_size: int = 16) -> torch.Tensor | None:
    """2048-d pool features of torchvision's ImageNet Inception-v3, or None if unavailable.

    The weights are downloaded once (about 100 MB) into torch's cache; offline and
    without a cached copy this returns None. Not the TensorFlow Inception that
    published FIDs use, so the numbers are comparable with each other only.
    """
    from torchvision.models import Inception_V3_Weights, inception_v3

    try:
        net = inception_v3(weights=Inception_V3_Weights.IMAGENET1K_V1)
    except Exception as error:  # URLError, socket errors, a broken cache: all mean "no FID"
        print(f"No FID: the Inception weights could not be loaded ({type(error).__name__}).")
        return None
    net.fc = nn.Identity()
    net.eval()
    mean = torch.tensor([0.485, 0.456, 0.406]).view(1, 3, 1, 1)
    std = torch.tensor([0.229, 0.224, 0.225]).view(1, 3, 1, 1)
    features = []
    with torch.no_grad():
        for chunk in images.split(batch_size):
            rgb = chunk.expand(-1, 3, -1, -1) if chunk.shape[1] == 1 else chunk
            resized = nn.functional.interpolate((rgb + 1) / 2, size=(299, 299), mode="bilinear")
            features.append(net((resized - mean) / std))
    return torch.cat(features)


# ---------------------------------------------------------------- command line
def _speed_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m cyclegan_lib.lessons.full_scale")
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("speed", "speed-table"):
        p = sub.add_parser(name)
        for field_name, default in vars(SpeedSpec()).items():
            if field_name in ("amp", "batch_size"):
                continue
            p.add_argument(f"--{field_name}", default=default,
                           type=str if field_name == "device" else int)  # fmt: skip
    sub.choices["speed"].add_argument("--batch_size", type=int, default=1)
    sub.choices["speed"].add_argument("--amp", action="store_true")
    sub.choices["speed-table"].add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4])
    return parser


def main(argv: list[str] | None = None) -> int:
    """``speed``: one JSON line for one configuration; ``speed-table``: fp32/AMP x batches."""
    args = vars(_speed_parser().parse_args(argv))
    command = args.pop("command")
    if command == "speed":
        print(json.dumps(measure_here(SpeedSpec(**args))))
        return 0
    batch_sizes = args.pop("batch_sizes")
    on_cuda = get_device(args["device"]).type == "cuda"
    rows = []
    for spec in speed_specs(SpeedSpec(**args), batch_sizes, on_cuda):
        rows.append(measure(spec))
        print(json.dumps(rows[-1]), flush=True)
    print(speed_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
