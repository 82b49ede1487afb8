"""nbgrader's autograder test cells: one per exercise, right after its solution cell.

nbgrader scores a *grade* cell (a locked code cell with ``points``) by its output: an error,
or anything printed to stderr, scores 0; a number as the cell's result scores that number
(partial credit, at most the points); anything else scores full points. Each test cell
here ends with :func:`autograde`, which runs the learner's function on the exercise's
visible and hidden cases (:mod:`.hidden_tests`) and returns ``points`` times the fraction
that pass, the same fraction ``cyclegan grade`` reports.

The cell sits *before* the lesson's check cell, because ``f = check(f, EXERCISE)``
replaces a wrong ``f`` by the library's version to keep the lesson running. Add the cells
to a lesson (idempotent: cells already there are kept) with
``python -m cyclegan_lib.tools.grading.nbgrader_cells notebooks/NN_name.ipynb``.
"""

from __future__ import annotations

import re
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

import nbformat

from cyclegan_lib.tools.grading.hidden_tests import (
    checked_functions,
    lesson_exercises,
    score_answer,
)
from cyclegan_lib.tools.nbtools import is_solution_cell
from cyclegan_lib.tools.slides import assign_defaults

MARK = "# Autograder test (nbgrader)"
"""The first line of every test cell; how :func:`add_test_cells` recognizes its own."""


def autograde(answer: Callable, lesson: str, exercise: str, points: float = 1.0) -> float:
    """``points`` x the fraction of the exercise's visible and hidden cases ``answer`` passes.

    Prints one line of feedback to stdout; warnings are silenced, since nbgrader gives zero
    to a test cell that writes to stderr.
    """
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        score = score_answer(answer, lesson_exercises(lesson)[exercise])
    print(f"{exercise}: {score.passed}/{score.total} cases pass ({score.feedback})")
    return round(points * score.passed / score.total, 3) if score.total else 0.0


def grade_cell(function: str, lesson: str, exercise: str, points: float) -> nbformat.NotebookNode:
    """A locked nbgrader grade cell worth ``points`` that grades ``function``."""
    source = (
        f"{MARK}: {exercise}, {points:g} point{'s' if points != 1 else ''}. It runs the\n"
        "# visible cases and hidden ones; the score is the fraction that pass.\n"
        "from cyclegan_lib.tools.grading.nbgrader_cells import autograde\n\n"
        f'autograde({function}, "{lesson}", "{exercise}", points={points:g})'
    )
    cell = nbformat.v4.new_code_cell(source)
    cell.id = f"test-{exercise}"  # stable, so every copy of the lesson gets the same cell
    cell.metadata["slideshow"] = {"slide_type": "skip"}  # grading, not teaching
    cell.metadata["nbgrader"] = {
        "grade": True,
        "grade_id": f"test_{exercise}",
        "locked": True,
        "points": points,
        "schema_version": 3,
        "solution": False,
    }
    return cell


def add_test_cells(nb: nbformat.NotebookNode, lesson: str, points: float = 1.0) -> list[str]:
    """Insert a test cell after the solution cell of every exercise that has none yet;
    return the exercises that got one."""
    functions = checked_functions([c.source for c in nb.cells if c.cell_type == "code"], lesson)
    present = {c.metadata.get("nbgrader", {}).get("grade_id") for c in nb.cells}
    added = []
    for exercise, function in functions.items():
        if f"test_{exercise}" in present:
            continue
        defines = re.compile(rf"^def {re.escape(function)}\(", re.M)
        where = next(
            (i for i, c in enumerate(nb.cells) if is_solution_cell(c) and defines.search(c.source)),
            None,
        )
        if where is None:
            raise ValueError(f"lesson {lesson}: no solution cell defines {function}()")
        nb.cells.insert(where + 1, grade_cell(function, lesson, exercise, points))
        added.append(exercise)
    assign_defaults(nb)
    return added


def main(argv: list[str] | None = None) -> int:
    """Add the missing test cells to each lesson notebook named on the command line."""
    for name in sys.argv[1:] if argv is None else argv:
        path = Path(name)
        lesson = path.name[:2]
        nb = nbformat.read(str(path), as_version=4)
        added = add_test_cells(nb, lesson)
        nbformat.write(nb, str(path))
        print(f"{path}: test cells added for {', '.join(added) or 'nothing (all present)'}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
