"""The autograder: hidden cases, the sandbox, and what it does with bad submissions.

The robustness table grades a tiny synthetic lesson (lesson 00's exercise, a few
cells) in one batch, so one broken notebook can be seen not to break the others;
one test grades the real lesson 00, instructor and student versions.
"""

from __future__ import annotations

import csv
import json
import os
from pathlib import Path

import nbformat
import pytest

import cyclegan_lib
from cyclegan_lib.lessons.exercises import RESULTS
from cyclegan_lib.tools import nbtools
from cyclegan_lib.tools.grading import find_submissions, lesson_of, main
from cyclegan_lib.tools.grading.hidden_tests import (
    checked_functions,
    lesson_exercises,
    score_answer,
)
from cyclegan_lib.tools.grading.report import ExerciseGrade, SubmissionGrade, summary_table
from cyclegan_lib.tools.grading.samples import (
    CORRECT,
    CRASH,
    INFINITE_LOOP,
    PARTIAL,
    SYNTAX_ERROR,
    UNDONE,
)
from cyclegan_lib.tools.grading.samples import lesson00_notebook as lesson_notebook
from cyclegan_lib.tools.grading.sandbox import bwrap_works, choose_mode

FLOAT64 = PARTIAL  # scale_pixels returning float64: the dtype case fails
HUGE_OUTPUT = "import sys\nfor _ in range(400):\n    sys.stdout.write('x' * 10_000)"
GARBLED_RESULTS = (
    "import os, sys\n"
    "fd = int(sys.argv[sys.argv.index('--results-fd') + 1])\n"
    'os.write(fd, b\'not json\\n{"event": "exercise", "exercise": "scale_pixels", "passed": "all"}\\n\')\n'
    "os._exit(0)"
)


def vandal_cell(targets: list[Path]) -> str:
    """A cell that tries to overwrite and delete each target by absolute path, and its own folder."""
    return f"""import os, shutil
for target in {[str(t) for t in targets]!r}:
    for attempt in (lambda: open(target, "w").write("overwritten"), lambda: os.remove(target),
                    lambda: shutil.rmtree(os.path.dirname(target))):
        try:
            attempt()
            print("vandal succeeded on", target)
        except Exception as error:
            print("vandal blocked:", type(error).__name__)
shutil.rmtree(os.getcwd(), ignore_errors=True)"""


def write_submissions(folder: Path, notebooks: dict[str, str]) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for learner, text in notebooks.items():
        (folder / f"{learner}_00_start_here.ipynb").write_text(text)


def grade_folder(folder: Path, out: Path, *options: str) -> dict[str, dict]:
    assert main([str(folder), "--out", str(out), *options]) == 0
    return {g["learner"]: g for g in json.loads((out / "grades.json").read_text())}


# ------------------------------------------------------------------ hidden cases
def test_lesson00_exercise_has_visible_and_hidden_cases():
    graded = lesson_exercises("00")["scale_pixels"]
    kinds = [kind for kind, _ in graded.single_cases()]
    assert kinds.count("visible") == 2 and kinds.count("hidden") == 5


def test_hidden_cases_are_stricter_than_the_visible_check():
    """float64 output passes the notebook's check but not the grader's dtype case."""
    graded = lesson_exercises("00")["scale_pixels"]
    score = score_answer(lambda images: images.double() / 127.5 - 1.0, graded)
    assert (score.status, score.visible, score.hidden) == ("failed", "2/2", "1/5")
    assert "float32" in score.feedback
    right = score_answer(lambda images: images.float() / 127.5 - 1.0, graded)
    assert (right.status, right.passed, right.total) == ("passed", 7, 7)


def test_each_case_is_scored_on_its_own():
    """An answer wrong only on value 255 still earns the cases that don't contain 255."""
    graded = lesson_exercises("00")["scale_pixels"]
    score = score_answer(lambda images: (images.float() / 127.5 - 1.0).clamp(max=0.99), graded)
    assert score.status == "failed" and 0 < score.passed < score.total


def test_unknown_lesson_has_no_exercises():
    assert lesson_exercises("99") == {}


def test_every_exercise_of_every_lesson_can_be_graded():
    """Each solution cell's function is checked against an Exercise of its lesson, and each
    Exercise has a solution cell: otherwise the grader can't find the learner's answer."""
    for lesson in nbtools.lessons():
        nb = nbformat.read(str(lesson), 4)
        cells = list(enumerate(nb.cells))
        solved = {nbtools.solution_id(c, i) for i, c in cells if nbtools.is_solution_cell(c)}
        number = lesson_of(lesson, None)
        sources = [c.source for _, c in cells if c.cell_type == "code"]
        graded = set(checked_functions(sources, number).values())
        assert solved <= graded, f"{lesson.name}: no Exercise checks {sorted(solved - graded)}"
        assert graded <= solved, (
            f"{lesson.name}: no solution cell defines {sorted(graded - solved)}"
        )


def test_check_calls_map_functions_to_exercises():
    sources = ["d = check(my_scale, lesson00.SCALE_PIXELS)", "x = check(other, NOT_AN_EXERCISE)"]
    assert checked_functions(sources, "00") == {"scale_pixels": "my_scale"}
    assert checked_functions(["def broken(:"], "00") == {"scale_pixels": "scale_pixels"}


# ------------------------------------------------------------------ finding submissions
def test_submissions_are_named_by_relative_path(tmp_path):
    for name in (
        "alice/00_start_here.ipynb",
        "bob_00_start_here.ipynb",
        ".ipynb_checkpoints/x.ipynb",
    ):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("{}")
    found = [learner for learner, _ in find_submissions(tmp_path)]
    assert found == ["alice/00_start_here", "bob_00_start_here"]
    assert lesson_of(Path("bob_00_start_here.ipynb"), None) == "00"
    assert lesson_of(Path("float64_00_start_here.ipynb"), None) == "00"
    assert lesson_of(Path("homework.ipynb"), None) is None
    assert lesson_of(Path("homework.ipynb"), "03") == "03"


# ------------------------------------------------------------------ the robustness table
SCALE_PIXELS_CASES = len(lesson_exercises("00")["scale_pixels"].single_cases())
"""Visible and hidden cases of lesson 00's exercise; the float64 answer passes the 3 of them
that do not look at the dtype (the two visible ones and "input unchanged")."""
ROBUSTNESS = {
    # learner: (notebook, expected score, expected status, words in the feedback)
    "correct": (lesson_notebook(CORRECT), 1.0, "passed", f"all {SCALE_PIXELS_CASES} cases pass"),
    "undone": (lesson_notebook(UNDONE), 0.0, "not_done", "NotImplementedError"),
    "float64": (lesson_notebook(FLOAT64), round(3 / SCALE_PIXELS_CASES, 3), "failed", "float32"),
    "syntax_error": (
        lesson_notebook(SYNTAX_ERROR),
        0.0,
        "error",
        "SyntaxError: expected ':' (line 1)",
    ),
    "infinite_loop": (lesson_notebook(CORRECT, (INFINITE_LOOP,)), 0.0, "not_reached", "time limit"),
    "huge_output": (lesson_notebook(CORRECT, (HUGE_OUTPUT,)), 0.0, "not_reached", "printed more"),
    "crash": (lesson_notebook(CORRECT, (CRASH,)), 0.0, "not_reached", "exit code 3"),
    "garbled_results": (
        lesson_notebook(CORRECT, (GARBLED_RESULTS,)),
        0.0,
        "not_reached",
        "exit code 0",
    ),
    "cell_deleted": (lesson_notebook(None), 0.0, "missing", "no cell defines"),
    "not_json": ('{"cells": [ this is not JSON', 0.0, "invalid", "not a valid notebook"),
}


@pytest.fixture(scope="module")
def robustness_grades(tmp_path_factory):
    folder = tmp_path_factory.mktemp("submissions")
    write_submissions(folder, {k: v[0] for k, v in ROBUSTNESS.items()})
    out = tmp_path_factory.mktemp("report")
    grades = grade_folder(folder, out, "--timeout", "40", "--max-output", "1", "--jobs", "2")
    return grades, out


@pytest.mark.parametrize("learner", list(ROBUSTNESS))
@pytest.mark.slow
def test_robustness_table(robustness_grades, learner):
    grades, _ = robustness_grades
    _, score, status, words = ROBUSTNESS[learner]
    (exercise,) = grades[f"{learner}_00_start_here"]["exercises"]
    assert (exercise["score"], exercise["status"]) == (score, status), exercise
    assert words in exercise["feedback"], exercise["feedback"]


@pytest.mark.slow
def test_report_has_csv_json_and_capped_logs(robustness_grades):
    grades, out = robustness_grades
    with open(out / "grades.csv", newline="") as handle:
        rows = list(csv.DictReader(handle))
    assert list(rows[0])[:6] == ["learner", "lesson", "exercise", "score", "max_score", "status"]
    assert sorted(r["learner"] for r in rows) == sorted(f"{k}_00_start_here" for k in ROBUSTNESS)
    huge_log = (out / "logs" / "huge_output_00_start_here.txt").read_text()
    assert len(huge_log) < 100_000 and "bytes printed in all" in huge_log
    assert grades["correct_00_start_here"]["score"] == grades["correct_00_start_here"]["max_score"]


def test_summary_table_lists_every_learner():
    grades = [
        SubmissionGrade("ann", "a.ipynb", "00", [ExerciseGrade("f", "passed", 5, 5, "ok")]),
        SubmissionGrade("bo", "b.ipynb", "00", [ExerciseGrade("f", "invalid", 0, 5, "x")], "bad"),
    ]
    lines = summary_table(grades).splitlines()
    assert lines[0].split()[:3] == ["learner", "lesson", "score"]
    assert "1/1" in lines[2] and "0/1" in lines[3] and lines[3].endswith("bad")


# ------------------------------------------------------------------ the sandbox
def test_ci_has_bubblewrap():
    """CI installs bubblewrap (.ci/run); elsewhere the grader falls back to a plain process."""
    if os.environ.get("CI"):
        assert bwrap_works(), "bubblewrap is missing or can't create namespaces"
    assert choose_mode("process") == "process"
    assert choose_mode("auto") == ("bwrap" if bwrap_works() else "process")


@pytest.mark.skipif(not bwrap_works(), reason="bubblewrap is not usable here (CI requires it)")
@pytest.mark.slow
def test_instructor_files_survive_a_vandal_submission(tmp_path):
    instructor = tmp_path / "instructor"
    solutions = instructor / "solutions" / "00_start_here.ipynb"
    solutions.parent.mkdir(parents=True)
    solutions.write_text("the instructor's notebook")
    hidden = Path(cyclegan_lib.__file__).parent / "lessons" / "exercises" / "lesson00.py"
    before = hidden.read_bytes()
    submissions = instructor / "submitted"
    out = instructor / "report"
    write_submissions(
        submissions, {"eve": lesson_notebook(CORRECT, (vandal_cell([solutions, hidden]),))}
    )
    (submissions / "zed_00_start_here.ipynb").write_text(lesson_notebook(CORRECT))
    grades = grade_folder(submissions, out, "--timeout", "60", "--sandbox", "bwrap")
    assert solutions.read_text() == "the instructor's notebook"
    assert hidden.read_bytes() == before
    assert (submissions / "zed_00_start_here.ipynb").exists()
    eve_log = (out / "logs" / "eve_00_start_here.txt").read_text()
    assert "vandal blocked" in eve_log and "vandal succeeded" not in eve_log
    assert grades["eve_00_start_here"]["score"] == 1.0  # vandalism earned nothing, broke nothing
    assert grades["zed_00_start_here"]["score"] == 1.0


@pytest.mark.slow
def test_process_fallback_grades_and_warns(tmp_path, capsys):
    """Without bubblewrap the notebook still runs in its own process and folder, with a warning."""
    (tmp_path / "ann_00_start_here.ipynb").write_text(
        lesson_notebook(CORRECT, ("import os\nprint(os.getcwd())",))
    )
    grades = grade_folder(tmp_path, tmp_path / "out", "--sandbox", "process", "--timeout", "60")
    assert grades["ann_00_start_here"]["score"] == 1.0
    assert "can reach your files by absolute path" in capsys.readouterr().err
    log = (tmp_path / "out" / "logs" / "ann_00_start_here.txt").read_text()
    assert "cyclegan-grade-" in log and str(tmp_path) not in log  # ran in its own temporary folder


# ------------------------------------------------------------------ the command line
@pytest.mark.parametrize(
    "argv, message",
    [
        (["/no/such/place.ipynb"], "no such file or folder: /no/such/place.ipynb"),
        (["{empty}"], "no .ipynb files in"),
        (["{empty}", "--timeout", "0"], "--timeout: must be a positive number, got '0'"),
        (["{empty}", "--lesson", "1"], "--lesson: must be two digits like 01, got '1'"),
    ],
)
def test_bad_command_lines_get_one_clear_error(tmp_path, capsys, argv, message):
    argv = [a.replace("{empty}", str(tmp_path)) for a in argv]
    try:
        code = main(argv)
    except SystemExit as stop:  # argparse's own errors
        code = stop.code
    assert code == 2
    err = capsys.readouterr().err
    assert message in err and "Traceback" not in err


def test_unknown_lesson_is_reported_not_raised(tmp_path):
    (tmp_path / "homework.ipynb").write_text(lesson_notebook(CORRECT))
    grades = grade_folder(tmp_path, tmp_path / "out")
    assert "can't tell the lesson" in grades["homework"]["problem"]
    assert grades["homework"]["score"] == 0


# ------------------------------------------------------------------ the real lesson
@pytest.mark.slow
def test_real_lesson00_instructor_full_marks_student_not_done(tmp_path):
    """The committed lesson graded as a learner would hand it in, solved and unsolved."""
    lesson = nbtools.notebooks_dir() / "00_start_here.ipynb"
    RESULTS.clear()
    folder = tmp_path / "submitted"
    (folder / "teacher").mkdir(parents=True)
    (folder / "learner").mkdir()
    (folder / "teacher" / lesson.name).write_bytes(lesson.read_bytes())
    nbtools.write(nbtools.student_version(lesson), folder / "learner" / lesson.name)
    grades = grade_folder(folder, tmp_path / "out", "--timeout", "300", "--jobs", "2")
    teacher = grades["teacher/00_start_here"]["exercises"]
    learner = grades["learner/00_start_here"]["exercises"]
    assert [(e["exercise"], e["score"]) for e in teacher] == [("scale_pixels", 1.0)]
    assert [(e["exercise"], e["status"]) for e in learner] == [("scale_pixels", "not_done")]
    assert RESULTS == {}, "a notebook's check() ran in the grader's own process"
