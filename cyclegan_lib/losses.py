"""GAN, cycle and identity losses: the one definition of each, used by the models and the lessons.

Equations are numbered as in the lessons: (1) cycle loss, (2) full objective,
(3) log-likelihood (minimax) objective, (4) least-squares objective; the papers' own
numbers are given beside them. Each GAN loss is built from one side, :func:`bce_term`
or :func:`ls_term`, and none is halved: the reference halves D's loss in its training
step, and so do :mod:`cyclegan_lib.models` and the lessons, where a reader can see it.

Conventions: discriminators output *logits* (no sigmoid), as in the reference
implementation, so the log-likelihood losses use the numerically stable
``binary_cross_entropy_with_logits``. Every loss is a mean over all elements,
so a PatchGAN's N x N map of decisions counts each patch once.
"""

from __future__ import annotations

from typing import Literal, get_args

import torch
import torch.nn.functional as F
from torch import nn

GanMode = Literal["vanilla", "lsgan", "wgangp"]
GAN_MODES: tuple[GanMode, ...] = get_args(GanMode)
"""``--gan_mode`` values, each handled by :class:`GANLoss` (the options read them from here)."""


def bce_term(logits: torch.Tensor, target: float) -> torch.Tensor:
    """One side of the log-likelihood objective (3): the mean binary cross-entropy of D's
    logits against a constant label ``target`` (1 real, 0 fake; 0.9 smooths real labels).

    ``bce_term(s, 1) = -E[log D]`` and ``bce_term(s, 0) = -E[log(1 - D)]`` with D = sigmoid(s).
    """
    return F.binary_cross_entropy_with_logits(logits, torch.full_like(logits, target))


def ls_term(outputs: torch.Tensor, target: float) -> torch.Tensor:
    """One side of the least-squares objective (4): ``E[(D - target)^2]`` on D's raw outputs.

    ``F.mse_loss`` rather than ``((D - target) ** 2).mean()``: the same numbers, and under
    mixed precision autocast computes it in float32, as the reference's ``nn.MSELoss``.
    """
    return F.mse_loss(outputs, torch.full_like(outputs, target))


def minimax_d_loss(
    real_logits: torch.Tensor, fake_logits: torch.Tensor, real_target: float = 1.0
) -> torch.Tensor:
    """D's loss for the log-likelihood objective (3) (Goodfellow 2014, eq. 1): -[log D(x) + log(1 - D(G(z)))].

    D maximises V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]; we minimise -V, the binary
    cross-entropy of both batches. It is D's loss for the minimax and the non-saturating
    game alike. ``real_target`` < 1 is one-sided label smoothing (Salimans et al. 2016,
    Sec. 3.4). Not halved: a training step that halves it writes the 0.5 itself.
    """
    return bce_term(real_logits, real_target) + bce_term(fake_logits, 0.0)


def minimax_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """G's loss in the minimax game (3) (Goodfellow 2014, eq. 1): E[log(1 - D(G(z)))].

    It saturates: when D confidently rejects fakes (D(G(z)) -> 0) its gradient vanishes.
    """
    return -bce_term(fake_logits, 0.0)


def non_saturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss (Goodfellow 2014, Sec. 3): -E[log D(G(z))].

    Same fixed point as the minimax loss, but strong gradients early in training. It is
    the reference's ``GANLoss("vanilla")`` with a real target, pix2pix's G loss.
    """
    return bce_term(fake_logits, 1.0)


def lsgan_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """D's least-squares loss (4): ``E[(D(y) - 1)^2] + E[D(G(x))^2]``.

    Mao et al. 2017, eq. 2, with a = 0 (fake) and b = 1 (real) and without Mao's 1/2, as
    CycleGAN writes it (Zhu 2017, Sec. 4). The reference halves D's loss in its training
    step, ``loss_D = (loss_D_real + loss_D_fake) * 0.5``, to slow D down relative to G;
    :class:`cyclegan_lib.models.CycleGANModel` does the same, in the step, not here.
    """
    return ls_term(real_out, 1.0) + ls_term(fake_out, 0.0)


def lsgan_g_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """G's least-squares loss (4): ``E[(D(G(x)) - 1)^2]`` (Mao 2017, eq. 2 with c = 1, no 1/2).

    The reference's ``GANLoss("lsgan")``, an ``MSELoss`` against a target of 1.
    """
    return ls_term(fake_out, 1.0)


class GANLoss(nn.Module):
    """The reference's adversarial loss for every GAN mode, called as ``loss(prediction, target_is_real)``.

    * ``vanilla``: :func:`bce_term` (the log-likelihood objective (3); pix2pix's default);
    * ``lsgan``: :func:`ls_term` (the least-squares objective (4); CycleGAN's default);
    * ``wgangp``: -mean for real, +mean for fake (Gulrajani 2017), to be combined
      with :func:`gradient_penalty` for the discriminator.

    One call is one side of a loss: ``loss(D(x), True) + loss(D(G(z)), False)`` is
    :func:`minimax_d_loss` or :func:`lsgan_d_loss`, ``loss(D(G(z)), True)`` is
    :func:`non_saturating_g_loss` or :func:`lsgan_g_loss`. Targets take the prediction's
    shape, so a PatchGAN's map works as is.
    """

    def __init__(self, gan_mode: GanMode, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"gan_mode={gan_mode!r} is not one of {GAN_MODES}")
        self.gan_mode = gan_mode
        self.real_label, self.fake_label = real_label, fake_label

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        target = self.real_label if target_is_real else self.fake_label
        if self.gan_mode == "lsgan":
            return ls_term(prediction, target)
        return bce_term(prediction, target)


def gradient_penalty(
    discriminator: nn.Module,
    real: torch.Tensor,
    fake: torch.Tensor,
    weight: float = 10.0,
    constant: float = 1.0,
    generator: torch.Generator | None = None,
) -> torch.Tensor:
    """WGAN-GP penalty (Gulrajani et al. 2017, eq. 3): λ E[(||∇D(x̂)||₂ - 1)²].

    x̂ is a random interpolation between real and fake samples. The reference
    defines this function but never calls it; our models add it to D's loss.
    """
    alpha_shape = (real.shape[0],) + (1,) * (real.dim() - 1)
    alpha = torch.rand(alpha_shape, generator=generator, dtype=real.dtype).to(real.device)
    mixed = (alpha * real.detach() + (1 - alpha) * fake.detach()).requires_grad_(True)
    scores = discriminator(mixed)
    (grads,) = torch.autograd.grad(scores.sum(), mixed, create_graph=True)
    norms = grads.flatten(1).norm(2, dim=1)
    return weight * ((norms - constant) ** 2).mean()


def cycle_loss(original: torch.Tensor, reconstructed: torch.Tensor) -> torch.Tensor:
    """The cycle-consistency loss (1) in one direction (Zhu et al. 2017, eq. 2): E[||F(G(x)) - x||₁].

    The full objective (2) (Zhu 2017, eq. 3) adds both directions, weighted by λ, to the two
    GAN losses; :class:`cyclegan_lib.models.CycleGANModel` sums them for G's step.
    """
    return F.l1_loss(reconstructed, original)


def identity_loss(image: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """The identity loss, one direction (Zhu et al. 2017, Sec. 5.2; Taigman 2017): E[||G(y) - y||₁].

    Weighted λ·λ_identity and added to the full objective (2) when ``--lambda_identity`` > 0.
    """
    return F.l1_loss(mapped, image)


def l1_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The pix2pix reconstruction term (Isola et al. 2017, eq. 3): E[||y - G(x)||₁]."""
    return F.l1_loss(fake, target)
