"""The reference's folder datasets: ``unaligned``, ``aligned``, ``single`` and ``colorization``.

Folder layouts (``--dataroot`` and ``--phase``, as in the reference's ``data/``):

* ``unaligned`` (CycleGAN): ``<dataroot>/<phase>A`` and ``<dataroot>/<phase>B``,
  e.g. ``trainA``/``trainB``; each item pairs the ``index``-th A image with a
  random B image (the ``index``-th one with ``serial_batches``).
* ``aligned`` (pix2pix): ``<dataroot>/<phase>/``, each image holding A on its left
  half and B on its right half; both halves get the same crop and flip.
* ``single`` (``--model test``): one domain, from ``<dataroot>/<phase>A`` when that
  folder exists (``<phase>B`` with ``--direction BtoA``), else ``<dataroot>`` itself.
* ``colorization`` (``--model colorization``): any RGB images in ``<dataroot>/<phase>/``;
  A is the L channel of each image in CIELAB, B its a and b channels.

Items are dicts ``{'A', 'B', 'A_paths', 'B_paths'}`` (``single``: ``{'A', 'A_paths'}``)
holding float tensors in [-1, 1] of shape (C, H, W) and the path strings. As in the
reference the dataset never swaps A and B for ``--direction BtoA`` (the model does);
the direction only decides which side gets ``input_nc`` and which ``output_nc``
channels (1 = grayscale, 3 = RGB).

Randomness (the B partner, crops, flips) comes from a ``torch.Generator`` seeded per
item from ``(seed, epoch, index)``. An item is therefore the same whichever worker
process loads it and in whatever order, and a resumed run gets exactly the items
of the run it continues. :func:`epoch_loader` makes the loader the trainer uses: the order
of each epoch depends only on ``(seed, epoch)``, and it can skip the batches a resumed run
has already trained on.

Bad input: a missing or empty folder, bad options or a folder with no readable
image raise :class:`DatasetError` naming the path or option. An image that cannot
be decoded (truncated, corrupt) is skipped with a :class:`BadImageWarning` naming
it: the next readable image of the same folder takes its place, deterministically.
Files without an image extension are ignored, as in the reference.
"""

from __future__ import annotations

import itertools
import math
import os
import warnings
from collections.abc import Iterator
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any, Literal, get_args

import numpy as np
import torch
from PIL import Image, UnidentifiedImageError
from torch.utils.data import DataLoader, Dataset, DistributedSampler, Sampler

from cyclegan_lib.models import DIRECTIONS, Direction, lab_to_model, rgb_to_lab
from cyclegan_lib.pipeline.transforms import (
    Preprocess,
    PreprocessMode,
    build_transform,
    sample_params,
    validate_preprocess,
)

IMAGE_EXTENSIONS = (".jpg", ".jpeg", ".png", ".ppm", ".bmp", ".tif", ".tiff")
"""The reference's list (``data/image_folder.py``), matched here without regard to case."""

DatasetMode = Literal["unaligned", "aligned", "single", "colorization"]
DATASET_MODES: tuple[DatasetMode, ...] = get_args(DatasetMode)
"""``--dataset_mode`` values: the keys of :data:`DATASET_CLASSES` (a test checks that they agree)."""
BACKGROUND = (255, 255, 255)
"""Transparent pixels are composited onto white before the alpha channel is dropped."""


class DatasetError(ValueError):
    """A dataset folder or option that cannot work; the message names the path or option."""

    def __str__(self) -> str:
        # A DataLoader worker re-raises it with the worker's traceback as the message;
        # its last line holds ours, which is all the user needs to see.
        text = super().__str__()
        if "Original Traceback" not in text:
            return text
        return text.rstrip().splitlines()[-1].split(f"{type(self).__name__}: ", 1)[-1]


class BadImageWarning(UserWarning):
    """An image file that could not be decoded and was skipped."""


@dataclass(frozen=True)
class DataOptions:
    """The reference's data options, with its defaults (``options/base_options.py``).

    ``max_dataset_size`` may be ``math.inf`` (all images). ``seed`` seeds the
    per-item generators. Invalid values raise :class:`DatasetError`.
    """

    dataroot: str | Path = "."
    dataset_mode: DatasetMode = "unaligned"
    phase: str = "train"
    direction: Direction = "AtoB"
    input_nc: int = 3
    output_nc: int = 3
    preprocess: PreprocessMode = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    no_flip: bool = False
    serial_batches: bool = False
    max_dataset_size: float = math.inf
    seed: int = 0

    def __post_init__(self) -> None:
        if not self.dataroot:
            raise DatasetError("--dataroot is required: the folder that holds the images")
        for option, value, allowed in (
            ("--dataset_mode", self.dataset_mode, DATASET_MODES),
            ("--direction", self.direction, DIRECTIONS),
        ):
            if value not in allowed:
                raise DatasetError(
                    f"{option} {value!r} is unknown; use one of {', '.join(allowed)}"
                )
        self._check_channels()
        if not self.max_dataset_size >= 1:
            raise DatasetError(
                f"--max_dataset_size must be at least 1, got {self.max_dataset_size!r}"
            )
        try:
            validate_preprocess(self.preprocess, self.load_size, self.crop_size)
        except ValueError as error:
            raise DatasetError(str(error)) from None

    def _check_channels(self) -> None:
        """Image folders give 1 (grayscale) or 3 (RGB) channels; colorization gives L and ab."""
        if self.dataset_mode == "colorization":
            if (self.input_nc, self.output_nc, self.direction) != (1, 2, "AtoB"):
                raise DatasetError(
                    "--dataset_mode colorization gives L (--input_nc 1) and ab (--output_nc 2) "
                    f"with --direction AtoB, got --input_nc {self.input_nc} "
                    f"--output_nc {self.output_nc} --direction {self.direction}"
                )
            return
        for option, value in (("--input_nc", self.input_nc), ("--output_nc", self.output_nc)):
            if value not in (1, 3):
                raise DatasetError(
                    f"{option} {value!r}: image folders give 1 (grayscale) or 3 (RGB) channels"
                )

    @classmethod
    def from_options(cls, options: Any) -> DataOptions:
        """Take the fields this class knows from any options object (e.g. the CLI's)."""
        known = {f.name: getattr(options, f.name) for f in fields(cls) if hasattr(options, f.name)}
        return cls(**known)

    @property
    def pre(self) -> Preprocess:
        return Preprocess(self.preprocess, self.load_size, self.crop_size, self.no_flip)

    @property
    def channels_a(self) -> int:
        """Channels of the A images: the model's input unless the direction is BtoA."""
        return self.output_nc if self.direction == "BtoA" else self.input_nc

    @property
    def channels_b(self) -> int:
        return self.input_nc if self.direction == "BtoA" else self.output_nc


def is_image_file(path: str | Path) -> bool:
    """True when the file name ends in one of :data:`IMAGE_EXTENSIONS` (any case)."""
    return str(path).lower().endswith(IMAGE_EXTENSIONS)


def find_images(folder: str | Path, max_dataset_size: float = math.inf) -> list[str]:
    """Image paths under ``folder`` and its subfolders, sorted, at most ``max_dataset_size``.

    The reference's ``make_dataset``, except that the list is sorted *before* it is
    cut to ``max_dataset_size`` (the reference cuts in directory-listing order, so
    its subset can change from one machine to another).

    Raises:
        DatasetError: the folder is missing or holds no image file.
    """
    folder = Path(folder)
    if not folder.is_dir():
        what = "is a file, not a folder" if folder.exists() else "does not exist"
        raise DatasetError(f"image folder {folder} {what}")
    files = sorted(str(Path(root) / name) for root, _, names in os.walk(folder) for name in names)
    images = [path for path in files if is_image_file(path)]
    if not images:
        ignored = f" ({len(files)} other files ignored)" if files else ""
        raise DatasetError(
            f"image folder {folder} holds no image{ignored}; "
            f"expected files ending in {', '.join(IMAGE_EXTENSIONS)}"
        )
    return images[: int(min(max_dataset_size, len(images)))]


def to_rgb(image: Image.Image) -> Image.Image:
    """Any PIL mode to 8-bit RGB.

    Transparent pixels are composited onto white (the reference's ``convert('RGB')``
    keeps whatever colour hides under them), and 16/32-bit grayscale is scaled
    down to 8 bits (``convert`` would clip it to white).
    """
    if image.mode in ("I", "I;16", "I;16B", "I;16L", "F"):
        values = np.asarray(image, dtype=np.float64)
        peak = 65535.0 if values.max(initial=0) > 255 or image.mode.startswith("I;16") else 255.0
        image = Image.fromarray(np.clip(values / peak * 255.0 + 0.5, 0, 255).astype(np.uint8))
    if image.mode == "P" and "transparency" in image.info:
        image = image.convert("RGBA")
    if image.mode in ("RGBA", "LA", "PA", "RGBa", "La"):
        background = Image.new("RGBA", image.size, BACKGROUND + (255,))
        image = Image.alpha_composite(background, image.convert("RGBA"))
    return image.convert("RGB")


def load_image(path: str | Path) -> Image.Image:
    """Open and fully decode an image as RGB; ``OSError`` if it is truncated or not an image."""
    with Image.open(path) as image:
        image.load()  # decode now: a truncated file fails here, not later
        return to_rgb(image)


def item_generator(seed: int, epoch: int, index: int) -> torch.Generator:
    """A generator seeded from ``(seed, epoch, index)``: the same item is always the same."""
    state = np.random.SeedSequence([seed, epoch, index]).generate_state(1, np.uint64)[0]
    return torch.Generator().manual_seed(int(state))


class FolderDataset(Dataset):
    """What the three modes share: options, the epoch, per-item randomness, robust reads."""

    def __init__(self, options: DataOptions) -> None:
        self.options = options
        self.epoch = 0

    def __len__(self) -> int:
        raise NotImplementedError

    def set_epoch(self, epoch: int) -> None:
        """Select the epoch's random choices (call before each epoch, like ``DistributedSampler``)."""
        self.epoch = epoch

    def generator(self, index: int) -> torch.Generator:
        return item_generator(self.options.seed, self.epoch, index)

    def read(self, paths: list[str], index: int) -> tuple[str, Image.Image]:
        """Image ``index`` of ``paths``, or the next readable one after warning about each bad file."""
        for offset in range(len(paths)):
            path = paths[(index + offset) % len(paths)]
            try:
                return path, load_image(path)
            except (
                OSError,
                UnidentifiedImageError,
                ValueError,
                Image.DecompressionBombError,
            ) as error:
                warnings.warn(
                    f"skipping unreadable image {path}: {error}", BadImageWarning, stacklevel=2
                )
        raise DatasetError(
            f"no readable image in {Path(paths[0]).parent}: every file failed to decode"
        )

    def transformed(
        self, image: Image.Image, channels: int, generator: torch.Generator
    ) -> torch.Tensor:
        pre = self.options.pre
        params = sample_params(pre, image.size, generator)
        return build_transform(pre, params, grayscale=channels == 1)(image)


def _require_folder(folder: Path, layout_hint: str) -> Path:
    if not folder.is_dir():
        raise DatasetError(f"folder {folder} does not exist; {layout_hint}")
    return folder


class UnalignedDataset(FolderDataset):
    """CycleGAN's unpaired data: ``<phase>A`` and ``<phase>B``; length is the larger domain."""

    def __init__(self, options: DataOptions) -> None:
        super().__init__(options)
        root = Path(options.dataroot)
        hint = (
            f"--dataset_mode unaligned expects {root}/{options.phase}A and {root}/{options.phase}B"
        )
        if (root / options.phase).is_dir() and not (root / f"{options.phase}A").is_dir():
            hint += f" (found {root}/{options.phase}: is this an aligned dataset? use --dataset_mode aligned)"
        folder_a, folder_b = (
            _require_folder(root / f"{options.phase}{side}", hint) for side in "AB"
        )
        self.A_paths = find_images(folder_a, options.max_dataset_size)
        self.B_paths = find_images(folder_b, options.max_dataset_size)

    def __len__(self) -> int:
        return max(len(self.A_paths), len(self.B_paths))

    def __getitem__(self, index: int) -> dict[str, Any]:
        generator = self.generator(index)
        if self.options.serial_batches:
            index_b = index % len(self.B_paths)
        else:
            index_b = int(torch.randint(len(self.B_paths), (1,), generator=generator).item())
        a_path, a_image = self.read(self.A_paths, index % len(self.A_paths))
        b_path, b_image = self.read(self.B_paths, index_b)
        return {
            "A": self.transformed(a_image, self.options.channels_a, generator),
            "B": self.transformed(b_image, self.options.channels_b, generator),
            "A_paths": a_path,
            "B_paths": b_path,
        }


class AlignedDataset(FolderDataset):
    """pix2pix's paired data: ``<phase>/`` images with A on the left half and B on the right."""

    def __init__(self, options: DataOptions) -> None:
        super().__init__(options)
        root = Path(options.dataroot)
        hint = (
            f"--dataset_mode aligned expects {root}/{options.phase}/ with A|B side-by-side images"
        )
        folder = _require_folder(root / options.phase, hint)
        self.AB_paths = find_images(folder, options.max_dataset_size)

    def __len__(self) -> int:
        return len(self.AB_paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, pair = self.read(self.AB_paths, index)
        width, height = pair.size
        if width < 2:
            raise DatasetError(f"aligned image {path} is {width} pixel wide: it cannot hold A|B")
        half = width // 2
        image_a, image_b = pair.crop((0, 0, half, height)), pair.crop((half, 0, width, height))
        pre = self.options.pre
        params = sample_params(pre, image_a.size, self.generator(index))  # one draw for both
        transform_a = build_transform(pre, params, grayscale=self.options.channels_a == 1)
        transform_b = build_transform(pre, params, grayscale=self.options.channels_b == 1)
        return {
            "A": transform_a(image_a),
            "B": transform_b(image_b),
            "A_paths": path,
            "B_paths": path,
        }


class ColorizationDataset(FolderDataset):
    """``<phase>/`` RGB images as (L, ab) in CIELAB (the reference's ``colorization_dataset.py``).

    Each image is resized, cropped and flipped as ``--preprocess`` says, then converted:
    ``A`` is L scaled to [-1, 1] (``L/50 - 1``), ``B`` is ab scaled by 1/110.
    """

    def __init__(self, options: DataOptions) -> None:
        super().__init__(options)
        root = Path(options.dataroot)
        hint = f"--dataset_mode colorization expects RGB images in {root}/{options.phase}/"
        self.AB_paths = find_images(
            _require_folder(root / options.phase, hint), options.max_dataset_size
        )

    def __len__(self) -> int:
        return len(self.AB_paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, image = self.read(self.AB_paths, index)
        rgb = (self.transformed(image, 3, self.generator(index)) + 1) / 2
        lightness, colour = lab_to_model(rgb_to_lab(rgb))
        return {"A": lightness, "B": colour, "A_paths": path, "B_paths": path}


class SingleDataset(FolderDataset):
    """One domain for ``--model test``: ``<dataroot>/<phase>A`` if present, else ``<dataroot>``."""

    def __init__(self, options: DataOptions) -> None:
        super().__init__(options)
        root = Path(options.dataroot)
        side = "B" if options.direction == "BtoA" else "A"
        folder = root / f"{options.phase}{side}"
        self.folder = folder if folder.is_dir() else root
        self.A_paths = find_images(self.folder, options.max_dataset_size)

    def __len__(self) -> int:
        return len(self.A_paths)

    def __getitem__(self, index: int) -> dict[str, Any]:
        path, image = self.read(self.A_paths, index)
        return {
            "A": self.transformed(image, self.options.channels_a, self.generator(index)),
            "A_paths": path,
        }


DATASET_CLASSES: dict[DatasetMode, type[FolderDataset]] = {
    "unaligned": UnalignedDataset,
    "aligned": AlignedDataset,
    "single": SingleDataset,
    "colorization": ColorizationDataset,
}


def create_dataset(options: DataOptions | Any) -> FolderDataset:
    """The dataset ``--dataset_mode`` names (the reference's ``data.create_dataset``).

    ``options`` is a :class:`DataOptions` or any object with the same attribute names.

    Raises:
        DatasetError: a bad option, a missing or empty folder.
    """
    if not isinstance(options, DataOptions):
        options = DataOptions.from_options(options)
    return DATASET_CLASSES[options.dataset_mode](options)


class SkipFirst(Sampler[int]):
    """A sampler without its first ``skip`` indices: the rest of an interrupted epoch."""

    def __init__(self, sampler: Sampler[int], skip: int) -> None:
        self.sampler, self.skip = sampler, skip

    def __iter__(self) -> Iterator[int]:
        return itertools.islice(iter(self.sampler), self.skip, None)

    def __len__(self) -> int:
        return max(len(self.sampler) - self.skip, 0)  # type: ignore[arg-type]


def epoch_loader(
    dataset: FolderDataset,
    epoch: int,
    *,
    batch_size: int = 1,
    shuffle: bool = True,
    seed: int = 0,
    skip_batches: int = 0,
    num_workers: int = 0,
    rank: int = 0,
    world_size: int = 1,
    pin_memory: bool = False,
) -> DataLoader:
    """The loader of ``epoch`` for process ``rank`` of ``world_size``, without its first batches.

    A ``DistributedSampler`` (one replica on a single process) shuffles from ``seed + epoch``
    (in order with ``shuffle=False``, the reference's ``--serial_batches``) and the dataset
    draws each item's crop, flip and partner from ``(seed, epoch, index)``, so no loader state
    needs saving for an exact resume: the resumed run skips ``skip_batches`` batches. The last,
    short batch is kept, as in the reference. The loader has its own generator, so starting
    it draws nothing from torch's global RNG (which would shift dropout and pools on a resume).
    """
    dataset.set_epoch(epoch)
    sampler: DistributedSampler[int] = DistributedSampler(
        dataset, world_size, rank, shuffle=shuffle, seed=seed
    )
    sampler.set_epoch(epoch)
    return DataLoader(
        dataset,
        batch_size=batch_size,
        sampler=SkipFirst(sampler, skip_batches * batch_size),
        num_workers=num_workers,
        generator=torch.Generator().manual_seed(seed + epoch),
        pin_memory=pin_memory,
    )
