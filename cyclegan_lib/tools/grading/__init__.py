"""``cyclegan grade``: grade learner notebooks in bulk, each in its own sandboxed process.

For every submission the grader (this process) only reads the file: which lesson
it is (``NN_`` in its name, or ``--lesson``), whether it is a valid notebook and
not too large. The notebook itself runs in a child process (see
:mod:`.sandbox` and :mod:`.runner`), in the ``smoke`` profile, with a time limit;
each exercise is scored on its visible and hidden cases (:mod:`.hidden_tests`).
Whatever a submission does, it costs only that learner points, with a reason in
the report (:mod:`.report`): memory, processes and disk are capped per submission
(:mod:`.sandbox`, :mod:`.cgroups`). The report is rewritten as each learner finishes, so
the same command run again after a crash grades only the learners still missing.
``docs/grading.md`` is the instructor's guide.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import os
import re
import sys
import threading
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

from cyclegan_lib.tools.grading.hidden_tests import lesson_exercises
from cyclegan_lib.tools.grading.report import (
    ExerciseGrade,
    SubmissionGrade,
    log_file,
    summary_table,
    write_log,
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
GRADER_MEMORY = 2**30
"""Memory set aside for the grader itself and the system when ``--jobs`` is chosen."""
LIMIT_WORDS = {
    "memory": "the memory limit of {memory:g} GiB was reached",
    "tasks": "the limit of {tasks} processes and threads was reached",
    "disk": "its folder passed the disk quota of {disk:g} MiB or {files} files",
}


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
    limit = run.limit or next(
        (r.get("limit") for r in run.records if r.get("event") == "limit"), ""
    )
    if limit in LIMIT_WORDS:
        words = LIMIT_WORDS[limit].format(
            memory=limits.max_memory / 2**30,
            tasks=limits.max_tasks,
            disk=limits.max_disk / 2**20,
            files=limits.max_files,
        )
        return f"stopped: {words}{where}"
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
    grade = SubmissionGrade(learner, str(notebook), lesson, digest=file_digest(notebook))
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
    grade.peak_memory_mib = round(run.peak_memory / 2**20, 1)
    if run.output_bytes > len(run.output.encode()):
        grade.log += f"\n[... {run.output_bytes:,} bytes printed in all; the rest was dropped]"
    return grade


def file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def default_jobs(max_memory: int) -> int:
    """Notebooks at once: one per core, as many as the available memory holds at their cap."""
    available = 0
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                available = int(line.split()[1]) * 1024
    except OSError:
        pass
    by_memory = (available - GRADER_MEMORY) // max_memory if available else 1
    return max(1, min(os.cpu_count() or 1, by_memory))


def earlier_grades(out: Path, submissions: list[tuple[str, Path]]) -> dict[str, SubmissionGrade]:
    """Grades in ``out/grades.json`` from an earlier run of the same files (same SHA-256)."""
    try:
        records = json.loads((out / "grades.json").read_text())
        wanted = {learner: str(notebook) for learner, notebook in submissions}
        found = {}
        for record in records:
            learner = record["learner"]
            if wanted.get(learner) == record["file"] and record.get("digest"):
                if record["digest"] == file_digest(Path(record["file"])):
                    log = log_file(out, learner)
                    text = log.read_text(encoding="utf-8") if log.is_file() else ""
                    found[learner] = SubmissionGrade.from_dict(record, text)
        return found
    except (OSError, ValueError, KeyError, TypeError):
        return {}  # no report yet, or not one of ours: grade everything


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
    parser.add_argument(
        "--jobs", type=int, help="notebooks graded at once (default: from cores and memory)"
    )
    parser.add_argument(
        "--max-memory", type=positive, default=4.0, help="GiB per notebook, all its processes"
    )
    parser.add_argument(
        "--max-processes", type=int, default=256, help="processes and threads per notebook"
    )
    parser.add_argument("--max-disk", type=positive, default=1024.0, help="MiB in its folder")
    parser.add_argument("--max-files", type=int, default=10_000, help="files in its folder")
    parser.add_argument(
        "--regrade", action="store_true", help="grade every notebook, even ones in --out already"
    )
    parser.add_argument(
        "--no-cgroups", action="store_true", help="use the fallback limits even where cgroups work"
    )
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
    max_memory = int(args.max_memory * 2**30)
    jobs = max(1, args.jobs or default_jobs(max_memory))
    limits = Limits(
        timeout=args.timeout,
        max_output=int(args.max_output * 2**20),
        max_memory=max_memory,
        max_tasks=args.max_processes,
        max_disk=int(args.max_disk * 2**20),
        max_files=args.max_files,
        threads=max(1, (os.cpu_count() or 1) // jobs),
        use_cgroups=not args.no_cgroups,
    )
    print(
        f"grading {len(submissions)} notebook(s), {jobs} at once, sandbox {mode}, "
        f"{args.timeout:g} s and {args.max_memory:g} GiB each"
    )
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

    done = {} if args.regrade else earlier_grades(args.out, submissions)
    if done:
        print(f"{len(done)} of them already graded in {args.out}/grades.json (--regrade to redo)")
    lock = threading.Lock()

    def one_and_report(item: tuple[str, Path]) -> None:
        grade = one(item)
        with lock:  # the report so far, in submission order, replaced atomically
            done[grade.learner] = grade
            write_log(args.out, grade)
            finished = [done[learner] for learner, _ in submissions if learner in done]
            write_reports(finished, args.out, logs=False)

    with ThreadPoolExecutor(max_workers=jobs) as pool:
        list(pool.map(one_and_report, [item for item in submissions if item[0] not in done]))
    grades = [done[learner] for learner, _ in submissions]
    written = write_reports(grades, args.out)
    print(summary_table(grades))
    print("wrote " + ", ".join(str(p) for p in written))
    return 0
