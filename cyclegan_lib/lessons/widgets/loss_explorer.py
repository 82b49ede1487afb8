"""Widget 1 of lesson 01: move D's outputs and watch three GAN losses and their gradients.

Two numbers drive everything: D(x), the discriminator's belief that a real image
is real, and D(G(z)), its belief that a fake is real. For each value of D(G(z))
we show the generator's loss under

* the minimax game (3), log(1 - D(G(z))) (Goodfellow et al. 2014, eq. 1),
* the non-saturating loss, -log D(G(z)) (same paper, Sec. 3),
* least squares (4), (D(G(z)) - 1)² (Mao et al. 2017, eq. 2; CycleGAN's choice),

and the gradient each one sends back through D's *score* s (the logit, for the
log losses, where D(G(z)) = sigmoid(s); the raw output, for least squares, where
D has no sigmoid). Every number comes from :mod:`cyclegan_lib.losses` and autograd.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from cyclegan_lib import losses
from cyclegan_lib.lessons.widgets import float_slider, live_figure

EPS = 1e-3
GENERATOR_LOSSES = ("minimax", "non-saturating", "least-squares")
COLORS = {"minimax": "tab:red", "non-saturating": "tab:blue", "least-squares": "tab:green"}


def _score(d_output: np.ndarray | list[float] | float, loss: str) -> torch.Tensor:
    """D's score for a given output: the logit for the log losses, the output itself for LS."""
    p = torch.as_tensor(np.clip(d_output, EPS, 1 - EPS), dtype=torch.float64)
    return p.clone() if loss == "least-squares" else torch.logit(p)


def generator_loss_and_grad(d_fake: np.ndarray | float, loss: str) -> tuple[np.ndarray, np.ndarray]:
    """Per-sample G loss at D(G(z)) = ``d_fake`` and its derivative with respect to D's score."""
    score = _score(d_fake, loss).reshape(-1).requires_grad_(True)
    loss_fn = {
        "minimax": losses.minimax_g_loss,
        "non-saturating": losses.non_saturating_g_loss,
        "least-squares": losses.lsgan_g_loss,
    }[loss]
    # each loss is a mean; summing per-sample calls gives per-sample values and gradients
    values = torch.stack([loss_fn(s.view(1)) for s in score])
    values.sum().backward()
    return values.detach().numpy(), score.grad.numpy()


def discriminator_losses(d_real: float, d_fake: float) -> dict[str, float]:
    """D's loss at the two sliders' values: log-likelihood (3) and least squares (4), neither halved."""
    log_loss = losses.minimax_d_loss(_score([d_real], "minimax"), _score([d_fake], "minimax"))
    ls_loss = losses.lsgan_d_loss(
        _score([d_real], "least-squares"), _score([d_fake], "least-squares")
    )
    return {"log-likelihood": log_loss.item(), "least-squares": ls_loss.item()}


def draw_loss_explorer(d_real: float = 0.9, d_fake: float = 0.1):
    """The explorer's picture for one pair of slider values, as a matplotlib figure."""
    grid = np.linspace(0.005, 0.995, 200)
    fig, (ax_loss, ax_grad, ax_d) = plt.subplots(1, 3, figsize=(14, 3.8))
    for name in GENERATOR_LOSSES:
        values, grads = generator_loss_and_grad(grid, name)
        here_value, here_grad = generator_loss_and_grad(d_fake, name)
        color = COLORS[name]
        ax_loss.plot(grid, values, color=color, label=name)
        ax_loss.plot(d_fake, here_value[0], "o", color=color)
        ax_grad.plot(grid, np.abs(grads), color=color, label=name)
        ax_grad.plot(d_fake, abs(here_grad[0]), "o", color=color)
    ax_loss.set(title="generator loss", xlabel="D(G(z))", ylim=(-5, 5))
    ax_grad.set(title="|gradient| w.r.t. D's score", xlabel="D(G(z))", ylim=(0, 2.1))
    ax_grad.axvspan(0, 0.1, color="grey", alpha=0.15)
    ax_grad.text(0.11, 2.0, "shaded: D confidently\nrejects the fakes", fontsize=8, va="top")
    ax_loss.legend(fontsize=8)
    d_values = discriminator_losses(d_real, d_fake)
    ax_d.bar(list(d_values), list(d_values.values()), color=["tab:purple", "tab:green"])
    ax_d.set(title=f"D's loss at D(x)={d_real:.2f}, D(G(z))={d_fake:.2f}")
    for i, value in enumerate(d_values.values()):
        ax_d.text(i, value, f"{value:.3f}", ha="center", va="bottom")
    fig.tight_layout()
    return fig


def loss_explorer(d_real: float = 0.9, d_fake: float = 0.1) -> widgets.VBox:
    """Two sliders (D(x), D(G(z))) above the explorer's figure, redrawn on every change."""
    real_slider = float_slider("D(x) on a real image", d_real, 0.01, 0.99, 0.01)
    fake_slider = float_slider("D(G(z)) on a fake", d_fake, 0.01, 0.99, 0.01)
    return live_figure(draw_loss_explorer, real_slider, fake_slider)
