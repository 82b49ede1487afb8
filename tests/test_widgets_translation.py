"""Lesson 03/04 widgets: receptive fields against autograd, LSGAN pushes, pool ages, explorer."""

import matplotlib

matplotlib.use("Agg")

import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
import pytest  # noqa: E402
import torch  # noqa: E402

from cyclegan_lib import losses  # noqa: E402
from cyclegan_lib.course.digits import paired_digits  # noqa: E402
from cyclegan_lib.lessons.widgets import lsgan_explorer as lsgan  # noqa: E402
from cyclegan_lib.lessons.widgets import patchgan_explorer as patchgan
from cyclegan_lib.lessons.widgets import pool_explorer as pool
from cyclegan_lib.lessons.widgets import translation_explorer as translation
from cyclegan_lib.networks import patch_geometry


@pytest.fixture(autouse=True)
def close_figures():
    yield
    plt.close("all")


@pytest.mark.parametrize("n_layers, side", [(1, 64), (2, 64), (3, 128)])
def test_geometry_matches_autograd_and_a_forward_pass(n_layers, side):
    net = patchgan.patchgan(n_layers, input_nc=1).eval()
    for layer in net.modules():  # positive weights: no gradient cancels inside the field
        if isinstance(layer, torch.nn.Conv2d):
            torch.nn.init.constant_(layer.weight, 0.01)
    image = torch.zeros(1, 1, side, side, requires_grad=True)
    decisions = net(image)
    cells = patchgan.output_side(net, side)
    assert decisions.shape[-2:] == (cells, cells)
    row = col = cells // 2
    decisions[0, 0, row, col].backward()
    seen = torch.nonzero(image.grad[0, 0].abs() > 0)
    geometry = patch_geometry(net)
    start, end = geometry.window(row)
    assert seen[:, 0].min().item() == max(int(start), 0)
    assert seen[:, 0].max().item() + 1 == min(int(end), side)
    assert geometry.receptive_field == end - start


@pytest.mark.parametrize("n_layers, image", [(3, patchgan.IMAGES[0]), (2, patchgan.IMAGES[1]), (5, patchgan.IMAGES[1])])  # fmt: skip
def test_receptive_field_figure(n_layers, image):
    fig = patchgan.draw_receptive_field(n_layers, image)
    assert "layers" in fig.axes[0].get_title()


def test_receptive_field_widget_draws_at_once_and_on_change(record_draws):
    calls = record_draws(patchgan, "draw_receptive_field")
    box = patchgan.receptive_field_widget()
    assert calls == [(3, patchgan.IMAGES[0])]  # drawn inside the creating cell
    box.children[0].value = 2
    box.children[1].value = patchgan.IMAGES[1]
    assert calls[-1] == (2, patchgan.IMAGES[1])


def test_least_squares_line_is_the_closed_form_solution():
    w, b = lsgan.fit_discriminator(-1.0, "ls")
    real, fake = lsgan.samples(lsgan.REAL_MEAN), lsgan.samples(-1.0)
    # normal equations of mean (w r + b - 1)^2 + mean (w f + b)^2 + ridge w^2 (eq. 4 + ridge)
    x2 = (real**2).mean() + (fake**2).mean() + lsgan.RIDGE
    x1 = real.mean() + fake.mean()
    a = torch.tensor([[x2, x1], [x1, 2.0]], dtype=torch.float64)
    rhs = torch.tensor([real.mean(), 1.0], dtype=torch.float64)
    expected = torch.linalg.solve(a, rhs)
    assert (w, b) == pytest.approx(expected.tolist(), abs=1e-5)


def test_log_losses_saturate_where_least_squares_still_pushes():
    fake_mean = -1.0
    grads = lsgan.generator_gradients(np.array([fake_mean, 6.0]), fake_mean)
    minimax = grads["minimax log(1 - D)"]
    non_saturating = grads["non-saturating -log D"]
    least_squares = grads["least squares (D - 1)²"]
    # at the fakes, D rejects them: the minimax push is weaker than the non-saturating one
    assert abs(minimax[0]) < 0.1 * abs(non_saturating[0])
    # far beyond the real data, D calls it real: -log D is flat, least squares pulls back
    assert abs(non_saturating[1]) < 1e-3
    assert least_squares[1] > 0.1  # positive slope: descending moves the sample left, to the data


def test_generator_gradients_use_the_library_losses():
    w, b = lsgan.fit_discriminator(0.0, "ls")
    x = torch.tensor([1.5], dtype=torch.float64, requires_grad=True)
    losses.lsgan_g_loss(w * x + b).backward()
    got = lsgan.generator_gradients(np.array([1.5]), 0.0)["least squares (D - 1)²"]
    assert got[0] == pytest.approx(x.grad.item())


def test_lsgan_widget_draws_at_once_and_on_change(record_draws):
    calls = record_draws(lsgan, "draw_lsgan")
    box = lsgan.lsgan_widget()
    box.children[0].value = 3.0
    assert calls == [(-1.0,), (3.0,)]


def test_pool_ages():
    assert not pool.ages_seen_by_d(0, batch_size=4, steps=50).any()
    ages = pool.ages_seen_by_d(50, batch_size=1, steps=400, seed=1)
    assert not ages[:50].any()  # the pool fills first, returning the newest images
    later = pool.summarize_ages(ages[50:])
    assert 0.4 < later["newest fraction"] < 0.6  # a coin flip per image once full
    assert later["mean age"] > 10
    assert np.array_equal(ages, pool.ages_seen_by_d(50, batch_size=1, steps=400, seed=1))
    # bigger batches flush a fixed-size pool faster: younger fakes
    assert pool.summarize_ages(pool.ages_seen_by_d(50, 16, 400))["mean age"] < later["mean age"]


def test_pool_figure_and_widget():
    fig = pool.draw_pool(20, 2, steps=60)
    assert "mean age" in fig.axes[1].get_title()


def test_pool_widget_draws_at_once_and_on_change(record_draws):
    calls = record_draws(pool, "draw_pool")
    box = pool.pool_widget()
    box.children[0].value = 0
    box.children[1].value = 4
    assert calls == [(50, 1), (0, 1), (0, 4)]


@pytest.fixture(scope="module")
def cycle_results():
    test = paired_digits("test")
    # a perfect "translator": the paired colour digit, reconstructed exactly
    return translation.CycleResults.measure(
        ("x", "G(x)", "F(G(x))"), test.clean, test.color, test.clean, test.labels, "color"
    )


def test_cycle_results(cycle_results):
    assert (cycle_results.read_as == cycle_results.labels).float().mean() > 0.9
    assert cycle_results.pixel_errors(0).abs().max() == 0
    sevens = cycle_results.indices_of(7)
    assert len(sevens) == 100 and (cycle_results.labels[sevens] == 7).all()


def test_explorer_draws_and_switches(cycle_results, monkeypatch, record_draws):
    fig = translation.draw_cycle(cycle_results, 0)
    assert "read as" in fig.axes[1].get_title()
    calls = record_draws(translation, "draw_cycle")
    box = translation.translation_explorer({"x -> G(x) -> F(G(x))": cycle_results}, digit=3)
    box.children[1].value = "8"
    box.children[2].value = 5
    shown = [int(cycle_results.labels[index]) for _, index in calls]
    assert shown == [3, 8, 8]
    assert calls[-1][1] == int(cycle_results.indices_of(8)[5])
