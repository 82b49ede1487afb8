"""Lesson 04's image-pool widget: how old are the fakes the discriminator is shown?

CycleGAN updates D on a mix of the newest fakes and fakes drawn from a history
of the last ``pool_size`` generated images (Zhu et al. 2017, Sec. 4, after
Shrivastava et al. 2017). To see what that does we tag every "image" with the
training step that produced it, push the tags through the library's
:class:`~cyclegan_lib.pool.ImagePool`, and look at the ages D receives.
"""

from __future__ import annotations

import ipywidgets as widgets
import matplotlib.pyplot as plt
import numpy as np
import torch

from cyclegan_lib.lessons.widgets import int_slider, live_figure
from cyclegan_lib.pool import ImagePool


def ages_seen_by_d(
    pool_size: int, batch_size: int = 1, steps: int = 300, seed: int = 0
) -> np.ndarray:
    """(steps, batch_size) ages, in steps, of the fakes D is trained on at every step.

    At step t the generator makes ``batch_size`` images tagged t; the pool
    returns a batch of tags; the age of a returned image is t minus its tag.
    """
    pool = ImagePool(pool_size, torch.Generator().manual_seed(seed))
    ages = np.empty((steps, batch_size), dtype=np.int64)
    for step in range(steps):
        tags = torch.full((batch_size, 1), float(step))
        ages[step] = step - pool.query(tags).flatten().long().numpy()
    return ages


def summarize_ages(ages: np.ndarray) -> dict[str, float]:
    """Mean and maximum age, and the fraction of D's fakes made at the current step."""
    return {
        "mean age": float(ages.mean()),
        "max age": int(ages.max()),
        "newest fraction": float((ages == 0).mean()),
    }


def draw_pool(pool_size: int = 50, batch_size: int = 1, steps: int = 300):
    """Left: when each fake D sees was made; right: the histogram of their ages."""
    ages = ages_seen_by_d(pool_size, batch_size, steps)
    step = np.repeat(np.arange(steps), batch_size)
    made = step - ages.flatten()
    fig, (ax_time, ax_hist) = plt.subplots(1, 2, figsize=(12, 3.6))
    ax_time.plot([0, steps], [0, steps], color="grey", lw=0.8, label="without a pool")
    ax_time.scatter(step, made, s=4, color="tab:purple", label=f"pool of {pool_size}")
    ax_time.set(xlabel="training step", ylabel="step that made the fake", title="what D is shown")
    ax_time.legend(fontsize=8)
    bins = np.linspace(0, ages.max() + 1, 41)
    ax_hist.hist(ages.flatten(), bins=bins, color="tab:purple", log=True)
    stats = summarize_ages(ages)
    ax_hist.set(
        xlabel="age of the fake (steps)",
        ylabel="count (log scale)",
        title=f"mean age {stats['mean age']:.1f}, newest {stats['newest fraction']:.0%}",
    )
    fig.tight_layout()
    return fig


def pool_widget(pool_size: int = 50, batch_size: int = 1) -> widgets.VBox:
    """Sliders for the pool size and the batch size above :func:`draw_pool`."""
    size = int_slider("pool size", pool_size, 0, 200, 10)
    batch = int_slider("batch size", batch_size, 1, 16)
    return live_figure(draw_pool, size, batch)
