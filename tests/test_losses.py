"""GAN, cycle and identity losses: hand-computed values, PyTorch built-ins, the WGAN-GP penalty."""

import math
import re
from pathlib import Path

import pytest
import torch
import torch.nn.functional as F
from torch import nn

from cyclegan_lib import losses
from cyclegan_lib.losses import (
    GANLoss,
    bce_term,
    cycle_loss,
    gradient_penalty,
    identity_loss,
    l1_loss,
    ls_term,
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


def test_minimax_d_loss_with_one_sided_label_smoothing():
    real, fake = torch.tensor([1.0, -2.0]), torch.tensor([0.5, 3.0])
    expected = (
        -(0.9 * F.logsigmoid(real) + 0.1 * F.logsigmoid(-real)).mean() - F.logsigmoid(-fake).mean()
    )
    assert minimax_d_loss(real, fake, real_target=0.9).item() == pytest.approx(expected.item())
    assert non_saturating_g_loss(fake).item() == pytest.approx(-F.logsigmoid(fake).mean().item())


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
    # eq. (4) as Zhu 2017 writes it: not halved (the training step halves D's loss)
    assert lsgan_d_loss(torch.tensor([1.0, 0.0]), torch.tensor([0.0, 1.0])).item() == pytest.approx(
        1.0
    )
    assert lsgan_d_loss(torch.tensor([3.0]), torch.tensor([2.0])).item() == pytest.approx(4 + 4)
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


def test_gan_loss_targets_take_the_prediction_shape_and_dtype():
    loss = GANLoss("lsgan", real_label=0.9)
    prediction = torch.zeros(3, 1, 7, 5, dtype=torch.bfloat16)
    assert loss(prediction, True).dtype == torch.bfloat16
    assert loss(prediction, True).item() == pytest.approx(0.81, rel=1e-2)  # 0.9 in bfloat16
    assert loss(prediction, False).item() == 0
    # one-sided label smoothing: MSE to 0.9, not to 1
    assert loss(torch.ones(4), True).item() == pytest.approx(0.01, rel=1e-5)


@pytest.mark.parametrize("shape", [(8,), (2, 1, 30, 30)])
def test_gan_loss_is_the_same_function_as_the_paper_losses(shape):
    """GANLoss (the models' interface) and the functions the lessons call give the same
    numbers and gradients to the bit: one definition of each loss, not two that agree."""
    generator = torch.Generator().manual_seed(3)
    real = torch.randn(shape, generator=generator, requires_grad=True)
    fake = torch.randn(shape, generator=generator, requires_grad=True)
    vanilla, lsgan = GANLoss("vanilla"), GANLoss("lsgan")
    pairs = [
        (vanilla(real, True) + vanilla(fake, False), minimax_d_loss(real, fake)),
        (vanilla(fake, True), non_saturating_g_loss(fake)),
        (-vanilla(fake, False), minimax_g_loss(fake)),
        (lsgan(real, True) + lsgan(fake, False), lsgan_d_loss(real, fake)),
        (lsgan(fake, True), lsgan_g_loss(fake)),
    ]
    for interface, function in pairs:
        assert torch.equal(interface, function)
        grads = [
            torch.autograd.grad(loss, (real, fake), allow_unused=True, materialize_grads=True)
            for loss in (interface, function)
        ]
        assert all(torch.equal(a, b) for a, b in zip(*grads, strict=True))
    assert torch.equal(bce_term(fake, 1.0), non_saturating_g_loss(fake))
    assert torch.equal(ls_term(fake, 1.0), lsgan_g_loss(fake))


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


def test_only_losses_py_writes_a_gan_loss():
    """The library has one definition of each loss: no other module of the package calls
    the functions they are built from (a lesson's hand-built version lives in its notebook)."""
    package = Path(losses.__file__).parent
    builders = re.compile(r"binary_cross_entropy|mse_loss|BCEWithLogitsLoss|MSELoss|logsigmoid")
    offenders = [
        f"{path.relative_to(package.parent)}:{number}: {line.strip()}"
        for path in sorted(package.rglob("*.py"))
        if path != Path(losses.__file__)
        for number, line in enumerate(path.read_text().splitlines(), 1)
        if builders.search(line) and not line.lstrip().startswith(("#", '"'))
    ]
    assert not offenders, "use cyclegan_lib.losses instead:\n" + "\n".join(offenders)
