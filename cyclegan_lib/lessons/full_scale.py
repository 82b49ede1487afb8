"""Helpers for lesson 05, the full-scale CycleGAN (Zhu et al. 2017, Sec. 4 and appendix 7).

What the command line does not need but the lesson does:

* data: count images per folder, try the reference's downloads and fall back, offline,
  to the embedded digits upscaled into the same ``trainA/trainB/testA/testB`` layout;
* pretrained generators: write a file laid out like the reference's published ones
  (old InstanceNorm running-statistics keys included), read ``cyclegan test``'s images;
* the command line in a notebook: run ``cyclegan ...`` commands in a folder;
* evaluating: cycle-reconstruction error and change, FID and KID features (torchvision's
  Inception, or the colour-digit classifier offline);
* a profile's settings as ``cyclegan train`` flags (the ``cpu`` profile runs lesson 04's
  recipe through this pipeline).

Training within a time budget is the trainer's own (``Trainer.run(minutes=...)``); timing,
epoch estimates and the memory/speed table are :mod:`cyclegan_lib.pipeline.speed`;
translating images with a generator is :func:`cyclegan_lib.models.translate`.
"""

from __future__ import annotations

import contextlib
import os
import shlex
import sys
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import numpy as np
import torch
from PIL import Image
from torch import nn

from cyclegan_lib import cli
from cyclegan_lib.course import digits
from cyclegan_lib.course.metrics import classify, evaluate_digits
from cyclegan_lib.lessons.widgets.live_training import LiveTraining, LiveTrainingSink
from cyclegan_lib.pipeline.datasets import DataOptions, create_dataset, is_image_file
from cyclegan_lib.pipeline.download import DownloadError, download_dataset, download_model
from cyclegan_lib.pipeline.pages import to_uint8
from cyclegan_lib.pipeline.trainer import Trainer

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


# ---------------------------------------------------------------- flags
def as_flags(changes: Mapping[str, object]) -> str:
    """``{"netD": "n_layers", "no_flip": True}`` -> ``"--netD n_layers --no_flip"``.

    ``True`` is a switch given without a value; ``False`` leaves the switch out.
    """
    words = []
    for name, value in changes.items():
        if value is True:
            words.append(f"--{name}")
        elif value is not False:
            words.append(f"--{name} {value}")
    return " ".join(words)


def train_flags(
    settings: Mapping[str, Any], dataroot: str | Path, name: str, checkpoints_dir: str | Path,
    gpu_ids: str,
) -> str:  # fmt: skip
    """``cyclegan train`` flags for one of lesson 05's profiles: the paper's, then the profile's.

    ``settings`` holds the image ``size`` and ``load_size``, ``netG``, ``ngf``, ``ndf``,
    ``n_epochs``, ``n_epochs_decay``, the loader's ``workers``, ``amp`` and ``changes``:
    any other options that differ from :data:`PAPER_FLAGS` (the later flag wins).
    """
    chosen = {
        "dataroot": dataroot, "name": name, "checkpoints_dir": checkpoints_dir,
        "gpu_ids": gpu_ids, "netG": settings["netG"], "ngf": settings["ngf"],
        "ndf": settings["ndf"], "load_size": settings["load_size"],
        "crop_size": settings["size"], "n_epochs": settings["n_epochs"],
        "n_epochs_decay": settings["n_epochs_decay"], "num_threads": settings["workers"],
        "amp": settings["amp"], **settings.get("changes", {}),
    }  # fmt: skip
    return f"{PAPER_FLAGS} {as_flags(chosen)}"


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
    for array in to_uint8(images):
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


def score_digit_translations(
    real_a: torch.Tensor, fake_b: torch.Tensor, fake_a: torch.Tensor, labels: torch.Tensor
) -> dict[str, dict[str, object]]:
    """The course's digit classifiers on lesson 05's test translations, both ways.

    ``real_a`` are the clean test digits (A, saved as RGB), ``fake_b`` = G_A(A) is read by
    the colour classifier and ``fake_a`` = G_B(B) by the clean one (as grey), each
    against ``labels``; ``"real A (clean)"`` is the judge's own score on real digits, the
    ceiling. Images larger than the classifiers' 32 px are area-averaged down first.
    """

    def small(images: torch.Tensor) -> torch.Tensor:
        return torch.nn.functional.interpolate(images, size=32, mode="area")

    def grey(images: torch.Tensor) -> torch.Tensor:
        return small(images).mean(1, keepdim=True)

    return {
        "G_B(B) read as clean": evaluate_digits(grey(fake_a), "clean", labels),
        "G_A(A) read as color": evaluate_digits(small(fake_b), "color", labels),
        "real A (clean)": evaluate_digits(grey(real_a), "clean", labels),
    }


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


# ---------------------------------------------------------------- training
def watch_live(trainer: Trainer) -> None:
    """Show ``trainer``'s run in the notebook as it trains: its visuals every ``--display_freq``
    images and its losses every ``--print_freq``, redrawn in place (:class:`LiveTraining`, one
    more of the trainer's live views beside visdom, wandb and TensorBoard). Nothing in a
    terminal or in ``smoke``."""
    view = LiveTraining(title=trainer.opt.name)
    if view.enabled:
        trainer.display.add("notebook", LiveTrainingSink(view))


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


# ---------------------------------------------------------------- evaluation
def cycle_report(x: torch.Tensor, fake: torch.Tensor, rec: torch.Tensor) -> dict[str, float]:
    """Mean absolute errors in 8-bit grey levels (0-255) for one direction.

    * ``cycle_error``: |F(G(x)) - x|, what the cycle loss (1) (Zhu 2017, eq. 2) minimises;
    * ``change``: |G(x) - x|, how much the translation altered the image. A generator
      that copies its input scores a perfect cycle error of 0 with a change of 0, so
      read the two together.
    """
    to_levels = 255 / 2  # [-1, 1] spans 255 grey levels
    return {
        "cycle_error": float((rec - x).abs().mean() * to_levels),
        "change": float((fake - x).abs().mean() * to_levels),
    }


def distribution_features(
    real: torch.Tensor, fake: torch.Tensor, try_inception: bool = True
) -> tuple[torch.Tensor, torch.Tensor, str]:
    """Features of two image sets for FID and KID, and the name of the features used.

    Inception-v3's (:func:`inception_features`) when ``try_inception`` and its weights
    load; otherwise the course's colour-digit classifier on 32-px versions of the images
    (numbers comparable only with each other, never with published FIDs).
    """
    if try_inception:
        real_features = inception_features(real)
        if real_features is not None:
            return real_features, inception_features(fake), "Inception-v3"
    small = [nn.functional.interpolate(x, size=32, mode="area") for x in (real, fake)]
    real_features, fake_features = (classify(x, "color")[1] for x in small)
    return real_features, fake_features, "colour-digit classifier"


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
