"""Learning-rate policies of the reference (``--lr_policy``), one scheduler per optimizer.

Call :func:`step_scheduler` once at the *end* of every epoch (PyTorch's order:
optimizer steps first). With the default ``linear`` policy, epoch ``k``
(numbered from ``epoch_count``) then trains at
``lr * (1 - max(0, k - n_epochs) / (n_epochs_decay + 1))``: constant for
``n_epochs`` epochs, then a linear decay towards zero over ``n_epochs_decay``
epochs (Zhu et al. 2017, Sec. 7: 100 + 100 epochs).

The reference's ``get_scheduler`` *returns* a ``NotImplementedError`` for an
unknown policy, so the mistake surfaces later as a confusing attribute error;
here it raises at once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Literal, get_args

from torch.optim import Optimizer, lr_scheduler

LrPolicy = Literal["linear", "step", "plateau", "cosine"]
LR_POLICIES: tuple[LrPolicy, ...] = get_args(LrPolicy)
"""``--lr_policy`` values, each built by :func:`get_scheduler` (the options read them from here)."""
Scheduler = lr_scheduler.LRScheduler | lr_scheduler.ReduceLROnPlateau


def linear_decay(
    n_epochs: int, n_epochs_decay: int, epoch_count: int = 1
) -> Callable[[int], float]:
    """The reference's ``lambda_rule``: the LR factor after ``steps`` scheduler steps."""

    def factor(steps: int) -> float:
        return 1.0 - max(0, steps + epoch_count - n_epochs) / float(n_epochs_decay + 1)

    return factor


def get_scheduler(
    optimizer: Optimizer,
    lr_policy: LrPolicy = "linear",
    n_epochs: int = 100,
    n_epochs_decay: int = 100,
    epoch_count: int = 1,
    lr_decay_iters: int = 50,
) -> Scheduler:
    """A scheduler for ``--lr_policy``, with the reference's settings.

    * ``linear``: :func:`linear_decay` (LambdaLR);
    * ``step``: x0.1 every ``lr_decay_iters`` epochs;
    * ``plateau``: x0.2 after 5 epochs without a 1 % improvement of the metric;
    * ``cosine``: cosine annealing to 0 over ``n_epochs`` epochs.

    Raises:
        ValueError: ``lr_policy`` is not one of :data:`LR_POLICIES`.
    """
    if lr_policy == "linear":
        rule = linear_decay(n_epochs, n_epochs_decay, epoch_count)
        return lr_scheduler.LambdaLR(optimizer, lr_lambda=rule)
    if lr_policy == "step":
        return lr_scheduler.StepLR(optimizer, step_size=lr_decay_iters, gamma=0.1)
    if lr_policy == "plateau":
        return lr_scheduler.ReduceLROnPlateau(
            optimizer, mode="min", factor=0.2, threshold=0.01, patience=5
        )
    if lr_policy == "cosine":
        return lr_scheduler.CosineAnnealingLR(optimizer, T_max=n_epochs, eta_min=0)
    raise ValueError(f"--lr_policy {lr_policy!r} is not one of {', '.join(LR_POLICIES)}")


def step_scheduler(scheduler: Scheduler, metric: float = 0.0) -> None:
    """Advance one epoch; ``plateau`` needs the monitored ``metric`` (the reference passes 0)."""
    if isinstance(scheduler, lr_scheduler.ReduceLROnPlateau):
        scheduler.step(metric)
    else:
        scheduler.step()


def apply_schedule_at_resume(scheduler: Scheduler) -> None:
    """After ``load_state_dict``: set the LR that *this* run's ``linear`` rule gives now.

    The optimizer state carries the LR of the run that saved it. Continuing with a
    longer schedule (a larger ``--n_epochs`` after a finished run, whose LR had decayed
    to 0) would otherwise train a whole epoch at that old LR, until the next
    ``scheduler.step()``. With unchanged options the LR is the same number as saved.
    """
    if not isinstance(scheduler, lr_scheduler.LambdaLR):
        return
    groups = scheduler.optimizer.param_groups
    for group, base, rule in zip(groups, scheduler.base_lrs, scheduler.lr_lambdas, strict=True):
        group["lr"] = base * rule(scheduler.last_epoch)
