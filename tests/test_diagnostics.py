"""The debugging measures of lesson 06 on inputs whose answer is known."""

import numpy as np
import pytest
import torch
from torch import nn

from cyclegan_lib.course import diagnostics, digits


def checkerboard(n: int = 4, size: int = 16) -> torch.Tensor:
    rows, cols = torch.meshgrid(torch.arange(size), torch.arange(size), indexing="ij")
    return ((rows + cols) % 2 * 2 - 1).float().expand(n, 1, size, size)


def test_a_checkerboard_puts_all_its_power_at_the_checkerboard_frequency():
    assert diagnostics.checkerboard_energy(checkerboard()) == pytest.approx(1.0)


def test_smooth_images_put_almost_none_there_and_noise_its_share():
    x = torch.linspace(-2, 2, 16)
    blob = torch.exp(-(x[:, None] ** 2 + x[None, :] ** 2)).expand(2, 3, 16, 16)
    assert diagnostics.checkerboard_energy(blob) < 1e-3
    noise = torch.randn(200, 1, 16, 16, generator=torch.Generator().manual_seed(0))
    share = diagnostics.checkerboard_mask(16, 16).sum() / (16 * 16 - 1)
    assert diagnostics.checkerboard_energy(noise) == pytest.approx(share, rel=0.15)


def test_period_four_includes_period_two():
    mask2, mask4 = (diagnostics.checkerboard_mask(32, 32, p) for p in (2, 4))
    assert mask2.sum() == 3 and mask4.sum() == 15 and (mask4 | mask2).sum() == 15


def test_checkerboard_mask_rejects_a_period_that_does_not_divide_the_image():
    with pytest.raises(ValueError, match="period must be >= 2 and divide 30x30, got 4"):
        diagnostics.checkerboard_mask(30, 30, 4)


def test_real_digits_have_less_checkerboard_energy_than_noise():
    color, _ = digits.load_domain("color", "test")
    noise = torch.rand(200, 3, 32, 32, generator=torch.Generator().manual_seed(1))
    assert diagnostics.checkerboard_energy(color[:200]) < diagnostics.checkerboard_energy(noise) / 3


class Hider(nn.Module):
    """Writes y's mean into a faint offset of F(y), and G reads it back amplified."""

    def __init__(self, gain: float) -> None:
        super().__init__()
        self.gain = gain

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.gain


def test_perturbation_test_measures_the_gain_of_g():
    y = torch.rand(8, 1, 8, 8, generator=torch.Generator().manual_seed(2)) * 2 - 1
    quiet = diagnostics.perturbation_test(Hider(1.0), Hider(1.0), y, epsilon=0.01)
    loud = diagnostics.perturbation_test(Hider(50.0), Hider(1 / 50), y, epsilon=0.01)
    assert quiet["clean"] == pytest.approx(0, abs=1e-6)
    assert loud["clean"] == pytest.approx(0, abs=1e-5)
    assert quiet["gain"] == pytest.approx(1.0, rel=1e-5)
    assert loud["gain"] == pytest.approx(50.0, rel=1e-4)
    assert loud["perturbed"] > 20 * quiet["perturbed"]


def test_perturbation_test_restores_training_mode():
    G, F = nn.Identity(), nn.Identity()
    G.train(), F.eval()
    diagnostics.perturbation_test(G, F, torch.zeros(2, 1, 4, 4))
    assert G.training and not F.training


def test_duplicates_are_found_and_distinct_digits_are_not():
    x, _ = digits.load_domain("clean", "test")
    assert diagnostics.duplicate_fraction(x[:200]) == 0
    repeated = torch.cat([x[:50], x[:50] + 0.005])
    assert diagnostics.duplicate_fraction(repeated) == 1


def test_collapse_report_separates_all_digits_from_ones():
    x, y = digits.load_domain("clean", "test")
    healthy = diagnostics.collapse_report(x[:500], "clean")
    collapsed = diagnostics.collapse_report(x[y == 1][:100], "clean")
    assert healthy["classes_present"] == 10 and collapsed["classes_present"] == 1
    assert collapsed["min_class_fraction"] == 0 and np.isfinite(healthy["duplicate_fraction"])
