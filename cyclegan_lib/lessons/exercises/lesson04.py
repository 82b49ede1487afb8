"""Lesson 04's exercises (CycleGAN): LSGAN D loss, cycle loss, image pool, generator objective,
and one whole training step, checked against :class:`~cyclegan_lib.models.CycleGANModel`."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from typing import Any

import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.hidden import dtype_and_values, seeded, seeded_images
from cyclegan_lib.losses import cycle_loss, lsgan_g_loss
from cyclegan_lib.models import CycleGANModel, ModelConfig, frozen
from cyclegan_lib.pool import ImagePool


def cycle_consistency_loss(
    x: torch.Tensor, y: torch.Tensor, G: nn.Module, F: nn.Module, lambda_cycle: float = 10.0
) -> torch.Tensor:
    """λ times the cycle loss (1) (Zhu 2017, eq. 2): λ(E||F(G(x)) - x||₁ + E||G(F(y)) - y||₁)."""
    return lambda_cycle * (cycle_loss(x, F(G(x))) + cycle_loss(y, G(F(y))))


def query_pool(
    stored: list[torch.Tensor], images: torch.Tensor, pool_size: int, generator: torch.Generator
) -> torch.Tensor:
    """One query of the image history (Zhu 2017, Sec. 4), exactly as :class:`ImagePool` does it.

    ``stored`` is the pool's list of images and is updated in place.
    """
    pool = ImagePool(pool_size, generator)
    pool.images = stored
    return pool.query(images)


def cyclegan_generator_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    G: nn.Module,
    F: nn.Module,
    D_X: nn.Module,
    D_Y: nn.Module,
    lambda_cycle: float = 10.0,
) -> torch.Tensor:
    """What G and F minimise together: the full objective (2) with the least-squares losses (4).

    Zhu 2017, eq. 3 with the LSGAN loss of their Sec. 4; no identity term.

    (D_Y(G(x)) - 1)² + (D_X(F(y)) - 1)² + λ·L_cyc(G, F).
    """
    fooled = lsgan_g_loss(D_Y(G(x))) + lsgan_g_loss(D_X(F(y)))
    return fooled + cycle_consistency_loss(x, y, G, F, lambda_cycle)


def halved_lsgan_d_loss(d_real: torch.Tensor, d_fake: torch.Tensor) -> torch.Tensor:
    """D's least-squares loss (4), halved as the reference's step halves it (``* 0.5``).

    0.5 · (E[(D(y) - 1)²] + E[D(G(x))²]): real outputs pulled to 1, fakes to 0.
    """
    return 0.5 * (lsgan_g_loss(d_real) + (d_fake**2).mean())


def _d_outputs() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(6)
    return torch.randn(2, 1, 4, 4, generator=generator), torch.randn(
        3, 1, 4, 4, generator=generator
    )


def _lsgan_cases() -> list[Case]:
    ones, zeros = torch.ones(2, 1, 2, 2), torch.zeros(2, 1, 2, 2)
    return [
        Case((ones, zeros), label="a perfect D: D(y) = 1, D(G(x)) = 0"),
        Case((zeros, ones), label="a fooled D: D(y) = 0, D(G(x)) = 1"),
        Case(_d_outputs(), label="random PatchGAN maps (2 real, 3 fake)"),
    ]


def _tiny_nets() -> dict[str, nn.Module]:
    """Seeded tiny translators: G takes 1 channel to 3, F 3 to 1; D_X and D_Y give 4x4 maps."""
    torch.manual_seed(7)
    return {
        "G": nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh()),
        "F": nn.Sequential(nn.Conv2d(3, 1, 3, padding=1), nn.Tanh()),
        "D_X": nn.Conv2d(1, 1, 4, stride=2, padding=1),
        "D_Y": nn.Conv2d(3, 1, 4, stride=2, padding=1),
    }


def _domains() -> tuple[torch.Tensor, torch.Tensor]:
    generator = torch.Generator().manual_seed(8)
    x = torch.rand(2, 1, 8, 8, generator=generator) * 2 - 1
    y = torch.rand(2, 3, 8, 8, generator=generator) * 2 - 1
    return x, y


def _cycle_cases() -> list[Case]:
    nets = _tiny_nets()
    x, y = _domains()
    return [
        Case((x, y, nets["G"], nets["F"]), label="λ=10 (default)"),
        Case((x, y, nets["G"], nets["F"]), {"lambda_cycle": 1.0}, label="λ=1"),
    ]


def _returned_and_stored(returned: torch.Tensor, args: tuple) -> dict:
    """The batch a pool query returned, and the images its list ``stored`` (args[0]) holds."""
    return {"returned": returned, "stored afterwards": list(args[0])}


def _pool_cases() -> list[Case]:
    images = torch.arange(4.0).reshape(4, 1, 1, 1)
    full = [torch.full((1, 1, 1), 10.0 + i) for i in range(3)]
    return [
        Case(
            ([], images, 2, torch.Generator().manual_seed(0)),
            label="an empty pool of 2, a batch of 4",
            observe=_returned_and_stored,
        ),
        Case(
            (full, images + 100, 3, torch.Generator().manual_seed(1)),
            label="a full pool of 3, a batch of 4",
            observe=_returned_and_stored,
        ),
        Case(
            ([], images, 0, torch.Generator().manual_seed(2)),
            label="pool_size 0",
            observe=lambda returned, args: {"returned": returned},
        ),
    ]


def _generator_cases() -> list[Case]:
    nets = _tiny_nets()
    x, y = _domains()
    return [
        Case((x, y, nets["G"], nets["F"], nets["D_X"], nets["D_Y"]), label="λ=10"),
        Case(
            (x, y, nets["G"], nets["F"], nets["D_X"], nets["D_Y"]),
            {"lambda_cycle": 0.0},
            label="λ=0: the two LSGAN terms alone",
        ),
    ]


LSGAN_D_LOSS = Exercise(
    name="lsgan_d_loss",
    reference=halved_lsgan_d_loss,
    make_cases=_lsgan_cases,
    hint="0.5 * (mean((d_real - 1)**2) + mean(d_fake**2)): real outputs pulled to 1, fake "
    "outputs to 0, each averaged over its own elements.",
)

CYCLE_CONSISTENCY_LOSS = Exercise(
    name="cycle_consistency_loss",
    reference=cycle_consistency_loss,
    make_cases=_cycle_cases,
    hint="Both directions: mean |F(G(x)) - x| + mean |G(F(y)) - y|, the sum times lambda_cycle.",
)

QUERY_POOL = Exercise(
    name="query_pool",
    reference=query_pool,
    make_cases=_pool_cases,
    hint="Loop over the batch. If pool_size is 0 return the images. While len(stored) < "
    "pool_size: append a clone and return the image. Otherwise draw "
    "torch.rand((), generator=generator): below 0.5 return the new image; else pick "
    "slot = torch.randint(pool_size, (), generator=generator), return stored[slot] and put "
    "a clone of the new image there. Stack the returned images.",
)

CYCLEGAN_GENERATOR_LOSS = Exercise(
    name="cyclegan_generator_loss",
    reference=cyclegan_generator_loss,
    make_cases=_generator_cases,
    hint="mean((D_Y(G(x)) - 1)**2) + mean((D_X(F(y)) - 1)**2) + your cycle_consistency_loss; "
    "no 0.5 on the generator's LSGAN terms (the reference's G loss has none).",
)


# --- one whole training step -------------------------------------------------------------


def cyclegan_step(
    x: torch.Tensor,
    y: torch.Tensor,
    nets: dict[str, nn.Module],
    optimizers: dict[str, torch.optim.Optimizer],
    pools: dict[str, ImagePool],
    lambda_x: float = 10.0,
    lambda_y: float = 10.0,
) -> tuple[torch.Tensor, torch.Tensor]:
    """One iteration of :meth:`CycleGANModel.optimize_parameters`, without the identity term.

    First G and F together, with D_X and D_Y frozen, on the full objective (2) with the
    least-squares losses (4) (Zhu 2017, eq. 3 with the LSGAN loss of Sec. 4); then D_Y on
    real y and pooled G(x), D_X on real x and pooled F(y), each loss halved. ``nets`` holds
    ``G, F, D_X, D_Y``; ``optimizers`` ``G`` (G and F) and ``D`` (both discriminators);
    ``pools`` ``X`` (fakes F(y), shown to D_X) and ``Y`` (fakes G(x), shown to D_Y).
    Returns the two losses that were minimised, detached.
    """
    fake_x, fake_y = nets["F"](y), nets["G"](x)
    with frozen([nets["D_X"], nets["D_Y"]]):
        g_loss = generators_loss(x, y, fake_x, fake_y, nets, lambda_x, lambda_y)
        minimise(optimizers["G"], g_loss)
    d_loss = discriminators_loss(x, y, fake_x, fake_y, nets, pools)
    minimise(optimizers["D"], d_loss)
    return g_loss.detach(), d_loss.detach()


def generators_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    fake_x: torch.Tensor,
    fake_y: torch.Tensor,
    nets: dict[str, nn.Module],
    lambda_x: float,
    lambda_y: float,
) -> torch.Tensor:
    """G and F's loss: both fool their D (4), and both cycles close (1, each weighted)."""
    fooled = lsgan_g_loss(nets["D_Y"](fake_y)) + lsgan_g_loss(nets["D_X"](fake_x))
    cycles = lambda_x * cycle_loss(x, nets["F"](fake_y)) + lambda_y * cycle_loss(
        y, nets["G"](fake_x)
    )
    return fooled + cycles


def discriminators_loss(
    x: torch.Tensor,
    y: torch.Tensor,
    fake_x: torch.Tensor,
    fake_y: torch.Tensor,
    nets: dict[str, nn.Module],
    pools: dict[str, ImagePool],
) -> torch.Tensor:
    """D_Y and D_X on real images and on detached fakes from their pools, each loss (4) halved."""
    old_y, old_x = pools["Y"].query(fake_y.detach()), pools["X"].query(fake_x.detach())
    return halved_lsgan_d_loss(nets["D_Y"](y), nets["D_Y"](old_y)) + halved_lsgan_d_loss(
        nets["D_X"](x), nets["D_X"](old_x)
    )


def minimise(optimizer: torch.optim.Optimizer, loss: torch.Tensor) -> None:
    """zero_grad, backward, step: one update of the optimizer's networks."""
    optimizer.zero_grad(set_to_none=True)
    loss.backward()
    optimizer.step()


def step_parts(model: CycleGANModel) -> dict[str, Any]:
    """A CycleGANModel's pieces under the paper's names, as :func:`cyclegan_step` takes them."""
    return {
        "nets": {"G": model.netG_A, "F": model.netG_B, "D_X": model.netD_B, "D_Y": model.netD_A},
        "optimizers": dict(model.optimizers),
        "pools": {"X": model.pools["fake_A"], "Y": model.pools["fake_B"]},
    }


@dataclass
class StepCase:
    """A tiny CycleGAN built from the library's networks, and the batches to train it on.

    Its optimizers are plain SGD instead of Adam. Adam divides each gradient by its
    running size, so a gradient that is zero up to rounding (the bias of a convolution
    followed by instance norm) would move its parameter by ±lr depending on the order of
    floating-point operations, and a correct step written differently would not match.
    """

    config: ModelConfig
    seed: int
    batches: list[tuple[torch.Tensor, torch.Tensor]]

    def model(self) -> CycleGANModel:
        torch.manual_seed(self.seed)
        model = CycleGANModel(self.config, generator=torch.Generator().manual_seed(self.seed))
        groups = {"G": [model.netG_A, model.netG_B], "D": [model.netD_A, model.netD_B]}
        model.optimizers = {
            name: torch.optim.SGD([p for net in nets for p in net.parameters()], self.config.lr)
            for name, nets in groups.items()
        }
        return model


def _call_recorder(calls: list[tuple[bool, bool]]) -> Callable:
    """A forward pre-hook noting (all parameters frozen, input carries G's graph) per call."""

    def hook(module: nn.Module, inputs: tuple) -> None:
        frozen_now = not any(p.requires_grad for p in module.parameters())
        calls.append((frozen_now, bool(inputs[0].requires_grad)))

    return hook


def train_a_few_steps(step: Callable, case: StepCase) -> dict[str, Any]:
    """Run ``step`` on a fresh model over ``case.batches`` and report what it left behind.

    The keys are in the order feedback names a difference: D frozen while G's loss used
    it, fakes detached for D's update, images in the pools, the losses, the weights.
    """
    parts = step_parts(case.model())
    weights = {"λ_x": case.config.lambda_A, "λ_y": case.config.lambda_B}
    frozen_ok, detached_ok, losses = True, True, []
    for x, y in case.batches:
        calls: dict[str, list[tuple[bool, bool]]] = {"D_X": [], "D_Y": []}
        hooks = [
            parts["nets"][name].register_forward_pre_hook(_call_recorder(seen))
            for name, seen in calls.items()
        ]
        try:
            g_loss, d_loss = step(x, y, **parts, lambda_x=weights["λ_x"], lambda_y=weights["λ_y"])
        finally:
            for hook in hooks:
                hook.remove()
        losses.append(torch.stack([torch.as_tensor(g_loss), torch.as_tensor(d_loss)]).detach())
        frozen_ok &= all(any(is_frozen for is_frozen, _ in seen) for seen in calls.values())
        detached_ok &= not any(
            graph and not is_frozen for seen in calls.values() for is_frozen, graph in seen
        )
    return {
        "D_X and D_Y frozen during G's update": frozen_ok,
        "D's update sees detached fakes only": detached_ok,
        "images stored in the pools": {name: len(pool) for name, pool in parts["pools"].items()},
        "losses (G, D) of every step": torch.stack(losses),
        "weights after the steps": {
            name: torch.cat([p.detach().flatten() for p in net.parameters()])
            for name, net in parts["nets"].items()
        },
    }


class StepExercise(Exercise):
    """An exercise whose answer is a training step: each case trains a few steps with it.

    On one thread: networks this small run faster without a thread pool's overhead.
    """

    def run(self, fn: Callable, case: Case) -> Any:
        threads = torch.get_num_threads()
        torch.set_num_threads(1)
        try:
            return train_a_few_steps(fn, *case.args)
        finally:
            torch.set_num_threads(threads)


def step_config(pool_size: int, lambda_y: float) -> ModelConfig:
    """A tiny CycleGAN (ResNet G with 1 block, 1-layer PatchGAN, 4 channels), 1 -> 3 channels."""
    return ModelConfig(
        model="cycle_gan",
        input_nc=1,
        output_nc=3,
        netG="resnet_1blocks",
        norm="instance",
        no_dropout=True,
        gan_mode="lsgan",
        ngf=4,
        ndf=4,
        netD="n_layers",
        n_layers_D=1,
        lambda_identity=0.0,
        pool_size=pool_size,
        lambda_B=lambda_y,
        lr=0.05,
    )


def step_batches(seed: int, steps: int, side: int = 16) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """``steps`` unpaired batches: 2 one-channel x and 2 three-channel y in [-1, 1]."""
    generator = torch.Generator().manual_seed(seed)
    return [
        (
            torch.rand(2, 1, side, side, generator=generator) * 2 - 1,
            torch.rand(2, 3, side, side, generator=generator) * 2 - 1,
        )
        for _ in range(steps)
    ]


def _step_cases() -> list[Case]:
    return [
        Case(
            (StepCase(step_config(pool_size=2, lambda_y=1.0), 0, step_batches(9, 3)),),
            label="3 steps, pools of 2 images, λ_x = 10, λ_y = 1",
        ),
        Case(
            (StepCase(step_config(pool_size=0, lambda_y=10.0), 1, step_batches(10, 2)),),
            label="2 steps, pool_size 0 (D sees the newest fakes), λ_x = λ_y = 10",
        ),
    ]


# Known wrong steps: a failing answer that computes the same as one of these is told so.


def _d_first(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
    fake_x, fake_y = nets["F"](y), nets["G"](x)
    d_loss = discriminators_loss(x, y, fake_x, fake_y, nets, pools)
    minimise(optimizers["D"], d_loss)
    with frozen([nets["D_X"], nets["D_Y"]]):
        g_loss = generators_loss(x, y, fake_x, fake_y, nets, lambda_x, lambda_y)
        minimise(optimizers["G"], g_loss)
    return g_loss.detach(), d_loss.detach()


def _d_not_frozen(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
    fake_x, fake_y = nets["F"](y), nets["G"](x)
    g_loss = generators_loss(x, y, fake_x, fake_y, nets, lambda_x, lambda_y)
    minimise(optimizers["G"], g_loss)
    d_loss = discriminators_loss(x, y, fake_x, fake_y, nets, pools)
    minimise(optimizers["D"], d_loss)
    return g_loss.detach(), d_loss.detach()


def _pool_skipped(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
    no_pools = {"X": ImagePool(0), "Y": ImagePool(0)}
    return cyclegan_step(x, y, nets, optimizers, no_pools, lambda_x, lambda_y)


def _d_loss_not_halved(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
    fake_x, fake_y = nets["F"](y), nets["G"](x)
    with frozen([nets["D_X"], nets["D_Y"]]):
        g_loss = generators_loss(x, y, fake_x, fake_y, nets, lambda_x, lambda_y)
        minimise(optimizers["G"], g_loss)
    d_loss = 2 * discriminators_loss(x, y, fake_x, fake_y, nets, pools)
    minimise(optimizers["D"], d_loss)
    return g_loss.detach(), d_loss.detach()


def _one_lambda(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
    return cyclegan_step(x, y, nets, optimizers, pools, lambda_x, lambda_x)


CYCLEGAN_STEP = StepExercise(
    name="cyclegan_step",
    reference=cyclegan_step,
    make_cases=_step_cases,
    hint="fake_y, fake_x = G(x), F(y). Then, with D_X and D_Y frozen (models.frozen): "
    "G's loss = LSGAN 'fool' terms for D_Y(fake_y) and D_X(fake_x) + lambda_x·|F(fake_y) - x| "
    "+ lambda_y·|G(fake_x) - y| (means); zero_grad, backward, step optimizers['G']. Then "
    "D's loss = your lsgan_d_loss(D_Y(y), D_Y(pools['Y'].query(fake_y.detach()))) + the same for "
    "D_X with x and pools['X'] and fake_x; zero_grad, backward, step optimizers['D']. "
    "Return (G's loss, D's loss). A RuntimeError about backward through the graph a second "
    "time means a fake reached D's loss without .detach() (with pool_size 0 the pool "
    "returns the fakes as they are).",
    mistakes={
        "the discriminators are updated before G and F (the reference updates G and F first, "
        "then D_X and D_Y)": _d_first,
        "D_X and D_Y are not frozen while G's loss uses them (wrap G's update in "
        "models.frozen([D_X, D_Y]))": _d_not_frozen,
        "D sees the newest fakes instead of pools['Y'].query(...) and pools['X'].query(...)": (
            _pool_skipped
        ),
        "D's losses are not halved (0.5 · (real term + fake term), as lsgan_d_loss)": (
            _d_loss_not_halved
        ),
        "both cycles use lambda_x (the y-cycle ||G(F(y)) - y|| counts lambda_y times)": (
            _one_lambda
        ),
    },
)


# --- hidden cases: what the grader adds to the notebook's (see tools/grading/hidden_tests) ---


def _hidden_lsgan_cases() -> list[Case]:
    return [
        Case((seeded(50, 1, 1, 30, 30), seeded(51, 5, 1, 30, 30)), label="hidden: 1 real, 5 fake"),
        Case(
            (
                seeded(52, 2, 1, 4, 4, dtype=torch.float64),
                seeded(53, 2, 1, 4, 4, dtype=torch.float64),
            ),
            label="hidden: float64 maps keep their dtype",
            observe=dtype_and_values,
        ),
        Case(
            (seeded(54, 3, 1, 5, 5, scale=100), seeded(55, 3, 1, 5, 5, scale=100)),
            label="hidden: large outputs",
        ),
        Case(
            (torch.full((1, 1, 1, 1), 0.25), torch.full((1, 1, 1, 1), -2.0)),
            label="hidden: 1x1 maps",
        ),
        Case(
            (seeded_images(56, 4, 1, 6, 6), seeded_images(57, 4, 1, 6, 6)),
            label="hidden: 4 6x6 maps",
        ),
    ]


def _hidden_translators(
    seed: int, x_nc: int, y_nc: int, dtype=torch.float32
) -> dict[str, nn.Module]:
    """Seeded G (x_nc -> y_nc channels), F (back), D_X and D_Y, in ``dtype``."""
    torch.manual_seed(seed)
    nets = {
        "G": nn.Sequential(nn.Conv2d(x_nc, y_nc, 3, padding=1), nn.Tanh()),
        "F": nn.Sequential(nn.Conv2d(y_nc, x_nc, 3, padding=1), nn.Tanh()),
        "D_X": nn.Conv2d(x_nc, 1, 4, stride=2, padding=1),
        "D_Y": nn.Conv2d(y_nc, 1, 4, stride=2, padding=1),
    }
    return {name: net.to(dtype) for name, net in nets.items()}


def _loss_and_translator_gradients(loss: torch.Tensor, args: tuple) -> dict:
    """The loss, its dtype, and whether every weight of G and F (args[2], args[3]) got a gradient."""
    loss.backward()
    reached = all(
        p.grad is not None and bool(p.grad.abs().sum() > 0)
        for net in args[2:4]
        for p in net.parameters()
    )
    return {"loss": loss.detach(), "dtype": str(loss.dtype), "gradients reach G and F": reached}


def _hidden_translation_settings() -> list[tuple[str, tuple, float]]:
    """(words, (x, y, G, F, D_X, D_Y), λ) of the hidden cases of the two losses."""
    unpaired = _hidden_translators(58, 1, 3)
    square = _hidden_translators(59, 3, 3)
    precise = _hidden_translators(60, 2, 1, dtype=torch.float64)
    nets = (unpaired, square, square, precise)
    inputs = [
        (seeded_images(61, 3, 1, 10, 14), seeded_images(62, 1, 3, 10, 14)),
        (seeded_images(63, 2, 3, 8, 8), seeded_images(64, 2, 3, 8, 8)),
        (seeded_images(65, 2, 3, 8, 8), seeded_images(66, 2, 3, 8, 8)),
        (
            seeded_images(67, 2, 2, 6, 6, dtype=torch.float64),
            seeded_images(68, 2, 1, 6, 6, dtype=torch.float64),
        ),
    ]
    words = [
        "3 x and 1 y (unpaired batches), 10x14 images",
        "3 channels both ways",
        "3 channels both ways",
        "float64 images and nets (the loss stays float64)",
    ]
    return [
        (text, (*xy, net["G"], net["F"], net["D_X"], net["D_Y"]), lam)
        for text, xy, net, lam in zip(words, inputs, nets, (2.5, 10.0, 0.0, 10.0), strict=True)
    ]


def _hidden_cycle_cases() -> list[Case]:
    return [
        Case(
            args[:4],
            {"lambda_cycle": lam},
            label=f"hidden: {words}, λ = {lam:g} (the loss, its dtype, gradients to G and F)",
            observe=_loss_and_translator_gradients,
        )
        for words, args, lam in _hidden_translation_settings()
    ]


def _hidden_generator_cases() -> list[Case]:
    return [
        Case(
            args,
            {"lambda_cycle": lam},
            label=f"hidden: {words}, λ = {lam:g} (the loss, its dtype, gradients to G and F)",
            observe=_loss_and_translator_gradients,
        )
        for words, args, lam in _hidden_translation_settings()
    ]


def _stored_copies(_returned: torch.Tensor, args: tuple) -> list[torch.Tensor]:
    """The pool after the batch was changed in place: stored clones don't change with it."""
    args[1].add_(1000.0)
    return list(args[0])


def _hidden_pool_cases() -> list[Case]:
    def batch(seed: int, n: int, *shape: int) -> torch.Tensor:
        return seeded(seed, n, *shape)

    half_full = [seeded(71, 1, 2, 2), seeded(72, 1, 2, 2)]
    full = [seeded(74, 3, 4, 4), seeded(75, 3, 4, 4)]
    return [
        Case(
            ([], batch(70, 5, 3, 4, 4), 1, torch.Generator().manual_seed(3)),
            label="hidden: a pool of 1, a batch of 5 3x4x4 images",
            observe=_returned_and_stored,
        ),
        Case(
            (half_full, batch(73, 6, 1, 2, 2), 4, torch.Generator().manual_seed(4)),
            label="hidden: a pool of 4 holding 2, a batch of 6 (fills up midway)",
            observe=_returned_and_stored,
        ),
        Case(
            (full, batch(76, 8, 3, 4, 4), 2, torch.Generator().manual_seed(5)),
            label="hidden: a full pool of 2, a batch of 8",
            observe=_returned_and_stored,
        ),
        Case(
            ([seeded(77, 1, 3, 3)], batch(78, 3, 1, 3, 3), 0, torch.Generator().manual_seed(6)),
            label="hidden: pool_size 0 returns the batch and stores nothing",
            observe=_returned_and_stored,
        ),
        Case(
            ([], batch(79, 2, 1, 2, 2), 3, torch.Generator().manual_seed(7)),
            label="hidden: the pool stores clones (changing the batch later leaves it alone)",
            observe=_stored_copies,
        ),
    ]


def _hidden_step_cases() -> list[Case]:
    one_image_batches = [
        (seeded_images(80 + step, 1, 1, 12, 12), seeded_images(90 + step, 1, 3, 12, 12))
        for step in range(5)
    ]
    return [
        Case(
            (StepCase(step_config(pool_size=3, lambda_y=0.5), 5, step_batches(11, 4)),),
            label="hidden: 4 steps, pools of 3 images (full after 2 steps), λ_y = 0.5",
        ),
        Case(
            (
                StepCase(
                    replace(step_config(pool_size=1, lambda_y=5.0), lambda_A=2.0),
                    6,
                    step_batches(12, 3, side=12),
                ),
            ),
            label="hidden: 3 steps on 12x12 images, a pool of 1, λ_x = 2, λ_y = 5",
        ),
        Case(
            (StepCase(step_config(pool_size=4, lambda_y=10.0), 7, one_image_batches),),
            label="hidden: 5 steps of one image each, pools of 4",
        ),
    ]


HIDDEN_CASES = {
    "lsgan_d_loss": _hidden_lsgan_cases,
    "cycle_consistency_loss": _hidden_cycle_cases,
    "query_pool": _hidden_pool_cases,
    "cyclegan_generator_loss": _hidden_generator_cases,
    "cyclegan_step": _hidden_step_cases,
}
"""Cases the grader adds to the notebook's (see :mod:`cyclegan_lib.tools.grading.hidden_tests`)."""
