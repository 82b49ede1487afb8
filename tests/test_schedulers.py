"""LR policies: the reference's linear rule, the others' settings, unknown names."""

import pytest
import torch

from cyclegan_lib.pipeline.schedulers import get_scheduler, linear_decay, step_scheduler


def optimizer(lr: float = 1.0) -> torch.optim.Optimizer:
    return torch.optim.Adam([torch.nn.Parameter(torch.zeros(1))], lr=lr)


def lrs_per_epoch(policy: str, epochs: int, **kwargs) -> list[float]:
    """The learning rate each epoch trains at, stepping at the end of every epoch."""
    opt = optimizer()
    scheduler = get_scheduler(opt, policy, **kwargs)
    seen = []
    for _ in range(epochs):
        seen.append(opt.param_groups[0]["lr"])
        opt.step()
        step_scheduler(scheduler)
    return seen


def test_linear_is_constant_then_decays_towards_zero():
    lrs = lrs_per_epoch("linear", 200, n_epochs=100, n_epochs_decay=100)
    assert lrs[:100] == [1.0] * 100
    assert lrs[100] == pytest.approx(1 - 1 / 101)  # epoch 101
    assert lrs[199] == pytest.approx(1 / 101)  # epoch 200, the last one
    steps = [a - b for a, b in zip(lrs[100:], lrs[101:], strict=False)]
    assert all(s == pytest.approx(1 / 101) for s in steps)


def test_linear_rule_matches_reference_formula_and_epoch_count():
    rule = linear_decay(n_epochs=3, n_epochs_decay=2, epoch_count=1)
    assert [rule(e) for e in range(6)] == pytest.approx([1, 1, 1, 2 / 3, 1 / 3, 0])
    # resuming at epoch 4 (--epoch_count 4) continues where epoch 4 would be
    resumed = lrs_per_epoch("linear", 2, n_epochs=3, n_epochs_decay=2, epoch_count=4)
    assert resumed == pytest.approx([2 / 3, 1 / 3])


def test_step_divides_by_ten_every_lr_decay_iters():
    lrs = lrs_per_epoch("step", 7, lr_decay_iters=3)
    assert lrs == pytest.approx([1, 1, 1, 0.1, 0.1, 0.1, 0.01])


def test_cosine_reaches_zero_after_n_epochs():
    lrs = lrs_per_epoch("cosine", 5, n_epochs=4)
    assert lrs[:3] == pytest.approx([1, 0.8535534, 0.5])
    assert lrs[4] == pytest.approx(0, abs=1e-12)


def test_plateau_cuts_after_patience():
    opt = optimizer()
    scheduler = get_scheduler(opt, "plateau")
    for _ in range(7):  # a constant metric never improves: best, then 6 bad epochs
        step_scheduler(scheduler, metric=1.0)
    assert opt.param_groups[0]["lr"] == pytest.approx(0.2)


def test_unknown_policy_raises():
    with pytest.raises(ValueError, match="--lr_policy 'lambda'"):
        get_scheduler(optimizer(), "lambda")
