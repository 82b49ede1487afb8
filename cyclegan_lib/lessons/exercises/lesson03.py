"""Lesson 03's exercises (pix2pix): receptive field, the PatchGAN's layers, conditional D and G losses."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.hidden import seeded_images
from cyclegan_lib.losses import GANLoss, l1_loss
from cyclegan_lib.networks import NLayerDiscriminator, Norm, patch_geometry

_BCE = GANLoss("vanilla")  # pix2pix's default: binary cross-entropy on D's logits


def receptive_field(kernel_sizes: Sequence[int], strides: Sequence[int]) -> int:
    """Side of the input patch one output unit of a conv stack sees (Isola 2017, Sec. 3.2.2).

    The library's :func:`~cyclegan_lib.networks.patch_geometry`, measured on a stack of
    one-channel convolutions with these kernels and strides (on the ``meta`` device, so no
    weights are drawn from the lesson's random generator).
    """
    with torch.device("meta"):
        convs = [nn.Conv2d(1, 1, k, s) for k, s in zip(kernel_sizes, strides, strict=True)]
    return patch_geometry(nn.Sequential(*convs)).receptive_field


def patchgan_layers(input_nc: int, ndf: int, n_layers: int) -> list[nn.Module]:
    """The layers of the reference's ``NLayerDiscriminator`` with batch norm (Isola 2017, Sec. 3.2.2).

    C(ndf) without norm, then ``n_layers`` blocks of 4x4 convolution, batch norm and
    LeakyReLU(0.2) with ndf·min(2^depth, 8) channels (stride 2, the last one stride 1),
    then a 4x4 convolution to one logit per patch.
    """
    return list(NLayerDiscriminator(input_nc, ndf, n_layers, norm="batch").model)


def conditional_d_loss(
    D: nn.Module, x: torch.Tensor, y: torch.Tensor, fake_y: torch.Tensor
) -> torch.Tensor:
    """pix2pix's D loss (Isola 2017, eq. 1), halved as in the reference.

    D judges *pairs*: (x, y) should read real, (x, G(x)) fake; the fake is
    detached so this loss does not reach G.
    """
    real_pair = torch.cat([x, y], dim=1)
    fake_pair = torch.cat([x, fake_y.detach()], dim=1)
    return 0.5 * (_BCE(D(real_pair), True) + _BCE(D(fake_pair), False))


def pix2pix_g_loss(
    D: nn.Module,
    x: torch.Tensor,
    y: torch.Tensor,
    fake_y: torch.Tensor,
    lambda_L1: float = 100.0,
) -> torch.Tensor:
    """pix2pix's G loss (Isola 2017, eq. 4): fool D on (x, G(x)) plus λ·||y - G(x)||₁."""
    fooled = _BCE(D(torch.cat([x, fake_y], dim=1)), True)
    return fooled + lambda_L1 * l1_loss(fake_y, y)


def _receptive_field_cases() -> list[Case]:
    return [
        Case(([3, 3, 3], [1, 1, 1]), label="three 3x3 convs, stride 1"),
        Case(([4, 4], [2, 1]), label="4x4 stride 2, then 4x4 stride 1"),
        Case(([4, 4, 4, 4, 4], [2, 2, 2, 1, 1]), label="the default PatchGAN"),
    ]


def _with_library_weights(layers: list[nn.Module], args: tuple) -> dict:
    """The layer types, and the stack's output once the library's weights are loaded into it."""
    input_nc, ndf, n_layers = args
    stack = nn.Sequential(*layers)
    torch.manual_seed(11)
    library = NLayerDiscriminator(input_nc, ndf, n_layers, norm="batch")
    stack.load_state_dict(library.model.state_dict())  # strict: every name and shape must agree
    probe = torch.rand(2, input_nc, 64, 64, generator=torch.Generator().manual_seed(12)) * 2 - 1
    with torch.no_grad():
        output = stack.eval()(probe)
    return {"layer types": [type(layer).__name__ for layer in layers], "output": output}


def _patchgan_cases() -> list[Case]:
    return [
        Case((4, 8, n), label=f"input_nc=4, ndf=8, n_layers={n}", observe=_with_library_weights)
        for n in (1, 2, 3)
    ] + [
        Case(
            (2, 2, 4),
            label="n_layers=4: channels stop growing at 8·ndf",
            observe=_with_library_weights,
        )
    ]


def _pairs() -> tuple[torch.Tensor, ...]:
    generator = torch.Generator().manual_seed(4)
    x = torch.rand(2, 3, 16, 16, generator=generator) * 2 - 1
    y = torch.rand(2, 1, 16, 16, generator=generator) * 2 - 1
    fake_y = (torch.rand(2, 1, 16, 16, generator=generator) * 2 - 1).requires_grad_(True)
    return x, y, fake_y


def _patch_d() -> nn.Module:
    torch.manual_seed(5)
    return NLayerDiscriminator(input_nc=4, ndf=4, n_layers=1, norm="instance")


def _loss_and_reach(loss: torch.Tensor, args: tuple) -> dict:
    """The loss, its dtype, and whether its gradient reaches G's output ``fake_y`` (args[3])."""
    fake_y = args[3]
    loss.backward()
    reached_g = fake_y.grad is not None and bool(fake_y.grad.abs().sum() > 0)
    return {"loss": loss.detach(), "dtype": str(loss.dtype), "gradient reaches fake_y": reached_g}


def _d_loss_cases() -> list[Case]:
    return [
        Case(
            (_patch_d(), *_pairs()),
            label="a tiny PatchGAN on 16x16 pairs",
            observe=_loss_and_reach,
        )
    ]


def _g_loss_cases() -> list[Case]:
    return [
        Case((_patch_d(), *_pairs()), label="λ=100 (pix2pix's default)"),
        Case((_patch_d(), *_pairs()), {"lambda_L1": 0.0}, label="λ=0: the cGAN term alone"),
    ]


RECEPTIVE_FIELD = Exercise(
    name="receptive_field",
    reference=receptive_field,
    make_cases=_receptive_field_cases,
    hint="Start with field = 1 and jump = 1. For each layer: field += (kernel - 1) * jump, "
    "then jump *= stride (a stride makes every later step cover more input pixels).",
)

PATCHGAN_LAYERS = Exercise(
    name="patchgan_layers",
    reference=patchgan_layers,
    make_cases=_patchgan_cases,
    hint="[Conv2d(input_nc, ndf, 4, stride=2, padding=1), LeakyReLU(0.2, True)], then for depth "
    "in 1..n_layers: out = ndf * min(2**depth, 8), Conv2d(channels, out, 4, stride=2 (1 for the "
    "last depth), padding=1, bias=False), BatchNorm2d(out), LeakyReLU(0.2, True); finally "
    "Conv2d(channels, 1, 4, stride=1, padding=1). A 'Missing key' or 'size mismatch' error "
    "names the first layer whose shape differs from the library's.",
)

CONDITIONAL_D_LOSS = Exercise(
    name="conditional_d_loss",
    reference=conditional_d_loss,
    make_cases=_d_loss_cases,
    hint="D sees torch.cat([x, y], 1) (target: real) and torch.cat([x, fake_y.detach()], 1) "
    "(target: fake); use binary cross-entropy on logits and average the two halves (x 0.5). "
    "D's loss must not send gradients into fake_y (that is G's business): detach it.",
)

PIX2PIX_G_LOSS = Exercise(
    name="pix2pix_g_loss",
    reference=pix2pix_g_loss,
    make_cases=_g_loss_cases,
    hint="GAN term: BCE-with-logits of D(torch.cat([x, fake_y], 1)) against 1 (real), without "
    "detaching; L1 term: lambda_L1 * mean |fake_y - y|.",
)


# --- hidden cases: what the grader adds to the notebook's (see tools/grading/hidden_tests) ---


def _hidden_receptive_field_cases() -> list[Case]:
    return [
        Case(([7], [1]), label="hidden: a single 7x7 conv"),
        Case(([1, 1, 1], [1, 1, 1]), label="hidden: 1x1 convs see one pixel"),
        Case(((3, 3, 3), (2, 2, 2)), label="hidden: three 3x3 stride-2 convs, given as tuples"),
        Case(([5, 3, 3], [3, 1, 2]), label="hidden: a stride of 3 before two 3x3 convs"),
        Case(([4] * 7, [2, 2, 2, 2, 2, 1, 1]), label="hidden: a 5-layer PatchGAN (286x286)"),
    ]


def _hidden_patchgan_cases() -> list[Case]:
    settings = [
        ((1, 4, 0), "n_layers=0: one conv, LeakyReLU, then the logit"),
        ((6, 3, 2), "6 input channels (RGB x and y), ndf=3"),
        ((3, 16, 1), "input_nc=3, ndf=16, n_layers=1"),
        ((1, 2, 3), "one input channel, ndf=2, n_layers=3"),
        ((2, 1, 4), "ndf=1, n_layers=4"),
    ]
    return [
        Case(args, label=f"hidden: {words}", observe=_with_library_weights)
        for args, words in settings
    ]


@dataclass
class _PairSetting:
    """One hidden case's pairs: a D for ``x_nc + y_nc`` channels and seeded (x, y, G(x))."""

    seed: int
    batch: int
    x_nc: int
    y_nc: int
    height: int
    width: int
    n_layers: int = 1
    norm: Norm = "instance"
    dtype: torch.dtype = torch.float32

    def args(self) -> tuple:
        torch.manual_seed(self.seed)
        D = NLayerDiscriminator(self.x_nc + self.y_nc, 4, self.n_layers, norm=self.norm)
        x, y, fake_y = (
            seeded_images(self.seed + i, self.batch, nc, self.height, self.width, dtype=self.dtype)
            for i, nc in enumerate((self.x_nc, self.y_nc, self.y_nc), start=1)
        )
        return D.to(self.dtype), x, y, fake_y.requires_grad_(True)


_HIDDEN_PAIRS = {
    "1-channel x, 3-channel y, 24x40 pairs, batch of 3": _PairSetting(40, 3, 1, 3, 24, 40),
    "a batch-norm D with 2 layers, one 16x16 pair": _PairSetting(
        41, 1, 3, 1, 16, 16, n_layers=2, norm="batch"
    ),
    "float64 pairs and D (the loss stays float64)": _PairSetting(
        42, 2, 2, 2, 12, 12, dtype=torch.float64
    ),
}


def _hidden_d_loss_cases() -> list[Case]:
    return [
        Case(setting.args(), label=f"hidden: {words}", observe=_loss_and_reach)
        for words, setting in _HIDDEN_PAIRS.items()
    ]


def _hidden_g_loss_cases() -> list[Case]:
    lambdas = (10.0, 0.5, 100.0)
    return [
        Case(
            setting.args(),
            {"lambda_L1": lambda_L1},
            label=f"hidden: {words}, λ={lambda_L1:g}; the gradient must reach fake_y",
            observe=_loss_and_reach,
        )
        for (words, setting), lambda_L1 in zip(_HIDDEN_PAIRS.items(), lambdas, strict=True)
    ]


HIDDEN_CASES = {
    "receptive_field": _hidden_receptive_field_cases,
    "patchgan_layers": _hidden_patchgan_cases,
    "conditional_d_loss": _hidden_d_loss_cases,
    "pix2pix_g_loss": _hidden_g_loss_cases,
}
"""Cases the grader adds to the notebook's (see :mod:`cyclegan_lib.tools.grading.hidden_tests`)."""
