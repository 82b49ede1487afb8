"""Widget 2 of lesson 01: train the 2-D toy GAN live and watch for mode collapse.

Pick the loss, both learning rates, and how many D and G updates make one
iteration; press *train* and the samples are redrawn every few hundred
iterations next to the eight (or nine) modes they should cover.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable

import ipywidgets as widgets
import matplotlib.pyplot as plt

from cyclegan_lib.lessons.toy_gan import TOY_DATASETS, TOY_LOSSES, ToyGAN
from cyclegan_lib.lessons.widgets import dropdown, int_slider, log_slider, redraw


def draw_toy(gan: ToyGAN, ax=None, title: str | None = None):
    """Scatter G's samples (blue) over the modes (red crosses); the title counts covered modes."""
    if ax is None:
        _, ax = plt.subplots(figsize=(3.2, 3.2))
    points = gan.samples()
    found = gan.coverage()
    ax.scatter(points[:, 0], points[:, 1], s=3, alpha=0.4, color="tab:blue")
    ax.scatter(gan.centers[:, 0], gan.centers[:, 1], marker="x", s=60, color="tab:red")
    label = title or f"iteration {gan.iterations}"
    ax.set_title(f"{label}\n{found.modes_covered}/{found.modes_total} modes, "
                 f"{found.high_quality:.0%} near a mode", fontsize=9)  # fmt: skip
    ax.set(xlim=(-3, 3), ylim=(-3, 3), aspect="equal", xticks=[], yticks=[])
    return ax


def train_and_draw(
    gan: ToyGAN,
    checkpoints: list[int],
    label: str = "",
    progress: Callable[[range], Iterable[int]] | None = None,
):
    """Train ``gan`` up to each checkpoint iteration and draw one panel per checkpoint;
    ``progress`` (a tqdm bar, say) wraps the iterations up to each checkpoint."""
    fig, axes = plt.subplots(1, len(checkpoints), figsize=(3 * len(checkpoints), 3.3))
    for ax, target in zip(axes, checkpoints, strict=True):
        gan.train(target - gan.iterations, progress)
        draw_toy(gan, ax)
    if label:
        fig.suptitle(label, fontsize=10)
    fig.tight_layout()
    return fig


def toy_gan_widget(iterations: int = 2000, panels: int = 4, dataset: str = "ring") -> widgets.VBox:
    """Controls for :class:`cyclegan_lib.lessons.toy_gan.ToyGAN` and a *train* button.

    The default settings train once inside the creating cell, so the widget shows
    a finished run even when the notebook is executed non-interactively.
    """
    controls = {
        "dataset": dropdown("data", TOY_DATASETS, dataset),
        "loss": dropdown("generator loss", TOY_LOSSES, "non-saturating"),
        "lr_d": log_slider("D learning rate", 1e-3, -5, -1),
        "lr_g": log_slider("G learning rate", 1e-3, -5, -1),
        "d_steps": int_slider("D steps / iteration", 1, 1, 5),
        "g_steps": int_slider("G steps / iteration", 1, 1, 5),
        "seed": int_slider("seed", 0, 0, 9),
    }
    length = int_slider("iterations", iterations, 10, 5000, 10)
    button = widgets.Button(description="train", button_style="primary")
    output = widgets.Output()

    def run(_button=None) -> None:
        gan = ToyGAN(**{name: control.value for name, control in controls.items()})
        checkpoints = [round(length.value * (i + 1) / panels) for i in range(panels)]
        redraw(output, lambda: train_and_draw(gan, checkpoints))

    button.on_click(run)
    run()
    return widgets.VBox([*controls.values(), length, button, output])
