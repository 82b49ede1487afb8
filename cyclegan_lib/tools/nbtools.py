"""Notebook tooling: diff-friendly lessons, student versions, and the course build.

* ``refresh``: run a lesson in the ``smoke`` profile, keep only the outputs of
  cells marked ``# NBVAL_CHECK_OUTPUT`` (nbval compares those), sync the Colab
  cells with :mod:`cyclegan_lib.course.config`, tag solution cells for nbgrader, give
  cells without one a slide type (:mod:`cyclegan_lib.tools.slides`), and write the
  student version.
* ``student``: write (or, with ``--check``, verify) the student versions.
* ``course``: execute every lesson in the active profile into ``build/``, with
  an HTML page each and a results summary.

Run as ``python -m cyclegan_lib.tools.nbtools {refresh,student,course} ...``.
"""

from __future__ import annotations

import argparse
import ast
import copy
import json
import os
import re
import sys
import time
from pathlib import Path
from queue import Empty

import nbformat

from cyclegan_lib.course import config
from cyclegan_lib.course.env import (
    budget_verdict,
    build_dir,
    course_goal,
    get_profile,
    repo_root,
    time_budget,
)
from cyclegan_lib.tools import slides
from cyclegan_lib.tools.site import build_site

BEGIN, END = "### BEGIN SOLUTION", "### END SOLUTION"
CHECK_MARKER = "NBVAL_CHECK_OUTPUT"
PLACEHOLDER = ["# YOUR CODE HERE", "raise NotImplementedError()"]
SETUP_TAG, BADGE_TAG = "colab-setup", "colab-badge"
LESSON_GLOB = "[0-9][0-9]_*.ipynb"
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
"""The kernel the course registers, which Jupyter and Lab start without asking."""


def notebooks_dir() -> Path:
    return repo_root() / "notebooks"


def lessons() -> list[Path]:
    """The instructor lessons, in course order."""
    return sorted(notebooks_dir().glob(LESSON_GLOB))


def lesson_setting(lesson: str, name: str, profile: str):
    """``name = env.pick(smoke=..., cpu=..., gpu=...)`` in lesson ``lesson``'s notebook, for ``profile``.

    Benchmarks read a lesson's recipe from the notebook itself, so it is never retyped.
    Only that keyword's expression is evaluated, with ``DigitRecipe``, ``env``, ``dict``
    and ``str`` in scope.
    """
    from cyclegan_lib.course import env
    from cyclegan_lib.lessons.digit_translation import DigitRecipe

    (path,) = notebooks_dir().glob(f"{lesson}_*.ipynb")
    for cell in json.loads(path.read_text())["cells"]:
        if cell["cell_type"] != "code":
            continue
        for node in ast.walk(ast.parse("".join(cell["source"]))):
            if (
                isinstance(node, ast.Assign)
                and [getattr(t, "id", None) for t in node.targets] == [name]
                and isinstance(node.value, ast.Call)
                and getattr(node.value.func, "attr", None) == "pick"
            ):
                value = next(k.value for k in node.value.keywords if k.arg == profile)
                scope = {"DigitRecipe": DigitRecipe, "env": env, "dict": dict, "str": str,
                         "__builtins__": {}}  # fmt: skip
                return eval(compile(ast.Expression(value), str(path), "eval"), scope)  # noqa: S307
    raise LookupError(f"{path.name}: no cell assigns {name} = env.pick(...)")


def student_path(lesson: Path) -> Path:
    return lesson.parent / "student" / lesson.name


# ---------------------------------------------------------------- student versions
def strip_solutions(source: str) -> str:
    """Replace every BEGIN/END SOLUTION block by nbgrader's placeholder, keeping indentation."""
    out, inside = [], False
    for line in source.splitlines():
        stripped = line.strip()
        if stripped.startswith(BEGIN):
            inside = True
            indent = line[: len(line) - len(line.lstrip())]
            out.extend(indent + p for p in PLACEHOLDER)
        elif stripped.startswith(END):
            if not inside:
                raise ValueError(f"'{END}' without '{BEGIN}' in:\n{source}")
            inside = False
        elif not inside:
            out.append(line)
    if inside:
        raise ValueError(f"'{BEGIN}' without '{END}' in:\n{source}")
    return "\n".join(out)


def is_solution_cell(cell) -> bool:
    return cell.cell_type == "code" and BEGIN in cell.source


def solution_id(cell, index: int) -> str:
    """A stable nbgrader grade_id: the first function defined in the cell, else its index."""
    match = re.search(r"^def (\w+)", cell.source, re.M)
    return match.group(1) if match else f"solution_{index}"


def tag_for_nbgrader(nb) -> None:
    """Mark solution cells as nbgrader 'autograded answer' cells (schema 3)."""
    for index, cell in enumerate(nb.cells):
        if is_solution_cell(cell):
            cell.metadata["nbgrader"] = {
                "grade": False,
                "grade_id": solution_id(cell, index),
                "locked": False,
                "schema_version": 3,
                "solution": True,
            }


def make_student(nb):
    """A copy of the lesson with every solution replaced by a placeholder."""
    student = copy.deepcopy(nb)
    for cell in student.cells:
        if is_solution_cell(cell):
            cell.source = strip_solutions(cell.source)
            cell.outputs = []
    return student


# ---------------------------------------------------------------- diff-friendly outputs
def strip_outputs(nb) -> None:
    """Keep outputs only in ``# NBVAL_CHECK_OUTPUT`` cells; drop run metadata.

    nbval refuses stored outputs without an execution count, so compared cells
    keep one: their position among the code cells, stable from run to run.
    """
    code_cells = (cell for cell in nb.cells if cell.cell_type == "code")
    for position, cell in enumerate(code_cells, start=1):
        for key in ("execution", "lines_to_next_cell"):
            cell.metadata.pop(key, None)
        compared = CHECK_MARKER in cell.source
        cell.execution_count = position if compared else None
        if not compared:
            cell.outputs = []
        for output in cell.outputs:
            if "execution_count" in output:
                output["execution_count"] = position
    nb.metadata.pop("widgets", None)
    nb.metadata.pop("jupytext", None)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)


# ---------------------------------------------------------------- Colab cells
def badge_source(lesson: Path, student: bool = False) -> str:
    folder = "notebooks/student" if student else "notebooks"
    url = f"{config.COLAB_BASE}/{folder}/{lesson.name}"
    return f"[![Open In Colab](https://colab.research.google.com/assets/colab-badge.svg)]({url})"


def setup_source() -> str:
    """The first code cell: install the course on Colab when missing, else do nothing."""
    return f'''# Colab set-up: installs the course when it is missing, does nothing when it is present.
import importlib.util
import subprocess
import sys

REPO_URL = "{config.REPO_URL}"
if importlib.util.find_spec("cyclegan_lib") is None:
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "-q", f"git+{{REPO_URL}}@{config.REPO_BRANCH}"],
        check=True,
    )
    importlib.invalidate_caches()
if "google.colab" in sys.modules:
    from google.colab import output

    output.enable_custom_widget_manager()  # ipywidgets 8 needs it on Colab'''


def sync_colab_cells(nb, lesson: Path, student: bool = False) -> None:
    for cell in nb.cells:
        tags = cell.metadata.get("tags", [])
        if SETUP_TAG in tags:
            cell.source = setup_source()
        elif BADGE_TAG in tags:
            first, _, rest = cell.source.partition("\n")
            cell.source = badge_source(lesson, student) + ("\n" + rest if rest else "")


# ---------------------------------------------------------------- execution
SHELL_POLL_SECONDS = 1.0


def in_slices(get_msg, slice_seconds: float = SHELL_POLL_SECONDS):
    """The async ``get_msg(timeout)`` of a kernel channel, waiting in slices up to ``timeout``.

    nbclient waits for a cell's reply with one poll of the shell socket as long as the
    cell's timeout. After a cell that shows a widget, that poll sometimes misses the
    reply and wakes only at the timeout (jupyter/nbclient#312): executing lesson 03 in
    ``smoke`` with a 60 s timeout, its widget cell stalled the whole 60 s in 4 of 22 runs,
    and in none of 22 with the slices. Each new poll first checks for a message already
    waiting, so polling in slices sees the reply within ``slice_seconds``; ``Empty`` is
    still raised at the timeout.
    """

    async def get_msg_in_slices(timeout: float | None = None):
        deadline = None if timeout is None else time.monotonic() + timeout
        while True:
            left = slice_seconds if deadline is None else deadline - time.monotonic()
            try:
                return await get_msg(timeout=max(0.0, min(slice_seconds, left)))
            except Empty:
                if deadline is not None and time.monotonic() >= deadline:
                    raise

    return get_msg_in_slices


def execute(nb, path: Path, profile: str, timeout: int = 1800):
    """Execute ``nb`` in a fresh kernel, with ``COURSE_PROFILE=profile``, in its folder.

    The cell's reply is awaited in short slices (:func:`in_slices`).
    """
    from nbclient import NotebookClient

    class SlicedShellClient(NotebookClient):
        async def async_start_new_kernel_client(self):
            kc = await super().async_start_new_kernel_client()
            kc.shell_channel.get_msg = in_slices(kc.shell_channel.get_msg)
            return kc

    os.environ["COURSE_PROFILE"] = profile
    client = SlicedShellClient(
        nb,
        timeout=timeout,
        kernel_name="python3",
        resources={"metadata": {"path": str(path.parent)}},
    )
    client.execute()
    return nb


def write(nb, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    nbformat.write(nb, str(path))


def student_version(lesson: Path):
    nb = nbformat.read(str(lesson), as_version=4)
    student = make_student(nb)
    sync_colab_cells(student, lesson, student=True)
    return student


def refresh(lesson: Path) -> None:
    """Re-run a lesson in smoke, keep the compared outputs, write it and its student version."""
    nb = nbformat.read(str(lesson), as_version=4)
    sync_colab_cells(nb, lesson)
    tag_for_nbgrader(nb)
    execute(nb, lesson, "smoke")
    current = nbformat.read(str(lesson), as_version=4)  # edits made while it ran are kept
    sync_colab_cells(current, lesson)
    tag_for_nbgrader(current)
    changed = copy_outputs(nb, current)
    strip_outputs(current)
    slides.assign_defaults(current)  # new cells get a slide type; explicit ones are kept
    write(current, lesson)
    write(student_version(lesson), student_path(lesson))
    print(f"refreshed {lesson.name} and its student version")
    if changed:
        print(f"  cells edited while it ran, refresh again: {', '.join(changed)}")


def copy_outputs(ran, current) -> list[str]:
    """Outputs of ``ran`` onto the cells of ``current`` with the same id and source.

    Returns the ids of code cells whose source changed since the run (they keep none).
    """
    by_id = {cell.get("id"): cell for cell in ran.cells if cell.cell_type == "code"}
    changed = []
    for cell in current.cells:
        if cell.cell_type != "code":
            continue
        source = by_id.get(cell.get("id"))
        if source is not None and source.source == cell.source:
            cell.outputs, cell.execution_count = source.outputs, source.execution_count
        else:
            cell.outputs = []
            changed.append(str(cell.get("id")))
    return changed


def stale_students() -> list[str]:
    """Lessons whose committed student version differs from a freshly generated one."""
    stale = []
    for lesson in lessons():
        target = student_path(lesson)
        fresh = nbformat.writes(student_version(lesson))
        if not target.exists() or nbformat.writes(nbformat.read(str(target), 4)) != fresh:
            stale.append(lesson.name)
    return stale


# ---------------------------------------------------------------- the course build
def export_html(nb, path: Path) -> None:
    from nbconvert import HTMLExporter

    body, _ = HTMLExporter().from_notebook_node(nb)
    path.write_text(body)


def build_course(profile: str, selected: list[Path]) -> int:
    """Execute lessons into ``build/``: notebooks, HTML pages and ``results/summary.json``."""
    out = build_dir()
    (out / "notebooks").mkdir(parents=True, exist_ok=True)
    runs, failures = [], 0
    for lesson in selected:
        nb = nbformat.read(str(lesson), as_version=4)
        start, status = time.perf_counter(), "ok"
        try:
            execute(nb, lesson, profile)
        except Exception as error:  # keep building the other lessons, report at the end
            status, failures = f"failed: {type(error).__name__}", failures + 1
            print(f"{lesson.name}: {status}\n{str(error)[-2000:]}", file=sys.stderr)
        seconds = round(time.perf_counter() - start, 1)
        write(nb, out / "notebooks" / lesson.name)
        export_html(nb, out / f"{lesson.stem}.html")
        run = {"lesson": lesson.stem, "status": status, "seconds": seconds, "profile": profile}
        runs.append(run | {"budget_seconds": time_budget(lesson.stem, profile)})
        print(describe_run(runs[-1]))
    print(describe_course(runs))
    write_summary(out, runs)
    return 1 if failures else 0


def describe_run(run: dict) -> str:
    """A lesson's line in ``make course``: status and time, against its budget if it has one."""
    line = f"{run['lesson']}: {run['status']} in {run['seconds']} s"
    verdict = budget_verdict(run["seconds"], run.get("budget_seconds"))
    return f"{line}, {verdict}" if verdict else line


def describe_course(runs: list[dict]) -> str:
    """The total time, against the ``cpu`` profile's goal when every lesson ran in it
    (:func:`~cyclegan_lib.course.env.course_goal`)."""
    seconds = sum(run["seconds"] for run in runs)
    lessons_run = f"{len(runs)} lesson" + ("" if len(runs) == 1 else "s")
    line = f"{lessons_run} in {seconds:.0f} s ({seconds / 60:.1f} min)"
    goal = course_goal(runs)
    if goal is not None:
        line += ": the course is " + budget_verdict(seconds, goal, word="goal")
    return line


def write_summary(out: Path, runs: list[dict]) -> None:
    results = out / "results"
    results.mkdir(parents=True, exist_ok=True)
    for run in runs:
        numbers = results / f"{run['lesson']}.json"
        run["results"] = json.loads(numbers.read_text()) if numbers.exists() else None
    (results / "summary.json").write_text(json.dumps(runs, indent=2))
    print(f"wrote {results / 'summary.json'} and {build_site(out, runs)}")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m cyclegan_lib.tools.nbtools", description=__doc__
    )
    sub = parser.add_subparsers(dest="command", required=True)
    for name in ("refresh", "course"):
        p = sub.add_parser(name)
        p.add_argument("lessons", nargs="*", type=Path, help="default: every lesson")
    sub.add_parser("student").add_argument("--check", action="store_true")
    args = parser.parse_args(argv)
    if args.command == "student":
        if args.check:
            stale = stale_students()
            for name in stale:
                print(f"stale student version: {name} (run 'make student')", file=sys.stderr)
            return 1 if stale else 0
        for lesson in lessons():
            write(student_version(lesson), student_path(lesson))
        return 0
    selected = [p.resolve() for p in args.lessons] or lessons()
    if args.command == "refresh":
        for lesson in selected:
            refresh(lesson)
        return 0
    return build_course(get_profile(), selected)


if __name__ == "__main__":
    raise SystemExit(main())
