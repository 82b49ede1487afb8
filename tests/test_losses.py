"""GAN, cycle and identity losses: hand-computed values, PyTorch built-ins, the WGAN-GP penalty."""

import math

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_lib.losses import (
    GANLoss,
    cycle_loss,
    gradient_penalty,
    identity_loss,
    l1_loss,
    lsgan_d_loss,
    lsgan_g_loss,
    minimax_d_loss,
    minimax_g_loss,
    non_saturating_g_loss,
)

LN3 = math.log(3)


def test_minimax_d_loss_by_hand():
    # sigmoid(0) = 1/2 and sigmoid(ln 3) = 3/4: -log D(x) = ln 2, ln 4/3; -log(1 - D) likewise
    real = torch.tensor([0.0, LN3])
    fake = torch.tensor([0.0, -LN3])
    expected = (math.log(2) + math.log(4 / 3)) / 2 * 2
    assert minimax_d_loss(real, fake).item() == pytest.approx(expected)


def test_generator_losses_by_hand():
    fake = torch.tensor([0.0, -LN3])  # D(G(z)) = 1/2 and 1/4
    assert minimax_g_loss(fake).item() == pytest.approx((math.log(1 / 2) + math.log(3 / 4)) / 2)
    assert non_saturating_g_loss(fake).item() == pytest.approx(
        -(math.log(1 / 2) + math.log(1 / 4)) / 2
    )


def test_minimax_generator_gradient_saturates_and_non_saturating_does_not():
    logit = torch.tensor([-10.0], requires_grad=True)  # D confidently rejects the fake
    (saturating,) = torch.autograd.grad(minimax_g_loss(logit), logit)
    (strong,) = torch.autograd.grad(non_saturating_g_loss(logit), logit)
    assert abs(saturating.item()) < 1e-4
    assert strong.item() == pytest.approx(-1.0, abs=1e-4)


def test_least_squares_losses_by_hand():
    assert lsgan_d_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])).item() == pytest.approx(
        0.5
    )
    assert lsgan_d_loss(torch.tensor([3.0]), torch.tensor([2.0])).item() == pytest.approx(
        0.5 * (4 + 4)
    )
    assert lsgan_g_loss(torch.tensor([1.0, 3.0])).item() == pytest.approx(2.0)


@pytest.mark.parametrize("target_is_real", [True, False])
def test_gan_loss_matches_torch_builtins_on_a_patch_map(target_is_real):
    prediction = torch.randn(2, 1, 30, 30, generator=torch.Generator().manual_seed(0))
    target = torch.full_like(prediction, 1.0 if target_is_real else 0.0)
    vanilla = GANLoss("vanilla")(prediction, target_is_real)
    lsgan = GANLoss("lsgan")(prediction, target_is_real)
    assert vanilla.item() == pytest.approx(nn.BCEWithLogitsLoss()(prediction, target).item())
    assert lsgan.item() == pytest.approx(nn.MSELoss()(prediction, target).item())
    expected_wgan = -prediction.mean() if target_is_real else prediction.mean()
    assert GANLoss("wgangp")(prediction, target_is_real).item() == pytest.approx(
        expected_wgan.item()
    )


def test_gan_loss_targets_broadcast_to_prediction_shape_and_dtype():
    loss = GANLoss("lsgan", real_label=0.9)
    prediction = torch.zeros(3, 1, 7, 5, dtype=torch.bfloat16)
    target = loss.target_like(prediction, True)
    assert target.shape == prediction.shape and target.dtype == torch.bfloat16
    assert torch.all(target == torch.tensor(0.9, dtype=torch.bfloat16))
    assert torch.all(loss.target_like(prediction, False) == 0)
    # one-sided label smoothing: MSE to 0.9, not to 1
    assert loss(torch.ones(4), True).item() == pytest.approx(0.01, rel=1e-5)


def test_gan_loss_agrees_with_the_lesson_functions():
    real, fake = torch.randn(8), torch.randn(8)
    vanilla, lsgan = GANLoss("vanilla"), GANLoss("lsgan")
    assert (vanilla(real, True) + vanilla(fake, False)).item() == pytest.approx(
        minimax_d_loss(real, fake).item()
    )
    assert vanilla(fake, True).item() == pytest.approx(non_saturating_g_loss(fake).item())
    assert (0.5 * (lsgan(real, True) + lsgan(fake, False))).item() == pytest.approx(
        lsgan_d_loss(real, fake).item()
    )
    assert lsgan(fake, True).item() == pytest.approx(lsgan_g_loss(fake).item())


def test_unknown_gan_mode_raises():
    with pytest.raises(ValueError, match="'hinge'"):
        GANLoss("hinge")


class Linear(nn.Module):
    """D(x) = <w, x>: its gradient is w everywhere, so the penalty is λ(||w|| - c)^2."""

    def __init__(self, weight: torch.Tensor) -> None:
        super().__init__()
        self.weight = nn.Parameter(weight)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return (x * self.weight).flatten(1).sum(1)


def test_gradient_penalty_by_hand():
    critic = Linear(torch.tensor([[2.0, 2.0], [1.0, 0.0]]).view(1, 2, 2))  # ||w|| = 3
    real, fake = torch.randn(4, 2, 2), torch.randn(4, 2, 2)
    assert gradient_penalty(critic, real, fake).item() == pytest.approx(10 * (3 - 1) ** 2)
    assert gradient_penalty(critic, real, fake, weight=1.0, constant=3.0).item() == pytest.approx(
        0.0
    )


def test_gradient_penalty_reaches_critic_parameters():
    critic = Linear(torch.tensor([[2.0, 2.0], [1.0, 0.0]]).view(1, 2, 2))
    gradient_penalty(critic, torch.randn(3, 2, 2), torch.randn(3, 2, 2)).backward()
    # d/dw 10 (||w|| - 1)^2 = 20 (||w|| - 1) w / ||w||
    expected = 20 * (3 - 1) * critic.weight.detach() / 3
    assert torch.allclose(critic.weight.grad, expected)


def test_gradient_penalty_interpolates_with_the_given_generator():
    critic = lambda x: (x**2).flatten(1).sum(1)  # noqa: E731  gradient 2x̂ depends on alpha
    real, fake = torch.ones(5, 3), torch.zeros(5, 3)
    first = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    again = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(1))
    other = gradient_penalty(critic, real, fake, generator=torch.Generator().manual_seed(2))
    assert first.item() == again.item() != other.item()
    alpha = torch.rand(5, 1, generator=torch.Generator().manual_seed(1))
    by_hand = 10 * ((2 * alpha.squeeze(1) * math.sqrt(3) - 1) ** 2).mean()
    assert first.item() == pytest.approx(by_hand.item(), rel=1e-5)


def test_l1_losses_by_hand_and_against_torch():
    original = torch.zeros(1, 1, 1, 2)
    other = torch.tensor([1.0, -3.0]).view(1, 1, 1, 2)
    for loss in (cycle_loss, identity_loss, l1_loss):
        assert loss(original, other).item() == pytest.approx(2.0)
    x, y = torch.randn(2, 3, 4, 4), torch.randn(2, 3, 4, 4)
    assert cycle_loss(x, y).item() == pytest.approx(F.l1_loss(y, x).item())
