"""Hidden cases make hard-coding pointless: a submission that answers the visible cases by
lookup (right on exactly those inputs, nothing elsewhere) scores below half on every
exercise of every lesson, while the library's reference passes every hidden case."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

import numpy as np
import pytest
import torch
from torch import nn

from cyclegan_lib.lessons.exercises import Exercise
from cyclegan_lib.tools.grading.hidden_tests import lesson_exercises, score_answer

LESSONS = ("00", "01", "02", "03", "04", "05", "06")
COVERED = [(lesson, name) for lesson in LESSONS for name in lesson_exercises(lesson)]


def fingerprint(value: Any) -> Any:
    """What a call's inputs look like right now, comparable later with :func:`same`:
    tensors and arrays copied, modules by their weights and buffers, optimizers by type and
    hyperparameters, generators by their state, other objects (a pool) by their fields."""
    if isinstance(value, torch.Tensor):
        return value.detach().clone()
    if isinstance(value, np.ndarray):
        return value.copy()
    if isinstance(value, nn.Module):
        return (type(value), fingerprint(list(value.state_dict().items())))
    if isinstance(value, torch.optim.Optimizer):
        settings = [{k: v for k, v in g.items() if k != "params"} for g in value.param_groups]
        return (type(value), repr(settings))
    if isinstance(value, torch.Generator):
        return value.get_state()
    if isinstance(value, dict):
        return ("dict", tuple((key, fingerprint(item)) for key, item in value.items()))
    if isinstance(value, list | tuple):
        return (type(value), tuple(fingerprint(item) for item in value))
    if hasattr(value, "__dict__"):
        return (type(value), fingerprint(vars(value)))
    return value


ARRAY_EQUALITY = ((torch.Tensor, torch.equal), (np.ndarray, np.array_equal))


def same(a: Any, b: Any) -> bool:
    """Equal fingerprints: tensors and arrays by dtype, shape and values, the rest by type and ==."""
    for kind, equal in ARRAY_EQUALITY:
        if isinstance(a, kind) or isinstance(b, kind):
            return (
                isinstance(a, kind)
                and isinstance(b, kind)
                and (a.dtype, a.shape) == (b.dtype, b.shape)
                and equal(a, b)
            )
    if isinstance(a, tuple):
        return (
            isinstance(b, tuple)
            and len(a) == len(b)
            and all(same(x, y) for x, y in zip(a, b, strict=True))
        )
    return type(a) is type(b) and a == b


def visible_calls(exercise: Exercise) -> list[Any]:
    """The inputs of every call the visible cases make to the learner's function (a
    training-step case calls it once per batch), as fingerprints taken at call time."""
    calls = []

    def recorder(*args, **kwargs):
        calls.append(fingerprint((args, kwargs)))
        return exercise.reference(*args, **kwargs)

    for case in exercise.make_cases():
        with torch.random.fork_rng():
            exercise.run(recorder, case)
    return calls


def lookup_submission(lesson: str, name: str) -> Callable:
    """Right on the visible cases' inputs (as if their answers were pasted in), and
    otherwise an answer that does nothing: returns its first input and changes nothing."""
    exercise = lesson_exercises(lesson)[name].exercise
    known = visible_calls(exercise)

    def answer(*args, **kwargs):
        if any(same(fingerprint((args, kwargs)), call) for call in known):
            return exercise.reference(*args, **kwargs)
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


def test_hidden_cases_catch_a_pool_that_stores_the_images_themselves():
    """Storing the batch's tensors instead of clones passes every visible case; a hidden
    case changes the batch after the query and finds the change in the pool."""
    graded = lesson_exercises("04")["query_pool"]

    def without_clones(stored, images, pool_size, generator):
        if pool_size == 0:
            return images
        chosen = []
        for image in images:
            if len(stored) < pool_size:
                stored.append(image)
                chosen.append(image)
            elif torch.rand((), generator=generator) < 0.5:
                chosen.append(image)
            else:
                slot = int(torch.randint(pool_size, (), generator=generator))
                chosen.append(stored[slot])
                stored[slot] = image
        return torch.stack(chosen)

    score = score_answer(without_clones, graded)
    assert score.visible == "3/3" and score.status == "failed"
    assert "clones" in score.feedback
