"""Lesson 01's exercises: the discriminator loss, the non-saturating generator loss, one step.

The checks use tiny inputs and, for the training step, linear "networks" with
fixed weights, so a wrong sign, a missing ``detach`` or a step in the wrong
order changes the numbers compared.
"""

from __future__ import annotations

import torch
from torch import nn

from cyclegan_lib import losses
from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.gan_loop import train_step

LOGITS_REAL = torch.tensor([2.0, -1.0, 0.5, 3.0])
LOGITS_FAKE = torch.tensor([-2.0, 0.0, 1.5, -0.5])


def _loss_cases(*tensors: torch.Tensor) -> list[Case]:
    return [Case(tensors, label="logits " + ", ".join(str(t.tolist()) for t in tensors))]


def _d_loss_cases() -> list[Case]:
    return [
        *_loss_cases(LOGITS_REAL, LOGITS_FAKE),
        *_loss_cases(torch.zeros(3), torch.zeros(3)),
        *_loss_cases(torch.tensor([10.0]), torch.tensor([-10.0])),
    ]


def _g_loss_cases() -> list[Case]:
    return [*_loss_cases(LOGITS_FAKE), *_loss_cases(torch.tensor([-8.0, 8.0]))]


D_LOSS = Exercise(
    name="discriminator_loss",
    reference=losses.minimax_d_loss,
    make_cases=_d_loss_cases,
    hint="D wants sigmoid(real_logits) -> 1 and sigmoid(fake_logits) -> 0. "
    "Use F.binary_cross_entropy_with_logits with a target of ones for the real logits "
    "and zeros for the fake ones, and add the two means.",
)

G_LOSS_NON_SATURATING = Exercise(
    name="non_saturating_generator_loss",
    reference=losses.non_saturating_g_loss,
    make_cases=_g_loss_cases,
    hint="G wants D to call its fakes real: -log D(G(z)) is the cross-entropy of the fake "
    "logits against a target of ONES (not zeros), averaged over the batch.",
)


class LinearG(nn.Module):
    """A stand-in generator: z (2-d) -> a 1x2x2 'image' by a linear map with fixed weights."""

    z_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(2, 4)
        with torch.no_grad():
            self.linear.weight.copy_(torch.arange(8.0).view(4, 2) / 10 - 0.3)
            self.linear.bias.fill_(0.1)

    def forward(self, z: torch.Tensor) -> torch.Tensor:
        return self.linear(z).view(-1, 1, 2, 2)


class LinearD(nn.Module):
    """A stand-in discriminator: a 1x2x2 image -> one logit, linear with fixed weights."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(4, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.tensor([[0.5, -0.2, 0.3, 0.1]]))
            self.linear.bias.fill_(-0.1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.linear(x.flatten(1)).squeeze(1)


def parameters_after(_result: object, args: tuple) -> list[torch.Tensor]:
    """What a training step is judged by: every parameter of G and D after it ran."""
    G, D = args[0], args[1]
    return [p.detach().clone() for p in [*G.parameters(), *D.parameters()]]


def _step_case(optimizer: str, label: str) -> Case:
    G, D = LinearG(), LinearD()
    make = {
        "sgd": lambda p: torch.optim.SGD(p, lr=0.5),
        "adam": lambda p: torch.optim.Adam(p, lr=0.1),
    }
    real = torch.tensor([[1.0, -1.0, 0.5, 0.0], [0.2, 0.4, -0.6, 1.0]]).view(2, 1, 2, 2)
    z = torch.tensor([[0.5, -1.0], [1.5, 0.3]])
    args = (G, D, make[optimizer](G.parameters()), make[optimizer](D.parameters()), real, z)
    return Case(args, label=label, observe=parameters_after)


def _step_cases() -> list[Case]:
    return [
        _step_case("sgd", "one step with SGD on linear G and D"),
        _step_case("adam", "one step with Adam on linear G and D"),
    ]


TRAIN_STEP = Exercise(
    name="train_step",
    reference=train_step,
    make_cases=_step_cases,
    hint="Order matters: fake = G(z); D step: zero D's gradients, loss on D(real) and "
    "D(fake.detach()), backward, opt_D.step(); G step: zero G's gradients, non-saturating "
    "loss on D(fake) (the updated D), backward, opt_G.step().",
)
