"""Lesson 06's helpers: the experiments behind each debugging question.

Training reuses lesson 04's recipe (:mod:`cyclegan_lib.lessons.digit_translation`);
the measures live in :mod:`cyclegan_lib.course.metrics` (Fréchet distance, KID)
and :mod:`cyclegan_lib.course.diagnostics` (artefacts, hidden signals, collapse).
"""

from __future__ import annotations

import copy

import torch
from torch import nn

from cyclegan_lib.course.metrics import frechet_distance, kernel_distance
from cyclegan_lib.networks import init_weights


def distances_by_sample_size(
    reference: torch.Tensor, pool: torch.Tensor, sizes: list[int], repeats: int = 3, seed: int = 0
) -> dict[int, dict[str, float]]:
    """FID and KID between ``reference`` features and ``n`` features drawn from ``pool``.

    Both sets come from the same distribution, so the true distance is zero:
    the Fréchet distance's mean over draws is its small-sample bias, KID's should
    be zero up to noise (Bińkowski et al. 2018, Sec. 4). Returns, per size, the
    mean and the standard deviation over ``repeats`` draws of each distance.
    """
    generator = torch.Generator().manual_seed(seed)
    table = {}
    for n in sizes:
        fids, kids = [], []
        for repeat in range(repeats):
            chosen = pool[torch.randperm(len(pool), generator=generator)[:n]]
            fids.append(frechet_distance(reference, chosen))
            kids.append(kernel_distance(reference, chosen, seed=seed + repeat)[0])
        fid, kid = torch.tensor(fids), torch.tensor(kids)
        table[n] = {
            "FID": fid.mean().item(),
            "FID sd": fid.std().item() if repeats > 1 else 0.0,
            "KID": kid.mean().item(),
            "KID sd": kid.std().item() if repeats > 1 else 0.0,
        }
    return table


class ResizeConv(nn.Sequential):
    """Odena et al. 2016's fix for checkerboards: nearest-neighbour ×2, then a 3×3 conv."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias),
        )


def with_resize_convolutions(generator: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``generator`` with every stride-2 ConvTranspose2d replaced by :class:`ResizeConv`.

    The new convolutions are initialised as the reference initialises every
    layer (normal, std 0.02), under ``seed``; the rest keeps its weights.
    """
    twin = copy.deepcopy(generator)
    torch.manual_seed(seed)
    for parent in list(twin.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.ConvTranspose2d) and child.stride == (2, 2):
                bias = child.bias is not None
                replacement = ResizeConv(child.in_channels, child.out_channels, bias)
                setattr(parent, name, init_weights(replacement))
    return twin


def amplify(difference: torch.Tensor, factor: float = 10.0) -> torch.Tensor:
    """``factor`` × a difference of images in [-1, 1], clipped: faint signals made visible."""
    return (difference * factor).clamp(-1, 1)
