"""Lesson 04's exercises (CycleGAN): LSGAN D loss, cycle loss, image pool, generator objective."""

from __future__ import annotations

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.losses import cycle_loss, lsgan_d_loss, lsgan_g_loss
from cyclegan_lib.pool import ImagePool


def cycle_consistency_loss(
    x: torch.Tensor, y: torch.Tensor, G: nn.Module, F: nn.Module, lambda_cycle: float = 10.0
) -> torch.Tensor:
    """λ·L_cyc(G, F) (Zhu et al. 2017, eq. 2): λ(E||F(G(x)) - x||₁ + E||G(F(y)) - y||₁)."""
    return lambda_cycle * (cycle_loss(x, F(G(x))) + cycle_loss(y, G(F(y))))


def query_pool(
    stored: list[torch.Tensor], images: torch.Tensor, pool_size: int, generator: torch.Generator
) -> torch.Tensor:
    """One query of the image history (Zhu 2017, Sec. 4), exactly as :class:`ImagePool` does it.

    ``stored`` is the pool's list of images and is updated in place.
    """
    pool = ImagePool(pool_size, generator)
    pool.images = stored
    return pool.query(images)


def cyclegan_generator_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    G: nn.Module,
    F: nn.Module,
    D_X: nn.Module,
    D_Y: nn.Module,
    lambda_cycle: float = 10.0,
) -> torch.Tensor:
    """What G and F minimise together (Zhu 2017, eq. 3 with LSGAN, no identity term).

    (D_Y(G(x)) - 1)² + (D_X(F(y)) - 1)² + λ·L_cyc(G, F).
    """
    fooled = lsgan_g_loss(D_Y(G(x))) + lsgan_g_loss(D_X(F(y)))
    return fooled + cycle_consistency_loss(x, y, G, F, lambda_cycle)


def _d_outputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(6)
    return torch.randn(2, 1, 4, 4, generator=generator), torch.randn(
        3, 1, 4, 4, generator=generator
    )


def _lsgan_cases() -> list[Case]:
    ones, zeros = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    return [
        Case((ones, zeros), label="a perfect D: D(y) = 1, D(G(x)) = 0"),
        Case((zeros, ones), label="a fooled D: D(y) = 0, D(G(x)) = 1"),
        Case(_d_outputs(), label="random PatchGAN maps (2 real, 3 fake)"),
    ]


def _tiny_nets() -> dict[str, nn.Module]:
    """Seeded tiny translators: G takes 1 channel to 3, F 3 to 1; D_X and D_Y give 4x4 maps."""
    torch.manual_seed(7)
    return {
        "G": nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh()),
        "F": nn.Sequential(nn.Conv2d(3, 1, 3, padding=1), nn.Tanh()),
        "D_X": nn.Conv2d(1, 1, 4, stride=2, padding=1),
        "D_Y": nn.Conv2d(3, 1, 4, stride=2, padding=1),
    }


def _domains() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    x = torch.rand(2, 1, 8, 8, generator=generator) * 2 - 1
    y = torch.rand(2, 3, 8, 8, generator=generator) * 2 - 1
    return x, y


def _cycle_cases() -> list[Case]:
    nets = _tiny_nets()
    x, y = _domains()
    return [
        Case((x, y, nets["G"], nets["F"]), label="λ=10 (default)"),
        Case((x, y, nets["G"], nets["F"]), {"lambda_cycle": 1.0}, label="λ=1"),
    ]


def _pool_cases() -> list[Case]:
    def observe(returned: torch.Tensor, args: tuple) -> dict:
        return {"returned": returned, "stored afterwards": torch.stack(args[0])}

    images = torch.arange(4.0).reshape(4, 1, 1, 1)
    full = [torch.full((1, 1, 1), 10.0 + i) for i in range(3)]
    return [
        Case(
            ([], images, 2, torch.Generator().manual_seed(0)),
            label="an empty pool of 2, a batch of 4",
            observe=observe,
        ),
        Case(
            (full, images + 100, 3, torch.Generator().manual_seed(1)),
            label="a full pool of 3, a batch of 4",
            observe=observe,
        ),
        Case(
            ([], images, 0, torch.Generator().manual_seed(2)),
            label="pool_size 0",
            observe=lambda returned, args: {"returned": returned},
        ),
    ]


def _generator_cases() -> list[Case]:
    nets = _tiny_nets()
    x, y = _domains()
    return [
        Case((x, y, nets["G"], nets["F"], nets["D_X"], nets["D_Y"]), label="λ=10"),
        Case(
            (x, y, nets["G"], nets["F"], nets["D_X"], nets["D_Y"]),
            {"lambda_cycle": 0.0},
            label="λ=0: the two LSGAN terms alone",
        ),
    ]


LSGAN_D_LOSS = Exercise(
    name="lsgan_d_loss",
    reference=lsgan_d_loss,
    make_cases=_lsgan_cases,
    hint="0.5 * (mean((d_real - 1)**2) + mean(d_fake**2)): real outputs pulled to 1, fake "
    "outputs to 0, each averaged over its own elements.",
)

CYCLE_CONSISTENCY_LOSS = Exercise(
    name="cycle_consistency_loss",
    reference=cycle_consistency_loss,
    make_cases=_cycle_cases,
    hint="Both directions: mean |F(G(x)) - x| + mean |G(F(y)) - y|, the sum times lambda_cycle.",
)

QUERY_POOL = Exercise(
    name="query_pool",
    reference=query_pool,
    make_cases=_pool_cases,
    hint="Loop over the batch. If pool_size is 0 return the images. While len(stored) < "
    "pool_size: append a clone and return the image. Otherwise draw "
    "torch.rand((), generator=generator): below 0.5 return the new image; else pick "
    "slot = torch.randint(pool_size, (), generator=generator), return stored[slot] and put "
    "a clone of the new image there. Stack the returned images.",
)

CYCLEGAN_GENERATOR_LOSS = Exercise(
    name="cyclegan_generator_loss",
    reference=cyclegan_generator_loss,
    make_cases=_generator_cases,
    hint="mean((D_Y(G(x)) - 1)**2) + mean((D_X(F(y)) - 1)**2) + your cycle_consistency_loss; "
    "no 0.5 on the generator's LSGAN terms (the reference's G loss has none).",
)
