"""Result images and the HTML pages that show them (the reference's ``util/util.py``,
``util/visualizer.py`` and ``util/html.py``; the pages come from Jinja2 templates in
``templates/`` where the reference builds them with ``dominate``).

* Training: ``checkpoints/<name>/web/images/epoch###_<label>.png`` and ``web/index.html``
  listing every saved epoch, newest first.
* Testing: ``results/<name>/test_latest/images/<stem>_<label>.png`` and ``index.html`` with one
  row per input image.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cyclegan_lib.pipeline.templates import render

Row = tuple[str, Sequence[tuple[str, str]]]
"""A page row: a heading and its (image path relative to the page, caption) pairs."""


def to_uint8(images: torch.Tensor, truncate: bool = False) -> np.ndarray:
    """Images in [-1, 1] as uint8 pixels, channels last: (N, C, H, W) -> (N, H, W, C).

    One rule for every image the library and the lessons turn into bytes: ``(x + 1) / 2 * 255``,
    clipped to [0, 255] (the reference would wrap values outside [-1, 1] around), then
    rounded to the nearest level, which makes it the exact inverse of ``uint8 / 127.5 - 1``:
    pixels that came from a uint8 image get their bytes back. ``truncate=True`` drops the
    fraction instead, as the reference's ``util.tensor2im`` does with ``astype(np.uint8)``
    (half a grey level darker on average): :func:`tensor_to_image` uses it, so the result
    images we save are the reference's, byte for byte. A (C, H, W) image gives (H, W, C).
    """
    array = np.moveaxis(images.detach().cpu().float().numpy(), -3, -1)
    array = np.clip((array + 1) / 2.0 * 255.0, 0, 255)
    return (array if truncate else np.rint(array)).astype(np.uint8)


def tensor_to_image(images: torch.Tensor) -> np.ndarray:
    """The first image of a batch as uint8 H x W x 3, as the reference's ``tensor2im``.

    :func:`to_uint8` with the reference's truncation; a one-channel image is repeated to three.
    """
    image = to_uint8(images[0] if images.dim() == 4 else images, truncate=True)
    return np.repeat(image, 3, axis=-1) if image.shape[-1] == 1 else image


def save_image(image: np.ndarray, path: Path, aspect_ratio: float = 1.0) -> None:
    """Save a uint8 image, stretched to ``aspect_ratio`` like the reference's ``save_image``."""
    picture = Image.fromarray(image)
    height, width = image.shape[:2]
    if aspect_ratio > 1.0:
        picture = picture.resize((int(width * aspect_ratio), height), Image.Resampling.BICUBIC)
    elif aspect_ratio < 1.0:
        picture = picture.resize((width, int(height / aspect_ratio)), Image.Resampling.BICUBIC)
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    picture.save(path)


def save_visuals(
    visuals: Mapping[str, torch.Tensor], folder: Path, prefix: str, aspect_ratio: float = 1.0
) -> list[tuple[str, str]]:
    """Save each visual as ``<folder>/<prefix>_<label>.png``; return (file name, label) pairs."""
    saved = []
    for label, images in visuals.items():
        name = f"{prefix}_{label}.png"
        save_image(tensor_to_image(images), Path(folder) / name, aspect_ratio)
        saved.append((name, label))
    return saved


def render_page(title: str, rows: Sequence[Row], width: int, refresh: int = 0) -> str:
    """A heading per row, then its images side by side, each linked (``templates/results.html``,
    the layout of the reference's ``util/html.py``); every name is HTML-escaped."""
    return render("results.html", title=title, rows=rows, width=width, refresh=refresh)


def _write(path: Path, text: str) -> None:
    temporary = path.with_name(path.name + ".tmp")
    temporary.write_text(text)
    temporary.replace(path)


class TrainingPage:
    """``checkpoints/<name>/web/``: the latest visuals of every epoch, newest first."""

    def __init__(self, folder: Path, experiment: str, width: int = 256, refresh: int = 10) -> None:
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.experiment = experiment
        self.width = width
        self.refresh = refresh

    def update(self, epoch: int, visuals: Mapping[str, torch.Tensor]) -> Path:
        """Save ``epoch###_<label>.png`` for each visual and rewrite ``index.html``."""
        self.images.mkdir(parents=True, exist_ok=True)
        save_visuals(visuals, self.images, f"epoch{epoch:03d}")
        labels = list(visuals)
        rows = []
        for shown in range(epoch, 0, -1):
            present = [
                (f"images/epoch{shown:03d}_{label}.png", label)
                for label in labels
                if (self.images / f"epoch{shown:03d}_{label}.png").exists()
            ]
            if present:
                rows.append((f"epoch [{shown}]", present))
        page = self.folder / "index.html"
        title = f"Experiment name = {self.experiment}"
        _write(page, render_page(title, rows, self.width, self.refresh))
        return page


class ResultsPage:
    """``results/<name>/<phase>_<epoch>/``: one row of images per test input."""

    def __init__(self, folder: Path, title: str, width: int = 256, aspect_ratio: float = 1.0):
        self.folder = Path(folder)
        self.images = self.folder / "images"
        self.title = title
        self.width = width
        self.aspect_ratio = aspect_ratio
        self.rows: list[Row] = []

    def add(self, stem: str, visuals: Mapping[str, torch.Tensor]) -> None:
        """Save ``images/<stem>_<label>.png`` for each visual (the reference's ``save_images``)."""
        saved = save_visuals(visuals, self.images, stem, self.aspect_ratio)
        self.rows.append((stem, [(f"images/{name}", label) for name, label in saved]))

    def write(self) -> Path:
        """Write ``index.html`` and return its path."""
        self.folder.mkdir(parents=True, exist_ok=True)
        page = self.folder / "index.html"
        _write(page, render_page(self.title, self.rows, self.width))
        return page
