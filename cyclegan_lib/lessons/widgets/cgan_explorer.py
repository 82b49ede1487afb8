"""The widget of lesson 02: ask a conditional generator for a digit, and walk between two noises.

Keeping the label y fixed and moving z from one noise vector to another changes the
*style* (slant, thickness, size) while the *content* (which digit) stays; keeping z
fixed and changing y does the opposite. The walk uses spherical interpolation
(White 2016, "Sampling generative networks"): a straight line between two Gaussian
vectors passes through points of unusually small norm, which G rarely saw in training.
"""

from __future__ import annotations

from functools import partial

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch
from torch import nn

from cyclegan_lib.course.plotting import show_grid
from cyclegan_lib.lessons.gan_loop import generate
from cyclegan_lib.lessons.mnist_gans import NUM_CLASSES, sample_noise
from cyclegan_lib.lessons.widgets import int_slider, live_figure


def slerp(z_a: torch.Tensor, z_b: torch.Tensor, steps: int) -> torch.Tensor:
    """``steps`` points on the great circle from ``z_a`` to ``z_b`` (1-D vectors), ends included."""
    cos = torch.dot(z_a, z_b) / (z_a.norm() * z_b.norm())
    omega = torch.arccos(cos.clamp(-1 + 1e-7, 1 - 1e-7))
    t = torch.linspace(0, 1, steps).unsqueeze(1)
    return (torch.sin((1 - t) * omega) * z_a + torch.sin(t * omega) * z_b) / torch.sin(omega)


def noise_for_seed(seed: int, z_dim: int) -> torch.Tensor:
    """The noise vector of a seed: the same seed always gives the same z."""
    return sample_noise(1, z_dim, torch.Generator().manual_seed(seed))[0]


def draw_digit_and_noise(G: nn.Module, digit: int, seed_a: int, seed_b: int, steps: int = 10):
    """Two rows: every digit drawn with noise ``seed_a`` (content changes, style stays), and
    ``digit`` drawn while the noise walks from ``seed_a`` to ``seed_b`` (style changes)."""
    z_a, z_b = noise_for_seed(seed_a, G.z_dim), noise_for_seed(seed_b, G.z_dim)
    same_noise = generate(G, z_a.expand(NUM_CLASSES, -1), torch.arange(NUM_CLASSES))
    walk = generate(G, slerp(z_a, z_b, steps), torch.full((steps,), digit))
    fig, (ax_top, ax_bottom) = plt.subplots(2, 1, figsize=(8, 2.6))
    show_grid(same_noise, nrow=NUM_CLASSES, ax=ax_top, title=f"y = 0..9, noise seed {seed_a}")
    show_grid(walk, nrow=steps, ax=ax_bottom, title=f"y = {digit}, noise seed {seed_a} → {seed_b}")
    fig.tight_layout()
    return fig


def digit_noise_widget(
    G: nn.Module, digit: int = 7, seed_a: int = 0, seed_b: int = 1
) -> widgets.VBox:
    """Sliders for the digit and two noise seeds above :func:`draw_digit_and_noise`."""
    digit_slider = int_slider("digit y", digit, 0, NUM_CLASSES - 1)
    seed_a_slider = int_slider("noise seed (start)", seed_a, 0, 99)
    seed_b_slider = int_slider("noise seed (end)", seed_b, 0, 99)
    draw = partial(draw_digit_and_noise, G)
    return live_figure(draw, digit_slider, seed_a_slider, seed_b_slider)
