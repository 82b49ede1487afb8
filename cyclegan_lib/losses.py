"""GAN, cycle and identity losses.

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


def minimax_d_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    """Discriminator loss of Goodfellow et al. 2014, eq. 1: -[log D(x) + log(1 - D(G(z)))].

    D maximises V(D, G) = E[log D(x)] + E[log(1 - D(G(z)))]; we minimise -V.
    """
    real = F.binary_cross_entropy_with_logits(real_logits, torch.ones_like(real_logits))
    fake = F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))
    return real + fake


def minimax_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Generator loss of the original minimax game (Goodfellow 2014, eq. 1): E[log(1 - D(G(z)))].

    It saturates: when D confidently rejects fakes (D(G(z)) -> 0) its gradient vanishes.
    """
    return -F.binary_cross_entropy_with_logits(fake_logits, torch.zeros_like(fake_logits))


def non_saturating_g_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """The non-saturating generator loss (Goodfellow 2014, Sec. 3): -E[log D(G(z))].

    Same fixed point as the minimax loss, but strong gradients early in training.
    """
    return F.binary_cross_entropy_with_logits(fake_logits, torch.ones_like(fake_logits))


def lsgan_d_loss(real_out: torch.Tensor, fake_out: torch.Tensor) -> torch.Tensor:
    """Least-squares discriminator loss (Mao et al. 2017, eq. 2 with a=0, b=1; Zhu 2017 eq. 4).

    ``0.5 * (E[(D(x) - 1)^2] + E[D(G(z))^2])``; the 0.5 matches the reference's D update.
    """
    return 0.5 * (((real_out - 1) ** 2).mean() + (fake_out**2).mean())


def lsgan_g_loss(fake_out: torch.Tensor) -> torch.Tensor:
    """Least-squares generator loss (Mao et al. 2017, eq. 2 with c=1): E[(D(G(z)) - 1)^2].

    Written without Mao's 1/2, like the reference's ``MSELoss`` against a target of 1.
    """
    return ((fake_out - 1) ** 2).mean()


class GANLoss(nn.Module):
    """One adversarial loss for every GAN mode, called as ``loss(prediction, target_is_real)``.

    * ``vanilla``: binary cross-entropy with logits (Goodfellow 2014; pix2pix default);
    * ``lsgan``: mean squared error to 1 / 0 (Mao 2017; CycleGAN default, Zhu 2017 eq. 4);
    * ``wgangp``: -mean for real, +mean for fake (Gulrajani 2017), to be combined
      with :func:`gradient_penalty` for the discriminator.

    Targets are broadcast to the prediction's shape, so a PatchGAN's map works as is.
    """

    def __init__(self, gan_mode: GanMode, real_label: float = 1.0, fake_label: float = 0.0) -> None:
        super().__init__()
        if gan_mode not in GAN_MODES:
            raise ValueError(f"gan_mode={gan_mode!r} is not one of {GAN_MODES}")
        self.gan_mode = gan_mode
        self.register_buffer("real_label", torch.tensor(real_label))
        self.register_buffer("fake_label", torch.tensor(fake_label))

    def target_like(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        """A tensor of 1s (real) or 0s (fake) with the prediction's shape."""
        label = self.real_label if target_is_real else self.fake_label
        return label.to(prediction.dtype).expand_as(prediction)

    def forward(self, prediction: torch.Tensor, target_is_real: bool) -> torch.Tensor:
        if self.gan_mode == "wgangp":
            return -prediction.mean() if target_is_real else prediction.mean()
        target = self.target_like(prediction, target_is_real)
        if self.gan_mode == "lsgan":
            return F.mse_loss(prediction, target)
        return F.binary_cross_entropy_with_logits(prediction, target)


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
    """Cycle-consistency loss (Zhu et al. 2017, eq. 1, one direction): E[||F(G(x)) - x||₁]."""
    return F.l1_loss(reconstructed, original)


def identity_loss(image: torch.Tensor, mapped: torch.Tensor) -> torch.Tensor:
    """Identity loss (Zhu et al. 2017, Sec. 5.2; Taigman 2017): E[||G(y) - y||₁]."""
    return F.l1_loss(mapped, image)


def l1_loss(fake: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """The pix2pix reconstruction term (Isola et al. 2017, eq. 3): E[||y - G(x)||₁]."""
    return F.l1_loss(fake, target)
