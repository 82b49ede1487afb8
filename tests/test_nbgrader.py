"""nbgrader's own pipeline on the instructor notebooks: generate_assignment, then autograde
a filled-in submission (full marks) and an untouched release copy (zero), in a temporary
nbgrader course; and the test cells that make it award points."""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.tools.grading.hidden_tests import checked_functions, lesson_exercises
from cyclegan_lib.tools.grading.nbgrader_cells import add_test_cells, autograde
from cyclegan_lib.tools.nbtools import is_solution_cell, lessons, student_path

LESSONS = ["00_start_here", "01_vanilla_gan"]
ASSIGNMENT = "lessons"


def nbgrader(course: Path, *args: str) -> str:
    """Run ``nbgrader`` in the course folder, lessons in the smoke profile (the venv's bin on
    PATH: nbgrader runs its ``alembic`` command to set up the gradebook)."""
    env = os.environ | {
        "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}",
        "COURSE_PROFILE": "smoke",
        "COURSE_BUILD_DIR": str(course / "build"),
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run(
        [sys.executable, "-m", "nbgrader", *args, "--ExecutePreprocessor.timeout=900"],
        cwd=course, env=env, capture_output=True, text=True,
    )  # fmt: skip
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-5000:]
    return done.stdout + done.stderr


def lesson_points(lesson: str) -> float:
    """What nbgrader should award a notebook with every exercise right."""
    nb = nbformat.read(str(repo_root() / "notebooks" / f"{lesson}.ipynb"), as_version=4)
    grades = [c.metadata.get("nbgrader", {}) for c in nb.cells]
    return sum(g.get("points", 0) for g in grades if g.get("grade"))


@pytest.mark.slow
def test_nbgrader_generates_and_autogrades_the_lessons(tmp_path):
    pytest.importorskip("nbgrader", reason="nbgrader is in the dev extra")
    from nbgrader.api import Gradebook

    course = tmp_path / "course"
    source = course / "source" / ASSIGNMENT
    source.mkdir(parents=True)
    for lesson in LESSONS:
        shutil.copy(repo_root() / "notebooks" / f"{lesson}.ipynb", source)
    (course / "nbgrader_config.py").write_text(
        "c = get_config()\n"
        "c.CourseDirectory.course_id = 'cyclegan'\n"
        f"c.CourseDirectory.root = {str(course)!r}\n"
    )
    nbgrader(course, "generate_assignment", ASSIGNMENT, "--force")
    release = course / "release" / ASSIGNMENT
    for lesson in LESSONS:
        released = (release / f"{lesson}.ipynb").read_text()
        assert "### BEGIN SOLUTION" not in released and "raise NotImplementedError" in released
    for student, folder in (("filled", source), ("empty", release)):
        submission = course / "submitted" / student / ASSIGNMENT
        submission.mkdir(parents=True)
        for lesson in LESSONS:
            shutil.copy(folder / f"{lesson}.ipynb", submission)
    nbgrader(course, "autograde", ASSIGNMENT, "--create")
    expected = {lesson: lesson_points(lesson) for lesson in LESSONS}
    assert expected == {"00_start_here": 1, "01_vanilla_gan": 3}
    with Gradebook(f"sqlite:///{course / 'gradebook.db'}") as book:
        for student, fraction in (("filled", 1.0), ("empty", 0.0)):
            for lesson in LESSONS:
                graded = book.find_submission_notebook(lesson, ASSIGNMENT, student)
                assert graded.max_score == expected[lesson]
                assert graded.score == pytest.approx(fraction * expected[lesson]), (
                    student,
                    lesson,
                    [(g.name, g.score) for g in graded.grades],
                )


@pytest.mark.parametrize("lesson", lessons(), ids=lambda path: path.stem)
def test_every_exercise_has_one_autograder_cell_worth_one_point(lesson):
    """Each lesson 00-06, instructor and student version: one locked grade cell per exercise
    (1 point, skipped in the slides), right after the solution cell and before the check
    that would replace a wrong answer; the lesson is worth as many points as it has
    exercises."""
    number = lesson.name[:2]
    exercises = lesson_exercises(number)
    assert exercises, f"{lesson.name} has no exercises"
    for path in (lesson, student_path(lesson)):
        nb = nbformat.read(str(path), as_version=4)
        sources = [c.source for c in nb.cells]
        functions = checked_functions([c.source for c in nb.cells if c.cell_type == "code"], number)
        grades = {
            c.metadata["nbgrader"]["grade_id"]: (i, c)
            for i, c in enumerate(nb.cells)
            if c.metadata.get("nbgrader", {}).get("grade")
        }
        assert sorted(grades) == sorted(f"test_{name}" for name in exercises), path
        assert sum(c.metadata["nbgrader"]["points"] for _, c in grades.values()) == len(exercises)
        for name, function in functions.items():
            where, cell = grades[f"test_{name}"]
            assert cell.metadata["nbgrader"]["locked"] and cell.metadata["nbgrader"]["points"] == 1
            assert cell.metadata["slideshow"]["slide_type"] == "skip"
            assert f'autograde({function}, "{number}", "{name}", points=1)' in cell.source
            solution = nb.cells[where - 1]
            assert is_solution_cell(solution) or "raise NotImplementedError" in solution.source
            assert re.search(rf"^def {function}\(", solution.source, re.M), (path, name)
            check = next(i for i, s in enumerate(sources) if f"{function} = check(" in s)
            assert where < check, (path, name)
    nb = nbformat.read(str(lesson), as_version=4)
    assert add_test_cells(nb, number) == []  # idempotent: nothing left to add


def test_autograde_returns_partial_credit(capsys):
    from cyclegan_lib.lessons.exercises.lesson00 import SCALE_PIXELS

    right = SCALE_PIXELS.reference
    assert autograde(right, "00", "scale_pixels", points=2) == 2.0
    assert "cases pass" in capsys.readouterr().out

    def visible_only(images):  # right on uint8 inputs of the visible size, wrong dtype on others
        return right(images) if images.numel() <= 64 else right(images).double()

    score = autograde(visible_only, "00", "scale_pixels", points=2)
    assert 0 < score < 2

    def placeholder(images):
        raise NotImplementedError

    assert autograde(placeholder, "00", "scale_pixels") == 0.0
    assert "not done" in capsys.readouterr().out
