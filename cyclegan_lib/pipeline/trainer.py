"""The training loop behind ``cyclegan train`` (the reference's ``train.py``), with exact resume.

One :class:`Trainer` runs epochs ``epoch_count .. n_epochs + n_epochs_decay``. Per iteration it
feeds a batch to the model's ``optimize_parameters`` and checks the losses; every ``print_freq``
images it appends the reference's line to ``loss_log.txt``; every ``save_latest_freq`` images
and at the end of each epoch it writes ``latest_net_<X>.pth`` and the full state
``latest_state.pt``; every ``save_epoch_freq`` epochs it keeps ``<epoch>_net_<X>.pth``.
Counters count images, as the reference's ``total_iters`` does (``batch_size`` per step and process).

Exact resume (``--continue_train``): the full state holds the networks, optimizers, schedulers,
pools, the epoch, how many batches of it are done and every RNG. The data order depends only
on ``(seed, epoch)`` and each item's augmentation on ``(seed, epoch, index)``
(:mod:`cyclegan_lib.pipeline.datasets`), so the resumed run skips the done batches and continues with
bit-identical weights on the CPU (``tests/test_resume.py`` kills a run with SIGKILL to prove it).
"""

from __future__ import annotations

import math
import sys
import time
import warnings
from collections.abc import Callable, Mapping
from dataclasses import asdict, dataclass, replace
from pathlib import Path
from typing import Any

import torch
from tqdm.auto import tqdm

from cyclegan_lib.models import ARCHITECTURE, BaseModel, ModelConfig, create_model
from cyclegan_lib.networks import count_parameters
from cyclegan_lib.pipeline import checkpoints, distributed
from cyclegan_lib.pipeline.datasets import create_dataset, epoch_loader
from cyclegan_lib.pipeline.display import in_notebook, open_display
from cyclegan_lib.pipeline.options import TrainOptions
from cyclegan_lib.pipeline.pages import TrainingPage
from cyclegan_lib.pipeline.pretrained import load_network
from cyclegan_lib.pipeline.schedulers import apply_schedule_at_resume, get_scheduler, step_scheduler
from cyclegan_lib.runtime import seed_everything


class TrainingDiverged(RuntimeError):
    """A loss became NaN or infinite; the message says where and what was kept."""


@dataclass(frozen=True)
class Position:
    """Where a run stands: the epoch, batches done in it, and the reference's image counters."""

    epoch: int
    batches_done: int = 0
    epoch_iter: int = 0
    total_iters: int = 0

    def after_batch(self, images: int) -> Position:
        return replace(
            self,
            batches_done=self.batches_done + 1,
            epoch_iter=self.epoch_iter + images,
            total_iters=self.total_iters + images,
        )

    def next_epoch(self) -> Position:
        return replace(self, epoch=self.epoch + 1, batches_done=0, epoch_iter=0)


def check_finite(
    losses: Mapping[str, float], position: Position, context: distributed.Context
) -> None:
    """Raise :class:`TrainingDiverged` if any loss (on any process) is NaN or infinite."""
    bad = {name: value for name, value in losses.items() if not math.isfinite(value)}
    if context.distributed:
        flag = torch.tensor([float(bool(bad))], device=context.device)
        torch.distributed.all_reduce(flag)
        if flag.item() and not bad:
            bad = {"(another process)": math.nan}
    if bad:
        name, value = next(iter(bad.items()))
        raise TrainingDiverged(
            f"loss {name} became {value} in iteration {position.batches_done + 1} of epoch "
            f"{position.epoch}; training stopped without saving, so the last good "
            "checkpoint is unchanged (try a lower --lr)"
        )


def format_losses(
    epoch: int, iters: int, t_comp: float, t_data: float, losses: Mapping[str, float]
) -> str:
    """The reference's log line: ``(epoch: 1, iters: 100, time: 0.123, data: 0.004) D_A: 0.250 ...``."""
    values = " ".join(f"{name}: {value:.3f}" for name, value in losses.items())
    return f"(epoch: {epoch}, iters: {iters}, time: {t_comp:.3f}, data: {t_data:.3f}) {values} "


def someone_is_watching() -> bool:
    """True in a terminal or in a notebook kernel: where a progress bar is seen, not logged."""
    return sys.stderr.isatty() or in_notebook()


class Trainer:
    """Build the dataset, model and schedulers for ``opt``, then :meth:`run` the epochs."""

    def __init__(
        self,
        opt: TrainOptions,
        context: distributed.Context | None = None,
        show_progress: bool | None = None,
    ) -> None:
        """``show_progress``: a progress bar per epoch; by default only when someone can see
        it (a terminal or a notebook kernel) and only on the main process."""
        self.opt = opt
        self.context = context or distributed.Context()
        self.folder = opt.experiment_dir
        self.state_file = self.folder / checkpoints.STATE_FILE
        generator = seed_everything(opt.seed)
        if self.context.device.type == "cuda":
            torch.backends.cudnn.benchmark = True
        self.dataset = create_dataset(opt)
        config = ModelConfig.from_options(opt, is_train=True)
        self.model: BaseModel = create_model(config, self.context.device, generator)
        self.schedulers = {
            name: get_scheduler(optimizer, opt.lr_policy, opt.n_epochs, opt.n_epochs_decay,
                                opt.epoch_count, opt.lr_decay_iters)
            for name, optimizer in self.model.optimizers.items()
        }  # fmt: skip
        self.position = Position(epoch=opt.epoch_count)
        self.stepped = False
        if self.context.is_main:
            checkpoints.remove_stale_temporaries(self.folder)
        if opt.continue_train:
            self.resume()
        elif self.state_file.is_file():
            self.say(f"note: {self.folder} holds an earlier run; starting over "
                     "(--continue_train resumes it)")  # fmt: skip
        if self.context.distributed:
            distributed.broadcast_state(self.model.networks().values())
            for optimizer in self.model.optimizers.values():
                distributed.average_gradients_before_step(optimizer)
        self.page = TrainingPage(self.folder / "web", opt.name, opt.display_winsize)
        self.display = open_display(opt, self.folder, self.say, enabled=self.context.is_main)
        if show_progress is None:
            show_progress = someone_is_watching()
        self.quiet = not (show_progress and self.context.is_main)

    # ----- checkpoints -------------------------------------------------------------------
    def full_state(self) -> dict[str, Any]:
        """Everything :meth:`resume` needs, except the RNG states (added when saving)."""
        return {
            "model": self.model.state_dict(),
            "schedulers": {name: s.state_dict() for name, s in self.schedulers.items()},
            "position": asdict(self.position),
            "options": asdict(self.opt),
        }

    def save(self, network_labels: tuple[str, ...]) -> None:
        """Rank 0 writes ``<label>_net_<X>.pth`` for each label and ``latest_state.pt``, all or
        nothing (a full disk raises ``CheckpointError`` and keeps the previous files)."""
        if not self.context.is_main:
            return
        files: dict[Path, Any] = {}
        for label in network_labels:
            files |= checkpoints.network_files(self.model.networks(), self.folder, label)
        files[self.state_file] = checkpoints.training_state(**self.full_state())
        checkpoints.atomic_save_all(files)

    def resume(self) -> None:
        """Continue from ``latest_state.pt`` exactly, or load only the networks saved at
        ``--epoch N`` / ``--load_iter N`` (the reference's resume, from ``--epoch_count``)."""
        if self.opt.load_iter > 0 or self.opt.epoch != "latest":
            self.load_networks_only(
                checkpoints.checkpoint_label(self.opt.epoch, self.opt.load_iter)
            )
            return
        if not self.state_file.is_file():
            raise checkpoints.CheckpointError(
                f"--continue_train: no checkpoint {self.state_file}; train without "
                "--continue_train first (or check --name and --checkpoints_dir)"
            )
        try:
            state = checkpoints.load_training_state(self.state_file)
        except checkpoints.CheckpointError as damage:
            self.resume_from_last_epoch(str(damage))
            return
        self.check_same_architecture(state["options"])
        try:
            self.model.load_state_dict(state["model"])
        except (RuntimeError, KeyError, ValueError) as error:
            raise checkpoints.CheckpointError(
                f"{self.state_file} does not fit this model: {str(error).splitlines()[0]}"
            ) from None
        for name, scheduler in self.schedulers.items():
            scheduler.load_state_dict(state["schedulers"][name])
            apply_schedule_at_resume(scheduler)
        self.position = Position(**state["position"])
        checkpoints.restore_rng_state(state["rng"])

    def resume_from_last_epoch(self, damage: str) -> None:
        """``latest_state.pt`` is damaged: continue after the last epoch whose ``<N>_net_<X>.pth``
        files all load (weights only, as the reference's ``--epoch N --epoch_count N+1``), or
        stop with a ``CheckpointError``; never silently from scratch."""
        names = list(self.model.networks())
        epoch = checkpoints.last_good_epoch(self.folder, names)
        if epoch is None:
            raise checkpoints.CheckpointError(
                f"--continue_train: {damage}; no complete epoch checkpoint (<N>_net_*.pth) in "
                f"{self.folder} to fall back to: train without --continue_train to start over"
            )
        self.say(f"warning: {damage}")
        self.say(f"continuing from the networks saved after epoch {epoch} (optimizers, pools "
                 "and random generators start afresh, as with --epoch N)")  # fmt: skip
        self.load_networks_only(str(epoch))
        with warnings.catch_warnings():  # stepping before any optimizer.step() is intended
            warnings.simplefilter("ignore", UserWarning)
            for _ in range(epoch - self.opt.epoch_count + 1):
                self.step_schedulers(quiet=True)
        self.position = Position(epoch=epoch + 1)

    def check_same_architecture(self, saved: Mapping[str, Any]) -> None:
        """A clear error when the command line describes a different model than the checkpoint."""
        changed = [k for k in ARCHITECTURE if saved.get(k) != getattr(self.opt, k)]
        if changed:
            was = ", ".join(f"--{k} {saved.get(k)}" for k in changed)
            raise checkpoints.CheckpointError(
                f"{self.state_file} was trained with {was}; pass the same options to continue"
            )

    def load_networks_only(self, label: str) -> None:
        """The reference's ``--continue_train --epoch N``: weights only, from ``--epoch_count``."""
        for name, net in self.model.networks().items():
            load_network(net, checkpoints.network_file(self.folder, label, name))

    def describe(self) -> None:
        """The reference's summary: image count and each network's parameters (in millions)."""
        self.say(f"The number of training images = {len(self.dataset)}")
        self.say("---------- Networks initialized -------------")
        for name, net in self.model.networks().items():
            if self.opt.verbose:
                self.say(str(net))
            millions = count_parameters(net) / 1e6
            self.say(f"[Network {name}] Total number of parameters : {millions:.3f} M")
        self.say("-----------------------------------------------")
        if self.opt.amp and self.context.device.type != "cuda":
            self.say("note: --amp applies on CUDA only; this run trains in plain fp32")

    # ----- the loop ----------------------------------------------------------------------
    def run(
        self,
        last_epoch: int | None = None,
        minutes: float | None = None,
        on_epoch: Callable[[Trainer], None] | None = None,
    ) -> Position:
        """Train whole epochs up to ``last_epoch`` (default: the last); return the final position.

        With a budget of ``minutes``, another epoch starts only if the previous one's
        duration still fits, so a run stops at most about one epoch late, always after a
        saved epoch: ``--continue_train`` (or ``continue_train=True``) goes on from there.
        ``on_epoch(trainer)`` runs after each epoch (a notebook shows samples with it).
        """
        if self.context.is_main:
            self.log(f"================ Training Loss ({time.ctime()}) ================")
        self.describe()
        self.model.train()
        last = min(last_epoch or self.opt.total_epochs, self.opt.total_epochs)
        deadline = math.inf if minutes is None else time.monotonic() + 60 * minutes
        while self.position.epoch <= last:
            started = time.monotonic()
            self.run_epoch()
            self.end_epoch()
            if on_epoch is not None:
                on_epoch(self)
            now = time.monotonic()
            if now + (now - started) > deadline:  # an epoch as long as this one would not fit
                break
        if self.position.epoch > self.opt.total_epochs:
            self.display.close()  # the run is complete: wandb and tensorboard finish their files
        return self.position

    def run_epoch(self) -> None:
        opt, epoch = self.opt, self.position.epoch
        self.epoch_start = time.perf_counter()
        loader = epoch_loader(
            self.dataset,
            epoch,
            batch_size=opt.batch_size,
            shuffle=not opt.serial_batches,
            seed=opt.seed,
            skip_batches=self.position.batches_done,
            num_workers=opt.num_threads,
            rank=self.context.rank,
            world_size=self.context.world_size,
            pin_memory=self.context.device.type == "cuda",
        )
        images_per_step = opt.batch_size * self.context.world_size
        bar = tqdm(
            loader, desc=f"epoch {epoch}/{opt.total_epochs}", disable=self.quiet, leave=False
        )
        data_start = time.perf_counter()
        for batch in bar:
            step_start = time.perf_counter()
            self.model.set_input(batch)
            losses = self.model.optimize_parameters()
            self.stepped = True  # the model now holds images to show
            check_finite(losses, self.position, self.context)
            self.position = self.position.after_batch(images_per_step)
            total = self.position.total_iters
            if total % opt.print_freq == 0 and self.context.is_main:
                t_comp = (time.perf_counter() - step_start) / opt.batch_size
                t_data = step_start - data_start
                self.log(format_losses(epoch, self.position.epoch_iter, t_comp, t_data, losses))
                fraction = self.position.epoch_iter / len(self.dataset)
                self.display.plot_losses(epoch + fraction, total, losses)
            if total % opt.display_freq == 0:
                self.display.show_images(epoch, total, self.model.visuals())
            if total % opt.update_html_freq == 0:
                self.update_page()
            if total % opt.save_latest_freq == 0:
                self.say(f"saving the latest model (epoch {epoch}, total_iters {total})")
                self.save((f"iter_{total}",) if opt.save_by_iter else ("latest",))
            data_start = time.perf_counter()

    def end_epoch(self) -> None:
        """Decay the learning rate, update the page, save; the reference's end of an epoch."""
        epoch = self.position.epoch
        self.step_schedulers()
        self.update_page()
        self.position = self.position.next_epoch()
        keep = epoch % self.opt.save_epoch_freq == 0
        if keep:
            self.say(
                f"saving the model at the end of epoch {epoch}, iters {self.position.total_iters}"
            )
        self.save(("latest", str(epoch)) if keep else ("latest",))
        self.say(
            f"End of epoch {epoch} / {self.opt.total_epochs} \t "
            f"Time Taken: {time.perf_counter() - self.epoch_start:.0f} sec"
        )

    def step_schedulers(self, quiet: bool = False) -> None:
        """One scheduler step per epoch; ``plateau`` gets the reference's constant metric 0."""
        before = self.model.optimizers["G"].param_groups[0]["lr"]
        for scheduler in self.schedulers.values():
            step_scheduler(scheduler, metric=0.0)
        after = self.model.optimizers["G"].param_groups[0]["lr"]
        if not quiet:
            self.say(f"learning rate {before:.7f} -> {after:.7f}")

    def update_page(self) -> None:
        if self.context.is_main and not self.opt.no_html and self.stepped:
            self.page.update(self.position.epoch, self.model.visuals())

    def say(self, message: str) -> None:
        """Print above the progress bar, on rank 0 only."""
        if self.context.is_main:
            tqdm.write(message)

    def log(self, message: str) -> None:
        """Print and append to ``loss_log.txt`` (call on rank 0 only)."""
        self.say(message)
        self.folder.mkdir(parents=True, exist_ok=True)
        with open(self.folder / "loss_log.txt", "a") as log_file:
            log_file.write(message + "\n")
