"""Which exercises a lesson has, and the hidden cases the grader adds to each.

Discovery is generic: every :class:`~cyclegan_lib.lessons.exercises.Exercise` defined at
module level in ``cyclegan_lib/lessons/exercises/lessonNN.py`` is graded. The learner's
answer is the function that the notebook's check cell passes to it,
``d_loss = check(d_loss, lesson01.D_LOSS)`` (see :func:`checked_functions`), or,
without such a call, the function named ``Exercise.name``. The solution cell
that defines it carries that function's name as its nbgrader ``grade_id``
(``nbtools.tag_for_nbgrader`` takes it from the first ``def``).

Hidden cases are stricter inputs the learner never sees in the notebook: other
shapes and seeds, every edge value, dtype and "don't modify the input" checks, so
that answers pasted in for the visible cases score below half. A lesson module
declares them next to its exercises (lessons 03-06 do)::

    HIDDEN_CASES = {"d_loss": _hidden_d_loss_cases}   # exercise name -> case factory

Lessons 00-02 have theirs in :data:`BUILTIN_HIDDEN` below; their building blocks are
in :mod:`cyclegan_lib.lessons.exercises.hidden`. A key that names no exercise is an error.
"""

from __future__ import annotations

import ast
import importlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from types import ModuleType

import torch

from cyclegan_lib.lessons.exercises import Case, Exercise, grade
from cyclegan_lib.lessons.exercises.hidden import dtype_and_values, input_after_call, seeded

CaseFactory = Callable[[], Sequence[Case]]
HIDDEN_ATTRIBUTE = "HIDDEN_CASES"


def _hidden_scale_pixels_cases() -> list[Case]:
    every_value = torch.arange(256, dtype=torch.uint8)
    batch = torch.randint(
        0, 256, (3, 3, 8, 8), dtype=torch.uint8, generator=torch.Generator().manual_seed(7)
    )
    return [
        Case((every_value,), label="hidden: every value 0..255", observe=dtype_and_values),
        Case(
            (batch,), label="hidden: a 3x3x8x8 batch, result is float32", observe=dtype_and_values
        ),
        Case(
            (batch.clone(),), label="hidden: the input is left unchanged", observe=input_after_call
        ),
        Case(
            (torch.tensor(255, dtype=torch.uint8),),
            label="hidden: a single pixel (a 0-dim tensor)",
            observe=dtype_and_values,
        ),
        Case(
            (batch.transpose(-1, -2),),
            label="hidden: a transposed (non-contiguous) view of the batch",
            observe=dtype_and_values,
        ),
    ]


def _hidden_d_loss_cases() -> list[Case]:
    """Lesson 01's D loss (3) (paper: the minimax objective, eq. 1 of Goodfellow 2014)."""
    return [
        Case((seeded(1, 256), seeded(2, 256)), label="hidden: 256 random logits each"),
        Case(
            (torch.tensor([-100.0, 60.0]), torch.tensor([100.0, -60.0])),
            label="hidden: saturated logits (log of sigmoid underflows)",
        ),
        Case(
            (seeded(3, 5, dtype=torch.float64), seeded(4, 5, dtype=torch.float64)),
            label="hidden: float64 logits keep their dtype",
            observe=dtype_and_values,
        ),
        Case((seeded(5, 6, 1), seeded(6, 6, 1)), label="hidden: logits of shape (6, 1)"),
        Case((seeded(7, 5), seeded(8, 3)), label="hidden: 5 real and 3 fake logits"),
    ]


def _hidden_g_loss_cases() -> list[Case]:
    """Lesson 01's non-saturating G loss, -mean log D(G(z))."""
    return [
        Case((seeded(9, 256, scale=3),), label="hidden: 256 random logits"),
        Case(
            (torch.tensor([-100.0, -60.0, 100.0]),),
            label="hidden: saturated logits (log of sigmoid underflows)",
        ),
        Case(
            (seeded(10, 7, dtype=torch.float64),),
            label="hidden: float64 logits keep their dtype",
            observe=dtype_and_values,
        ),
    ]


def _hidden_step_cases() -> list[Case]:
    """Lesson 01's training step on other batches, seeds and optimizers."""
    from cyclegan_lib.lessons.exercises.lesson01 import LinearD, LinearG, parameters_after

    optimizers = {
        "SGD with momentum 0.9": lambda p: torch.optim.SGD(p, lr=0.05, momentum=0.9),
        "Adam, the paper's betas (0.5, 0.999)": lambda p: torch.optim.Adam(
            p, lr=2e-4, betas=(0.5, 0.999)
        ),
        "plain SGD, lr 1.0": lambda p: torch.optim.SGD(p, lr=1.0),
    }
    cases = []
    for seed, (name, make) in enumerate(optimizers.items(), start=11):
        G, D = LinearG(), LinearD()
        real, z = seeded(seed, 5, 1, 2, 2), seeded(seed + 100, 5, 2)
        args = (G, D, make(G.parameters()), make(D.parameters()), real, z)
        cases.append(Case(args, label=f"hidden: batch of 5, {name}", observe=parameters_after))
    return cases


def _hidden_generator_input_cases() -> list[Case]:
    """Lesson 02's [z, one_hot(y)] (conditional GAN, Mirza & Osindero 2014)."""
    return [
        Case((seeded(20, 10, 5), torch.arange(10)), label="hidden: every label 0..9"),
        Case(
            (seeded(21, 3, 4, dtype=torch.float64), torch.tensor([9, 9, 1])),
            label="hidden: float64 z keeps its dtype",
            observe=dtype_and_values,
        ),
        Case(
            (
                seeded(22, 64, 100),
                torch.randint(0, 10, (64,), generator=torch.Generator().manual_seed(23)),
            ),
            label="hidden: a batch of 64 with z of 100 numbers",
        ),
    ]


def _hidden_label_planes_cases() -> list[Case]:
    """Lesson 02's label planes: D(x | y) sees the label as 10 constant channels."""
    return [
        Case(
            (seeded(24, 2, 3, 5, 7), torch.tensor([0, 9])),
            label="hidden: 3x5x7 images (height != width)",
        ),
        Case((seeded(25, 10, 1, 2, 2), torch.arange(10)), label="hidden: every label 0..9"),
        Case(
            (seeded(26, 2, 1, 3, 3, dtype=torch.float64), torch.tensor([4, 2])),
            label="hidden: float64 images keep their dtype",
            observe=dtype_and_values,
        ),
    ]


def _hidden_conditional_step_cases() -> list[Case]:
    """Lesson 02's conditional step, other labels, batch and optimizer."""
    from cyclegan_lib.lessons.exercises.lesson01 import parameters_after
    from cyclegan_lib.lessons.exercises.lesson02 import LinearConditionalD, LinearConditionalG

    cases = []
    for seed, adam in ((30, False), (31, True)):
        G, D = LinearConditionalG(), LinearConditionalD()
        real, z = seeded(seed, 3, 1, 2, 2), seeded(seed + 100, 3, 2)
        labels = torch.tensor([7, 7, 2]) if adam else torch.tensor([0, 5, 9])
        make = (
            (lambda p: torch.optim.Adam(p, lr=0.1))
            if adam
            else (lambda p: torch.optim.SGD(p, lr=0.3))
        )
        args = (G, D, make(G.parameters()), make(D.parameters()), real, z, labels)
        label = f"hidden: batch of 3, labels {labels.tolist()}, {'Adam' if adam else 'SGD'}"
        cases.append(Case(args, label=label, observe=parameters_after))
    return cases


BUILTIN_HIDDEN: dict[str, dict[str, CaseFactory]] = {
    "00": {"scale_pixels": _hidden_scale_pixels_cases},
    "01": {
        "discriminator_loss": _hidden_d_loss_cases,
        "non_saturating_generator_loss": _hidden_g_loss_cases,
        "train_step": _hidden_step_cases,
    },
    "02": {
        "generator_input": _hidden_generator_input_cases,
        "label_planes": _hidden_label_planes_cases,
        "conditional_train_step": _hidden_conditional_step_cases,
    },
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
