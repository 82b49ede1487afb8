"""Lesson 03's widget: how much of the image one PatchGAN decision sees.

A PatchGAN (Isola et al. 2017, Sec. 3.2.2) outputs a map of decisions, one per
overlapping patch. The patch is the *receptive field* of one output unit, which
follows from the stack of convolutions alone
(:func:`cyclegan_lib.networks.patch_geometry`). The reference's ``n_layers=3``
discriminator gives the famous 70x70 patches.
"""

from __future__ import annotations

from functools import lru_cache

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
from matplotlib.patches import Rectangle
from PIL import Image
from torch import nn

from cyclegan_lib.course.digits import load_domain, load_photos
from cyclegan_lib.lessons.widgets import dropdown, int_slider, live_figure
from cyclegan_lib.networks import NLayerDiscriminator, patch_geometry
from cyclegan_lib.pipeline.pages import to_uint8

IMAGES = ("photo, 256 px", "digit, 32 px")


def patchgan(n_layers: int, input_nc: int = 3) -> NLayerDiscriminator:
    """A thin PatchGAN (ndf=8: only its geometry matters here) with ``n_layers`` hidden layers."""
    return NLayerDiscriminator(input_nc, ndf=8, n_layers=n_layers, norm="batch")


def output_side(net: nn.Module, side: int) -> int:
    """The side of the decision map for a ``side`` x ``side`` input (conv arithmetic)."""
    for layer in net.modules():
        if isinstance(layer, nn.Conv2d):
            (k, _), (s, _), (p, _) = layer.kernel_size, layer.stride, layer.padding
            side = (side + 2 * p - k) // s + 1
    return side


@lru_cache(maxsize=1)
def example_images() -> dict[str, np.ndarray]:
    """A 256-px photo (the cat of the embedded backgrounds) and a 32-px test digit, uint8 RGB."""
    photo = next(p for p in load_photos() if p.shape[1] > p.shape[0])
    side = photo.shape[0]
    left = (photo.shape[1] - side) // 2
    square = Image.fromarray(photo[:, left : left + side]).resize((256, 256), Image.BICUBIC)
    digits, _ = load_domain("color", "test")
    return {IMAGES[0]: np.asarray(square), IMAGES[1]: to_uint8(digits[[350]])[0]}


def draw_receptive_field(n_layers: int = 3, image: str = IMAGES[0]):
    """The image with one decision's patch (orange) and its neighbours' centres, and the map."""
    picture = example_images()[image]
    side = picture.shape[0]
    net = patchgan(n_layers)
    geometry = patch_geometry(net)
    cells = output_side(net, side)
    fig, (ax_image, ax_map) = plt.subplots(
        1, 2, figsize=(9, 4.2), gridspec_kw={"width_ratios": [1.3, 1]}
    )
    ax_image.imshow(picture, extent=(0, side, side, 0))
    if cells < 1:
        ax_image.set_title(f"{n_layers} layers: a {side}-px image is too small for this D")
        ax_map.axis("off")
        return fig
    middle = cells // 2
    start, end = geometry.window(middle)
    ax_image.add_patch(
        Rectangle((start, start), end - start, end - start, fill=False, lw=2.5, color="orange")
    )
    centers = [geometry.first_center + i * geometry.jump for i in range(cells)]
    ax_image.scatter(*np.meshgrid(centers, centers), s=4, color="white", alpha=0.6)
    ax_image.set_xlim(min(0, start) - 2, max(side, end) + 2)
    ax_image.set_ylim(max(side, end) + 2, min(0, start) - 2)
    ax_image.set_title(
        f"{n_layers} layers: each decision sees {geometry.receptive_field}x"
        f"{geometry.receptive_field} px", fontsize=10
    )  # fmt: skip
    decision_map = np.zeros((cells, cells))
    decision_map[middle, middle] = 1
    ax_map.imshow(decision_map, cmap="Oranges", vmin=0, vmax=1.5)
    ax_map.set_title(f"D's output: {cells}x{cells} decisions", fontsize=10)
    ax_map.set_xticks([])
    ax_map.set_yticks([])
    fig.tight_layout()
    return fig


def receptive_field_widget(n_layers: int = 3) -> widgets.VBox:
    """A slider for the number of layers and a choice of image above :func:`draw_receptive_field`."""
    layers = int_slider("PatchGAN layers", n_layers, 1, 5)
    image = dropdown("image", IMAGES, IMAGES[0])
    return live_figure(draw_receptive_field, layers, image)
