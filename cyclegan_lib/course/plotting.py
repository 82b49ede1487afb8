"""Plotting and progress helpers shared by every lesson (one look across the course)."""

from __future__ import annotations

import html
from collections.abc import Iterable, Mapping, Sequence

import matplotlib.pyplot as plt
import numpy as np
import torch
from tqdm.auto import tqdm

from cyclegan_lib.course.env import get_profile
from cyclegan_lib.pipeline.pages import to_uint8


def progress(iterable: Iterable, **kwargs) -> Iterable:
    """A tqdm progress bar, silent in the ``smoke`` profile (nbval waits on late output)."""
    kwargs.setdefault("disable", get_profile() == "smoke")
    kwargs.setdefault("leave", False)
    return tqdm(iterable, **kwargs)


def image_grid(images: torch.Tensor, nrow: int = 8, pad: int = 2) -> np.ndarray:
    """Tile images in [-1, 1] (N, C, H, W) into one uint8 RGB array, ``nrow`` per row."""
    tiles = to_uint8(images)
    if tiles.shape[-1] == 1:
        tiles = np.repeat(tiles, 3, axis=-1)
    n, h, w, _ = tiles.shape
    rows = (n + nrow - 1) // nrow
    grid = np.full((rows * (h + pad) + pad, nrow * (w + pad) + pad, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        top, left = pad + (i // nrow) * (h + pad), pad + (i % nrow) * (w + pad)
        grid[top : top + h, left : left + w] = tile
    return grid


def show_grid(images: torch.Tensor, nrow: int = 8, title: str = "", ax=None, scale: float = 0.35):
    """Show a grid of images in [-1, 1]; returns the matplotlib axes."""
    grid = image_grid(images, nrow)
    if ax is None:
        height, width = grid.shape[:2]
        _, ax = plt.subplots(figsize=(width * scale / 10, height * scale / 10))
    ax.imshow(grid)
    ax.set_title(title)
    ax.axis("off")
    return ax


def show_rows(rows: Mapping[str, torch.Tensor], scale: float = 0.35) -> None:
    """One labelled grid per row, e.g. ``{"x": x, "G(x)": fake_y, "F(G(x))": rec_x}``."""
    fig, axes = plt.subplots(len(rows), 1, figsize=(10 * scale * 3, 1.4 * len(rows)))
    for ax, (label, images) in zip(np.atleast_1d(axes), rows.items(), strict=True):
        show_grid(images, nrow=len(images), ax=ax)
        ax.set_title(label, loc="left", fontsize=10)
    fig.tight_layout()
    plt.show()


def plot_losses(
    history: Mapping[str, Sequence[float]], title: str = "losses", smooth: int = 1
) -> None:
    """Loss curves, optionally smoothed by a moving average of ``smooth`` steps.

    Shown at once and returns nothing, so a cell that ends with it shows the plot and no
    ``<Axes: ...>`` line under it."""
    _, ax = plt.subplots(figsize=(7, 3))
    for name, values in history.items():
        values = np.asarray(values, dtype=float)
        if smooth > 1 and len(values) >= smooth:
            values = np.convolve(values, np.ones(smooth) / smooth, mode="valid")
        ax.plot(values, label=name)
    ax.set_xlabel("step")
    ax.set_title(title)
    ax.legend()
    plt.show()


class Table(str):
    """A results table: prints as aligned text, renders as an HTML table in a notebook
    (and so on the course site and in the slides) and as Markdown where that is asked for."""

    def __new__(cls, header: Sequence[str], body: Sequence[Sequence[str]]) -> Table:
        widths = [max(len(r[i]) for r in [header, *body]) for i in range(len(header))]
        rows = [header, ["-" * w for w in widths], *body]
        text = "\n".join(
            "  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)) for r in rows
        )
        table = super().__new__(cls, text)
        table.header, table.body = list(header), [list(r) for r in body]
        return table

    def _repr_html_(self) -> str:
        def row(cells: Sequence[str], tag: str) -> str:
            return "<tr>" + "".join(f"<{tag}>{html.escape(c)}</{tag}>" for c in cells) + "</tr>"

        rows = "".join(row(r, "td") for r in self.body)
        return f"<table><thead>{row(self.header, 'th')}</thead><tbody>{rows}</tbody></table>"

    def _repr_markdown_(self) -> str:
        lines = [self.header, ["---"] * len(self.header), *self.body]
        return "\n".join("| " + " | ".join(c.replace("|", "\\|") for c in r) + " |" for r in lines)


def results_table(rows: Mapping[str, Mapping[str, object]], columns: Sequence[str]) -> Table:
    """One row per run, one column per metric (floats to 3 decimals): a :class:`Table`, which
    renders as a real table when it is a cell's last expression and as text under ``print``."""

    def cell(value: object) -> str:
        return f"{value:.3f}" if isinstance(value, float) else str(value)

    body = [[name, *(cell(metrics.get(c, "")) for c in columns)] for name, metrics in rows.items()]
    return Table(["run", *columns], body)
