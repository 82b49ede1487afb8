"""Lesson 01-02 widgets: the numbers they show, and that they draw inside the creating call."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np
import pytest
import torch

from cyclegan_lib.lessons.mnist_gans import conditional_dcgan
from cyclegan_lib.lessons.toy_gan import ToyGAN
from cyclegan_lib.lessons.widgets import cgan_explorer as cgan_module
from cyclegan_lib.lessons.widgets import loss_explorer as loss_explorer_module
from cyclegan_lib.lessons.widgets import toy_gan_explorer as toy2d_widget_module
from cyclegan_lib.lessons.widgets.cgan_explorer import (
    digit_noise_widget,
    draw_digit_and_noise,
    slerp,
)
from cyclegan_lib.lessons.widgets.loss_explorer import (
    discriminator_losses,
    draw_loss_explorer,
    generator_loss_and_grad,
    loss_explorer,
)
from cyclegan_lib.lessons.widgets.toy_gan_explorer import toy_gan_widget, train_and_draw


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


def test_generator_gradients_match_the_calculus():
    p = np.array([0.01, 0.3, 0.9])
    _, minimax = generator_loss_and_grad(p, "minimax")
    _, non_saturating = generator_loss_and_grad(p, "non-saturating")
    _, least_squares = generator_loss_and_grad(p, "least-squares")
    assert np.allclose(
        minimax, -p
    )  # d/ds log(1 - sigmoid(s)) = -sigmoid(s): vanishes as D(G(z)) -> 0
    assert np.allclose(non_saturating, -(1 - p))  # d/ds -log sigmoid(s) = -(1 - sigmoid(s))
    assert np.allclose(least_squares, 2 * (p - 1))
    values, _ = generator_loss_and_grad(0.5, "non-saturating")
    assert values[0] == pytest.approx(np.log(2))


def test_discriminator_losses_at_known_points():
    numbers = discriminator_losses(0.5, 0.5)
    assert numbers["log-likelihood"] == pytest.approx(2 * np.log(2))
    assert numbers["least-squares"] == pytest.approx(0.25 + 0.25)  # eq. (4), not halved


def test_loss_explorer_draws_at_once_and_on_every_change(record_draws):
    assert len(draw_loss_explorer(0.8, 0.2).axes) == 3
    calls = record_draws(loss_explorer_module, "draw_loss_explorer")
    real_slider, fake_slider, _output = loss_explorer(d_real=0.7, d_fake=0.2).children
    assert calls == [(0.7, 0.2)]  # drawn inside the creating call
    fake_slider.value = 0.6
    real_slider.value = 0.3
    assert calls[1:] == [(0.7, 0.6), (0.3, 0.6)]


def test_toy_gan_widget_trains_the_chosen_settings(record_draws):
    calls = record_draws(toy2d_widget_module, "train_and_draw")
    box = toy_gan_widget(iterations=200, panels=2)
    (gan, checkpoints), *_ = calls
    assert checkpoints == [100, 200] and gan.d_steps == 1
    box.children[4].value = 3  # D steps per iteration
    box.children[-2].click()
    assert len(calls) == 2 and calls[1][0].d_steps == 3


def test_train_and_draw_reaches_each_checkpoint():
    gan = ToyGAN(batch_size=16, hidden=8)
    wrapped = []

    def progress(rounds):
        wrapped.append(len(rounds))
        return rounds

    figure = train_and_draw(gan, [3, 5], "label", progress=progress)
    assert gan.iterations == 5 and len(figure.axes) == 2
    assert wrapped == [3, 2], "the bar wraps the iterations up to each checkpoint"
    assert "/8 modes" in figure.axes[1].get_title()


def test_slerp_keeps_the_ends_and_the_norm():
    z_a, z_b = torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])
    path = slerp(z_a, z_b, 5)
    assert path.shape == (5, 2)
    assert torch.allclose(path[0], z_a, atol=1e-6) and torch.allclose(path[-1], z_b, atol=1e-6)
    assert torch.allclose(path.norm(dim=1), torch.ones(5), atol=1e-6)


def test_digit_noise_widget_draws_both_rows():
    torch.manual_seed(0)
    G, _ = conditional_dcgan(z_dim=8, ngf=4, ndf=4)
    figure = draw_digit_and_noise(G, digit=3, seed_a=0, seed_b=1, steps=4)
    assert len(figure.axes) == 2 and "y = 3" in figure.axes[1].get_title()


def test_digit_noise_widget_redraws_on_change(record_draws):
    calls = record_draws(cgan_module, "draw_digit_and_noise")
    box = digit_noise_widget("G", digit=7, seed_a=0, seed_b=1)
    box.children[0].value = 5
    box.children[2].value = 9
    assert calls == [("G", 7, 0, 1), ("G", 5, 0, 1), ("G", 5, 0, 9)]
