"""The lessons' figures build, and their text names what the code names."""

from __future__ import annotations

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402
from torch import nn  # noqa: E402

from cyclegan_lib import networks  # noqa: E402
from cyclegan_lib.course import figures  # noqa: E402


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize(
    "draw, names",
    [
        (figures.gan_game, ["G", "D", "G(z)", "x ~ p_data", "z ~ p_z"]),
        (lambda: figures.label_conditioning(64, 10), ["z (64)", "one-hot y (10)", "input 64 + 10"]),
        (figures.cyclegan_cycles, ["G: X -> Y", "F: Y -> X", "D_X", "D_Y", "lambda_cycle", "(1)", "(2)"]),
    ],
)  # fmt: skip
def test_diagrams_name_the_players(draw, names):
    text = figures.texts(draw())
    for name in names:
        assert name in text


@pytest.mark.parametrize("ngf, num_downs", [(8, 5), (32, 5), (64, 8)])
def test_unet_figure_lists_every_convolution_of_the_module(ngf, num_downs):
    net = networks.UnetGenerator(3, 1, num_downs=num_downs, ngf=ngf)
    text = figures.texts(figures.unet(net))
    convs = [m for m in net.modules() if isinstance(m, nn.Conv2d | nn.ConvTranspose2d)]
    assert len(figures.unet_levels(net)) == num_downs
    for conv in convs:
        assert f"{type(conv).__name__} {conv.in_channels}->{conv.out_channels}" in text
    assert text.count("skip: concatenate") == num_downs - 1  # the outermost level has none


@pytest.mark.parametrize("n_layers, field", [(1, 16), (2, 34), (3, 70)])
def test_patchgan_figure_states_the_module_geometry(n_layers, field):
    image = torch.zeros(3, 64, 64)
    fig = figures.patchgan_field(image, n_layers=n_layers)
    text = figures.texts(fig)
    grid = networks.NLayerDiscriminator(3, ndf=4, n_layers=n_layers)(image[None]).shape[-1]
    assert f"each sees {field}x{field} px" in text and f"{grid}x{grid} decisions" in text
    assert field == networks.receptive_field(n_layers)


@pytest.mark.parametrize("n_blocks, ngf", [(9, 64), (6, 32), (1, 4)])
def test_resnet_figure_follows_the_paper_notation_of_the_module(n_blocks, ngf):
    net = networks.ResnetGenerator(3, 3, ngf=ngf, n_blocks=n_blocks)
    blocks = f"R{4 * ngf} x{n_blocks}" if n_blocks > 1 else f"R{4 * ngf}"
    expected = [
        f"c7s1-{ngf}",
        f"d{2 * ngf}",
        f"d{4 * ngf}",
        blocks,
        f"u{2 * ngf}",
        f"u{ngf}",
        "c7s1-3",
    ]
    assert figures.resnet_stages(net) == expected
    text = figures.texts(figures.resnet_generator(net))
    assert all(stage in text for stage in expected)


def test_lr_schedule_is_the_scheduler_own_curve():
    fig = figures.lr_schedule(n_epochs=10, n_epochs_decay=5, lr=1.0)
    rates = fig.axes[0].lines[0].get_ydata()
    assert list(rates[:10]) == [1.0] * 10
    assert rates[10:] == pytest.approx([5 / 6, 4 / 6, 3 / 6, 2 / 6, 1 / 6])
    assert "10 epochs at 1, 5 decaying to 0" in figures.texts(fig)
