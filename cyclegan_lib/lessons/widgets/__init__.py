"""Small ipywidgets helpers shared by the lessons' widgets (ipywidgets 8).

Every widget in the course follows two rules:

* it draws its first state *inside* the cell that creates it, so a notebook run
  top to bottom (nbval, nbconvert) has nothing left to update afterwards;
* each lesson also draws the same picture as a plain matplotlib figure, so a
  static copy of the notebook (GitHub, a PDF) still shows something useful.

On Colab, ipywidgets 8 needs ``google.colab.output.enable_custom_widget_manager()``;
the lessons' Colab setup cell calls it.
"""

from __future__ import annotations

from collections.abc import Callable

import ipywidgets as widgets
import matplotlib.pyplot as plt
from IPython.display import clear_output

SLIDER_LAYOUT = widgets.Layout(width="420px")
SLIDER_STYLE = {"description_width": "150px"}


def redraw(output: widgets.Output, draw: Callable[[], None]) -> None:
    """Clear ``output`` and run ``draw`` inside it; the figures it made are shown there."""
    with output:
        clear_output(wait=True)
        draw()
        plt.show()


def live_figure(draw: Callable[..., object], *controls: widgets.ValueWidget) -> widgets.VBox:
    """``controls`` above an output that shows ``draw(*their values)``, now and on every change.

    The first drawing happens inside the creating cell (the first rule above).
    """
    output = widgets.Output()

    def update(_change=None) -> None:
        redraw(output, lambda: draw(*(control.value for control in controls)))

    for control in controls:
        control.observe(update, names="value")
    update()
    return widgets.VBox([*controls, output])


def styled_slider(kind: type, description: str, value, low, high, step):
    """A slider of ``kind`` in the course's style (updates when released, not while dragging)."""
    return kind(
        value=value,
        min=low,
        max=high,
        step=step,
        description=description,
        continuous_update=False,
        layout=SLIDER_LAYOUT,
        style=SLIDER_STYLE,
    )


def float_slider(description: str, value: float, low: float, high: float, step: float):
    """A float slider in the course's style."""
    return styled_slider(widgets.FloatSlider, description, value, low, high, step)


def int_slider(description: str, value: int, low: int, high: int, step: int = 1):
    """An integer slider in the course's style."""
    return styled_slider(widgets.IntSlider, description, value, low, high, step)


def log_slider(description: str, value: float, low_exp: float, high_exp: float):
    """A slider over powers of ten, for learning rates (10**low_exp .. 10**high_exp)."""
    return widgets.FloatLogSlider(
        value=value,
        base=10,
        min=low_exp,
        max=high_exp,
        step=0.25,
        description=description,
        continuous_update=False,
        layout=SLIDER_LAYOUT,
        style=SLIDER_STYLE,
        readout_format=".1e",
    )


def dropdown(description: str, options: tuple[str, ...] | list[str], value: str):
    """A dropdown in the course's style."""
    return widgets.Dropdown(
        options=list(options),
        value=value,
        description=description,
        layout=SLIDER_LAYOUT,
        style=SLIDER_STYLE,
    )
