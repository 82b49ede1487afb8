"""Small-scale pix2pix and CycleGAN on the 32-px digit domains (lessons 03 and 04).

The models are the library's (:mod:`cyclegan_lib.models`, the reference's
training steps); what changes from the papers is only the scale, so that a
lesson trains in minutes on a laptop CPU:

* generators with few channels: for pix2pix a U-Net with 5 levels (``unet_32``:
  32 px down to a 1x1 bottleneck) instead of ``unet_256``; for CycleGAN the
  paper's ResNet generator with 3 blocks and 16 base channels
  (``resnet_3blocks``, ``ngf=16``) instead of ``resnet_9blocks`` with 64;
* a PatchGAN with 2 layers (34x34 patches, already the whole 32-px image)
  instead of 3 (70x70);
* mini-batches and a higher learning rate instead of batch 1 and 2e-4, and the
  reference's linear decay counted in iterations instead of epochs.

Everything is seeded: the same :class:`DigitRecipe` gives the same networks,
batches and image-pool draws.
"""

from __future__ import annotations

import copy
import multiprocessing
import time
from collections.abc import Callable, Iterator, Mapping
from concurrent.futures import Future, ProcessPoolExecutor, wait
from dataclasses import dataclass, field
from typing import NamedTuple

import numpy as np
import torch
from torch import nn

from cyclegan_lib.course.digits import PairedDigits, UnpairedDomains
from cyclegan_lib.course.env import cpu_budget, seed_everything
from cyclegan_lib.course.metrics import evaluate_digits
from cyclegan_lib.course.plotting import progress
from cyclegan_lib.lessons.widgets.live_training import LiveTraining, Rows, as_picture
from cyclegan_lib.losses import l1_loss
from cyclegan_lib.models import BaseModel, CycleGANModel, ModelConfig, Pix2PixModel, translate
from cyclegan_lib.networks import define_G
from cyclegan_lib.pipeline.schedulers import get_scheduler
from cyclegan_lib.runtime import end_with_parent


@dataclass(frozen=True)
class DigitRecipe:
    """How long and how big: one recipe per profile, shared by a lesson's ablation arms.

    ``decay_fraction`` is the share of the ``steps`` over which the learning rate
    decays linearly to zero, after a constant phase (the reference's ``linear``
    policy, Zhu et al. 2017 Sec. 7, counted in iterations). ``device`` is where the
    models train: ``"cpu"``, or e.g. ``"cuda"`` (the lessons' ``gpu`` profile passes
    ``env.get_device()``).
    """

    steps: int
    batch_size: int = 16
    netG: str = "unet_32"
    ngf: int = 32
    ndf: int = 32
    n_layers_D: int = 2
    lr: float = 1e-3
    decay_fraction: float = 0.5
    seed: int = 0
    device: str = "cpu"

    def __post_init__(self) -> None:
        if self.steps < 1 or self.batch_size < 1:
            raise ValueError(
                f"steps and batch_size must be >= 1, got {self.steps}, {self.batch_size}"
            )
        if not 0.0 <= self.decay_fraction <= 1.0:
            raise ValueError(f"decay_fraction must be in [0, 1], got {self.decay_fraction}")

    @property
    def decay_steps(self) -> int:
        return round(self.steps * self.decay_fraction)


Weights = dict[str, torch.Tensor]
"""A network's ``state_dict``."""


@dataclass
class TrainingRun:
    """What a training function returns: the trained generators, per-step losses, wall time.

    ``snapshots`` maps a step to copies of the generators' weights after it (on the CPU),
    when the training function was asked to keep them.
    """

    generators: dict[str, nn.Module]
    history: dict[str, list[float]] = field(default_factory=dict)
    seconds: float = 0.0
    model: BaseModel | L1OnlyModel | None = None
    snapshots: dict[int, dict[str, Weights]] = field(default_factory=dict)

    def record(self, losses: dict[str, float]) -> None:
        for name, value in losses.items():
            self.history.setdefault(name, []).append(value)

    def keep_snapshot(self, step: int) -> None:
        """Copy every generator's weights to the CPU, under ``step``: later steps leave them be."""
        self.snapshots[step] = {
            name: {
                key: value.detach().to("cpu", copy=True) for key, value in net.state_dict().items()
            }
            for name, net in self.generators.items()
        }

    def generators_at(self, step: int) -> dict[str, nn.Module]:
        """Copies of the generators with the weights they had after ``step`` (a kept snapshot)."""
        if step not in self.snapshots:
            raise KeyError(f"no snapshot at step {step}; kept: {sorted(self.snapshots)}")
        copies = {}
        for name, net in self.generators.items():
            copies[name] = copy.deepcopy(net)
            copies[name].load_state_dict(self.snapshots[step][name])
        return copies


def batch_indices(
    n_items: int, batch_size: int, steps: int, generator: torch.Generator
) -> Iterator[torch.Tensor]:
    """``steps`` batches of indices, reshuffled every epoch like a shuffling DataLoader."""
    order = torch.randperm(n_items, generator=generator)
    position = 0
    for _ in range(steps):
        if position + batch_size > n_items:
            order, position = torch.randperm(n_items, generator=generator), 0
        yield order[position : position + batch_size]
        position += batch_size


def linear_decay_schedulers(
    optimizers: dict[str, torch.optim.Optimizer], recipe: DigitRecipe
) -> list[torch.optim.lr_scheduler.LRScheduler]:
    """The reference's ``linear`` LR policy, stepped once per iteration instead of per epoch."""
    constant = recipe.steps - recipe.decay_steps
    return [
        get_scheduler(optimizer, "linear", n_epochs=constant, n_epochs_decay=recipe.decay_steps)
        for optimizer in optimizers.values()
    ]


def pix2pix_config(recipe: DigitRecipe, lambda_L1: float = 100.0) -> ModelConfig:
    """pix2pix's defaults (batch norm, vanilla GAN, no pool) at the recipe's scale: colour -> clean."""
    return ModelConfig.pix2pix(
        input_nc=3,
        output_nc=1,
        netG=recipe.netG,
        ngf=recipe.ngf,
        ndf=recipe.ndf,
        netD="n_layers",
        n_layers_D=recipe.n_layers_D,
        lr=recipe.lr,
        lambda_L1=lambda_L1,
    )


def cyclegan_config(
    recipe: DigitRecipe,
    lambda_cycle: float = 10.0,
    pool_size: int = 50,
    lambda_y: float | None = None,
    lambda_identity: float = 0.0,
    input_nc: int = 1,
    output_nc: int = 3,
) -> ModelConfig:
    """CycleGAN's defaults (instance norm, LSGAN, pool 50, λ=10) at the recipe's scale.

    A = X with ``input_nc`` channels, B = Y with ``output_nc``: by default clean digits
    (1 channel) and colour digits (3). ``lambda_cycle`` weighs ||F(G(x)) - x||₁ (the
    reference's ``lambda_A``) and ``lambda_y``, if given, ||G(F(y)) - y||₁ (``lambda_B``).
    The identity loss (Zhu et al. 2017, Sec. 5.2) is off by default: it compares G(y)
    with y, which needs G to accept its own output domain, impossible when X and Y have
    different channel counts (the model refuses it, as the reference does). Between two
    colour domains ``lambda_identity`` sets its weight, relative to the cycles' (the
    paper's 0.5).
    """
    return ModelConfig.for_model(
        "cycle_gan",
        input_nc=input_nc,
        output_nc=output_nc,
        netG=recipe.netG,
        ngf=recipe.ngf,
        ndf=recipe.ndf,
        netD="n_layers",
        n_layers_D=recipe.n_layers_D,
        norm="instance",
        gan_mode="lsgan",
        pool_size=pool_size,
        lr=recipe.lr,
        lambda_A=lambda_cycle,
        lambda_B=lambda_cycle if lambda_y is None else lambda_y,
        lambda_identity=lambda_identity,
    )


class L1OnlyModel:
    """The ablation of Isola et al. 2017, Sec. 4.2: the same U-Net trained with λ·L1 alone, no D.

    Same interface as the library's models (``set_input``, ``optimize_parameters``,
    ``optimizers``, ``train``/``eval``), so the same loop trains it.
    """

    def __init__(self, config: ModelConfig, device: torch.device | str = "cpu") -> None:
        c = config
        self.lambda_L1 = c.lambda_L1
        self.device = torch.device(device)
        self.netG = define_G(
            c.input_nc,
            c.output_nc,
            c.ngf,
            c.netG,
            c.norm,
            not c.no_dropout,
            c.init_type,
            c.init_gain,
        ).to(self.device)
        adam = torch.optim.Adam(self.netG.parameters(), lr=c.lr, betas=(c.beta1, 0.999))
        self.optimizers = {"G": adam}

    def train(self) -> None:
        self.netG.train()

    def eval(self) -> None:
        self.netG.eval()

    def set_input(self, batch: dict) -> None:
        self.real_A, self.real_B = batch["A"].to(self.device), batch["B"].to(self.device)

    def optimize_parameters(self) -> dict[str, float]:
        """One Adam step on λ·||y - G(x)||₁ (Isola 2017, eq. 3)."""
        loss = l1_loss(self.netG(self.real_A), self.real_B) * self.lambda_L1
        self.optimizers["G"].zero_grad(set_to_none=True)
        loss.backward()
        self.optimizers["G"].step()
        return {"G_L1": loss.item()}


Watch = Callable[[int, Mapping[str, float], Callable[[], Rows]], object]
"""Called after each step with the step (from 1), the losses to plot and a function that makes
sample rows (called only when they are to be shown: it costs a forward pass)."""

LIVE_DRAWS = 20
"""How many times a run's live view redraws (:class:`LiveTraining`)."""

PREVIEW_IMAGES = 8
"""Fixed training inputs whose translations the live view shows."""


def live_watch(recipe: DigitRecipe, title: str) -> Watch:
    """A :data:`Watch` that draws a live view in the notebook (nothing in a terminal or smoke)."""
    view = LiveTraining(every=max(1, recipe.steps // LIVE_DRAWS), title=title)

    def watch(step: int, losses: Mapping[str, float], samples: Callable[[], Rows]) -> None:
        view.update(step, losses, samples, last=step == recipe.steps)

    return watch


def _train(
    model: BaseModel | L1OnlyModel,
    generators: dict[str, nn.Module],
    make_batch,
    recipe: DigitRecipe,
    description: str,
    samples: Callable[[], Rows],
    plotted: Mapping[str, str] | None = None,
    show_progress: bool = True,
    watch: Watch | None = None,
    snapshot_every: int = 0,
) -> TrainingRun:
    """The loop both lessons share: set_input, optimize_parameters, step the LR schedule.

    After each step ``watch`` gets the losses named in ``plotted`` (renamed to its values;
    all of them without it) and ``samples``; by default, with ``show_progress``, it is a
    live view (:func:`live_watch`) under the progress bar. With ``snapshot_every`` the
    run keeps a copy of the ``generators``' weights every so many steps and after the
    last. None of these changes the training: samples are made in evaluation mode,
    without gradients and from no random stream, and snapshots only copy.
    """
    if watch is None and show_progress:
        watch = live_watch(recipe, description)
    schedulers = linear_decay_schedulers(model.optimizers, recipe)
    run = TrainingRun(generators=generators, model=model)
    start = time.perf_counter()
    model.train()
    steps = range(recipe.steps)
    for step in progress(steps, desc=description) if show_progress else steps:
        model.set_input(make_batch(step))
        losses = model.optimize_parameters()
        run.record(losses)
        for scheduler in schedulers:
            scheduler.step()
        if watch is not None:
            shown = losses if plotted is None else {plotted[k]: losses[k] for k in plotted}
            watch(step + 1, shown, samples)
        if snapshot_every and ((step + 1) % snapshot_every == 0 or step + 1 == recipe.steps):
            run.keep_snapshot(step + 1)
    model.eval()
    run.seconds = time.perf_counter() - start
    return run


def batch_generator(recipe: DigitRecipe) -> torch.Generator:
    """The batches' own random stream, so every arm of an ablation sees the same batches."""
    return torch.Generator().manual_seed(recipe.seed)


def _paired_batches(data: PairedDigits, recipe: DigitRecipe):
    batches = list(
        batch_indices(len(data.labels), recipe.batch_size, recipe.steps, batch_generator(recipe))
    )

    def make_batch(step: int) -> dict:
        index = batches[step]
        return {"A": data.color[index], "B": data.clean[index], "A_paths": [], "B_paths": []}

    return make_batch


def _paired_samples(data: PairedDigits, G: nn.Module) -> Callable[[], Rows]:
    """A live view's rows for pix2pix: fixed colour digits x, their G(x) and the true y."""
    x, y = data.color[:PREVIEW_IMAGES], data.clean[:PREVIEW_IMAGES]
    return lambda: {"x": x, "G(x)": translate(G, x), "y": y}


def train_pix2pix_digits(
    data: PairedDigits, recipe: DigitRecipe, lambda_L1: float = 100.0, show_progress: bool = True
) -> TrainingRun:
    """pix2pix (Isola et al. 2017, eq. 4: cGAN + λ·L1) from colour digits to clean digits.

    Returns a run whose ``generators["G"]`` maps (N, 3, 32, 32) -> (N, 1, 32, 32).
    """
    generator = seed_everything(recipe.seed)
    model = Pix2PixModel(pix2pix_config(recipe, lambda_L1), recipe.device, generator)
    samples = _paired_samples(data, model.netG)
    batches = _paired_batches(data, recipe)
    generators = {"G": model.netG}
    return _train(
        model, generators, batches, recipe, "pix2pix", samples, show_progress=show_progress
    )


def train_l1_only_digits(
    data: PairedDigits, recipe: DigitRecipe, lambda_L1: float = 100.0
) -> TrainingRun:
    """The L1-only arm: same G, seed, batches and schedule as :func:`train_pix2pix_digits`."""
    seed_everything(recipe.seed)  # the same initial G as the cGAN arm
    model = L1OnlyModel(pix2pix_config(recipe, lambda_L1), recipe.device)
    samples = _paired_samples(data, model.netG)
    batches = _paired_batches(data, recipe)
    return _train(model, {"G": model.netG}, batches, recipe, "L1 only", samples)


CYCLEGAN_PLOTTED = {"G_A": "G fools D_Y", "D_A": "D_Y", "cycle_A": "λ·cycle x"}
"""The CycleGAN losses a live view plots, in the lesson's names (the reference's on the left)."""


def train_cyclegan_digits(
    data: UnpairedDomains,
    recipe: DigitRecipe,
    lambda_cycle: float = 10.0,
    pool_size: int = 50,
    lambda_y: float | None = None,
    lambda_identity: float = 0.0,
    snapshot_every: int = 0,
    show_progress: bool = True,
    watch: Watch | None = None,
) -> TrainingRun:
    """CycleGAN (Zhu et al. 2017, eq. 3 with LSGAN) on the unpaired halves.

    X = ``data.x`` (clean digits in lesson 04) and Y = ``data.y`` (colour digits) are
    drawn independently, so no batch holds a pair; the generators take the channels of
    their domains. ``lambda_cycle=0`` is the no-cycle ablation; ``lambda_identity`` adds
    the identity loss (Sec. 5.2), which needs X and Y with the same channels. Returns a
    run with ``generators["G"]`` (X -> Y, the reference's G_A) and ``generators["F"]``
    (Y -> X, G_B), and with ``snapshot_every`` their weights every so many steps and
    after the last (``run.generators_at(step)``). ``watch`` sees G's adversarial pair
    and the x-cycle loss (:data:`CYCLEGAN_PLOTTED`) and G(x) of fixed digits x after
    every step.
    """
    generator = seed_everything(recipe.seed)
    channels = {"input_nc": data.x.shape[1], "output_nc": data.y.shape[1]}
    config = cyclegan_config(recipe, lambda_cycle, pool_size, lambda_y, lambda_identity, **channels)
    model = CycleGANModel(config, recipe.device, generator)
    stream = batch_generator(recipe)
    x_batches = list(batch_indices(len(data.x), recipe.batch_size, recipe.steps, stream))
    y_batches = list(batch_indices(len(data.y), recipe.batch_size, recipe.steps, stream))

    def make_batch(step: int) -> dict:
        x, y = data.x[x_batches[step]], data.y[y_batches[step]]
        return {"A": x, "B": y, "A_paths": [], "B_paths": []}

    x = data.x[:PREVIEW_IMAGES]

    def samples() -> Rows:
        return {"x": x, "G(x)": translate(model.netG_A, x)}

    description = "CycleGAN" if config.lambda_A else "no cycle"
    generators = {"G": model.netG_A, "F": model.netG_B}
    return _train(
        model,
        generators,
        make_batch,
        recipe,
        description,
        samples,
        CYCLEGAN_PLOTTED,
        show_progress,
        watch,
        snapshot_every,
    )


@dataclass
class ArmPreview:
    """What a worker of :func:`train_cyclegan_arms` sends every so often: the mean of each
    plotted loss since its last preview, and its sample rows as small uint8 pictures."""

    arm: str
    step: int
    losses: dict[str, float]
    pictures: dict[str, np.ndarray]


class ArmReporter:
    """A worker's :data:`Watch`: each step goes to the parent (``send(1)``, for its bar), and
    at the first step, every ``every`` steps and at the ``last`` an :class:`ArmPreview`
    (``every=0``: none), the steps at which :meth:`LiveTraining.due` draws."""

    def __init__(self, send: Callable[[object], None], arm: str, every: int, last: int) -> None:
        self.send, self.arm, self.every, self.last = send, arm, every, last
        self.sums: dict[str, float] = {}
        self.count = 0

    def __call__(self, step: int, losses: Mapping[str, float], samples: Callable[[], Rows]) -> None:
        self.send(1)
        if not self.every:
            return
        for name, value in losses.items():
            self.sums[name] = self.sums.get(name, 0.0) + value
        self.count += 1
        if step == 1 or step % self.every == 0 or step == self.last:
            means = {name: total / self.count for name, total in self.sums.items()}
            pictures = {label: as_picture(images) for label, images in samples().items()}
            self.send(ArmPreview(self.arm, step, means, pictures))
            self.sums, self.count = {}, 0


class ArmsView:
    """The parent's side: one bar over the steps of all arms, and one live view with each
    arm's latest samples (labelled ``"<arm>: G(x)"``) and losses. Arms that show the same
    inputs share one ``x`` row; an arm with other inputs (another pair of domains) gets its
    own, ``"<arm>: x"``."""

    def __init__(self, bar, view: LiveTraining) -> None:
        self.bar, self.view = bar, view
        self.rows: dict[str, np.ndarray] = {}
        self.step = 0

    def receive(self, message: object) -> bool:
        """Count a step or take a preview; True when the view has something new to draw."""
        if not isinstance(message, ArmPreview):
            self.bar.update(message)
            return False
        arm = message.arm
        self.view.add_losses(message.step, {f"{arm}: {k}": v for k, v in message.losses.items()})
        for label, picture in message.pictures.items():
            self.rows[self._row(arm, label, picture)] = picture
        self.step = max(self.step, message.step)
        return True

    def _row(self, arm: str, label: str, picture: np.ndarray) -> str:
        if label != "x":
            return f"{arm}: {label}"
        for row, shown in self.rows.items():
            if (row == "x" or row.endswith(": x")) and np.array_equal(shown, picture):
                return row
        return "x" if "x" not in self.rows else f"{arm}: x"

    def draw(self) -> None:
        self.view.show(self.step, self.rows)


_messages = None
"""In a worker of :func:`train_cyclegan_arms`: the queue to the parent."""


def _worker_init(queue) -> None:
    global _messages
    _messages = queue
    end_with_parent()


def _follow(messages, futures: list[Future], total: int, desc: str, view: LiveTraining) -> None:
    """Draw what the workers send (:class:`ArmsView`) until all of them are done."""
    with progress(None, total=total, desc=desc) as bar:
        arms_view = ArmsView(bar, view)
        while True:
            finished = all(future.done() for future in futures)
            new = False
            while not messages.empty():
                new = arms_view.receive(messages.get()) or new
            if new:
                arms_view.draw()
            if finished:
                return
            wait(futures, timeout=0.5)


def _train_arm_alone(
    data: UnpairedDomains, recipe: DigitRecipe, arm: str, settings: dict, threads: int, every: int
) -> TrainingRun:
    """One arm in a worker process, on ``threads`` threads; generators, history and snapshots
    come back.

    Its steps and previews go to the parent (:class:`ArmReporter`), which draws them: a
    worker's own output would reach the Jupyter server's log, not the notebook.
    """
    if _messages is None:
        raise RuntimeError("_train_arm_alone runs in a worker of train_cyclegan_arms only")
    torch.set_num_threads(threads)
    reporter = ArmReporter(_messages.put, arm, every, recipe.steps)
    run = train_cyclegan_digits(data, recipe, **settings, show_progress=False, watch=reporter)
    run.model = None  # discriminators, optimisers and pools stay in the worker
    return run


class ArmJob(NamedTuple):
    """One arm of :func:`train_cyclegan_arms`: its data, recipe and other settings."""

    data: UnpairedDomains
    recipe: DigitRecipe
    settings: dict

    @classmethod
    def of(cls, data: UnpairedDomains, recipe: DigitRecipe, settings: dict) -> ArmJob:
        """The arm's own ``data`` and ``recipe`` if its settings name them, else the shared ones."""
        rest = dict(settings)
        return cls(rest.pop("data", data), rest.pop("recipe", recipe), rest)


def train_cyclegan_arms(
    data: UnpairedDomains, recipe: DigitRecipe, arms: dict[str, dict]
) -> dict[str, TrainingRun]:
    """Train the arms of an ablation side by side: one process per arm, sharing the CPUs.

    ``arms`` maps a name to keyword arguments of :func:`train_cyclegan_digits` (loss
    weights, ``snapshot_every``), e.g.
    ``{"cycle": {"lambda_cycle": 10.0}, "no cycle": {"lambda_cycle": 0.0}}``; an arm may
    also bring its own ``data`` and ``recipe`` instead of the shared ones, e.g. a shorter
    run on another pair of domains that fills a CPU the others leave idle (the arms start
    in the order given, so list the longest first). At batch size 4 these models use a
    second thread poorly (on a 2-core AMD EPYC a step took 102 ms on one thread and 110 ms
    on two; on a 2-core Xeon, two threads gave 1.33x one), so with a core per arm the
    ablation adds little or no wall time. Each arm gets an equal share of the CPUs this
    process may use (:func:`~cyclegan_lib.course.env.cpu_budget`, which counts a container's
    quota); with a single CPU, or on a GPU (``recipe.device`` not ``"cpu"``), the arms run
    one after the other in this process. Every arm gets the same seed and batches either way.

    In a notebook one bar counts the steps of all arms, and one live view shows each arm's
    samples and losses (:class:`ArmsView`). ``data`` reaches the workers through shared
    memory: torch pickles a tensor for another process as a handle to its storage, moved
    into shared memory once, so the arms read the same copy.
    """
    jobs = {name: ArmJob.of(data, recipe, settings) for name, settings in arms.items()}
    workers = min(len(arms), cpu_budget())
    if workers < 2 or any(job.recipe.device != "cpu" for job in jobs.values()):
        return {
            name: train_cyclegan_digits(job.data, job.recipe, **job.settings)
            for name, job in jobs.items()
        }
    title = " | ".join(arms)
    view = LiveTraining(every=max(1, recipe.steps // LIVE_DRAWS), title=title)
    every = view.every if view.enabled else 0  # no previews that nobody will see
    spawn = multiprocessing.get_context("spawn")  # safe in notebooks, and on macOS and Windows
    messages = spawn.SimpleQueue()
    with ProcessPoolExecutor(
        workers, mp_context=spawn, initializer=_worker_init, initargs=(messages,)
    ) as pool:
        threads = cpu_budget() // workers
        futures = {
            name: pool.submit(
                _train_arm_alone, job.data, job.recipe, name, job.settings, threads, every
            )
            for name, job in jobs.items()
        }
        total = sum(job.recipe.steps for job in jobs.values())
        _follow(messages, list(futures.values()), total, title, view)
        return {name: future.result() for name, future in futures.items()}


def evaluate_translation(
    translated: torch.Tensor,
    domain: str,
    labels: torch.Tensor,
    target: torch.Tensor | None = None,
) -> dict[str, float]:
    """How well translations into ``domain`` keep their digit, read by that domain's classifier.

    ``label_accuracy`` (the source digit's label is read back), ``confident_fraction``,
    ``frechet_distance`` to the real test digits of ``domain`` and, when the true
    image is known (the paired test set), ``l1_to_target`` = mean |translated - target|
    on the [-1, 1] scale.
    """
    numbers = evaluate_digits(translated, domain, labels)
    result = {
        key: float(numbers[key])
        for key in ("label_accuracy", "confident_fraction", "frechet_distance")
    }
    if target is not None:
        result["l1_to_target"] = l1_loss(translated, target).item()
    return result
