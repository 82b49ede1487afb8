"""Exercise checks with specific feedback, and a fallback that keeps the lesson running.

An exercise cell holds the learner's function, with the solution between
``### BEGIN SOLUTION`` and ``### END SOLUTION`` in the instructor's notebook
(nbgrader's markers; the student version replaces it with a placeholder). The
cell after it calls::

    d_loss = check(d_loss, lesson01.D_LOSS)

:func:`check` runs the learner's function and the library's reference on the
same tiny, deterministic cases and prints what matched, or what was expected
with a hint. It returns the learner's function when every case passes, and the
reference otherwise, so the rest of the lesson always runs.
"""

from __future__ import annotations

import traceback
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import torch

from cyclegan_lib.lessons.exercises.compare import compare_values, describe_value


@dataclass
class Case:
    """One input to an exercise.

    ``args``/``kwargs`` are passed to the function; ``observe(result, args)``
    (optional) turns the call into what is compared, e.g. the weights a
    training step left behind. ``label`` describes the case in feedback.
    """

    args: tuple = ()
    kwargs: dict = field(default_factory=dict)
    label: str = ""
    observe: Callable[[Any, tuple], Any] | None = None


@dataclass
class Exercise:
    """A graded exercise: a reference solution and a factory of test cases.

    ``make_cases`` is called once for the learner and once for the reference,
    so each gets fresh objects (networks, optimisers) built from the same seed.
    """

    name: str
    reference: Callable
    make_cases: Callable[[], Sequence[Case]]
    hint: str
    rtol: float = 1e-4
    atol: float = 1e-5
    mistakes: dict[str, Callable] = field(default_factory=dict)
    """Known wrong answers, described in words: a failing answer that computes the same
    as one of them is told which mistake it made (e.g. a step that forgot ``detach``)."""

    def run(self, fn: Callable, case: Case) -> Any:
        result = fn(*case.args, **case.kwargs)
        return case.observe(result, case.args) if case.observe else result


@dataclass
class Outcome:
    """What :func:`grade` found: ``status`` is ``passed``, ``failed`` or ``not_done``."""

    name: str
    status: str
    passed: int
    total: int
    message: str

    @property
    def score(self) -> float:
        return self.passed / self.total if self.total else 0.0


RESULTS: dict[str, Outcome] = {}
"""The latest outcome of every exercise checked in this kernel (read by the grader)."""


def grade(fn: Callable, exercise: Exercise) -> Outcome:
    """Run ``fn`` against the reference on every case; never raises."""
    learner_cases = list(exercise.make_cases())
    reference_cases = list(exercise.make_cases())
    total = len(learner_cases)
    passed = 0
    for index, (mine, theirs) in enumerate(
        zip(learner_cases, reference_cases, strict=True), start=1
    ):
        label = mine.label or f"case {index}"
        expected = exercise.run(exercise.reference, theirs)
        try:
            with torch.random.fork_rng():
                got = exercise.run(fn, mine)
        except NotImplementedError:
            return Outcome(exercise.name, "not_done", 0, total, "not done yet")
        except Exception as error:  # a learner's bug: report it, keep the lesson alive
            where = traceback.format_exception_only(type(error), error)[-1].strip()
            return Outcome(exercise.name, "failed", passed, total, f"{label}: raised {where}")
        problem = compare_values(got, expected, exercise.rtol, exercise.atol)
        if problem:
            wrong, right = differing_part(got, expected, exercise.rtol, exercise.atol)
            message = (
                f"{label}: {problem}\n    expected {describe_value(right)}"
                f"\n    got      {describe_value(wrong)}"
            )
            mistake = known_mistake(got, exercise, index - 1)
            if mistake:
                message += f"\n  This is what happens when {mistake}."
            return Outcome(exercise.name, "failed", passed, total, message)
        passed += 1
    return Outcome(exercise.name, "passed", passed, total, f"all {total} cases match")


def differing_part(got: Any, expected: Any, rtol: float, atol: float) -> tuple[Any, Any]:
    """The first entry of two dicts that differs (recursively), else the values themselves."""
    if isinstance(expected, dict) and isinstance(got, dict) and set(got) == set(expected):
        for key in expected:
            if compare_values(got[key], expected[key], rtol, atol):
                return differing_part(got[key], expected[key], rtol, atol)
    return got, expected


def known_mistake(got: Any, exercise: Exercise, position: int) -> str | None:
    """The first of ``exercise.mistakes`` whose result on case ``position`` equals ``got``."""
    for description, wrong in exercise.mistakes.items():
        case = list(exercise.make_cases())[position]
        try:
            with torch.random.fork_rng():
                result = exercise.run(wrong, case)
        except Exception:  # a mistake that crashes on this case cannot be the one made
            continue
        if compare_values(got, result, exercise.rtol, exercise.atol) is None:
            return description
    return None


def check(fn: Callable, exercise: Exercise, quiet: bool = False) -> Callable:
    """Check a learner's function, print feedback, and return what the lesson should use.

    Returns ``fn`` if it is correct, else the library's reference (and says so).
    """
    outcome = grade(fn, exercise)
    RESULTS[exercise.name] = outcome
    reference = f"{exercise.reference.__module__}.{exercise.reference.__qualname__}"
    if outcome.status == "passed":
        text = f"✅ {exercise.name}: correct, {outcome.message}."
        chosen = fn
    elif outcome.status == "not_done":
        text = (
            f"⏭️  {exercise.name}: not done yet. The lesson continues with the library's "
            f"version ({reference}); come back to it when you are ready."
        )
        chosen = exercise.reference
    else:
        text = (
            f"❌ {exercise.name}: {outcome.passed}/{outcome.total} cases passed.\n"
            f"  {outcome.message}\n  Hint: {exercise.hint}\n"
            f"  The lesson continues with the library's version ({reference})."
        )
        chosen = exercise.reference
    if not quiet:
        print(text)
    return chosen


__all__ = ["Case", "Exercise", "Outcome", "RESULTS", "check", "grade"]
