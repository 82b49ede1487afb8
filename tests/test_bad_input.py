"""Bad input to the folder datasets: each case gets correct handling or one clear error.

=============================  ===========================================  ==============================================
case                           what the user gives                          what happens
=============================  ===========================================  ==============================================
no_dataroot                    ``--dataroot`` left out                      DatasetError: ``--dataroot is required``
missing_dataroot               a ``--dataroot`` that does not exist         DatasetError naming ``<root>/trainA``
missing_trainB                 ``trainA`` but no ``trainB``                 DatasetError naming ``<root>/trainB``
dataroot_is_a_file             ``--dataroot`` pointing at a file (single)   DatasetError: ``... is a file, not a folder``
aligned_folder_unaligned_mode  ``train/`` but the default unaligned mode    DatasetError suggesting ``--dataset_mode aligned``
empty_folder                   an empty ``trainA``                          DatasetError: ``<root>/trainA holds no image``
only_non_images                ``trainA`` with .txt/.csv files only         DatasetError, counting the ignored files
non_image_among_images         a .txt next to the images                    ignored (as the reference)
truncated_png                  a PNG cut in half                            BadImageWarning naming it; next image used
truncated_jpeg                 a JPEG cut in half                           BadImageWarning naming it; next image used
not_an_image                   garbage bytes named .jpg                     BadImageWarning naming it; next image used
all_unreadable                 every image of ``trainA`` broken             DatasetError: ``no readable image in <root>/trainA``
grayscale_image                an 8-bit grayscale (L) PNG                   3 equal RGB channels
rgba_image                     a fully transparent red RGBA PNG             composited on white (not red)
palette_transparency           a palette PNG with a transparent colour      composited on white
sixteen_bit_image              a 16-bit grayscale PNG at half range         scaled to 8 bits (mid grey, not clipped white)
cmyk_jpeg                      a CMYK JPEG                                  converted to RGB
tiny_dataset                   2 images, batch size 4                       one short batch of 2 (the reference's loader)
crop_larger_than_image         16 px images, ``--preprocess crop``, 32      upscaled, then cropped to 32 x 32
odd_size_no_preprocess         30 px images, ``--preprocess none``          rounded to 32 x 32 (multiple of 4)
load_smaller_than_crop         ``--load_size 16 --crop_size 32``            DatasetError naming both options
unknown_dataset_mode           ``--dataset_mode paired``                    DatasetError listing the modes
unsupported_channels           ``--input_nc 4``                             DatasetError naming ``--input_nc``
=============================  ===========================================  ==============================================
"""

from __future__ import annotations

import io
import re
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_lib.pipeline.datasets import (
    BadImageWarning,
    DataOptions,
    DatasetError,
    create_dataset,
    epoch_loader,
)

SIZE = 16
EXACT = dict(preprocess="none", no_flip=True)  # tensors show the decoded pixels


def noise(size: int = SIZE, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (size, size, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def encoded(image: Image.Image, fmt: str, keep: float = 1.0) -> bytes:
    buffer = io.BytesIO()
    image.save(buffer, format=fmt)
    data = buffer.getvalue()
    return data[: int(len(data) * keep)]


def unaligned(root: Path, a_files: dict[str, bytes], b_images: int = 1) -> None:
    """``trainA`` with the given files, ``trainB`` with good images."""
    for folder, files in (
        ("trainA", a_files),
        ("trainB", {f"b{i}.png": encoded(noise(seed=i), "PNG") for i in range(b_images)}),
    ):
        (root / folder).mkdir(parents=True, exist_ok=True)
        for name, data in files.items():
            (root / folder / name).write_bytes(data)


def good(count: int = 2) -> dict[str, bytes]:
    return {f"good{i}.png": encoded(noise(seed=10 + i), "PNG") for i in range(count)}


def with_bad(name: str, data: bytes) -> Callable[[Path], dict]:
    def setup(root: Path) -> dict:
        unaligned(root, {**good(), name: data})
        return dict(dataroot=root, **EXACT)

    return setup


def single_image(image: Image.Image, fmt: str = "PNG") -> Callable[[Path], dict]:
    def setup(root: Path) -> dict:
        unaligned(root, {f"image.{fmt.lower()}": encoded(image, fmt)})
        return dict(dataroot=root, **EXACT)

    return setup


def folders(*names: str, **options) -> Callable[[Path], dict]:
    def setup(root: Path) -> dict:
        for name in names:
            (root / name).mkdir(parents=True)
        return dict(dataroot=root, **options)

    return setup


def a_file(root: Path) -> dict:
    (root / "photo.png").write_bytes(encoded(noise(), "PNG"))
    return dict(dataroot=root / "photo.png", dataset_mode="single")


def only_non_images(root: Path) -> dict:
    unaligned(root, {"notes.txt": b"hello", "labels.csv": b"a,b"})
    return dict(dataroot=root)


def all_unreadable(root: Path) -> dict:
    unaligned(root, {"a.png": b"not a png", "b.jpg": encoded(noise(), "JPEG", keep=0.5)})
    return dict(dataroot=root, **EXACT)


def images_of(size: int, count: int = 2, **options) -> Callable[[Path], dict]:
    def setup(root: Path) -> dict:
        unaligned(root, {f"{i}.png": encoded(noise(size, i), "PNG") for i in range(count)})
        return dict(dataroot=root, **options)

    return setup


def palette_with_transparency() -> Image.Image:
    image = Image.new("P", (SIZE, SIZE), 1)
    image.putpalette([0, 0, 0, 255, 0, 0] + [0] * 762)
    image.info["transparency"] = 1  # palette entry 1 (red) is transparent
    return image


def sixteen_bit_half_grey() -> Image.Image:
    return Image.fromarray(np.full((SIZE, SIZE), 32768, dtype=np.uint16))


# --- checks on the loaded batches -------------------------------------------------


def no_path_ending(suffix: str) -> Callable[[list[dict]], None]:
    def check(batches: list[dict]) -> None:
        paths = [p for batch in batches for p in batch["A_paths"]]
        assert paths and not any(p.endswith(suffix) for p in paths)
        assert all(batch["A"].shape[1:] == (3, SIZE, SIZE) for batch in batches)

    return check


def first_a_is(expected: Callable[[torch.Tensor], bool]) -> Callable[[list[dict]], None]:
    def check(batches: list[dict]) -> None:
        image = batches[0]["A"][0]
        assert image.shape == (3, SIZE, SIZE) and expected(image), image[:, 0, 0]

    return check


def equal_channels(image: torch.Tensor) -> bool:
    return torch.equal(image[0], image[1]) and torch.equal(image[1], image[2])


def batch_sizes(*sizes: int) -> Callable[[list[dict]], None]:
    def check(batches: list[dict]) -> None:
        assert [len(batch["A_paths"]) for batch in batches] == list(sizes)

    return check


def a_shape(*shape: int) -> Callable[[list[dict]], None]:
    def check(batches: list[dict]) -> None:
        assert tuple(batches[0]["A"].shape[1:]) == shape

    return check


@dataclass
class Case:
    setup: Callable[[Path], dict]  # writes the files, returns the DataOptions fields
    error: str | None = None  # text the DatasetError must contain ({root} is filled in)
    warning: str | None = None  # text a BadImageWarning must contain
    check: Callable[[list[dict]], None] | None = None  # on the batches, when it loads


TRUNCATED_PNG = encoded(noise(64), "PNG", keep=0.5)
TRUNCATED_JPEG = encoded(noise(64), "JPEG", keep=0.5)
CASES = {
    "no_dataroot": Case(lambda root: dict(dataroot=None), error="--dataroot is required"),
    "missing_dataroot": Case(
        lambda root: dict(dataroot=root / "nowhere"),
        error="folder {root}/nowhere/trainA does not exist",
    ),
    "missing_trainB": Case(folders("trainA"), error="folder {root}/trainB does not exist"),
    "dataroot_is_a_file": Case(
        a_file, error="image folder {root}/photo.png is a file, not a folder"
    ),
    "aligned_folder_unaligned_mode": Case(folders("train"), error="use --dataset_mode aligned"),
    "empty_folder": Case(
        folders("trainA", "trainB"), error="image folder {root}/trainA holds no image"
    ),
    "only_non_images": Case(
        only_non_images, error="{root}/trainA holds no image (2 other files ignored)"
    ),
    "non_image_among_images": Case(with_bad("readme.txt", b"text"), check=no_path_ending(".txt")),
    "truncated_png": Case(
        with_bad("half.png", TRUNCATED_PNG),
        warning="skipping unreadable image {root}/trainA/half.png: image file is truncated",
        check=no_path_ending("half.png"),
    ),
    "truncated_jpeg": Case(
        with_bad("half.jpg", TRUNCATED_JPEG),
        warning="skipping unreadable image {root}/trainA/half.jpg: image file is truncated",
        check=no_path_ending("half.jpg"),
    ),
    "not_an_image": Case(
        with_bad("fake.jpg", b"<html>404</html>"),
        warning="skipping unreadable image {root}/trainA/fake.jpg: cannot identify image file",
        check=no_path_ending("fake.jpg"),
    ),
    "all_unreadable": Case(all_unreadable, error="no readable image in {root}/trainA"),
    "grayscale_image": Case(single_image(noise().convert("L")), check=first_a_is(equal_channels)),
    "rgba_image": Case(
        single_image(Image.new("RGBA", (SIZE, SIZE), (255, 0, 0, 0))),
        check=first_a_is(lambda image: bool((image == 1).all())),
    ),
    "palette_transparency": Case(
        single_image(palette_with_transparency()),
        check=first_a_is(lambda image: bool((image == 1).all())),
    ),
    "sixteen_bit_image": Case(
        single_image(sixteen_bit_half_grey()),
        check=first_a_is(lambda image: equal_channels(image) and abs(float(image.mean())) < 0.01),
    ),
    "cmyk_jpeg": Case(
        single_image(noise().convert("CMYK"), "JPEG"), check=first_a_is(lambda image: True)
    ),
    "tiny_dataset": Case(images_of(SIZE, count=2, **EXACT), check=batch_sizes(2)),
    "crop_larger_than_image": Case(
        images_of(SIZE, preprocess="crop", crop_size=32), check=a_shape(3, 32, 32)
    ),
    "odd_size_no_preprocess": Case(images_of(30, preprocess="none"), check=a_shape(3, 32, 32)),
    "load_smaller_than_crop": Case(
        images_of(SIZE, load_size=16, crop_size=32),
        error="--load_size 16 is smaller than --crop_size 32",
    ),
    "unknown_dataset_mode": Case(
        images_of(SIZE, dataset_mode="paired"),
        error="--dataset_mode 'paired' is unknown; use one of unaligned, aligned, single",
    ),
    "unsupported_channels": Case(images_of(SIZE, input_nc=4), error="--input_nc 4"),
}


def load_all(options: dict) -> list[dict]:
    """Build the dataset and read every item through a loader, as training would."""
    dataset = create_dataset(DataOptions(**options))
    return list(epoch_loader(dataset, epoch=1, batch_size=4, shuffle=False))


@pytest.mark.parametrize("name", CASES)
def test_bad_input(name, tmp_path):
    case = CASES[name]
    options = case.setup(tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        if case.error:
            with pytest.raises(DatasetError, match=re.escape(case.error.format(root=tmp_path))):
                load_all(options)
            return
        batches = load_all(options)
    bad_images = [str(w.message) for w in caught if issubclass(w.category, BadImageWarning)]
    if case.warning:
        assert any(case.warning.format(root=tmp_path) in message for message in bad_images), (
            bad_images
        )
    else:
        assert not bad_images
    case.check(batches)


def test_the_docstring_table_lists_every_case():
    rows = re.findall(r"^(\w+) {2,}", __doc__, flags=re.MULTILINE)
    assert rows[1:] == list(CASES)  # rows[0] is the header


def test_an_error_in_a_loader_worker_is_still_one_line(tmp_path):
    """torch re-raises a worker's exception with its traceback as the message; we keep one line."""
    options = all_unreadable(tmp_path)
    loader = epoch_loader(create_dataset(DataOptions(**options)), epoch=1, num_workers=1)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", BadImageWarning)
        with pytest.raises(DatasetError) as caught:
            list(loader)
    assert (
        str(caught.value) == f"no readable image in {tmp_path}/trainA: every file failed to decode"
    )
