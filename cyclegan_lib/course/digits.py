"""The embedded digit domains: clean MNIST digits and digits on colour photo backgrounds.

* Domain ``clean``: 5,000 real MNIST digits (shipped in ``data/mnist_5k.npz``),
  padded from 28x28 to 32x32, one channel.
* Domain ``color``: the same digits blended into random 32x32 crops of colour
  photos by absolute difference, |photo - digit|, the recipe that builds
  MNIST-M (Ganin & Lempitsky 2015). Deterministic from a seed.

Both come as float tensors in [-1, 1] (the range of a ``tanh`` generator) with
integer labels, split once, stratified and seeded, into 4,000 train / 1,000 test.
The translation lessons use a *paired* view (the same digit in both domains,
pix2pix) and an *unpaired* view (disjoint halves, CycleGAN). Lesson 06 adds a
colour-to-colour pair: the colour digits and the same digits drawn bold on the same
photos (:func:`unpaired_bold`), both with three channels.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cyclegan_lib.course.env import data_dir

IMAGE_SIZE = 32
TEST_PER_CLASS = 100
SPLIT_SEED = 2014  # Goodfellow et al.
COLOR_SEED = 2017  # Zhu et al.
SPLITS = ("train", "test")
DOMAINS = ("clean", "color")
CHANNELS = {"clean": 1, "color": 3}


class DataUnavailableError(RuntimeError):
    """Data that needs the network could not be fetched; the embedded data still works."""


@lru_cache(maxsize=1)
def load_embedded_mnist() -> tuple[np.ndarray, np.ndarray]:
    """The 5,000 embedded digits as uint8 (5000, 28, 28) images and uint8 labels."""
    path = data_dir() / "mnist_5k.npz"
    if not path.exists():
        raise FileNotFoundError(
            f"embedded digits not found at {path}; is the course checkout complete?"
        )
    with np.load(path) as archive:
        return archive["images"], archive["labels"]


@lru_cache(maxsize=1)
def split_indices() -> dict[str, np.ndarray]:
    """A fixed, stratified split: 100 test digits per class, the other 4,000 for training.

    The embedded file is sorted by label, so each split is shuffled (seeded): the
    first N digits of a split are then a fair sample of all ten classes.
    """
    _, labels = load_embedded_mnist()
    rng = np.random.default_rng(SPLIT_SEED)
    test = []
    for digit in range(10):
        members = np.flatnonzero(labels == digit)
        test.extend(rng.choice(members, TEST_PER_CLASS, replace=False))
    test_idx = np.asarray(test)
    train_idx = np.setdiff1d(np.arange(len(labels)), test_idx)
    return {"train": rng.permutation(train_idx), "test": rng.permutation(test_idx)}


def _check_split(split: str) -> None:
    if split not in SPLITS:
        raise ValueError(f"split={split!r} is not one of {SPLITS}")


def pad_to_32(images: np.ndarray) -> np.ndarray:
    """Pad uint8 (N, 28, 28) digits with a 2-pixel black border to (N, 32, 32)."""
    return np.pad(images, ((0, 0), (2, 2), (2, 2)))


def scale_pixels(images: torch.Tensor) -> torch.Tensor:
    """uint8 pixels 0..255 -> floats in [-1, 1], the range of a ``tanh`` generator."""
    return images.float() / 127.5 - 1.0


def to_tensor(images: np.ndarray) -> torch.Tensor:
    """uint8 (N, H, W) or (N, H, W, C) -> float (N, C, H, W) in [-1, 1].

    :func:`cyclegan_lib.pipeline.pages.to_uint8` is its exact inverse.
    """
    if images.ndim == 3:
        images = images[..., None]
    return scale_pixels(torch.from_numpy(np.ascontiguousarray(images)).permute(0, 3, 1, 2))


def raw_digits(split: str = "train") -> tuple[np.ndarray, np.ndarray]:
    """uint8 32x32 digits and labels of one split."""
    _check_split(split)
    images, labels = load_embedded_mnist()
    idx = split_indices()[split]
    return pad_to_32(images[idx]), labels[idx].astype(np.int64)


@lru_cache(maxsize=1)
def load_photos() -> tuple[np.ndarray, ...]:
    """The embedded colour photos (uint8 H x W x 3) used as backgrounds."""
    folder = data_dir() / "photos"
    paths = sorted(Path(folder).glob("*.png"))
    if not paths:
        raise FileNotFoundError(f"no background photos in {folder}")
    return tuple(np.asarray(Image.open(p).convert("RGB")) for p in paths)


def blend_with_photos(digits: np.ndarray, seed: int) -> np.ndarray:
    """MNIST-M recipe: |random photo crop - digit| per channel, uint8 (N, 32, 32, 3).

    Where the digit is white the background is inverted, elsewhere it is kept,
    so the digit stays visible on any photo. Same seed, same images.
    """
    rng = np.random.default_rng(seed)
    photos = load_photos()
    size = digits.shape[1]
    out = np.empty((*digits.shape, 3), dtype=np.uint8)
    for i, digit in enumerate(digits):
        photo = photos[rng.integers(len(photos))]
        top = rng.integers(photo.shape[0] - size + 1)
        left = rng.integers(photo.shape[1] - size + 1)
        crop = photo[top : top + size, left : left + size].astype(np.int16)
        out[i] = np.abs(crop - digit[..., None].astype(np.int16)).astype(np.uint8)
    return out


def color_images(split: str = "train", seed: int = COLOR_SEED) -> np.ndarray:
    """uint8 (N, 32, 32, 3) colour-background digits of one split."""
    digits, _ = raw_digits(split)
    return blend_with_photos(digits, seed + (0 if split == "train" else 1))


def load_domain(domain: str, split: str = "train") -> tuple[torch.Tensor, torch.Tensor]:
    """Images (N, C, 32, 32) in [-1, 1] and labels (N,) of ``clean`` or ``color`` digits."""
    if domain not in DOMAINS:
        raise ValueError(f"domain={domain!r} is not one of {DOMAINS}")
    digits, labels = raw_digits(split)
    images = digits if domain == "clean" else color_images(split)
    return to_tensor(images), torch.from_numpy(labels)


@dataclass(frozen=True)
class PairedDigits:
    """The same digits in both domains: ``clean[i]`` and ``color[i]`` show ``labels[i]``."""

    clean: torch.Tensor
    color: torch.Tensor
    labels: torch.Tensor


@dataclass(frozen=True)
class UnpairedDomains:
    """Two disjoint halves of the digits: images of domain X from one, of domain Y from the other."""

    x: torch.Tensor
    x_labels: torch.Tensor
    y: torch.Tensor
    y_labels: torch.Tensor


class UnpairedDigits(UnpairedDomains):
    """X = clean digits from one half, Y = colour digits from the other (lessons 04 and 06)."""

    @property
    def clean(self) -> torch.Tensor:
        return self.x

    @property
    def clean_labels(self) -> torch.Tensor:
        return self.x_labels

    @property
    def color(self) -> torch.Tensor:
        return self.y

    @property
    def color_labels(self) -> torch.Tensor:
        return self.y_labels


def paired_digits(split: str = "train") -> PairedDigits:
    """The paired view (pix2pix): every digit in both domains."""
    clean, labels = load_domain("clean", split)
    color, _ = load_domain("color", split)
    return PairedDigits(clean, color, labels)


def first_halves(labels: torch.Tensor) -> torch.Tensor:
    """A boolean mask of the first half of each class's members, in their order."""
    first_half = torch.zeros(len(labels), dtype=torch.bool)
    for digit in range(10):
        members = torch.nonzero(labels == digit).flatten()
        first_half[members[: len(members) // 2]] = True
    return first_half


def unpaired_digits(split: str = "train") -> UnpairedDigits:
    """The unpaired view (CycleGAN): each half of each class goes to one domain only."""
    paired = paired_digits(split)
    first_half = first_halves(paired.labels)
    return UnpairedDigits(
        x=paired.clean[first_half],
        x_labels=paired.labels[first_half],
        y=paired.color[~first_half],
        y_labels=paired.labels[~first_half],
    )


def thicken(digits: np.ndarray) -> np.ndarray:
    """uint8 (N, H, W) digits drawn bold: each pixel takes the brightest of its 3x3 neighbours,
    so every stroke grows by one pixel on each side (a morphological dilation)."""
    _, height, width = digits.shape
    padded = np.pad(digits, ((0, 0), (1, 1), (1, 1)))
    shifted = [padded[:, i : i + height, j : j + width] for i in range(3) for j in range(3)]
    return np.max(shifted, axis=0)


def bold_color_images(split: str = "train", seed: int = COLOR_SEED) -> np.ndarray:
    """uint8 (N, 32, 32, 3) colour digits drawn bold (:func:`thicken`) on the very photo crops
    of :func:`color_images`: the crops are drawn from the seed alone, whatever the digits."""
    digits, _ = raw_digits(split)
    return blend_with_photos(thicken(digits), seed + (0 if split == "train" else 1))


def bold_background(split: str = "train") -> torch.Tensor:
    """Where a split's bold digits leave the photo untouched: a bool (N, 1, 32, 32) mask.

    There the colour digit and its bold version show the same photo pixels, so a perfect
    translation between them leaves these pixels as they are.
    """
    digits, _ = raw_digits(split)
    return torch.from_numpy(thicken(digits) == 0)[:, None]


def unpaired_bold(split: str = "train") -> UnpairedDomains:
    """A colour-to-colour pair (lesson 06): X = colour digits from one half of each class,
    Y = colour digits drawn bold (:func:`bold_color_images`) from the other half.

    Both domains have three channels and share their colours (the same photos), so the
    identity loss applies. A digit's perfect translation into Y is known: the same digit
    drawn bold on the same photo crop.
    """
    paired = paired_digits(split)
    first_half = first_halves(paired.labels)
    bold = to_tensor(bold_color_images(split))
    return UnpairedDomains(
        x=paired.color[first_half],
        x_labels=paired.labels[first_half],
        y=bold[~first_half],
        y_labels=paired.labels[~first_half],
    )


def load_full_mnist(root: str | Path = "datasets/mnist", train: bool = True):
    """The full 70,000-digit MNIST from torchvision, downloaded on request.

    Raises:
        DataUnavailableError: the download failed; the embedded digits still work.
    """
    from torchvision.datasets import MNIST

    try:
        return MNIST(str(root), train=train, download=True)
    except (OSError, RuntimeError) as error:
        raise DataUnavailableError(
            f"Full MNIST could not be downloaded into {root} ({error.__class__.__name__}: "
            "no network?); the embedded 5,000 digits (load_domain('clean')) still work."
        ) from error
