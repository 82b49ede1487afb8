"""Each lesson's wall time at an earlier commit and in this checkout, side by side in one run.

A speed-up measured on two different days mixes the change with the machine's mood: on a
shared 2-core machine the same lessons ran 19:44 to 21:46 minutes apart. This script runs
each lesson twice in a row, first as the ``--baseline`` commit had it (from a temporary
``git worktree``) and then as this checkout has it, so both sides see the same moment of the
machine, and prints the times, the ratio and the totals. Both sides are executed by this
checkout's :func:`~cyclegan_lib.tools.nbtools.execute` (as ``make course`` does), each in a
fresh kernel that imports its own side's ``cyclegan_lib`` (``PYTHONPATH``) and writes to a
build folder of its own, so only the lessons and their library differ. A lesson that one
side lacks runs on the other side only and stays out of the totals; a lesson that fails
(a target missed) keeps its time and is marked.

``--cap avx2`` caps PyTorch's own kernels and oneDNN's convolutions at AVX2, so a CPU with
AVX-512 and AMX stands in for one without: the lessons then take the path such a CPU takes
(fp32 where they would use bf16 on AMX). The clock, caches and memory stay this machine's.

Examples::

    python bench/lesson_times.py --baseline 6182229              # every lesson, cpu profile
    python bench/lesson_times.py --baseline 6182229 --cap avx2 --lessons 01 04
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import nbformat

from cyclegan_lib.course import env
from cyclegan_lib.tools import nbtools

LESSONS = ("00", "01", "02", "03", "04", "05", "06")
CAPS = {"avx2": {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}}
"""The environment that keeps PyTorch and oneDNN to an instruction set."""


class Run(NamedTuple):
    """One lesson on one side: its wall seconds, and whether every cell ran."""

    seconds: float
    ok: bool


@contextlib.contextmanager
def worktree(commit: str, folder: Path) -> Iterator[Path]:
    """A checkout of ``commit`` in ``folder``, removed afterwards."""
    repo = env.repo_root()
    subprocess.run(["git", "-C", str(repo), "worktree", "add", "--detach", "--quiet",
                    str(folder), commit], check=True)  # fmt: skip
    try:
        yield folder
    finally:
        subprocess.run(["git", "-C", str(repo), "worktree", "remove", "--force", str(folder)],
                       check=False)  # fmt: skip


def lesson_notebook(root: Path, lesson: str) -> Path | None:
    """``notebooks/<lesson>_*.ipynb`` in the checkout at ``root``, or None if it has none."""
    found = sorted((root / "notebooks").glob(f"{lesson}_*.ipynb"))
    return found[0] if found else None


def run_lesson(root: Path, notebook: Path, profile: str, build: Path, cap: dict) -> Run:
    """Execute ``notebook`` in a fresh kernel that imports the ``cyclegan_lib`` at ``root``."""
    kernel_env = cap | {"PYTHONPATH": str(root), "COURSE_BUILD_DIR": str(build)}
    nb = nbformat.read(str(notebook), as_version=4)
    with mock.patch.dict(os.environ, kernel_env):
        start, ok = time.perf_counter(), True
        try:
            nbtools.execute(nb, notebook, profile)
        except Exception as error:  # a missed target: the time still counts, marked
            print(f"{notebook.name} at {root}: {type(error).__name__}", flush=True)
            ok = False
        return Run(time.perf_counter() - start, ok)


def ratio(baseline: Run | None, current: Run | None) -> str:
    """How many times faster the current side ran, where both ran."""
    return f"{baseline.seconds / current.seconds:.2f}" if baseline and current else ""


def shown(run: Run | None) -> str:
    if run is None:
        return "(none)"
    return f"{run.seconds:.1f}" + ("" if run.ok else " (failed)")


def table(times: dict[str, dict[str, Run | None]]) -> str:
    """One row per lesson (seconds at the baseline, here, and their ratio), then the totals
    over the lessons both sides have."""
    lines = [f"{'lesson':<8} {'baseline s':>14} {'this checkout s':>16} {'faster x':>9}"]
    for lesson, side in times.items():
        old, new = side["baseline"], side["current"]
        lines.append(f"{lesson:<8} {shown(old):>14} {shown(new):>16} {ratio(old, new):>9}")
    both = [(s["baseline"], s["current"]) for s in times.values() if s["baseline"] and s["current"]]
    old_total = Run(sum(old.seconds for old, _ in both), True)
    new_total = Run(sum(new.seconds for _, new in both), True)
    lines.append(f"{'both':<8} {shown(old_total):>14} {shown(new_total):>16} "
                 f"{ratio(old_total, new_total):>9}")  # fmt: skip
    extra = sum(s["current"].seconds for s in times.values() if s["current"] and not s["baseline"])
    if extra:
        lines.append(f"lessons only in this checkout: {extra:.1f} s more")
    return "\n".join(lines)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--baseline", required=True, help="the earlier commit to compare with")
    parser.add_argument("--lessons", nargs="+", choices=LESSONS, default=list(LESSONS))
    parser.add_argument("--profile", choices=env.PROFILES, default="cpu")
    parser.add_argument("--cap", choices=sorted(CAPS), help="instruction-set cap for both sides")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    cap = CAPS.get(args.cap, {})
    print(f"baseline {args.baseline} against this checkout; profile {args.profile}; "
          f"cap {cap or 'none'}; each lesson at the baseline, then here", flush=True)  # fmt: skip
    times: dict[str, dict[str, Run | None]] = {}
    with (
        tempfile.TemporaryDirectory() as tmp,
        worktree(args.baseline, Path(tmp) / "baseline") as old,
    ):
        sides = {"baseline": old, "current": env.repo_root()}
        for lesson in args.lessons:
            times[lesson] = {}
            for side, root in sides.items():
                notebook = lesson_notebook(root, lesson)
                build = Path(tmp) / f"build-{side}"
                times[lesson][side] = (
                    None if notebook is None
                    else run_lesson(root, notebook, args.profile, build, cap)
                )  # fmt: skip
            print(f"{lesson}: " + ", ".join(f"{k} {shown(v)}" for k, v in times[lesson].items()),
                  flush=True)  # fmt: skip
    print(table(times))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
