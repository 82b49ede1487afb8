"""The lessons' diagrams, drawn by matplotlib from the library's own objects.

Each function returns a :class:`matplotlib.figure.Figure`. Where a diagram shows a network
or a schedule, it is read from the module or scheduler the lessons train (the layer list of
``networks.UnetGenerator`` and ``networks.ResnetGenerator``, the patch geometry of
``networks.NLayerDiscriminator``, the LR factor of ``pipeline.schedulers.get_scheduler``),
so a figure changes when the code does.
"""

from __future__ import annotations

from itertools import groupby

import matplotlib.pyplot as plt
import numpy as np
import torch
from matplotlib.figure import Figure
from matplotlib.patches import FancyArrowPatch, FancyBboxPatch, Rectangle
from torch import nn

from cyclegan_lib import networks
from cyclegan_lib.pipeline.schedulers import get_scheduler

COLOURS = {"G": "#cfe2ff", "D": "#ffd8cc", "data": "#e2f0d9", "loss": "#fff2cc", "skip": "#888"}


def _box(ax, xy: tuple[float, float], text: str, colour: str, width=1.6, height=0.7) -> None:
    x, y = xy
    ax.add_patch(
        FancyBboxPatch(
            (x - width / 2, y - height / 2), width, height, boxstyle="round,pad=0.05",
            facecolor=colour, edgecolor="#333",
        )
    )  # fmt: skip
    ax.text(x, y, text, ha="center", va="center", fontsize=10)


def _arrow(ax, start, end, text: str = "", colour: str = "#333", curve: float = 0.0) -> None:
    ax.add_patch(
        FancyArrowPatch(
            start, end, arrowstyle="-|>", mutation_scale=14, color=colour,
            connectionstyle=f"arc3,rad={curve}",
        )
    )  # fmt: skip
    if text:
        mid = ((start[0] + end[0]) / 2, (start[1] + end[1]) / 2 + 0.25 + curve)
        ax.text(*mid, text, ha="center", va="bottom", fontsize=9, color=colour)


def _canvas(width: float, height: float, xlim, ylim, title: str):
    fig, ax = plt.subplots(figsize=(width, height))
    ax.set_xlim(*xlim)
    ax.set_ylim(*ylim)
    ax.axis("off")
    ax.set_title(title, fontsize=12)
    return fig, ax


def gan_game() -> Figure:
    """Lesson 01: the two players of V(D, G) (Goodfellow et al. 2014, eq. 1; our eq. 3)."""
    fig, ax = _canvas(9, 3.2, (0, 10), (0, 4), "The GAN game: D tells real from fake, G fools D")
    _box(ax, (1, 3), "z ~ p_z", COLOURS["data"])
    _box(ax, (3.5, 3), "G", COLOURS["G"])
    _box(ax, (6, 3), "G(z)", COLOURS["data"])
    _box(ax, (6, 1), "x ~ p_data", COLOURS["data"])
    _box(ax, (8.3, 2), "D", COLOURS["D"])
    _arrow(ax, (1.8, 3), (2.7, 3))
    _arrow(ax, (4.3, 3), (5.2, 3))
    _arrow(ax, (6.8, 3), (7.5, 2.2), "fake")
    _arrow(ax, (6.8, 1), (7.5, 1.8), "real")
    ax.text(8.3, 1.2, "D(x) -> 1\nD(G(z)) -> 0", ha="center", va="top", fontsize=9)
    ax.text(3.5, 2.2, "G wants D(G(z)) -> 1", ha="center", fontsize=9, color="#1f4e9c")
    return fig


def label_conditioning(z_dim: int = 64, n_classes: int = 10) -> Figure:
    """Lesson 02: the label y enters both players (Mirza & Osindero 2014, eq. 2)."""
    fig, ax = _canvas(9, 3.6, (0, 10), (0, 4.4), "Conditioning: y goes into G and into D")
    _box(ax, (1, 3.5), f"z ({z_dim})", COLOURS["data"])
    _box(ax, (1, 2.3), f"one-hot y ({n_classes})", COLOURS["data"], width=1.9)
    _box(ax, (3.7, 2.9), f"G\ninput {z_dim} + {n_classes}", COLOURS["G"], width=1.9, height=1)
    _box(ax, (6.2, 2.9), "G(z | y)", COLOURS["data"])
    _box(
        ax, (6.2, 0.8), "label planes\n(y as image channels)", COLOURS["data"], width=2.4, height=1
    )
    _box(ax, (8.8, 1.9), "D(x | y)", COLOURS["D"])
    _arrow(ax, (1.8, 3.5), (2.75, 3.1))
    _arrow(ax, (2.0, 2.3), (2.75, 2.7))
    _arrow(ax, (4.65, 2.9), (5.4, 2.9))
    _arrow(ax, (7.0, 2.9), (8.1, 2.1), "image")
    _arrow(ax, (7.4, 0.8), (8.1, 1.7), "same y")
    return fig


def unet_levels(net: networks.UnetGenerator) -> list[tuple[str, str]]:
    """(down, up) labels per level, outermost first, from the module's own convolutions."""
    levels, block = [], net.model
    while block is not None:
        convs = [m for m in block.model if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
        down, up = convs[0], convs[-1]
        levels.append(
            (
                f"Conv2d {down.in_channels}->{down.out_channels}",
                f"ConvTranspose2d {up.in_channels}->{up.out_channels}",
            )
        )
        inner = [m for m in block.model if isinstance(m, networks.UnetSkipBlock)]
        block = inner[0] if inner else None
    return levels


def unet(net: networks.UnetGenerator | None = None) -> Figure:
    """Lesson 03: the U-Net (Isola et al. 2017, Sec. 3.2.1): each level's input is
    concatenated to its output, so the decoder's convolutions take twice the channels."""
    net = net or networks.UnetGenerator(3, 3, num_downs=5, ngf=8)
    levels = unet_levels(net)
    depth = len(levels)
    fig, ax = _canvas(10, 0.75 * depth + 1.4, (0, 10), (-0.8, depth + 0.2), "U-Net")
    for i, (down, up) in enumerate(levels):
        y = depth - i - 0.5
        _box(ax, (2.2, y), down, COLOURS["G"], width=3.2, height=0.6)
        _box(ax, (7.8, y), up, COLOURS["G"], width=3.6, height=0.6)
        if i < depth - 1:
            _arrow(ax, (2.2, y - 0.32), (2.2, y - 0.68))
            _arrow(ax, (7.8, y - 0.68), (7.8, y - 0.32))
        if i:  # every level but the outermost concatenates its input to its output
            _arrow(ax, (3.85, y), (5.95, y), "skip: concatenate", COLOURS["skip"])
    ax.text(5, -0.5, "input top left, down to the 1x1 bottleneck, up to the output top right; "
            "ReLU and norm layers omitted",
            ha="center", fontsize=8, color="#555")  # fmt: skip
    return fig


def patchgan_field(image: torch.Tensor, n_layers: int = 3, decision: int | None = None) -> Figure:
    """Lesson 03: the patch one PatchGAN decision sees on ``image`` (C, H, W in [-1, 1]),
    from ``networks.patch_geometry`` of an ``NLayerDiscriminator`` (Isola et al. 2017,
    Sec. 3.2.2), with the centres of all decisions along the image."""
    with torch.device("meta"):
        d = networks.NLayerDiscriminator(image.shape[0], ndf=1, n_layers=n_layers, norm="none")
        grid = d(torch.empty(1, *image.shape)).shape[-1]
    geometry = networks.patch_geometry(d)
    size = image.shape[-1]
    decision = grid // 2 if decision is None else decision
    start, _ = geometry.window(decision)
    fig, ax = plt.subplots(figsize=(4.6, 4.6))
    pixels = ((image.permute(1, 2, 0).numpy() + 1) / 2).clip(0, 1)
    ax.imshow(pixels.squeeze(-1) if pixels.shape[-1] == 1 else pixels, cmap="gray",
              extent=(0, size, size, 0))  # fmt: skip
    field = geometry.receptive_field
    ax.add_patch(Rectangle((start, start), field, field, fill=False, edgecolor="#d62728", lw=2))
    centres = geometry.first_center + geometry.jump * np.arange(grid)
    xs, ys = np.meshgrid(centres, centres)
    ax.scatter(xs, ys, s=6, color="#1f77b4")
    ax.set_xlim(min(0, start) - 1, max(size, start + field) + 1)
    ax.set_ylim(max(size, start + field) + 1, min(0, start) - 1)
    ax.set_title(
        f"PatchGAN, n_layers={n_layers}: {grid}x{grid} decisions,\n"
        f"each sees {field}x{field} px (red), {geometry.jump} px apart (blue)",
        fontsize=10,
    )
    return fig


def cyclegan_cycles() -> Figure:
    """Lesson 04: G: X -> Y, F: Y -> X, D_X and D_Y, the two cycles of the cycle loss (1)
    and where each term of the full objective (2) is taken (Zhu et al. 2017, Sec. 3)."""
    fig, ax = _canvas(10, 4.4, (0, 10), (0, 5.4), "CycleGAN: two GANs tied by two cycles")
    _box(ax, (1.5, 3.6), "x (domain X)", COLOURS["data"], width=1.9)
    _box(ax, (8.5, 3.6), "y (domain Y)", COLOURS["data"], width=1.9)
    _arrow(ax, (2.5, 3.9), (7.5, 3.9), "G: X -> Y   x -> G(x)", "#1f4e9c", curve=-0.25)
    _arrow(ax, (7.5, 3.3), (2.5, 3.3), "F: Y -> X   y -> F(y)", "#1f4e9c", curve=-0.25)
    _box(ax, (8.5, 1.6), "D_Y: real y vs G(x)", COLOURS["D"], width=2.6)
    _box(ax, (1.5, 1.6), "D_X: real x vs F(y)", COLOURS["D"], width=2.6)
    _box(ax, (5, 1.9), "cycle loss (1), lambda_cycle\n|F(G(x)) - x|_1 + |G(F(y)) - y|_1",
         COLOURS["loss"], width=4.0, height=0.9)  # fmt: skip
    _box(ax, (5, 0.5), "L_GAN(G, D_Y) + L_GAN(F, D_X) + lambda L_cyc = objective (2)",
         COLOURS["loss"], width=6.4, height=0.6)  # fmt: skip
    _arrow(ax, (8.5, 3.2), (8.5, 2.0))
    _arrow(ax, (1.5, 3.2), (1.5, 2.0))
    return fig


def resnet_stages(net: networks.ResnetGenerator) -> list[str]:
    """The paper's names for the generator's stages (Zhu et al. 2017, appendix 7.2),
    read from the module: c7s1-k, dk, Rk (x n), uk."""
    names = []
    for layer in net.model:
        if isinstance(layer, networks.ResnetBlock):
            conv = next(m for m in layer.conv_block if isinstance(m, nn.Conv2d))
            names.append(f"R{conv.in_channels}")
        elif isinstance(layer, nn.ConvTranspose2d):
            names.append(f"u{layer.out_channels}")
        elif isinstance(layer, nn.Conv2d):
            k, s = layer.kernel_size[0], layer.stride[0]
            names.append(f"c{k}s{s}-{layer.out_channels}" if s == 1 else f"d{layer.out_channels}")
    stages = []
    for name, group in groupby(names):
        count = len(list(group))
        stages.append(f"{name} x{count}" if count > 1 else name)
    return stages


def resnet_generator(net: networks.ResnetGenerator | None = None) -> Figure:
    """Lesson 05: the ResNet generator as the paper writes it, from the module's layers."""
    net = net or networks.ResnetGenerator(3, 3, ngf=64, n_blocks=9)
    stages = resnet_stages(net)
    fig, ax = _canvas(11, 2.2, (0, len(stages) * 1.5), (0, 2), "ResNet generator")
    for i, stage in enumerate(stages):
        colour = COLOURS["loss"] if stage.startswith("R") else COLOURS["G"]
        _box(ax, (0.75 + 1.5 * i, 1), stage, colour, width=1.3, height=0.7)
        if i:
            _arrow(ax, (1.5 * i - 0.1, 1), (1.5 * i + 0.1, 1))
    ax.text(0.1, 0.2, "c7s1-k: 7x7 conv, k filters; dk: 3x3 stride-2 conv; Rk: residual block; "
            "uk: 3x3 stride-1/2 transposed conv", fontsize=8, color="#555")  # fmt: skip
    return fig


def lr_schedule(n_epochs: int = 100, n_epochs_decay: int = 100, lr: float = 2e-4) -> Figure:
    """Lesson 05: the learning rate per epoch under ``--lr_policy linear``, stepped through
    ``get_scheduler`` itself (constant for ``n_epochs``, then linear decay to zero)."""
    optimizer = torch.optim.Adam([nn.Parameter(torch.zeros(1))], lr=lr)
    scheduler = get_scheduler(optimizer, "linear", n_epochs, n_epochs_decay)
    rates = []
    for _ in range(n_epochs + n_epochs_decay):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    fig, ax = plt.subplots(figsize=(7, 2.8))
    ax.plot(np.arange(1, len(rates) + 1), rates)
    ax.axvline(n_epochs + 0.5, color="#888", ls="--")
    ax.set_xlabel("epoch")
    ax.set_ylabel("learning rate")
    ax.set_title(f"--lr_policy linear: {n_epochs} epochs at {lr:g}, {n_epochs_decay} decaying to 0")
    return fig


def texts(fig: Figure) -> str:
    """All the text drawn on ``fig`` (titles and labels), one line each: what tests read."""
    found = [t.get_text() for t in fig.findobj(plt.Text)]
    return "\n".join(t for t in found if t)
