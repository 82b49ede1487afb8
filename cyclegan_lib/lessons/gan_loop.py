"""Training loops for lessons 01 and 02: alternating D and G steps, snapshots, loss history.

One step follows Algorithm 1 of Goodfellow et al. 2014 with k = 1: update D on a
batch of real and fake images, then update G on fresh noise. G is trained with the
non-saturating loss -log D(G(z)) (their Sec. 3) because the minimax loss
log(1 - D(G(z))) has almost no gradient while D wins, which is early in training.

The same functions train the conditional GAN of Mirza & Osindero 2014: pass
``labels`` and both networks are called as ``net(input, labels)``.

Lesson 01 adds the R1 penalty of Mescheder et al. 2018 to D's loss
(:func:`r1_penalty`): with 4,000 training digits D sees each one dozens of times,
and the penalty keeps it from carving a sharp wall around exactly those images.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

import torch
from torch import nn

from cyclegan_lib.course import env
from cyclegan_lib.course.plotting import image_grid
from cyclegan_lib.lessons.mnist_gans import (
    ConditionalGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    conditional_dcgan,
    sample_noise,
)
from cyclegan_lib.losses import minimax_d_loss, non_saturating_g_loss
from cyclegan_lib.models import frozen
from cyclegan_lib.pipeline.schedulers import get_scheduler
from cyclegan_lib.runtime import cpu_bf16

if TYPE_CHECKING:
    from cyclegan_lib.lessons.widgets.live_training import LiveTraining

ADAM_LR = 2e-4
ADAM_BETAS = (0.5, 0.999)  # Radford et al. 2016, Sec. 4: beta1 = 0.5 steadies training


@dataclass(frozen=True)
class GanRecipe:
    """How lessons 01-02 train a GAN with :func:`train_gan`: one object for every number.

    ``seed`` seeds the stream of minibatches and noise (the networks' initial weights are
    seeded by whoever builds them). Every ``r1_every`` steps D's loss gains the R1 penalty
    weighted ``r1_gamma * r1_every`` (0 turns it off); ``average_decay`` is the weight
    average's decay (:func:`update_average`); ``real_target`` < 1 smooths D's real labels;
    both learning rates decay linearly to zero over the last ``decay_fraction`` of the steps
    (the reference CycleGAN's ``linear`` policy, counted in steps; 0 keeps them constant).
    ``bf16`` runs each training step on the CPU under bf16 autocast
    (:func:`~cyclegan_lib.course.env.cpu_bf16_pays`).
    :func:`dcgan_recipe` and :func:`conditional_recipe` are the lessons' own, per profile.
    """

    steps: int
    batch_size: int = 64
    lr: float = ADAM_LR
    betas: tuple[float, float] = ADAM_BETAS
    z_dim: int = 64
    ngf: int = 32
    ndf: int = 32
    channels: int = 1
    average_decay: float = 0.995
    r1_gamma: float = 0.0
    r1_every: int = 4
    real_target: float = 1.0
    decay_fraction: float = 0.0
    seed: int = 0
    bf16: bool = False

    def __post_init__(self) -> None:
        if min(self.steps, self.batch_size, self.r1_every) < 1:
            raise ValueError(
                f"steps, batch_size and r1_every must be >= 1, got {self.steps}, "
                f"{self.batch_size}, {self.r1_every}"
            )
        if not 0.0 <= self.decay_fraction <= 1.0:
            raise ValueError(f"decay_fraction must be in [0, 1], got {self.decay_fraction}")

    def networks(self, conditional: bool = False) -> tuple[nn.Module, nn.Module]:
        """Fresh DCGAN G and D of this size (lesson 01), or their conditional pair (lesson 02)."""
        if conditional:
            return conditional_dcgan(self.z_dim, self.ngf, self.ndf, self.channels)
        G = DCGANGenerator(self.z_dim, self.ngf, self.channels)
        return G, DCGANDiscriminator(self.channels, self.ndf)


def dcgan_recipe(profile: str | None = None) -> GanRecipe:
    """Lesson 01's DCGAN: Adam lr 1e-3 with betas (0, 0.99), R1 with gamma 2 (its section 7).

    The betas are Karras et al.'s (2018, App. A.1; 2020), used there with the same
    learning rate and R1: no momentum, so each step follows D's current opinion only.
    """
    steps = env.pick(smoke=5, cpu=3200, gpu=6000, profile=profile)
    return GanRecipe(
        steps=steps,
        lr=1e-3,
        betas=(0.0, 0.99),
        r1_gamma=2.0,
        seed=1,
        bf16=env.cpu_bf16_pays(profile),
    )


def conditional_recipe(profile: str | None = None) -> GanRecipe:
    """Lesson 02's conditional DCGAN: Adam lr 5e-4, no R1 (chosen in the lesson's section 4)."""
    steps = env.pick(smoke=5, cpu=2000, gpu=6000, profile=profile)
    return GanRecipe(steps=steps, lr=5e-4, seed=1, bf16=env.cpu_bf16_pays(profile))


def _call(net: nn.Module, x: torch.Tensor, labels: torch.Tensor | None) -> torch.Tensor:
    """``net(x)`` for a vanilla GAN, ``net(x, labels)`` for a conditional one."""
    return net(x) if labels is None else net(x, labels)


def r1_penalty(real_logits: torch.Tensor, real: torch.Tensor) -> torch.Tensor:
    """R1 = 1/2 E_x[ ||grad_x D(x)||^2 ] over real images x (Mescheder et al. 2018, eq. 9, without gamma).

    ``D(x)`` is the logit and ``real`` must have ``requires_grad`` set before it went
    through D. The gradient is taken with ``create_graph=True`` so the penalty can be
    minimised by D's optimiser: D learns to be flat around the real images, so it
    cannot single out the exact training digits, and its gradient does not explode
    near the data when G gets close.
    """
    (grad,) = torch.autograd.grad(real_logits.sum(), real, create_graph=True)
    return 0.5 * grad.pow(2).flatten(1).sum(1).mean()


def train_step(
    G: nn.Module,
    D: nn.Module,
    opt_G: torch.optim.Optimizer,
    opt_D: torch.optim.Optimizer,
    real: torch.Tensor,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    real_target: float = 1.0,
    r1_gamma: float = 0.0,
) -> dict[str, float]:
    """One iteration of Algorithm 1 (Goodfellow 2014) with k = 1; returns losses and D's mean beliefs.

    D step: D minimises the log-likelihood loss (3) (:func:`~cyclegan_lib.losses.minimax_d_loss`,
    real labels ``real_target``, not halved: Goodfellow's Algorithm 1 as written); fakes are
    detached, so only D learns from its loss; with ``r1_gamma`` > 0
    D's loss gains ``r1_gamma * R1`` (:func:`r1_penalty`). G step: the same fakes go
    through the updated D with D's weights frozen, so the backward pass computes the
    gradients G needs and skips D's own, which this step would throw away. G minimises the
    non-saturating loss (:func:`~cyclegan_lib.losses.non_saturating_g_loss`).
    """
    fake = _call(G, z, labels)
    opt_D.zero_grad(set_to_none=True)
    if r1_gamma > 0:
        real = real.detach().requires_grad_(True)
    real_logits = _call(D, real, labels)
    fake_logits = _call(D, fake.detach(), labels)
    d_loss = minimax_d_loss(real_logits, fake_logits, real_target)
    if r1_gamma > 0:
        d_loss = d_loss + r1_gamma * r1_penalty(real_logits, real)
    d_loss.backward()
    opt_D.step()

    opt_G.zero_grad(set_to_none=True)
    with frozen([D]):
        g_loss = non_saturating_g_loss(_call(D, fake, labels))
        g_loss.backward()
    opt_G.step()
    return {
        "d_loss": d_loss.item(),
        "g_loss": g_loss.item(),
        "d_real": torch.sigmoid(real_logits).mean().item(),
        "d_fake": torch.sigmoid(fake_logits).mean().item(),
    }


def make_optimizers(
    G: nn.Module, D: nn.Module, lr: float = ADAM_LR, betas: tuple[float, float] = ADAM_BETAS
) -> tuple[torch.optim.Adam, torch.optim.Adam]:
    """Adam for each player with the DCGAN settings (lr 2e-4, beta1 0.5; Radford 2016)."""
    return torch.optim.Adam(G.parameters(), lr, betas), torch.optim.Adam(D.parameters(), lr, betas)


@dataclass
class TrainingHistory:
    """What :func:`train_gan` recorded: per-step numbers and fixed-noise snapshots."""

    steps: list[int] = field(default_factory=list)
    d_loss: list[float] = field(default_factory=list)
    g_loss: list[float] = field(default_factory=list)
    d_real: list[float] = field(default_factory=list)
    d_fake: list[float] = field(default_factory=list)
    snapshots: list[tuple[int, torch.Tensor]] = field(default_factory=list)
    seconds: float = 0.0

    def record(self, step: int, numbers: dict[str, float]) -> None:
        self.steps.append(step)
        for key, value in numbers.items():
            getattr(self, key).append(value)


@torch.no_grad()
def generate(
    G: nn.Module,
    z: torch.Tensor,
    labels: torch.Tensor | None = None,
    batch_size: int = 500,
) -> torch.Tensor:
    """G(z) (or G(z | y)) in evaluation mode, in batches, on the CPU.

    Evaluation mode makes batch norm use its running statistics, so an image
    depends only on its own noise vector, not on the rest of the batch.
    """
    was_training = G.training
    G.eval()
    device = next(G.parameters()).device
    chunks = []
    for start in range(0, len(z), batch_size):
        zs = z[start : start + batch_size].to(device)
        ys = None if labels is None else labels[start : start + batch_size].to(device)
        chunks.append(_call(G, zs, ys).cpu())
    G.train(was_training)
    return torch.cat(chunks)


@torch.no_grad()
def update_average(G_avg: nn.Module, G: nn.Module, decay: float, step: int) -> None:
    """An exponential moving average of G's weights (Yazıcı et al. 2019).

    ``G_avg <- d * G_avg + (1 - d) * G`` with ``d = min(decay, (1 + step) / (10 + step))``,
    so the average forgets the random initial weights quickly in the first steps.
    GAN weights keep circling the equilibrium instead of settling; their average sits
    closer to it and draws cleaner samples. Only G_avg's weights change; its batch-norm
    statistics are set by :func:`refresh_batch_norm`.
    """
    weight = 1 - min(decay, (1 + step) / (10 + step))
    for average, current in zip(G_avg.parameters(), G.parameters(), strict=True):
        average.lerp_(current, weight)


@torch.no_grad()
def refresh_batch_norm(
    G: nn.Module, batches: int = 16, batch_size: int = 64, seed: int = 0, num_classes: int = 10
) -> None:
    """Re-estimate G's batch-norm statistics for its current weights.

    During training the running statistics average the last few dozen batches of a
    generator that keeps changing, so in evaluation mode G would normalise with
    stale numbers and draw worse digits than it can. Here the statistics are reset
    and recomputed as an exact average over ``batches`` fresh batches of noise (and
    random labels for a conditional G); the weights are left untouched.
    """
    norms = [m for m in G.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)]
    if not norms:
        return
    was_training = G.training
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(seed)
    momenta = [norm.momentum for norm in norms]
    for norm in norms:
        norm.reset_running_stats()
        norm.momentum = None  # a cumulative average instead of a moving one
    G.train()
    conditional = isinstance(G, ConditionalGenerator)
    for _ in range(batches):
        z = sample_noise(batch_size, G.z_dim, rng, device)
        labels = torch.randint(num_classes, (batch_size,), generator=rng) if conditional else None
        _call(G, z, None if labels is None else labels.to(device))
    for norm, momentum in zip(norms, momenta, strict=True):
        norm.momentum = momentum
    G.train(was_training)


LIVE_SAMPLES = 48
"""How many of the fixed-noise samples a live view shows, 16 to a row."""


def _live_rows(G: nn.Module, z: torch.Tensor, labels: torch.Tensor | None) -> dict:
    """A live view's row: G(z) for the first :data:`LIVE_SAMPLES` noise vectors, as one picture."""
    refresh_batch_norm(G)
    ys = None if labels is None else labels[:LIVE_SAMPLES]
    return {"G(fixed z)": image_grid(generate(G, z[:LIVE_SAMPLES], ys), nrow=16)}


def train_gan(
    G: nn.Module,
    D: nn.Module,
    images: torch.Tensor,
    recipe: GanRecipe,
    labels: torch.Tensor | None = None,
    fixed_z: torch.Tensor | None = None,
    fixed_labels: torch.Tensor | None = None,
    snapshot_every: int = 0,
    progress: Callable | None = None,
    G_avg: nn.Module | None = None,
    live: LiveTraining | None = None,
) -> TrainingHistory:
    """Train G and D for ``recipe.steps`` iterations on random minibatches of ``images``.

    With ``labels`` the GAN is conditional: each real image comes with its label,
    and the fakes of a step are asked for the same labels as that step's real batch.
    Every ``snapshot_every`` steps, and at the end, G(fixed_z) is stored so one can
    watch the same noise turn into digits. G's batch-norm statistics are refreshed
    (:func:`refresh_batch_norm`) before each snapshot and at the end.
    ``progress`` wraps the step range (e.g. :func:`cyclegan_lib.course.plotting.progress`).
    With ``G_avg`` (a copy of G made before training), G_avg keeps a moving average of
    G's weights (:func:`update_average`), and the snapshots show G_avg.
    ``live`` (a :class:`~cyclegan_lib.lessons.widgets.live_training.LiveTraining`) plots the
    losses and shows up to :data:`LIVE_SAMPLES` of G(fixed_z) (G_avg's, if given) every
    ``live.every`` steps; like the snapshots, it leaves the training exactly as it was.
    With ``recipe.r1_gamma`` > 0, D is penalised with R1 every ``recipe.r1_every`` steps,
    weighted ``r1_gamma * r1_every`` so that on average it weighs ``r1_gamma`` per step:
    the "lazy regularisation" of Karras et al. 2020 (StyleGAN2, Sec. 3.1), which costs a
    quarter of the double backward pass at the default of 4.
    """
    if G.z_dim != recipe.z_dim:
        raise ValueError(f"G draws {G.z_dim}-d noise but the recipe's z_dim is {recipe.z_dim}")
    device = next(G.parameters()).device
    rng = torch.Generator().manual_seed(recipe.seed)
    opt_G, opt_D = make_optimizers(G, D, recipe.lr, recipe.betas)
    decay_steps = round(recipe.steps * recipe.decay_fraction)
    schedulers = [
        get_scheduler(
            opt, "linear", n_epochs=recipe.steps - decay_steps, n_epochs_decay=decay_steps
        )
        for opt in (opt_G, opt_D)
    ]
    history = TrainingHistory()
    z_dim = G.z_dim
    shown = G if G_avg is None else G_avg
    start = time.perf_counter()
    G.train()
    D.train()
    steps, batch_size = recipe.steps, recipe.batch_size
    step_range = range(1, steps + 1)
    for step in progress(step_range) if progress else step_range:
        index = torch.randint(len(images), (batch_size,), generator=rng)
        real = images[index].to(device)
        z = sample_noise(batch_size, z_dim, rng, device)
        y = None if labels is None else labels[index].to(device)
        lazy = step % recipe.r1_every == 0
        gamma = recipe.r1_gamma * recipe.r1_every if lazy else 0.0
        with cpu_bf16(recipe.bf16 and device.type == "cpu"):
            numbers = train_step(G, D, opt_G, opt_D, real, z, y, recipe.real_target, gamma)
        history.record(step, numbers)
        for scheduler in schedulers:
            scheduler.step()
        if G_avg is not None:
            update_average(G_avg, G, recipe.average_decay, step)
        if fixed_z is not None and (
            step == steps or (snapshot_every and step % snapshot_every == 0)
        ):
            refresh_batch_norm(shown)
            history.snapshots.append((step, generate(shown, fixed_z, fixed_labels)))
        if live is not None and fixed_z is not None:
            losses = {"D": numbers["d_loss"], "G": numbers["g_loss"]}
            live.update(
                step, losses, lambda: _live_rows(shown, fixed_z, fixed_labels), step == steps
            )
    refresh_batch_norm(G)
    if G_avg is not None:
        refresh_batch_norm(G_avg)
    history.seconds = time.perf_counter() - start
    return history
