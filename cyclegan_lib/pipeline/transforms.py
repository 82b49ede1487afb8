"""The reference's image preprocessing, on torchvision transforms, with explicit randomness.

``--preprocess`` picks what happens to each image before it becomes a tensor
(the reference's ``data/base_dataset.py``, ``get_transform``):

================== ==========================================================
``resize_and_crop`` resize to ``load_size`` x ``load_size``, random ``crop_size`` crop
``crop``            random ``crop_size`` crop of the original image
``scale_width``     width to ``load_size``, height keeps the aspect (at least ``crop_size``)
``scale_width_and_crop`` the same, then a random ``crop_size`` crop
``none``            sizes rounded to multiples of 4 (the reference's ``__make_power_2``)
================== ==========================================================

then a random horizontal flip (unless ``no_flip``), grayscale when one channel is
wanted, and scaling to [-1, 1], the range of the generators' ``tanh``.

Unlike the reference, which draws crops and flips from the global ``random``
module inside torchvision's random transforms, every random choice here is made
up front by :func:`sample_params` from a ``torch.Generator`` the caller owns.
The transform itself is then deterministic, so a run is reproducible and a
resumed run sees exactly the crops and flips it would have seen (the datasets
seed one generator per item from ``(seed, epoch, index)``). The same
:class:`AugmentParams` applied to both halves of an aligned pair gives them the
same crop and flip, as the reference's ``get_params`` does.

One deliberate difference: with ``crop``, an image smaller than ``crop_size`` is
upscaled (bicubic, aspect kept) until the crop fits; the reference fails in
torchvision's ``RandomCrop`` (unaligned) or returns the uncropped image (aligned).
"""

from __future__ import annotations

import math
import warnings
from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Literal, get_args

import torch
from PIL import Image
from torchvision import transforms
from torchvision.transforms import InterpolationMode
from torchvision.transforms import functional as TF

PreprocessMode = Literal["resize_and_crop", "crop", "scale_width", "scale_width_and_crop", "none"]
PREPROCESS_MODES: tuple[PreprocessMode, ...] = get_args(PreprocessMode)
"""``--preprocess`` values, each handled by :class:`Preprocess` (the options read them from here)."""
SIZE_MULTIPLE = 4
"""``--preprocess none`` rounds sizes to this multiple (the reference's ``base=4``)."""

BICUBIC = InterpolationMode.BICUBIC

Size = tuple[int, int]  # (width, height), as PIL reports it


@dataclass(frozen=True)
class Preprocess:
    """The reference's preprocessing options: ``--preprocess --load_size --crop_size --no_flip``."""

    mode: PreprocessMode = "resize_and_crop"
    load_size: int = 286
    crop_size: int = 256
    no_flip: bool = False

    def __post_init__(self) -> None:
        validate_preprocess(self.mode, self.load_size, self.crop_size)

    @property
    def resizes(self) -> bool:
        return self.mode == "resize_and_crop"

    @property
    def scales_width(self) -> bool:
        return self.mode.startswith("scale_width")

    @property
    def crops(self) -> bool:
        return self.mode.endswith("crop")


@dataclass(frozen=True)
class AugmentParams:
    """The random choices for one image (or one aligned pair): crop corner and flip."""

    crop_x: int = 0
    crop_y: int = 0
    flip: bool = False


def validate_preprocess(mode: str, load_size: int, crop_size: int) -> None:
    """Raise ``ValueError`` naming the option when the preprocessing cannot work.

    The reference asserts ``load_size >= crop_size`` only in its aligned dataset;
    the crop cannot fit otherwise in any mode that resizes before cropping.
    """
    if mode not in PREPROCESS_MODES:
        raise ValueError(
            f"--preprocess {mode!r} is unknown; use one of {', '.join(PREPROCESS_MODES)}"
        )
    for option, value in (("--load_size", load_size), ("--crop_size", crop_size)):
        if not isinstance(value, int) or value < 1:
            raise ValueError(f"{option} must be a positive integer, got {value!r}")
    if mode in ("resize_and_crop", "scale_width_and_crop") and load_size < crop_size:
        raise ValueError(
            f"--load_size {load_size} is smaller than --crop_size {crop_size}: with "
            f"--preprocess {mode} the image is resized to --load_size before the crop, "
            "so --load_size must be at least --crop_size"
        )


def scaled_width_size(size: Size, target_width: int, min_height: int) -> Size:
    """Width ``target_width``, height by the aspect ratio but never below ``min_height``.

    The reference's ``__scale_width``: the floor on the height keeps a later
    ``crop_size`` crop possible for very wide images.
    """
    width, height = size
    return target_width, int(max(target_width * height / width, min_height))


def at_least_size(size: Size, minimum: int) -> Size:
    """Scale ``size`` up, keeping its aspect, until both sides are at least ``minimum``."""
    width, height = size
    if min(width, height) >= minimum:
        return size
    factor = minimum / min(width, height)
    return max(minimum, math.ceil(width * factor)), max(minimum, math.ceil(height * factor))


def multiple_of_size(size: Size, base: int = SIZE_MULTIPLE) -> Size:
    """Round each side to the nearest multiple of ``base`` (the reference's ``__make_power_2``).

    A side shorter than ``base / 2`` would round to 0; it becomes ``base`` instead.
    """
    return tuple(max(base, round(side / base) * base) for side in size)  # type: ignore[return-value]


def size_before_crop(pre: Preprocess, size: Size) -> Size:
    """The image size after resizing, where the crop is taken (the reference's ``get_params``)."""
    if pre.resizes:
        return pre.load_size, pre.load_size
    if pre.scales_width:
        return scaled_width_size(size, pre.load_size, pre.crop_size)
    if pre.crops:  # plain ``crop``: small images are upscaled first
        return at_least_size(size, pre.crop_size)
    return size


def _randint(high: int, generator: torch.Generator) -> int:
    """A uniform integer in ``[0, high]`` drawn from ``generator``."""
    return int(torch.randint(0, high + 1, (1,), generator=generator).item())


def sample_params(pre: Preprocess, size: Size, generator: torch.Generator) -> AugmentParams:
    """Draw the crop corner and the flip for an image of ``size`` (the reference's ``get_params``).

    Always three draws (x, y, flip) in that order, whatever the mode, so the
    generator's stream does not depend on the options.
    """
    width, height = size_before_crop(pre, size)
    crop_x = _randint(max(0, width - pre.crop_size), generator)
    crop_y = _randint(max(0, height - pre.crop_size), generator)
    flip = bool(torch.rand(1, generator=generator).item() < 0.5)
    if not pre.crops:
        crop_x = crop_y = 0
    return AugmentParams(crop_x, crop_y, flip and not pre.no_flip)


class ResizeTo:
    """Resize a PIL image to the size a function of its current size gives (bicubic)."""

    def __init__(self, new_size: Callable[[Size], Size], description: str) -> None:
        self.new_size = new_size
        self.description = description

    def __call__(self, image: Image.Image) -> Image.Image:
        size = self.new_size(image.size)
        return image if size == image.size else image.resize(size, Image.Resampling.BICUBIC)

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.description})"


class FixedCrop:
    """Crop a ``size`` x ``size`` square at a corner chosen beforehand by :func:`sample_params`."""

    def __init__(self, x: int, y: int, size: int) -> None:
        self.x, self.y, self.size = x, y, size

    def __call__(self, image: Image.Image) -> Image.Image:
        return image.crop((self.x, self.y, self.x + self.size, self.y + self.size))

    def __repr__(self) -> str:
        return f"FixedCrop(x={self.x}, y={self.y}, size={self.size})"


class HorizontalFlip:
    """Mirror left-right. (``RandomHorizontalFlip(p=1)`` would still draw from torch's global RNG.)"""

    def __call__(self, image: Image.Image) -> Image.Image:
        return TF.hflip(image)

    def __repr__(self) -> str:
        return "HorizontalFlip()"


def _warn_rounding(size: Size) -> Size:
    rounded = multiple_of_size(size)
    if rounded != size:
        warnings.warn(
            "--preprocess none: image sizes that are not multiples of 4 are resized to the "
            "nearest multiple (bicubic), as in the reference",
            stacklevel=2,
        )
    return rounded


def build_transform(
    pre: Preprocess, params: AugmentParams, grayscale: bool = False
) -> transforms.Compose:
    """The reference's ``get_transform`` with its random choices fixed by ``params``.

    PIL image in, float tensor of shape (1 or 3, H, W) in [-1, 1] out.
    """
    steps: list = [transforms.Grayscale(1)] if grayscale else []
    if pre.resizes:
        steps.append(transforms.Resize((pre.load_size, pre.load_size), BICUBIC))
    elif pre.scales_width:
        new_size = partial(scaled_width_size, target_width=pre.load_size, min_height=pre.crop_size)
        steps.append(ResizeTo(new_size, f"width={pre.load_size}, min_height={pre.crop_size}"))
    elif pre.crops:
        new_size = partial(at_least_size, minimum=pre.crop_size)
        steps.append(ResizeTo(new_size, f"min_side={pre.crop_size}"))
    else:
        steps.append(ResizeTo(_warn_rounding, f"multiple_of={SIZE_MULTIPLE}"))
    if pre.crops:
        steps.append(FixedCrop(params.crop_x, params.crop_y, pre.crop_size))
    if params.flip and not pre.no_flip:
        steps.append(HorizontalFlip())
    channels = 1 if grayscale else 3
    steps += [transforms.ToTensor(), transforms.Normalize((0.5,) * channels, (0.5,) * channels)]
    return transforms.Compose(steps)


def preprocess(
    image: Image.Image,
    pre: Preprocess,
    generator: torch.Generator,
    grayscale: bool = False,
) -> torch.Tensor:
    """Sample the random choices for ``image`` and apply them: one call for lessons and tests."""
    return build_transform(pre, sample_params(pre, image.size, generator), grayscale)(image)
