"""A long training cell's live view: a small sample grid and the loss curves, redrawn in place.

The progress bar (:func:`~cyclegan_lib.course.plotting.progress`) says how far a run is and
how long it has left; this figure shows *what* it is learning. Every ``every`` steps it is
drawn again into the same output of the cell (an IPython display handle), so a cell holds
one figure however long it trains.

It is drawn only where someone can see it: in a notebook kernel (JupyterLab, classic
Notebook, Colab, nbconvert runs, which keep the last drawing), never in a terminal, and
never in the ``smoke`` profile, where nbval would wait on every late output.
"""

from __future__ import annotations

import io
from collections.abc import Callable, Mapping

import numpy as np
import torch
from matplotlib.figure import Figure

from cyclegan_lib.course.env import get_profile
from cyclegan_lib.course.plotting import image_grid
from cyclegan_lib.pipeline.display import in_notebook

Rows = Mapping[str, "torch.Tensor | np.ndarray"]
"""Labelled rows of samples: images in [-1, 1] (N, C, H, W), or a uint8 RGB picture (H, W, 3)."""


def live_view_wanted() -> bool:
    """Whether a live figure would be seen: in a notebook kernel and not in ``smoke``."""
    return in_notebook() and get_profile() != "smoke"


class LiveTraining:
    """Loss curves and sample rows of a run, redrawn every ``every`` steps in the notebook.

    Feed it the losses of each step (:meth:`add_losses`) and, when :meth:`due`, samples to
    show (:meth:`show`); :meth:`update` does both. ``enabled=None`` decides with
    :func:`live_view_wanted`; a disabled view records and draws nothing. A view that is only
    told when to draw (:class:`LiveTrainingSink`) keeps ``every=1``.
    """

    def __init__(self, every: int = 1, title: str = "", enabled: bool | None = None) -> None:
        if every < 1:
            raise ValueError(f"every must be >= 1 step, got {every}")
        self.every = every
        self.title = title
        self.enabled = live_view_wanted() if enabled is None else enabled
        self.curves: dict[str, tuple[list[int], list[float]]] = {}
        self.handle = None
        self.draws = 0

    def due(self, step: int, last: bool = False) -> bool:
        """Whether ``step`` is one to draw at: the first (the figure appears at once, with the
        untrained samples to compare with), every ``every`` steps, and the ``last`` one."""
        return self.enabled and (last or step == 1 or step % self.every == 0)

    def add_losses(self, step: int, losses: Mapping[str, float]) -> None:
        """Append one value per loss name at ``step``."""
        if not self.enabled:
            return
        for name, value in losses.items():
            steps, values = self.curves.setdefault(name, ([], []))
            steps.append(step)
            values.append(float(value))

    def update(
        self,
        step: int,
        losses: Mapping[str, float],
        samples: Callable[[], Rows] | None = None,
        last: bool = False,
    ) -> None:
        """Record ``losses``; when :meth:`due`, draw with the rows ``samples()`` returns
        (called only then, as making samples costs a forward pass)."""
        self.add_losses(step, losses)
        if self.due(step, last):
            self.show(step, samples() if samples is not None else {})

    def show(self, step: int, rows: Rows) -> None:
        """Draw the curves and ``rows`` now, in place of the previous drawing."""
        if not self.enabled:
            return
        from IPython.display import Image, display

        picture = Image(data=self.render(step, rows))
        if self.handle is None:
            self.handle = display(picture, display_id=True)
        else:
            self.handle.update(picture)
        self.draws += 1

    def render(self, step: int, rows: Rows) -> bytes:
        """The figure as PNG bytes: sample rows on the left, loss curves on the right."""
        n_rows = max(len(rows), 1)
        figure = Figure(figsize=(11, max(2.6, 0.9 * n_rows + 0.8)), dpi=72)
        grid = figure.add_gridspec(n_rows, 2, width_ratios=[1.5, 1])
        for index, (label, images) in enumerate(rows.items()):
            ax = figure.add_subplot(grid[index, 0])
            ax.imshow(as_picture(images))
            ax.set_title(label, loc="left", fontsize=9)
            ax.axis("off")
        self.plot_curves(figure.add_subplot(grid[:, 1]))
        figure.suptitle(f"{self.title}: step {step}" if self.title else f"step {step}", fontsize=10)
        figure.tight_layout()
        buffer = io.BytesIO()
        figure.savefig(buffer, format="png")
        return buffer.getvalue()

    def plot_curves(self, ax) -> None:
        """Each loss against its steps, averaged over windows so 10,000 steps stay readable."""
        for name, (steps, values) in self.curves.items():
            window = max(1, len(values) // 100)
            kept = len(values) // window * window
            if kept:
                x = np.asarray(steps[:kept]).reshape(-1, window)[:, -1]
                y = np.asarray(values[:kept]).reshape(-1, window).mean(1)
                ax.plot(x, y, label=name)
        ax.set_xlabel("step")
        ax.set_title("losses", fontsize=9)
        if self.curves:
            ax.legend(fontsize=7)


def as_picture(images: torch.Tensor | np.ndarray) -> np.ndarray:
    """A uint8 RGB picture: a picture stays as it is, images in [-1, 1] become one row."""
    if isinstance(images, np.ndarray):
        return images
    return image_grid(images, nrow=len(images))


class LiveTrainingSink:
    """:class:`LiveTraining` as one of the trainer's live views (``pipeline.display.Sink``):
    its visuals side by side in one row, its printed losses as curves."""

    def __init__(self, view: LiveTraining) -> None:
        self.view = view

    def images(self, epoch: int, step: int, visuals: Mapping[str, np.ndarray]) -> None:
        row = np.concatenate([picture for picture in visuals.values()], axis=1)
        self.view.show(step, {f"epoch {epoch}: " + " | ".join(visuals): row})

    def losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None:
        self.view.add_losses(step, losses)

    def close(self) -> None:
        """Nothing to close: the last drawing stays in the notebook."""
