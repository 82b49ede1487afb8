"""Small digit classifiers, one per domain: the course's judges of generated digits.

Each is a 4-conv CNN on 32x32 inputs in [-1, 1]. Its 128-d penultimate layer is
the feature space of the Fréchet distance in :mod:`cyclegan_lib.course.metrics`.
Weights are trained deterministically by ``python -m cyclegan_lib.course.classifiers``
(a few minutes for both on 2 cores) and committed under ``data/classifiers/``.
"""

from __future__ import annotations

import argparse
import time
from functools import lru_cache
from pathlib import Path

import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_lib.course.digits import (
    CHANNELS,
    DOMAINS,
    blend_with_photos,
    load_domain,
    raw_digits,
    to_tensor,
)
from cyclegan_lib.course.env import data_dir, seed_everything

FEATURES = 128
TRAIN_SEED = 5  # any fixed seed makes the weights reproducible
EPOCHS = {"clean": 8, "color": 12}  # colour sees new backgrounds each epoch, so it gets more


def conv_block(in_channels: int, out_channels: int, kernel: int = 3) -> list[nn.Module]:
    """conv -> batch norm -> ReLU -> 2x2 max-pool: halves the image side."""
    return [
        nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
        nn.BatchNorm2d(out_channels),
        nn.ReLU(),
        nn.MaxPool2d(2),
    ]


class DigitClassifier(nn.Module):
    """Three conv blocks (32 -> 16 -> 8 -> 4 pixels), a 128-d feature layer, 10 logits."""

    def __init__(self, in_channels: int) -> None:
        super().__init__()
        self.body = nn.Sequential(
            *conv_block(in_channels, 32, kernel=5),
            *conv_block(32, 64),
            *conv_block(64, 128),
            nn.Flatten(),
            nn.Dropout(0.3),
            nn.Linear(128 * 4 * 4, FEATURES),
            nn.ReLU(),
        )
        self.head = nn.Linear(FEATURES, 10)

    def features(self, x: torch.Tensor) -> torch.Tensor:
        """The penultimate activations, the space of the Fréchet distance."""
        return self.body(x)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.head(self.features(x))


def weights_path(domain: str) -> Path:
    return data_dir() / "classifiers" / f"{domain}.pt"


@lru_cache(maxsize=2)
def load_classifier(domain: str) -> DigitClassifier:
    """The committed classifier for ``clean`` or ``color`` digits, in eval mode, on the CPU."""
    if domain not in DOMAINS:
        raise ValueError(f"domain={domain!r} is not one of {DOMAINS}")
    path = weights_path(domain)
    if not path.exists():
        raise FileNotFoundError(
            f"classifier weights missing at {path}: run 'python -m cyclegan_lib.course.classifiers'"
        )
    model = DigitClassifier(CHANNELS[domain])
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.eval()


def shift(x: torch.Tensor, generator: torch.Generator, max_shift: int = 2) -> torch.Tensor:
    """Random translation by up to ``max_shift`` pixels (one per batch), background-filled."""
    dx, dy = torch.randint(-max_shift, max_shift + 1, (2,), generator=generator).tolist()
    background = x.amin(dim=(2, 3), keepdim=True)
    padded = F.pad(x - background, (max_shift,) * 4) + background
    top, left = max_shift + dy, max_shift + dx
    return padded[..., top : top + x.shape[2], left : left + x.shape[3]]


def recolor(x: torch.Tensor, generator: torch.Generator) -> torch.Tensor:
    """Permute the colour channels and maybe invert: the digit's shape, not the photo's hue, decides."""
    x = x[:, torch.randperm(3, generator=generator)]
    return -x if torch.rand(1, generator=generator).item() < 0.5 else x


def training_images(domain: str, epoch: int) -> tuple[torch.Tensor, torch.Tensor]:
    """Training digits; the colour domain gets fresh photo backgrounds every epoch."""
    if domain == "clean":
        return load_domain("clean", "train")
    digits, labels = raw_digits("train")
    return to_tensor(blend_with_photos(digits, seed=1000 + epoch)), torch.from_numpy(labels)


def train_classifier(domain: str, epochs: int, batch_size: int = 64) -> DigitClassifier:
    """Train one classifier deterministically (fixed seed, shuffles and augmentations).

    Adam with a one-cycle learning rate (peak 2e-3), random shifts of up to 2 pixels,
    and for the colour domain random channel orders and inversions.
    """
    generator = seed_everything(TRAIN_SEED)
    model = DigitClassifier(CHANNELS[domain])
    optimizer = torch.optim.Adam(model.parameters(), lr=1e-3)
    steps_per_epoch = -(-len(raw_digits("train")[1]) // batch_size)
    schedule = torch.optim.lr_scheduler.OneCycleLR(
        optimizer, max_lr=2e-3, total_steps=epochs * steps_per_epoch, pct_start=0.15
    )
    for epoch in range(epochs):
        images, labels = training_images(domain, epoch)
        model.train()
        for batch in torch.randperm(len(labels), generator=generator).split(batch_size):
            x = shift(images[batch], generator)
            if domain == "color":
                x = recolor(x, generator)
            loss = F.cross_entropy(model(x), labels[batch])
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            schedule.step()
    return model.eval()


@torch.no_grad()
def accuracy(model: nn.Module, images: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of ``images`` classified as ``labels``."""
    predictions = torch.cat([model(chunk).argmax(1) for chunk in images.split(500)])
    return (predictions == labels).float().mean().item()


def main(argv: list[str] | None = None) -> int:
    """Train both classifiers, report held-out accuracy, save the weights."""
    parser = argparse.ArgumentParser(description="Train the course's digit classifiers.")
    parser.add_argument("--domains", nargs="+", default=list(DOMAINS), choices=DOMAINS)
    args = parser.parse_args(argv)
    torch.use_deterministic_algorithms(True)
    for domain in args.domains:
        start = time.perf_counter()
        model = train_classifier(domain, epochs=EPOCHS[domain])
        test_images, test_labels = load_domain(domain, "test")
        acc = accuracy(model, test_images, test_labels)
        path = weights_path(domain)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save(model.state_dict(), path)
        seconds = time.perf_counter() - start
        print(f"{domain}: test accuracy {acc:.2%} in {seconds:.0f} s -> {path}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
