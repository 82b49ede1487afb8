"""Hidden cases make hard-coding pointless: a submission that answers the visible cases by
lookup (right on exactly those inputs, nothing elsewhere) scores below half, while the
library's reference passes every hidden case."""

from __future__ import annotations

from collections.abc import Callable

import pytest
import torch
from torch import nn

from cyclegan_lib.tools.grading.hidden_tests import lesson_exercises, score_answer

COVERED = [
    (lesson, name) for lesson in ("01", "02") for name in lesson_exercises(lesson)
]  # fmt: skip


def same(a, b) -> bool:
    """Equal inputs: tensors by dtype, shape and values; modules by their weights;
    optimizers by type and hyperparameters; anything else by ==."""
    if isinstance(a, torch.Tensor) or isinstance(b, torch.Tensor):
        return (
            isinstance(a, torch.Tensor)
            and isinstance(b, torch.Tensor)
            and (a.dtype, a.shape) == (b.dtype, b.shape)
            and torch.equal(a, b)
        )
    if isinstance(a, nn.Module):
        return type(a) is type(b) and same(
            list(a.state_dict().values()), list(b.state_dict().values())
        )
    if isinstance(a, torch.optim.Optimizer):
        settings = [{k: v for k, v in g.items() if k != "params"} for g in a.param_groups]
        return type(a) is type(b) and settings == [
            {k: v for k, v in g.items() if k != "params"} for g in b.param_groups
        ]
    if isinstance(a, list | tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b, strict=True))
    return a == b


def lookup_submission(lesson: str, name: str) -> Callable:
    """Right on the visible cases' inputs (as if their answers were pasted in), and
    otherwise an answer that does nothing: returns its first input and changes nothing."""
    exercise = lesson_exercises(lesson)[name].exercise
    visible = [case.args for case in exercise.make_cases()]

    def answer(*args):
        if any(same(args, known) for known in visible):
            return exercise.reference(*args)
        return args[0]

    return answer


@pytest.mark.parametrize(("lesson", "name"), COVERED)
def test_lookup_of_the_visible_answers_scores_below_half(lesson, name):
    graded = lesson_exercises(lesson)[name]
    score = score_answer(lookup_submission(lesson, name), graded)
    visible_passed, visible_total = map(int, score.visible.split("/"))
    assert visible_passed == visible_total  # the lookup does answer every visible case
    assert score.passed / score.total < 0.5, score


@pytest.mark.parametrize(("lesson", "name"), COVERED)
def test_the_reference_passes_every_hidden_case(lesson, name):
    graded = lesson_exercises(lesson)[name]
    score = score_answer(graded.exercise.reference, graded)
    hidden_passed, hidden_total = map(int, score.hidden.split("/"))
    assert score.status == "passed" and hidden_total > 0 and hidden_passed == hidden_total


def test_hidden_cases_catch_a_naive_log_sigmoid_loss():
    """-log(sigmoid) underflows on saturated logits; only the hidden cases notice."""
    graded = lesson_exercises("01")["discriminator_loss"]

    def naive(real, fake):
        return -(torch.log(torch.sigmoid(real)).mean() + torch.log(1 - torch.sigmoid(fake)).mean())

    score = score_answer(naive, graded)
    assert score.visible == "3/3" and score.status == "failed"
    assert "saturated" in score.feedback
