"""Lesson 05's exercises: the linear LR schedule, the identity loss, the ResNet block."""

from __future__ import annotations

from functools import partial

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.hidden import seeded, seeded_images
from cyclegan_lib.losses import identity_loss
from cyclegan_lib.networks import ResnetBlock
from cyclegan_lib.pipeline.schedulers import linear_decay


def linear_lr_factor(steps: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1) -> float:
    """The learning-rate multiplier after ``steps`` scheduler steps of a run that starts at
    epoch ``epoch_count``: what ``LambdaLR`` asks the reference's ``lambda_rule`` for.

    1 for epochs 1..n_epochs, then a straight line that would reach 0 at epoch
    ``n_epochs + n_epochs_decay + 1`` (Zhu 2017, Sec. 7.1: 100 + 100 epochs); a resumed run
    (``--epoch_count k``) continues the same line from epoch k.
    """
    return linear_decay(n_epochs, n_epochs_decay, epoch_count)(steps)


def _lr_cases() -> list[Case]:
    settings = [
        ((0, 100, 100), "100 + 100 epochs, the first epoch (steps 0)"),
        ((99, 100, 100), "100 + 100 epochs, the last constant epoch (epoch 100)"),
        ((100, 100, 100), "100 + 100 epochs, the first decay epoch (epoch 101)"),
        ((199, 100, 100), "100 + 100 epochs, the last epoch (epoch 200)"),
        ((5, 3, 4), "3 + 4 epochs, epoch 6"),
        ((4, 5, 0), "5 + 0 epochs (n_epochs_decay = 0), the last epoch"),
        ((0, 100, 100, 151), "100 + 100 epochs resumed with epoch_count 151, its first epoch"),
        ((60, 100, 100, 51), "100 + 100 epochs resumed with epoch_count 51, 60 steps later"),
    ]
    return [Case(args, label=words) for args, words in settings]


def _epoch_count_ignored(steps: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1):
    return linear_decay(n_epochs, n_epochs_decay)(steps)


def _steps_as_epoch(steps: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1):
    return linear_decay(n_epochs, n_epochs_decay, epoch_count)(steps - 1)


def _divides_by_n_epochs_decay(
    steps: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1
):
    return 1.0 - max(0, steps + epoch_count - n_epochs) / n_epochs_decay


def _integer_division(steps: int, n_epochs: int, n_epochs_decay: int, epoch_count: int = 1):
    return 1.0 - max(0, steps + epoch_count - n_epochs) // (n_epochs_decay + 1)


LR_FACTOR = Exercise(
    name="linear_lr_factor",
    reference=linear_lr_factor,
    make_cases=_lr_cases,
    hint="first find the epoch being trained: the run's first epoch (steps 0) is epoch_count. "
    "Up to epoch n_epochs the factor is 1; after that it loses the same amount every epoch, "
    "so that it would be 0 at epoch n_epochs + n_epochs_decay + 1.",
    mistakes={
        "epoch_count is ignored: a resumed run would start the schedule over": (
            _epoch_count_ignored
        ),
        "the step count is taken for the epoch number (off by one: steps is 0 during the "
        "run's first epoch, epoch epoch_count)": _steps_as_epoch,
        "the decay is divided into n_epochs_decay steps: the last epoch would train at "
        "rate 0 (the line reaches 0 one epoch after the run)": _divides_by_n_epochs_decay,
        "the division is an integer division (//)": _integer_division,
    },
)


def identity_term(
    G_A: nn.Module,
    G_B: nn.Module,
    real_A: torch.Tensor,
    real_B: torch.Tensor,
    lambda_identity: float = 0.5,
    lambda_A: float = 10.0,
    lambda_B: float = 10.0,
) -> torch.Tensor:
    """The identity terms of the generators' loss (Zhu 2017, Sec. 5.2; Taigman 2017).

    ``λ_identity·λ_B·||G_A(B) − B||₁ + λ_identity·λ_A·||G_B(A) − A||₁``: the value of
    ``loss_idt_A + loss_idt_B`` in :meth:`cyclegan_lib.models.CycleGANModel.identity_losses`,
    bit for bit (same operations in the same order).
    """
    idt_A = G_A(real_B)
    idt_B = G_B(real_A)
    loss_idt_A = identity_loss(real_B, idt_A) * lambda_B * lambda_identity
    loss_idt_B = identity_loss(real_A, idt_B) * lambda_A * lambda_identity
    return loss_idt_A + loss_idt_B


def tiny_generator(seed: int, dtype: torch.dtype = torch.float32) -> nn.Module:
    """A 3 -> 3 channel stand-in for a generator: a seeded 3x3 convolution and tanh."""
    conv = nn.Conv2d(3, 3, kernel_size=3, padding=1).to(dtype)
    with torch.no_grad():
        conv.weight.copy_(seeded(seed, *conv.weight.shape, scale=0.3, dtype=dtype))
        conv.bias.copy_(seeded(seed + 1, 3, scale=0.1, dtype=dtype))
    return nn.Sequential(conv, nn.Tanh())


def _loss_and_generator_gradients(loss: object, args: tuple) -> dict:
    """The loss, its dtype, and whether every weight of G_A and G_B (args[0], args[1]) got a
    gradient: the term must stay differentiable to train them."""
    if not isinstance(loss, torch.Tensor):
        return {"loss": loss, "dtype": type(loss).__name__, "gradients reach G_A and G_B": False}
    if loss.requires_grad:
        loss.backward()
    return {
        "loss": loss.detach(),
        "dtype": str(loss.dtype),
        "gradients reach G_A and G_B": all(
            p.grad is not None for net in args[:2] for p in net.parameters()
        ),
    }


def _identity_case(
    seed: int,
    shape: tuple[int, ...],
    lambdas: tuple[float, float, float],
    label: str,
    dtype: torch.dtype = torch.float32,
) -> Case:
    lambda_identity, lambda_A, lambda_B = lambdas
    args = (
        tiny_generator(seed, dtype),
        tiny_generator(seed + 10, dtype),
        seeded_images(seed + 20, *shape, dtype=dtype),
        seeded_images(seed + 30, *shape, dtype=dtype),
    )
    weights = {"lambda_identity": lambda_identity, "lambda_A": lambda_A, "lambda_B": lambda_B}
    observe = _loss_and_generator_gradients if lambda_identity > 0 else None
    return Case(args, weights, label=label, observe=observe)


def _identity_cases() -> list[Case]:
    return [
        _identity_case(40, (1, 3, 8, 8), (0.5, 10.0, 10.0), "the defaults (0.5, 10, 10), 1x3x8x8"),
        _identity_case(41, (2, 3, 6, 6), (0.5, 10.0, 2.0), "λ_A = 10, λ_B = 2, a batch of 2"),
        _identity_case(42, (1, 3, 4, 4), (0.1, 1.0, 1.0), "λ_identity = 0.1, λ_A = λ_B = 1"),
        _identity_case(43, (1, 3, 4, 4), (0.0, 10.0, 10.0), "λ_identity = 0 gives exactly 0"),
    ]


def _g_a_fed_real_a(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10.0, lambda_B=10.0):
    loss_a = identity_loss(real_A, G_A(real_A)) * lambda_A * lambda_identity
    return loss_a + identity_loss(real_B, G_B(real_B)) * lambda_B * lambda_identity


def _lambdas_swapped(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10.0, lambda_B=10.0):
    return identity_term(G_A, G_B, real_A, real_B, lambda_identity, lambda_B, lambda_A)


def _no_lambda_identity(
    G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10.0, lambda_B=10.0
):
    return identity_term(G_A, G_B, real_A, real_B, 1.0, lambda_A, lambda_B)


def _no_domain_lambdas(G_A, G_B, real_A, real_B, lambda_identity=0.5, lambda_A=10.0, lambda_B=10.0):
    return identity_term(G_A, G_B, real_A, real_B, lambda_identity, 1.0, 1.0)


IDENTITY = Exercise(
    name="identity_term",
    reference=identity_term,
    make_cases=_identity_cases,
    hint="idt_A = G_A(real_B) (G_A turns A into B, so a B image should come out unchanged), "
    "idt_B = G_B(real_A); loss = λ_identity · (λ_B · L1(idt_A, real_B) + λ_A · L1(idt_B, "
    "real_A)), with F.l1_loss (the mean absolute difference), and no .item() or no_grad: "
    "the term trains the generators.",
    mistakes={
        "G_A is fed real_A and G_B real_B (the identity check feeds each generator an image "
        "of its output domain: G_A(real_B), G_B(real_A))": _g_a_fed_real_a,
        "λ_A and λ_B are swapped (G_A's term, on B images, is weighted λ_B, like B's cycle)": (
            _lambdas_swapped
        ),
        "λ_identity is missing (both terms are multiplied by it)": _no_lambda_identity,
        "λ_A and λ_B are missing (the identity weight is λ_identity times the cycle's λ)": (
            _no_domain_lambdas
        ),
    },
)


def resnet_block_layers(dim: int) -> list[nn.Module]:
    """The ``conv_block`` of the reference's ``ResnetBlock`` with reflection padding and instance norm.

    Reflection-pad 1, 3x3 conv, instance norm, ReLU, reflection-pad 1, 3x3 conv, instance norm
    (Johnson et al. 2016's residual block as CycleGAN uses it, Zhu 2017 Sec. 7.2); the block
    returns x + conv_block(x).
    """
    return list(ResnetBlock(dim, norm="instance", use_dropout=False).conv_block)


def _block_with_library_weights(
    layers: list[nn.Module], args: tuple, height: int, width: int
) -> dict:
    """Layer kinds, and x + layers(x) once the library block's weights are loaded into them."""
    (dim,) = args
    stack = nn.Sequential(*layers)
    torch.manual_seed(13)
    library = ResnetBlock(dim, norm="instance", use_dropout=False)
    stack.load_state_dict(library.conv_block.state_dict())  # strict: names and shapes agree
    x = torch.randn(2, dim, height, width, generator=torch.Generator().manual_seed(14))
    with torch.no_grad():
        output = x + stack(x)
    return {"layer kinds": [type(layer).__name__ for layer in layers], "x + block(x)": output}


def _block_cases() -> list[Case]:
    return [
        Case(
            (4,),
            label="dim=4 on 8x8 maps",
            observe=partial(_block_with_library_weights, height=8, width=8),
        ),
        Case(
            (8,),
            label="dim=8 on 5x7 maps (the borders show the padding)",
            observe=partial(_block_with_library_weights, height=5, width=7),
        ),
    ]


RESNET_BLOCK = Exercise(
    name="resnet_block_layers",
    reference=resnet_block_layers,
    make_cases=_block_cases,
    hint="[nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim), nn.ReLU(True), "
    "nn.ReflectionPad2d(1), nn.Conv2d(dim, dim, 3), nn.InstanceNorm2d(dim)]: the padding is a "
    "layer of its own (padding=0 in the conv), the convs keep their bias (instance norm has "
    "no learned shift), and padding layers count in the numbering of the weights, so a "
    "zero-padded conv shows up as missing or unexpected keys.",
)


# --- hidden cases: what the grader adds to the notebook's (see tools/grading/hidden_tests) ---


def _hidden_lr_cases() -> list[Case]:
    settings = [
        ((1, 1, 1), "epoch 2 of 1 + 1"),
        ((5, 5, 0), "n_epochs_decay 0: the factor is 0 right after the last epoch"),
        ((2, 0, 4), "n_epochs 0: the decay starts at epoch 1"),
        ((6, 10, 10), "inside the constant phase"),
        ((11, 10, 5), "epoch 12 of 10 + 5 (not integer division)"),
        ((999, 500, 500), "the last epoch of 500 + 500"),
        ((0, 500, 500, 750), "resumed at epoch 750 of 500 + 500"),
        ((249, 500, 500, 752), "resumed at epoch 752, at the last epoch"),
        ((3, 2, 6, 4), "resumed in the decay, epoch 7 of 2 + 6"),
        ((0, 3, 3, 2), "resumed in the constant phase"),
    ]
    return [Case(args, label=f"hidden: {words}") for args, words in settings]


def _hidden_identity_cases() -> list[Case]:
    settings = [
        (50, (2, 3, 5, 7), (0.5, 10.0, 10.0), "the defaults on 2x3x5x7 images"),
        (51, (3, 3, 4, 4), (0.25, 7.0, 3.0), "λ_identity 0.25, λ_A 7, λ_B 3"),
        (52, (1, 3, 9, 3), (1.0, 0.5, 20.0), "λ_identity 1, λ_A 0.5, λ_B 20"),
        (53, (2, 3, 4, 6), (0.0, 4.0, 6.0), "λ_identity 0 with λ_A 4, λ_B 6"),
    ]
    cases = [
        _identity_case(seed, shape, lambdas, f"hidden: {words}")
        for seed, shape, lambdas, words in settings
    ]
    cases.append(
        _identity_case(
            54,
            (1, 3, 5, 5),
            (0.5, 10.0, 5.0),
            "hidden: float64 images and nets (the loss stays float64)",
            dtype=torch.float64,
        )
    )
    return cases


def _hidden_block_cases() -> list[Case]:
    sizes = [(1, 2, 2), (3, 9, 4), (16, 6, 6)]
    return [
        Case(
            (dim,),
            label=f"hidden: dim={dim} on {height}x{width} maps",
            observe=partial(_block_with_library_weights, height=height, width=width),
        )
        for dim, height, width in sizes
    ]


HIDDEN_CASES = {
    "linear_lr_factor": _hidden_lr_cases,
    "identity_term": _hidden_identity_cases,
    "resnet_block_layers": _hidden_block_cases,
}
"""Cases the grader adds to the notebook's (see :mod:`cyclegan_lib.tools.grading.hidden_tests`)."""
