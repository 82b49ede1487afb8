"""Lesson 03's exercises (pix2pix): receptive field, U-Net skip, conditional D and G losses."""

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


def skip_connection(x: torch.Tensor, block: nn.Module) -> torch.Tensor:
    """A U-Net level's output: its input next to what the level computed, stacked on channels."""
    return torch.cat([x, block(x)], dim=1)


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


def _skip_cases() -> list[Case]:
    torch.manual_seed(3)
    block = nn.Sequential(
        nn.Conv2d(2, 4, 4, stride=2, padding=1), nn.ConvTranspose2d(4, 3, 4, stride=2, padding=1)
    )
    return [
        Case((torch.randn(2, 2, 8, 8), block), label="a (2, 2, 8, 8) input, block adds 3 channels")
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

SKIP_CONNECTION = Exercise(
    name="skip_connection",
    reference=skip_connection,
    make_cases=_skip_cases,
    hint="Compute block(x) and put x *before* it along the channel dimension: torch.cat([...], dim=1).",
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
