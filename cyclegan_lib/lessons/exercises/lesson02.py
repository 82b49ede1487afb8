"""Lesson 02's exercises: conditioning G's input, conditioning D's input, a conditional step.

The step is checked with small linear stand-ins for G(z | y) and D(x | y) whose
weights are fixed, so passing the wrong labels (or none) changes the result.
"""

from __future__ import annotations

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.lesson01 import parameters_after
from cyclegan_lib.lessons.gan_loop import train_step
from cyclegan_lib.lessons.mnist_gans import generator_input, label_planes

LABELS = torch.tensor([3, 0, 9])


def _generator_input_cases() -> list[Case]:
    z = torch.linspace(-1, 1, 12).view(3, 4)
    return [
        Case((z, LABELS), label="z of shape (3, 4), labels [3, 0, 9]"),
        Case((torch.zeros(1, 2), torch.tensor([7])), label="z of shape (1, 2), label 7"),
    ]


def _label_planes_cases() -> list[Case]:
    x = torch.linspace(-1, 1, 3 * 2 * 2).view(3, 1, 2, 2)
    return [
        Case((x, LABELS), label="3 images 1x2x2, labels [3, 0, 9]"),
        Case((torch.ones(1, 3, 4, 4), torch.tensor([5])), label="one 3x4x4 image, label 5"),
    ]


GENERATOR_INPUT = Exercise(
    name="generator_input",
    reference=generator_input,
    make_cases=_generator_input_cases,
    hint="Turn the labels into one-hot rows of length 10 (F.one_hot(labels, 10).float()) "
    "and put them after z along dimension 1: torch.cat([z, one_hot], dim=1).",
)

LABEL_PLANES = Exercise(
    name="label_planes",
    reference=label_planes,
    make_cases=_label_planes_cases,
    hint="Make the one-hot labels (N, 10), view them as (N, 10, 1, 1), expand to "
    "(N, 10, H, W), and concatenate after the image's channels (dim=1).",
)


class LinearConditionalG(nn.Module):
    """G(z | y): [z, one_hot(y)] (2 + 10) -> a 1x2x2 image, linear with fixed weights."""

    z_dim = 2

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(12, 4)
        with torch.no_grad():
            self.linear.weight.copy_(torch.linspace(-0.5, 0.5, 48).view(4, 12))
            self.linear.bias.fill_(0.05)

    def forward(self, z: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.linear(generator_input(z, labels)).view(-1, 1, 2, 2)


class LinearConditionalD(nn.Module):
    """D(x | y): a 1x2x2 image with 10 label planes -> one logit, linear with fixed weights."""

    def __init__(self) -> None:
        super().__init__()
        self.linear = nn.Linear(44, 1)
        with torch.no_grad():
            self.linear.weight.copy_(torch.linspace(0.4, -0.4, 44).view(1, 44))
            self.linear.bias.fill_(0.0)

    def forward(self, x: torch.Tensor, labels: torch.Tensor) -> torch.Tensor:
        return self.linear(label_planes(x, labels).flatten(1)).squeeze(1)


def _conditional_step_cases() -> list[Case]:
    G, D = LinearConditionalG(), LinearConditionalD()
    real = torch.tensor([[1.0, -1.0, 0.5, 0.0], [0.2, 0.4, -0.6, 1.0]]).view(2, 1, 2, 2)
    z = torch.tensor([[0.5, -1.0], [1.5, 0.3]])
    labels = torch.tensor([4, 1])
    optimizers = (torch.optim.SGD(G.parameters(), lr=0.5), torch.optim.SGD(D.parameters(), lr=0.5))
    args = (G, D, *optimizers, real, z, labels)
    return [
        Case(
            args,
            label="one SGD step of linear G(z|y), D(x|y), labels [4, 1]",
            observe=parameters_after,
        )
    ]


CONDITIONAL_STEP = Exercise(
    name="conditional_train_step",
    reference=train_step,
    make_cases=_conditional_step_cases,
    hint="The same step as lesson 01, with the labels passed to every call: fake = G(z, labels), "
    "then D(real, labels) and D(fake.detach(), labels) for D's loss, then D(fake, labels) "
    "for G's non-saturating loss.",
)
