"""Tiny synthetic image folders in the reference's layouts, for tests and offline lessons.

Domain A draws a brown blob ("horse") on grass, domain B the same kind of blob
with black and white stripes ("zebra"): a toy horse2zebra that a small CycleGAN
can learn in minutes and that needs no download. Deterministic from ``seed``.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
from PIL import Image

LAYOUTS = ("unaligned", "aligned", "single")
GRASS = np.array([70, 140, 60], dtype=np.float64)
HORSE = np.array([140, 90, 50], dtype=np.float64)


def _blob_mask(size: int, rng: np.random.Generator) -> np.ndarray:
    """A random filled ellipse, as a (size, size) boolean mask."""
    cy, cx = rng.uniform(0.35, 0.65, 2) * size
    ry, rx = rng.uniform(0.15, 0.3, 2) * size
    y, x = np.mgrid[0:size, 0:size]
    return ((y - cy) / ry) ** 2 + ((x - cx) / rx) ** 2 <= 1.0


def _grass(size: int, rng: np.random.Generator) -> np.ndarray:
    shade = np.linspace(0.8, 1.2, size)[:, None, None]
    noise = rng.normal(0, 8, (size, size, 3))
    return GRASS * shade + noise


def _to_uint8(image: np.ndarray) -> np.ndarray:
    return np.clip(image, 0, 255).astype(np.uint8)


def draw_pair(size: int, rng: np.random.Generator) -> tuple[np.ndarray, np.ndarray]:
    """One scene drawn twice: as a horse (domain A) and as a zebra (domain B), uint8 HxWx3."""
    mask = _blob_mask(size, rng)[..., None]
    grass = _grass(size, rng)
    angle, period = rng.uniform(0, np.pi), rng.uniform(4, 8) * size / 64
    y, x = np.mgrid[0:size, 0:size]
    stripes = (np.sin((x * np.cos(angle) + y * np.sin(angle)) * 2 * np.pi / period) > 0)[..., None]
    horse = np.where(mask, HORSE, grass)
    zebra = np.where(mask, np.where(stripes, 235.0, 20.0), grass)
    return _to_uint8(horse), _to_uint8(zebra)


def _save(image: np.ndarray, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.fromarray(image).save(path)


def make_image_folder_dataset(
    root: str | Path,
    n: int = 8,
    size: int = 64,
    layout: str = "unaligned",
    *,
    phases: tuple[str, ...] = ("train", "test"),
    seed: int = 0,
) -> Path:
    """Write ``n`` PNGs per domain and phase under ``root`` in the reference's layout; return ``root``.

    * ``unaligned``: ``root/trainA``, ``trainB``, ``testA``, ``testB`` (A and B scenes independent);
    * ``aligned``: ``root/train``, ``root/test`` with ``size`` x ``2*size`` A|B pairs of one scene;
    * ``single``: ``root/0000.png`` ... (domain A only, phases ignored).
    """
    if layout not in LAYOUTS:
        raise ValueError(f"layout {layout!r} is unknown; use one of {', '.join(LAYOUTS)}")
    root = Path(root)
    rng = np.random.default_rng(seed)
    for phase in phases[:1] if layout == "single" else phases:
        for i in range(n):
            name = f"{i:04d}.png"
            horse, zebra = draw_pair(size, rng)
            if layout == "aligned":
                _save(np.concatenate([horse, zebra], axis=1), root / phase / name)
            elif layout == "single":
                _save(horse, root / name)
            else:
                _save(horse, root / f"{phase}A" / name)
                _save(draw_pair(size, rng)[1], root / f"{phase}B" / name)  # another scene
    return root
