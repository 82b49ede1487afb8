"""``cyclegan grade``: grade learner notebooks in bulk, each in its own sandboxed process.

For every submission the grader (this process) only reads the file: which lesson
it is (``NN_`` in its name, or ``--lesson``), whether it is a valid notebook and
not too large. The notebook itself runs in a child process (see
:mod:`.sandbox` and :mod:`.runner`), in the ``smoke`` profile, with a time limit;
each exercise is scored on its visible and hidden cases (:mod:`.hidden_tests`).
Whatever a submission does, it costs only that learner points, with a reason in
the report (:mod:`.report`). ``docs/grading.md`` is the instructor's guide.
"""

from __future__ import annotations

import argparse
import os
import re
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cyclegan_lib.tools.grading.hidden_tests import lesson_exercises
from cyclegan_lib.tools.grading.report import (
    ExerciseGrade,
    SubmissionGrade,
    summary_table,
    write_reports,
)
from cyclegan_lib.tools.grading.sandbox import (
    MODES,
    Limits,
    RunResult,
    SandboxError,
    choose_mode,
    run_isolated,
)

LESSON_IN_NAME = re.compile(r"(?:^|[_\-\s])(\d\d)_[A-Za-z]")
MAX_NOTEBOOK_BYTES = 50 * 2**20


def find_submissions(path: Path) -> list[tuple[str, Path]]:
    """(learner, notebook) pairs: the file itself, or every notebook under a folder.

    A learner is named by the notebook's path relative to the folder, without
    ``.ipynb`` (``alice/00_start_here``), so nbgrader's ``submitted/<student>/``
    layout and flat ``<student>_00_start_here.ipynb`` files both work.
    """
    if path.is_file():
        return [(path.stem, path)]
    found = sorted(
        p for p in path.rglob("*.ipynb") if not any(part.startswith(".") for part in p.parts)
    )
    return [(p.relative_to(path).with_suffix("").as_posix(), p) for p in found]


def lesson_of(notebook: Path, override: str | None) -> str | None:
    """The lesson number: ``--lesson`` if given, else the ``NN_`` in the file's name."""
    if override:
        return override
    match = LESSON_IN_NAME.search(notebook.name)
    return match.group(1) if match else None


def read_notebook(notebook: Path) -> tuple[str, str]:
    """(the notebook as nbformat 4 JSON, "") or ("", why the grader won't run this file)."""
    import nbformat  # slow to import (JSON schema); only the grader needs it

    size = notebook.stat().st_size
    if size > MAX_NOTEBOOK_BYTES:
        limit = MAX_NOTEBOOK_BYTES // 2**20
        return "", f"the file is {size / 2**20:.0f} MiB, over the {limit} MiB limit"
    try:
        return nbformat.writes(nbformat.read(str(notebook), as_version=4)), ""
    except Exception as error:  # any parse failure is the learner's, reported, not raised
        first_line = str(error).splitlines()[0][:200] if str(error) else ""
        return "", f"not a valid notebook: {type(error).__name__}: {first_line}"


def stop_reason(run: RunResult, limits: Limits) -> str:
    """Why the run ended before every exercise was graded, in one sentence."""
    cells = [r["cell"] for r in run.records if r.get("event") == "cell"]
    where = f" in cell {cells[-1]}" if cells else ""
    if run.timed_out:
        return f"stopped: the time limit of {limits.timeout:g} s was reached{where}"
    if run.output_exceeded:
        return f"stopped: printed more than {limits.max_output / 2**20:g} MiB{where}"
    if any(r.get("event") == "done" for r in run.records):
        return ""
    tail = run.output.strip().splitlines()[-1:] or ["no output"]
    return f"stopped: the notebook's process ended (exit code {run.returncode}){where}: {tail[0][:200]}"


def collect(run: RunResult, totals: dict[str, int], reason: str) -> list[ExerciseGrade]:
    """One grade per expected exercise, from the runner's records; zero with ``reason`` if absent."""
    records = {r.get("exercise"): r for r in run.records if r.get("event") == "exercise"}
    grades = []
    for name, total in totals.items():
        record = records.get(name)
        passed = record.get("passed") if record else None
        if not isinstance(passed, int):  # absent, or not what the runner writes
            grades.append(ExerciseGrade(name, "not_reached", 0, total, reason or "not graded"))
            continue
        passed = max(0, min(passed, total))
        grades.append(
            ExerciseGrade(
                name,
                str(record.get("status")),
                passed,
                total,
                str(record.get("feedback", "")),
                str(record.get("visible", "")),
                str(record.get("hidden", "")),
            )
        )
    return grades


def grade_submission(
    learner: str, notebook: Path, lesson: str | None, limits: Limits, mode: str
) -> SubmissionGrade:
    """Grade one notebook; never raises for anything the learner's file contains or does."""
    if lesson is None:
        why = "can't tell the lesson: name the file NN_*.ipynb or pass --lesson NN"
        return SubmissionGrade(learner, str(notebook), "?", problem=why)
    exercises = lesson_exercises(lesson)
    if not exercises:
        why = f"lesson {lesson} has no exercises (no cyclegan_lib/exercises/lesson{lesson}.py)"
        return SubmissionGrade(learner, str(notebook), lesson, problem=why)
    totals = {name: len(ex.single_cases()) for name, ex in exercises.items()}
    grade = SubmissionGrade(learner, str(notebook), lesson)
    notebook_json, grade.problem = read_notebook(notebook)
    if grade.problem:
        grade.exercises = [
            ExerciseGrade(n, "invalid", 0, t, grade.problem) for n, t in totals.items()
        ]
        return grade
    run = run_isolated(notebook_json, lesson, limits, mode)
    grade.problem = stop_reason(run, limits)
    grade.exercises = collect(run, totals, grade.problem)
    grade.seconds, grade.log = run.seconds, run.output
    if run.output_bytes > len(run.output.encode()):
        grade.log += f"\n[... {run.output_bytes:,} bytes printed in all; the rest was dropped]"
    return grade


def parse_args(argv: list[str]) -> argparse.Namespace:
    def positive(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            value = 0.0
        if value <= 0:
            raise argparse.ArgumentTypeError(f"must be a positive number, got {text!r}")
        return value

    def lesson(text: str) -> str:
        if not re.fullmatch(r"\d\d", text):
            raise argparse.ArgumentTypeError(f"must be two digits like 01, got {text!r}")
        return text

    parser = argparse.ArgumentParser(prog="cyclegan grade", description=__doc__.splitlines()[0])
    parser.add_argument("submissions", nargs="+", type=Path, help="notebooks or folders of them")
    parser.add_argument("--out", type=Path, default=Path("grades"), help="report folder")
    parser.add_argument("--timeout", type=positive, default=600.0, help="seconds per notebook")
    parser.add_argument("--lesson", type=lesson, help="lesson number when file names lack it")
    parser.add_argument("--jobs", type=int, default=1, help="notebooks graded at once")
    parser.add_argument("--sandbox", choices=MODES, default="auto", help="isolation (see docs)")
    parser.add_argument(
        "--max-output", type=positive, default=10.0, help="MiB a notebook may print"
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    """Grade every submission, write ``grades.csv``/``grades.json``, print a summary table."""
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    submissions = []
    for path in args.submissions:
        if not path.exists():
            print(f"cyclegan grade: no such file or folder: {path}", file=sys.stderr)
            return 2
        found = find_submissions(path)
        if not found:
            print(f"cyclegan grade: no .ipynb files in {path}", file=sys.stderr)
            return 2
        submissions += found
    try:
        mode = choose_mode(args.sandbox)
    except SandboxError as error:
        print(f"cyclegan grade: {error}", file=sys.stderr)
        return 2
    jobs = max(1, args.jobs)
    limits = Limits(
        timeout=args.timeout,
        max_output=int(args.max_output * 2**20),
        threads=max(1, (os.cpu_count() or 1) // jobs),
    )
    print(f"grading {len(submissions)} notebook(s), sandbox {mode}, {args.timeout:g} s each")
    if mode == "process":
        print(
            "warning: without bubblewrap a notebook can reach your files by absolute path "
            "(see docs/grading.md)",
            file=sys.stderr,
        )

    def one(item: tuple[str, Path]) -> SubmissionGrade:
        learner, notebook = item
        lesson = lesson_of(notebook, args.lesson)
        try:
            return grade_submission(learner, notebook, lesson, limits, mode)
        except Exception as error:  # a grader bug costs one row, not the batch
            why = f"grader error: {type(error).__name__}: {error}"
            return SubmissionGrade(learner, str(notebook), lesson or "?", problem=why)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        grades = list(pool.map(one, submissions))
    written = write_reports(grades, args.out)
    print(summary_table(grades))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
