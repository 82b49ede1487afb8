"""Lesson 03's exercises (pix2pix): receptive field, the PatchGAN's layers, conditional D and G losses."""

from __future__ import annotations

from collections.abc import Sequence

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.losses import GANLoss, l1_loss
from cyclegan_lib.networks import NLayerDiscriminator, patch_geometry

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


def _d_loss_cases() -> list[Case]:
    def observe(loss: torch.Tensor, args: tuple) -> dict:
        fake_y = args[3]
        loss.backward()
        reached_g = fake_y.grad is not None and bool(fake_y.grad.abs().sum() > 0)
        return {"loss": loss.detach(), "gradient reaches fake_y": reached_g}

    return [Case((_patch_d(), *_pairs()), label="a tiny PatchGAN on 16x16 pairs", observe=observe)]


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
