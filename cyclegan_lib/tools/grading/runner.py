"""Execute one learner notebook and grade each exercise right after its cell runs.

This module runs *inside* the sandboxed child process that the grader starts
(``python -m cyclegan_lib.tools.grading.runner NOTEBOOK LESSON --results-fd N``),
never in the grader's own process. Cells run in an IPython shell, top to bottom,
like "Run All" in Jupyter, and like nbgrader's autograder execution goes on
past a cell that raises. The learner's function (the one the notebook passes to
``check``, see :func:`~.hidden_tests.checked_functions`) is graded as soon as the
cell that defines it has run: later cells replace it (``f = check(f, EXERCISE)``
returns the library's version when ``f`` is wrong), so grading at the end would
grade the reference.

Each result is written at once, as one JSON line, to a pipe the grader reads,
so a later infinite loop or crash keeps the scores already earned.
"""

from __future__ import annotations

import argparse
import ast
import errno
import json
import os
import re
import resource
import traceback
from dataclasses import asdict
from pathlib import Path

from cyclegan_lib.tools.grading.hidden_tests import (
    GradedExercise,
    Score,
    checked_functions,
    lesson_exercises,
    score_answer,
)
from cyclegan_lib.tools.grading.sandbox import Limits, folder_over

DEFINITION = re.compile(r"^(?:async\s+)?(?:def|class)\s+(\w+)", re.M)


class ResultPipe:
    """One JSON object per line on the file descriptor the grader passed in."""

    def __init__(self, fd: int) -> None:
        self._file = os.fdopen(fd, "w", buffering=1, encoding="utf-8")

    def send(self, **record) -> None:
        self._file.write(json.dumps(record) + "\n")
        self._file.flush()


def defined_names(source: str, shell) -> set[str]:
    """Functions and classes a cell defines at top level; a regex when it won't parse.

    Assignments don't count: ``f = check(f, EXERCISE)`` rebinds ``f`` to the reference.
    """
    try:
        tree = ast.parse(shell.transform_cell(source))
    except SyntaxError:
        return set(DEFINITION.findall(source))
    definitions = (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)
    return {node.name for node in tree.body if isinstance(node, definitions)}


def describe_error(error: BaseException) -> str:
    """One line: ``SyntaxError: expected ':' (line 1)``, ``NameError: name 'x' is not defined``."""
    if isinstance(error, SyntaxError):
        return f"{type(error).__name__}: {error.msg} (line {error.lineno})"
    return traceback.format_exception_only(type(error), error)[-1].strip()


def new_shell():
    """A fresh in-process IPython shell without history (the sandbox's home is throw-away)."""
    from IPython.core.interactiveshell import InteractiveShell
    from traitlets.config import Config

    config = Config()
    config.HistoryManager.enabled = False
    return InteractiveShell.instance(config=config)


def limit_resources(max_file_bytes: int, max_memory_bytes: int, max_tasks: int) -> None:
    """Hard limits the learner's code can't raise: file size, no core dumps, and per process
    the writable memory (``RLIMIT_DATA``: unlike an address-space limit it leaves the large
    reservations of torch's libraries alone) and the tasks of this user, counted from now.

    ``RLIMIT_NPROC`` counts every process and thread of the (namespace's) user and is
    ignored for root; the cgroup or the grader's watchdog covers what it does not.
    """
    resource.setrlimit(resource.RLIMIT_FSIZE, (max_file_bytes, max_file_bytes))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))
    if max_memory_bytes > 0:
        resource.setrlimit(resource.RLIMIT_DATA, (max_memory_bytes, max_memory_bytes))
    if max_tasks > 0:
        tasks = tasks_of_user(os.getuid()) + max_tasks
        resource.setrlimit(resource.RLIMIT_NPROC, (tasks, tasks))


def tasks_of_user(uid: int) -> int:
    """Processes and threads that ``uid`` runs now (what ``RLIMIT_NPROC`` counts)."""
    count = 0
    for entry in os.listdir("/proc"):
        try:
            if entry.isdigit() and os.stat(f"/proc/{entry}").st_uid == uid:
                count += len(os.listdir(f"/proc/{entry}/task"))
        except OSError:
            continue
    return count


def limit_reached(error: BaseException | None) -> str:
    """``memory`` or ``tasks`` when a cell failed because a limit refused memory or a process."""
    if isinstance(error, MemoryError) or "can't allocate memory" in str(error):
        return "memory"  # numpy's and Python's MemoryError, torch's allocator RuntimeError
    if isinstance(error, BlockingIOError) and error.errno == errno.EAGAIN:
        return "tasks"  # fork, subprocess or a thread refused at the limit
    return ""


def grade_notebook(path: str, lesson: str, pipe: ResultPipe, quota: Limits | None = None) -> None:
    """Run the notebook's code cells; grade each exercise after the cell that defines it.

    With a ``quota``, the folder is measured after every cell, so a cell that fills it is the
    one named (the grader's watchdog also polls it, but only every second)."""
    pending = lesson_exercises(lesson)
    with open(path, encoding="utf-8") as handle:
        cells = json.load(handle)["cells"]  # nbformat 4, checked and converted by the grader
    code = [
        (n, "".join(c["source"]), c)
        for n, c in enumerate(cells, start=1)
        if c["cell_type"] == "code"
    ]
    function_of = checked_functions([source for _, source, _ in code], lesson)
    shell = new_shell()
    for number, source, cell in code:
        if not pending:
            break  # every exercise is graded; the rest of the lesson can't change a score
        defined = defined_names(source, shell)
        defined.add(cell.get("metadata", {}).get("nbgrader", {}).get("grade_id"))
        targets = [name for name in pending if function_of[name] in defined]
        pipe.send(event="cell", cell=number)
        result = shell.run_cell(source, store_history=False)
        error = result.error_before_exec or result.error_in_exec
        if (limit := limit_reached(error)) or (quota and folder_over(Path.cwd(), quota)):
            pipe.send(event="limit", limit=limit or "disk", cell=number)
            return  # as if the kernel had killed it: the rest of the run is not graded
        for name in targets:
            function = function_of[name]
            answer = shell.user_ns.get(function)
            pipe.send(**grade_answer(answer, function, pending.pop(name), number, error))
    for name, graded in pending.items():
        why = f"no cell defines {function_of[name]!r} (was its exercise cell deleted or renamed?)"
        pipe.send(**unscored(name, graded, "missing", why))
    pipe.send(event="done")


def unscored(name: str, graded: GradedExercise, status: str, feedback: str) -> dict:
    """A zero-score record for an exercise that couldn't be graded, with the reason."""
    score = Score(status, 0, len(graded.single_cases()), visible="", hidden="", feedback=feedback)
    return dict(event="exercise", exercise=name, **asdict(score))


def grade_answer(
    answer, function: str, graded: GradedExercise, cell: int, error: BaseException | None
) -> dict:
    """The result record for one exercise, from the object its cell left as ``function``."""
    if answer is None or not callable(answer):
        why = f"raised {describe_error(error)}" if error else f"does not define {function!r}"
        return unscored(graded.name, graded, "error", f"cell {cell} {why}")
    score = score_answer(answer, graded)
    record = dict(event="exercise", exercise=graded.name, **asdict(score))
    if error:
        record["feedback"] += f" (cell {cell} also raised {describe_error(error)})"
    return record


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m cyclegan_lib.tools.grading.runner")
    parser.add_argument("notebook")
    parser.add_argument("lesson")
    parser.add_argument("--results-fd", type=int, required=True)
    parser.add_argument("--max-file-bytes", type=int, default=100 * 2**20)
    parser.add_argument("--max-memory-bytes", type=int, default=0)
    parser.add_argument("--max-tasks", type=int, default=0)
    parser.add_argument("--max-disk-bytes", type=int, default=Limits.max_disk)
    parser.add_argument("--max-files", type=int, default=Limits.max_files)
    args = parser.parse_args(argv)
    limit_resources(args.max_file_bytes, args.max_memory_bytes, args.max_tasks)
    quota = Limits(max_disk=args.max_disk_bytes, max_files=args.max_files)
    grade_notebook(args.notebook, args.lesson, ResultPipe(args.results_fd), quota)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
