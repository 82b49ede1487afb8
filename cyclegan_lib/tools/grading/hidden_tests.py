"""Which exercises a lesson has, and the hidden cases the grader adds to each.

Discovery is generic: every :class:`~cyclegan_lib.lessons.exercises.Exercise` defined at
module level in ``cyclegan_lib/exercises/lessonNN.py`` is graded. The learner's
answer is the function that the notebook's check cell passes to it,
``d_loss = check(d_loss, lesson01.D_LOSS)`` (see :func:`checked_functions`), or,
without such a call, the function named ``Exercise.name``. The solution cell
that defines it carries that function's name as its nbgrader ``grade_id``
(``nbtools.tag_for_nbgrader`` takes it from the first ``def``).

Hidden cases are stricter inputs the learner never sees in the notebook: larger
tensors, every edge value, dtype and "don't modify the input" checks. A lesson
module declares them next to its exercises::

    HIDDEN_CASES = {"d_loss": _hidden_d_loss_cases}   # exercise name -> case factory

Lessons whose module can't carry them (lesson 00, owned by the foundation) have
theirs in :data:`BUILTIN_HIDDEN` below. A key that names no exercise is an error.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType

import torch

from cyclegan_lib.lessons.exercises import Case, Exercise, grade

CaseFactory = Callable[[], Sequence[Case]]
HIDDEN_ATTRIBUTE = "HIDDEN_CASES"


def _input_after_call(_result, args: tuple):
    """Observe the input tensor after the call: a correct answer leaves it unchanged."""
    return args[0]


def _dtype_and_values(result, _args: tuple):
    return (str(result.dtype), result) if isinstance(result, torch.Tensor) else result


def _hidden_scale_pixels_cases() -> list[Case]:
    every_value = torch.arange(256, dtype=torch.uint8)
    batch = torch.randint(
        0, 256, (3, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(7)
    )
    return [
        Case((every_value,), label="hidden: every value 0..255", observe=_dtype_and_values),
        Case(
            (batch,), label="hidden: a 3x3x8x8 batch, result is float32", observe=_dtype_and_values
        ),
        Case(
            (batch.clone(),), label="hidden: the input is left unchanged", observe=_input_after_call
        ),
    ]


BUILTIN_HIDDEN: dict[str, dict[str, CaseFactory]] = {
    "00": {"scale_pixels": _hidden_scale_pixels_cases},
}


@dataclass
class GradedExercise:
    """An exercise as the grader sees it: the notebook's visible cases plus hidden ones."""

    exercise: Exercise
    hidden: CaseFactory | None = None

    @property
    def name(self) -> str:
        return self.exercise.name

    def single_cases(self) -> list[tuple[str, Exercise]]:
        """One single-case exercise per visible and hidden case, so each is scored on its own.

        :func:`~cyclegan_lib.lessons.exercises.grade` stops at the first failing case; grading
        each case separately gives partial credit that doesn't depend on case order.
        """
        singles = []
        for kind, factory in (("visible", self.exercise.make_cases), ("hidden", self.hidden)):
            if factory is None:
                continue
            for index in range(len(factory())):
                pick = _pick_case(factory, index)
                singles.append((kind, replace(self.exercise, make_cases=pick)))
        return singles


def _pick_case(factory: CaseFactory, index: int) -> CaseFactory:
    return lambda: [factory()[index]]


@dataclass
class Score:
    """Per-exercise result: ``status`` is passed, failed or not_done."""

    status: str
    passed: int
    total: int
    visible: str
    hidden: str
    feedback: str


def score_answer(answer: Callable, graded: GradedExercise) -> Score:
    """Grade ``answer`` on every visible and hidden case, each case on its own."""
    outcomes = [(kind, grade(answer, single)) for kind, single in graded.single_cases()]
    counts = {kind: [0, 0] for kind in ("visible", "hidden")}
    for kind, outcome in outcomes:
        counts[kind][0] += outcome.passed
        counts[kind][1] += outcome.total
    passed = sum(c[0] for c in counts.values())
    total = sum(c[1] for c in counts.values())
    failures = [o for _, o in outcomes if o.status != "passed"]
    if failures and all(o.status == "not_done" for _, o in outcomes):
        status, feedback = "not_done", "not done: the placeholder still raises NotImplementedError"
    elif failures:
        status = "failed"
        feedback = f"{len(failures)} of {total} cases failed; first: {failures[0].message}"
    else:
        status, feedback = "passed", f"all {total} cases pass"
    return Score(
        status,
        passed,
        total,
        visible="{}/{}".format(*counts["visible"]),
        hidden="{}/{}".format(*counts["hidden"]),
        feedback=feedback,
    )


def lesson_module(lesson: str) -> ModuleType | None:
    """``cyclegan_lib.lessons.exercises.lessonNN``, or None when the lesson has no exercise module."""
    try:
        return importlib.import_module(f"cyclegan_lib.lessons.exercises.lesson{lesson}")
    except ModuleNotFoundError as error:
        if error.name == f"cyclegan_lib.lessons.exercises.lesson{lesson}":
            return None
        raise


def lesson_exercises(lesson: str) -> dict[str, GradedExercise]:
    """The lesson's exercises by name, in definition order, each with its hidden cases."""
    module = lesson_module(lesson)
    if module is None:
        return {}
    exercises = {v.name: v for v in vars(module).values() if isinstance(v, Exercise)}
    hidden = {**BUILTIN_HIDDEN.get(lesson, {}), **getattr(module, HIDDEN_ATTRIBUTE, {})}
    unknown = sorted(set(hidden) - set(exercises))
    if unknown:
        raise ValueError(
            f"{module.__name__}: hidden cases for unknown exercises {unknown}; "
            f"known: {sorted(exercises)}"
        )
    return {name: GradedExercise(ex, hidden.get(name)) for name, ex in exercises.items()}


def checked_functions(sources: list[str], lesson: str) -> dict[str, str]:
    """Exercise name -> the function the notebook checks against it.

    Read from calls ``check(f, lessonNN.EXERCISE)`` or ``check(f, EXERCISE)`` in the
    cells' code; an exercise without such a call maps to a function of its own name.
    """
    module = lesson_module(lesson)
    functions = {name: name for name in lesson_exercises(lesson)}
    for source in sources:
        try:
            tree = ast.parse(source)
        except SyntaxError:
            continue  # a learner's broken cell; its exercise keeps the default name
        for node in ast.walk(tree):
            if not (isinstance(node, ast.Call) and len(node.args) >= 2):
                continue
            callee, answer, target = node.func, node.args[0], node.args[1]
            called = callee.attr if isinstance(callee, ast.Attribute) else getattr(callee, "id", "")
            attribute = (
                target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
            )
            exercise = getattr(module, attribute, None)
            if (
                called == "check"
                and isinstance(answer, ast.Name)
                and isinstance(exercise, Exercise)
            ):
                functions[exercise.name] = answer.id
    return functions
