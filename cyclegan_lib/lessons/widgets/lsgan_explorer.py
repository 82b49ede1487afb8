"""Lesson 04's LSGAN widget: where does each generator loss still push a fake sample?

A one-dimensional game. Real samples come from N(2, 0.5²), fakes from
N(mu, 0.5²), and each discriminator is a line s(x) = w x + b fitted to them by
its own loss (L-BFGS on the library's losses):

* the log-likelihood D (the course's eq. 3; Goodfellow 2014, eq. 1) reads its score
  through a sigmoid, D(x) = sigmoid(s(x));
* the least-squares D (eq. 4; Mao et al. 2017, eq. 2 with a=0, b=1) outputs s(x) itself.

For a fake at position x the generator receives dL/dx. With the log losses it
vanishes wherever the sigmoid is flat: the minimax loss log(1 - D) stalls where
D confidently rejects the fake, the non-saturating -log D stalls for samples
far on the "real" side of the boundary, even far beyond the real data. The
least-squares loss (D(x) - 1)² only vanishes where D(x) = 1 and otherwise pulls
harder the further away the sample is (Mao et al. 2017, Sec. 3.2).
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from cyclegan_lib import losses
from cyclegan_lib.lessons.widgets import float_slider, live_figure

REAL_MEAN, SPREAD, N_SAMPLES = 2.0, 0.5, 200
RIDGE = 1e-2  # keeps the log-likelihood line finite when real and fake barely overlap
G_LOSSES = {
    "minimax log(1 - D)": ("log", losses.minimax_g_loss, "tab:red"),
    "non-saturating -log D": ("log", losses.non_saturating_g_loss, "tab:blue"),
    "least squares (D - 1)²": ("ls", losses.lsgan_g_loss, "tab:green"),
}


def samples(mean: float) -> torch.Tensor:
    """``N_SAMPLES`` evenly spread quantiles of N(mean, SPREAD²): deterministic 'samples'."""
    quantiles = torch.linspace(0.5 / N_SAMPLES, 1 - 0.5 / N_SAMPLES, N_SAMPLES, dtype=torch.float64)
    return mean + SPREAD * torch.special.ndtri(quantiles)


def fit_discriminator(fake_mean: float, kind: str) -> tuple[float, float]:
    """(w, b) of the line s(x) = w x + b that minimises D's loss of ``kind`` ('log' or 'ls')."""
    real, fake = samples(REAL_MEAN), samples(fake_mean)
    params = torch.zeros(2, dtype=torch.float64, requires_grad=True)
    d_loss = losses.minimax_d_loss if kind == "log" else losses.lsgan_d_loss
    optimizer = torch.optim.LBFGS([params], max_iter=200, line_search_fn="strong_wolfe")

    def closure() -> torch.Tensor:
        optimizer.zero_grad()
        w, b = params
        loss = d_loss(w * real + b, w * fake + b) + RIDGE * w**2
        loss.backward()
        return loss

    optimizer.step(closure)
    w, b = params.detach().tolist()
    return w, b


def generator_gradients(positions: np.ndarray, fake_mean: float) -> dict[str, np.ndarray]:
    """dL_G/dx at each position for every generator loss, against D fitted to ``fake_mean``."""
    lines = {kind: fit_discriminator(fake_mean, kind) for kind in ("log", "ls")}
    result = {}
    for name, (kind, g_loss, _) in G_LOSSES.items():
        w, b = lines[kind]
        x = torch.as_tensor(positions, dtype=torch.float64).clone().requires_grad_(True)
        score = w * x + b
        # each loss is a mean over samples; summing one-sample calls gives per-sample gradients
        torch.stack([g_loss(s.view(1)) for s in score]).sum().backward()
        result[name] = x.grad.numpy()
    return result


def draw_lsgan(fake_mean: float = -1.0):
    """Both discriminators' outputs over x, and the push |dL_G/dx| each G loss gives a fake there."""
    grid = np.linspace(-5, 7, 241)
    fig, (ax_d, ax_g) = plt.subplots(1, 2, figsize=(13, 3.8))
    for mean, color, label in ((REAL_MEAN, "black", "real"), (fake_mean, "tab:orange", "fake")):
        ax_d.hist(samples(mean).numpy(), bins=20, density=True, color=color, alpha=0.3, label=label)
    w, b = fit_discriminator(fake_mean, "log")
    ax_d.plot(grid, 1 / (1 + np.exp(-(w * grid + b))), color="tab:blue", label="log-likelihood D")
    w, b = fit_discriminator(fake_mean, "ls")
    ax_d.plot(grid, w * grid + b, color="tab:green", label="least-squares D")
    ax_d.axhline(1, color="grey", lw=0.5, ls="--")
    ax_d.axhline(0, color="grey", lw=0.5, ls="--")
    ax_d.set(title="D's output over x", xlabel="x", ylim=(-0.6, 1.6))
    ax_d.legend(fontsize=8, loc="upper left")
    for name, grads in generator_gradients(grid, fake_mean).items():
        ax_g.plot(grid, np.abs(grads), color=G_LOSSES[name][2], label=name)
    ax_g.axvline(fake_mean, color="tab:orange", lw=1, ls=":")
    ax_g.axvline(REAL_MEAN, color="black", lw=1, ls=":")
    ax_g.set(title="push on a fake at x: |dL_G/dx|", xlabel="x", yscale="log", ylim=(1e-4, 1e2))
    ax_g.legend(fontsize=8, loc="lower left")
    fig.tight_layout()
    return fig


def lsgan_widget(fake_mean: float = -1.0) -> widgets.VBox:
    """A slider for where the fakes are, above :func:`draw_lsgan`."""
    slider = float_slider("fakes' mean", fake_mean, -4.0, 6.0, 0.5)
    return live_figure(draw_lsgan, slider)
