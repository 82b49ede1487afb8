"""Lesson 05's exercises: the linear LR decay, the reference's 8-bit conversion, the ResNet block."""

from __future__ import annotations

from functools import partial

import numpy as np
import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.hidden import seeded
from cyclegan_lib.networks import ResnetBlock
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


def resnet_block_layers(dim: int) -> list[nn.Module]:
    """The ``conv_block`` of the reference's ``ResnetBlock`` with reflection padding and instance norm.

    Reflection-pad 1, 3x3 conv, instance norm, ReLU, reflection-pad 1, 3x3 conv, instance norm
    (Johnson et al. 2016's residual block as CycleGAN uses it, Zhu 2017 Sec. 7.2); the block
    returns x + conv_block(x).
    """
    return list(ResnetBlock(dim, norm="instance", use_dropout=False).conv_block)


def _block_with_library_weights(
    layers: list[nn.Module], args: tuple, height: int, width: int
) -> dict:
    """Layer kinds, and x + layers(x) once the library block's weights are loaded into them."""
    (dim,) = args
    stack = nn.Sequential(*layers)
    torch.manual_seed(13)
    library = ResnetBlock(dim, norm="instance", use_dropout=False)
    stack.load_state_dict(library.conv_block.state_dict())  # strict: names and shapes agree
    x = torch.randn(2, dim, height, width, generator=torch.Generator().manual_seed(14))
    with torch.no_grad():
        output = x + stack(x)
    return {"layer kinds": [type(layer).__name__ for layer in layers], "x + block(x)": output}


def _block_cases() -> list[Case]:
    return [
        Case(
            (4,),
            label="dim=4 on 8x8 maps",
            observe=partial(_block_with_library_weights, height=8, width=8),
        ),
        Case(
            (8,),
            label="dim=8 on 5x7 maps (the borders show the padding)",
            observe=partial(_block_with_library_weights, height=5, width=7),
        ),
    ]


RESNET_BLOCK = Exercise(
    name="resnet_block_layers",
    reference=resnet_block_layers,
    make_cases=_block_cases,
    hint="[nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True), "
    "nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim)]: the padding is a "
    "layer of its own (padding=0 in the conv), the convs keep their bias (instance norm has "
    "no learned shift), and padding layers count in the numbering of the weights, so a "
    "zero-padded conv shows up as missing or unexpected keys.",
)


# --- hidden cases: what the grader adds to the notebook's (see tools/grading/hidden_tests) ---


def _hidden_lr_cases() -> list[Case]:
    settings = [
        ((2, 1, 1), "epoch 2 of 1 + 1"),
        ((5, 5, 0), "the last constant epoch, no decay epochs"),
        ((6, 5, 0), "n_epochs_decay 0: the factor drops to 0 at once"),
        ((3, 0, 4), "n_epochs 0: the decay starts at epoch 1"),
        ((7, 10, 10), "inside the constant phase"),
        ((12, 10, 5), "epoch 12 of 10 + 5 (not integer division)"),
        ((750, 500, 500), "epoch 750 of 500 + 500"),
        ((1000, 500, 500), "the last epoch of 500 + 500"),
    ]
    return [Case(args, label=f"hidden: {words}") for args, words in settings]


def _pixel_grid(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    """Values whose 8-bit level is exactly n + 0.5 for a random n, so any correct order of
    operations truncates to n (no value sits at a rounding boundary)."""
    levels = torch.randint(0, 255, shape, generator=torch.Generator().manual_seed(seed))
    return ((levels.double() + 0.5) / 127.5 - 1.0).to(dtype)


def _hidden_uint8_cases() -> list[Case]:
    wild = seeded(83, 1, 4, 1, scale=5.0)
    return [
        Case((_pixel_grid(80, 3, 5, 7),), label="hidden: a 3x5x7 colour image", observe=_as_tensor),
        Case(
            (_pixel_grid(81, 3, 4, 4, dtype=torch.float64),),
            label="hidden: a float64 image",
            observe=_as_tensor,
        ),
        Case(
            (_pixel_grid(82, 1, 6, 2).requires_grad_(True),),
            label="hidden: an image that requires grad (detach it)",
            observe=_as_tensor,
        ),
        Case(
            (wild,), label="hidden: a one-channel 4x1 image far outside [-1, 1]", observe=_as_tensor
        ),
        Case(
            (_pixel_grid(84, 5, 3, 3).transpose(0, 2)[:, :, :3],),
            label="hidden: a non-contiguous view of a colour image",
            observe=_as_tensor,
        ),
    ]


def _hidden_block_cases() -> list[Case]:
    sizes = [(1, 2, 2), (3, 9, 4), (16, 6, 6)]
    return [
        Case(
            (dim,),
            label=f"hidden: dim={dim} on {height}x{width} maps",
            observe=partial(_block_with_library_weights, height=height, width=width),
        )
        for dim, height, width in sizes
    ]


HIDDEN_CASES = {
    "linear_lr_factor": _hidden_lr_cases,
    "tensor_to_uint8": _hidden_uint8_cases,
    "resnet_block_layers": _hidden_block_cases,
}
"""Cases the grader adds to the notebook's (see :mod:`cyclegan_lib.tools.grading.hidden_tests`)."""
