"""Lesson 06's widget: where checkerboards come from (Odena et al. 2016).

A stack of randomly initialised ×2 upsampling layers is applied to a smooth
image (a digit shrunk to a few pixels). Transposed convolutions reuse different
kernel taps at even and odd output pixels, so even a smooth input comes out
with a pattern that repeats every 2 pixels; resizing first and then convolving
treats all pixels alike. The right panel is the output's power spectrum, the
number in its title the share of power at the checkerboard frequencies.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch
from torch import nn
from torch.nn import functional as nnf

from cyclegan_lib.course.diagnostics import checkerboard_energy, power_spectrum
from cyclegan_lib.lessons.debugging import ResizeConv
from cyclegan_lib.lessons.widgets import dropdown, int_slider, redraw

UPSAMPLERS = {
    "transposed 3×3, stride 2 (the reference's)": "transposed3",
    "transposed 4×4, stride 2": "transposed4",
    "resize ×2, then 3×3 conv": "resize",
}
CHANNELS = 8


def upsampler(kind: str, channels: int = CHANNELS) -> nn.Module:
    """One ×2 upsampling layer of ``kind`` (see :data:`UPSAMPLERS`), channels kept."""
    if kind == "transposed3":  # the ResNet generator's: kernel 3, stride 2, output padding 1
        return nn.ConvTranspose2d(channels, channels, 3, stride=2, padding=1, output_padding=1)
    if kind == "transposed4":  # the U-Net's: kernel 4, stride 2
        return nn.ConvTranspose2d(channels, channels, 4, stride=2, padding=1)
    if kind == "resize":
        return ResizeConv(channels, channels, bias=True)
    raise ValueError(f"kind={kind!r} is not one of {sorted(set(UPSAMPLERS.values()))}")


@torch.no_grad()
def upsample_smooth_image(
    kind: str, layers: int = 2, seed: int = 0, size: int = 32
) -> torch.Tensor:
    """(1, 1, size, size): a blurred disc shrunk by 2**layers, upsampled by random ``kind`` layers."""
    torch.manual_seed(seed)
    small = size // 2**layers
    grid = torch.linspace(-1, 1, small)
    disc = torch.exp(-3 * (grid[:, None] ** 2 + grid[None, :] ** 2))
    x = disc.expand(1, CHANNELS, small, small)
    for _ in range(layers):
        x = nnf.relu(upsampler(kind)(x))
    return x.mean(dim=1, keepdim=True)


def draw_upsampling(kind: str = "transposed3", layers: int = 2, seed: int = 0):
    """The upsampled image and its centred log power spectrum, side by side."""
    image = upsample_smooth_image(kind, layers, seed)
    spectrum = np.fft.fftshift(power_spectrum(image))
    fig, (ax_image, ax_power) = plt.subplots(1, 2, figsize=(8, 3.8))
    ax_image.imshow(image[0, 0].numpy(), cmap="gray")
    ax_image.set_title(f"{layers} random ×2 layer(s)")
    ax_image.axis("off")
    ax_power.imshow(np.log10(spectrum + 1e-12), cmap="magma")
    energy = checkerboard_energy(image, period=2 ** max(layers, 1))
    ax_power.set_title(f"log power; {energy:.1%} at checkerboard frequencies")
    ax_power.axis("off")
    fig.tight_layout()
    return fig


def upsampling_widget(layers: int = 2, seed: int = 0) -> widgets.VBox:
    """A dropdown for the upsampler and sliders for the depth and the seed."""
    kind = dropdown("upsampling", tuple(UPSAMPLERS), next(iter(UPSAMPLERS)))
    depth = int_slider("×2 layers", layers, 1, 3)
    draw_seed = int_slider("seed", seed, 0, 9)
    output = widgets.Output()

    def update(_change=None) -> None:
        redraw(
            output, lambda: draw_upsampling(UPSAMPLERS[kind.value], depth.value, draw_seed.value)
        )

    for control in (kind, depth, draw_seed):
        control.observe(update, names="value")
    update()
    return widgets.VBox([kind, depth, draw_seed, output])
