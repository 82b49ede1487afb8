"""Lesson 00's exercise: scaling pixels to the generator's range."""

from __future__ import annotations

import torch

from cyclegan_lib.course.digits import scale_pixels
from cyclegan_lib.lessons.exercises import Case, Exercise


def _scale_cases() -> list[Case]:
    pixels = torch.tensor([[0, 64, 128, 255]], dtype=torch.uint8)
    image = torch.arange(0, 256, 17, dtype=torch.uint8).reshape(1, 1, 4, 4)
    return [
        Case((pixels,), label="pixels 0, 64, 128, 255"),
        Case((image,), label="a 1x1x4x4 uint8 image"),
    ]


SCALE_PIXELS = Exercise(
    name="scale_pixels",
    reference=scale_pixels,
    make_cases=_scale_cases,
    hint="0 must map to -1 and 255 to +1: divide by 127.5, then subtract 1 "
    "(convert to float first, or uint8 arithmetic wraps around).",
)
