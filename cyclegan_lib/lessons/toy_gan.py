"""A 2-D toy GAN small enough to train live in a notebook in seconds.

The data is a mixture of Gaussians on a ring (or a grid), the benchmark of Metz
et al. 2017 (unrolled GANs) for *mode collapse*: a generator that covers only a
few of the modes still fools a discriminator that is one step behind it. With
eight well separated modes one can *count* what the generator has learnt:

* ``modes_covered``: modes that receive at least a quarter of their fair share
  of samples (a sample belongs to a mode when it lies within ``quality_radius``);
* ``high_quality``: the fraction of samples close to some mode.
"""

from __future__ import annotations

import math
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import torch
from torch import nn

from cyclegan_lib import losses

TOY_LOSSES = ("minimax", "non-saturating", "least-squares")
TOY_DATASETS = ("ring", "grid")


def mode_centers(
    dataset: str = "ring", modes: int | None = None, radius: float = 2.0
) -> torch.Tensor:
    """Centres of the mixture: ``modes`` points on a circle (default 8), or a square grid (default 9)."""
    if modes is None:
        modes = 9 if dataset == "grid" else 8
    if dataset == "ring":
        angles = torch.arange(modes) * (2 * math.pi / modes)
        return radius * torch.stack([angles.cos(), angles.sin()], dim=1)
    if dataset == "grid":
        side = math.isqrt(modes)
        if side * side != modes:
            raise ValueError(f"a grid needs a square number of modes, got modes={modes}")
        ticks = torch.linspace(-radius, radius, side)
        return torch.cartesian_prod(ticks, ticks)
    raise ValueError(f"dataset={dataset!r} is not one of {TOY_DATASETS}")


def sample_mixture(
    n: int, centers: torch.Tensor, std: float = 0.05, generator: torch.Generator | None = None
) -> torch.Tensor:
    """n points, each from a uniformly chosen centre plus N(0, std² I) noise."""
    which = torch.randint(len(centers), (n,), generator=generator)
    return centers[which] + std * torch.randn(n, 2, generator=generator)


def mlp(inputs: int, outputs: int, hidden: int = 128, layers: int = 3) -> nn.Sequential:
    """A ReLU MLP with ``layers`` hidden layers of width ``hidden``."""
    blocks: list[nn.Module] = []
    width = inputs
    for _ in range(layers):
        blocks += [nn.Linear(width, hidden), nn.ReLU()]
        width = hidden
    return nn.Sequential(*blocks, nn.Linear(width, outputs))


@dataclass
class Coverage:
    """How much of the mixture a set of samples covers (see the module docstring)."""

    modes_covered: int
    modes_total: int
    high_quality: float
    share_per_mode: list[float]


def coverage(
    samples: torch.Tensor, centers: torch.Tensor, quality_radius: float = 0.25
) -> Coverage:
    """Assign each sample to its nearest centre if within ``quality_radius``, then count modes."""
    distances = torch.cdist(samples, centers)
    nearest = distances.argmin(dim=1)
    close = distances.min(dim=1).values <= quality_radius
    counts = torch.bincount(nearest[close], minlength=len(centers)).float()
    share = (counts / len(samples)).tolist()
    fair = 1.0 / len(centers)
    return Coverage(
        modes_covered=int(sum(s >= fair / 4 for s in share)),
        modes_total=len(centers),
        high_quality=close.float().mean().item(),
        share_per_mode=share,
    )


def toy_losses(loss: str) -> tuple[Callable, Callable]:
    """(D loss, G loss) for a loss name; the D output is a logit (least squares uses it raw)."""
    if loss == "minimax":
        return losses.minimax_d_loss, losses.minimax_g_loss
    if loss == "non-saturating":
        return losses.minimax_d_loss, losses.non_saturating_g_loss
    if loss == "least-squares":
        return losses.lsgan_d_loss, losses.lsgan_g_loss
    raise ValueError(f"loss={loss!r} is not one of {TOY_LOSSES}")


class ToyGAN:
    """G: z (2-D Gaussian) -> point; D: point -> logit. Trained with Adam, ``d_steps`` D
    updates then ``g_steps`` G updates per iteration (Goodfellow 2014, Algorithm 1's k)."""

    def __init__(
        self,
        dataset: str = "ring",
        loss: str = "non-saturating",
        lr_d: float = 1e-3,
        lr_g: float = 1e-3,
        d_steps: int = 1,
        g_steps: int = 1,
        batch_size: int = 256,
        z_dim: int = 2,
        hidden: int = 128,
        std: float = 0.05,
        seed: int = 0,
    ) -> None:
        self.d_loss_fn, self.g_loss_fn = toy_losses(loss)
        self.centers = mode_centers(dataset)
        self.std, self.batch_size, self.z_dim = std, batch_size, z_dim
        self.d_steps, self.g_steps = d_steps, g_steps
        self.rng = torch.Generator().manual_seed(seed)
        torch.manual_seed(seed)
        self.G = mlp(z_dim, 2, hidden)
        self.D = mlp(2, 1, hidden)
        self.opt_g = torch.optim.Adam(self.G.parameters(), lr_g, betas=(0.5, 0.999))
        self.opt_d = torch.optim.Adam(self.D.parameters(), lr_d, betas=(0.5, 0.999))
        self.iterations = 0
        self.fixed_z = torch.randn(1000, z_dim, generator=self.rng)

    def noise(self, n: int) -> torch.Tensor:
        return torch.randn(n, self.z_dim, generator=self.rng)

    def real(self, n: int) -> torch.Tensor:
        return sample_mixture(n, self.centers, self.std, self.rng)

    def train(
        self, iterations: int, progress: Callable[[range], Iterable[int]] | None = None
    ) -> dict[str, float]:
        """Run ``iterations`` rounds of D then G updates; return the last losses.
        ``progress`` (a tqdm bar, say) wraps the rounds."""
        rounds = range(iterations) if progress is None else progress(range(iterations))
        for _ in rounds:
            for _ in range(self.d_steps):
                fake = self.G(self.noise(self.batch_size)).detach()
                d_loss = self.d_loss_fn(self.D(self.real(self.batch_size)), self.D(fake))
                self.opt_d.zero_grad(set_to_none=True)
                d_loss.backward()
                self.opt_d.step()
            for _ in range(self.g_steps):
                g_loss = self.g_loss_fn(self.D(self.G(self.noise(self.batch_size))))
                self.opt_g.zero_grad(set_to_none=True)
                g_loss.backward()
                self.opt_g.step()
            self.iterations += 1
        return {"d_loss": d_loss.item(), "g_loss": g_loss.item()}

    @torch.no_grad()
    def samples(self) -> torch.Tensor:
        """G applied to a fixed batch of 1,000 noise vectors."""
        return self.G(self.fixed_z)

    def coverage(self) -> Coverage:
        return coverage(self.samples(), self.centers)
