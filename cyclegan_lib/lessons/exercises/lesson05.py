"""Lesson 05's exercises: the linear LR decay, the reference's 8-bit conversion, PatchGAN's reach."""

from __future__ import annotations

import numpy as np
import torch

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.networks import receptive_field
from cyclegan_lib.pipeline.pages import tensor_to_image
from cyclegan_lib.pipeline.schedulers import linear_decay


def linear_lr_factor(epoch: int, n_epochs: int, n_epochs_decay: int) -> float:
    """The learning-rate multiplier used *during* epoch ``epoch`` (1-based).

    The reference's ``lambda_rule`` (Zhu 2017, Sec. 7.1): 1 for the first ``n_epochs``
    epochs, then ``1 - (epoch - n_epochs) / (n_epochs_decay + 1)``.
    """
    return linear_decay(n_epochs, n_epochs_decay)(epoch - 1)


def _lr_cases() -> list[Case]:
    return [
        Case((epoch, 100, 100), label=f"epoch {epoch} of 100 + 100")
        for epoch in (1, 100, 101, 150, 200)
    ] + [Case((4, 2, 3), label="epoch 4 of 2 + 3")]


LR_FACTOR = Exercise(
    name="linear_lr_factor",
    reference=linear_lr_factor,
    make_cases=_lr_cases,
    hint="epochs 1..n_epochs keep factor 1; after that subtract (epoch - n_epochs) / "
    "(n_epochs_decay + 1), so epoch n_epochs + 1 gives 1 - 1/(n_epochs_decay + 1).",
)


def _as_tensor(result: object, _args: tuple) -> torch.Tensor:
    array = np.asarray(result)
    if array.dtype != np.uint8:
        raise TypeError(f"expected a uint8 array, got dtype {array.dtype}")
    return torch.from_numpy(array.copy()).long()


def _uint8_cases() -> list[Case]:
    ramp = torch.tensor([-1.0, -0.5, 0.0, 0.999, 1.0]).view(1, 1, 5).expand(3, 1, 5)
    outside = torch.tensor([[[-1.3, 1.2], [0.25, -0.25]]]).expand(3, 2, 2)
    gray = torch.linspace(-1, 1, 6).view(1, 2, 3)
    return [
        Case((ramp.clone(),), label="a 3x1x5 ramp (truncates, not rounds)", observe=_as_tensor),
        Case((outside.clone(),), label="values outside [-1, 1]", observe=_as_tensor),
        Case((gray,), label="a one-channel 1x2x3 image", observe=_as_tensor),
    ]


TO_UINT8 = Exercise(
    name="tensor_to_uint8",
    reference=tensor_to_image,
    make_cases=_uint8_cases,
    hint="move channels last (C, H, W) -> (H, W, C), map [-1, 1] to [0, 255] with "
    "(x + 1) / 2 * 255, clip to [0, 255], then .astype(np.uint8) (which truncates); "
    "repeat a single channel three times.",
)


def _field_cases() -> list[Case]:
    return [Case((n,), label=f"n_layers={n}") for n in (1, 2, 3, 4, 5)]


RECEPTIVE_FIELD = Exercise(
    name="patch_receptive_field",
    reference=receptive_field,
    make_cases=_field_cases,
    hint="the convolutions are: one 4x4 stride 2, then n_layers - 1 more 4x4 stride 2, then "
    "two 4x4 stride 1; start from 1 output pixel and go backwards with r = (r - 1) * s + k.",
)
