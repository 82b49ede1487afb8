"""Lesson 04's results explorer: one test digit, its translation, its reconstruction, the errors.

Everything is computed once on the whole test set (a :class:`CycleResults`
per direction, e.g. x -> G(x) -> F(G(x))); the widget only picks which digit
to draw, so it responds instantly.
"""

from __future__ import annotations

from dataclasses import dataclass

import ipywidgets as widgets
import matplotlib.pyplot as plt
import torch

from cyclegan_lib.course.metrics import classify
from cyclegan_lib.lessons.widgets import dropdown, int_slider, redraw
from cyclegan_lib.pipeline.pages import to_uint8


@dataclass(frozen=True)
class CycleResults:
    """One direction on the test set: source -> translated -> reconstructed, with readings.

    ``names`` label the three images, e.g. ("x", "G(x)", "F(G(x))");
    ``read_as`` is the digit the translated domain's classifier reads in each translation.
    """

    names: tuple[str, str, str]
    source: torch.Tensor
    translated: torch.Tensor
    reconstructed: torch.Tensor
    labels: torch.Tensor
    read_as: torch.Tensor

    @classmethod
    def measure(
        cls,
        names: tuple[str, str, str],
        source: torch.Tensor,
        translated: torch.Tensor,
        reconstructed: torch.Tensor,
        labels: torch.Tensor,
        translated_domain: str,
    ) -> CycleResults:
        """Build the results, reading every translation with ``translated_domain``'s classifier."""
        probs, _ = classify(translated, translated_domain)
        return cls(names, source, translated, reconstructed, labels, probs.argmax(1))

    def pixel_errors(self, index: int) -> torch.Tensor:
        """|reconstructed - source| of one digit, averaged over channels, on the [-1, 1] scale."""
        return (self.reconstructed[index] - self.source[index]).abs().mean(0)

    def indices_of(self, digit: int) -> torch.Tensor:
        """Test-set positions of one class, in order."""
        return torch.nonzero(self.labels == digit).flatten()


def _show(ax, image: torch.Tensor, title: str) -> None:
    tile = to_uint8(image[None])[0]
    ax.imshow(tile[..., 0] if tile.shape[-1] == 1 else tile, cmap="gray", vmin=0, vmax=255)
    ax.set_title(title, fontsize=10)
    ax.axis("off")


def draw_cycle(results: CycleResults, index: int):
    """Source, translation (with the classifier's reading), reconstruction and its error map."""
    source, translated, rec = results.names
    label, read = int(results.labels[index]), int(results.read_as[index])
    verdict = "✓" if label == read else "✗"
    fig, axes = plt.subplots(1, 4, figsize=(10, 2.9))
    _show(axes[0], results.source[index], f"{source}: a {label}")
    _show(axes[1], results.translated[index], f"{translated}: read as {read} {verdict}")
    _show(axes[2], results.reconstructed[index], rec)
    errors = results.pixel_errors(index)
    shown = axes[3].imshow(errors.numpy(), cmap="magma", vmin=0, vmax=2)
    axes[3].set_title(f"|{rec} - {source}|, mean {errors.mean():.3f}", fontsize=10)
    axes[3].axis("off")
    fig.colorbar(shown, ax=axes[3], fraction=0.046)
    fig.tight_layout()
    return fig


def translation_explorer(directions: dict[str, CycleResults], digit: int = 3) -> widgets.VBox:
    """Pick a direction, a digit class and an example of it; see :func:`draw_cycle`."""
    direction = dropdown("direction", list(directions), next(iter(directions)))
    digit_choice = dropdown("digit", [str(d) for d in range(10)], str(digit))
    example = int_slider("example of that digit", 0, 0, 99)
    output = widgets.Output()

    def update(_change=None) -> None:
        results = directions[direction.value]
        members = results.indices_of(int(digit_choice.value))
        example.max = max(len(members) - 1, 0)
        index = int(members[min(example.value, example.max)])
        redraw(output, lambda: draw_cycle(results, index))

    for control in (direction, digit_choice, example):
        control.observe(update, names="value")
    update()
    return widgets.VBox([direction, digit_choice, example, output])
