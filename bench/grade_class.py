"""Grade a generated class at once and report the wall time and each learner's peak memory.

The class is lesson 00 notebooks from :mod:`cyclegan_lib.tools.grading.samples`: mostly
correct, partial and broken ones, plus hostile ones (memory bombs in one and in four
processes, a fork bomb, disk fillers, an endless loop). ``cyclegan grade`` runs once with
``--jobs`` from the cores and memory (its default) and caps lowered to below what the bounded
attackers take (``LIMITS``: 2 GiB, 60 tasks, 100 MiB, 500 files), so that each meets its
limit; this script then checks that every learner got a grade, that every hostile one was
stopped by its limit, and prints per kind the scores, the seconds and the peak memory that
``grades.json`` records.

Examples::

    python bench/grade_class.py                      # 40 learners
    python bench/grade_class.py --learners 8 --timeout 60
"""

from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from cyclegan_lib.tools.grading.samples import write_class

MIX = {
    "correct": 14, "partial": 6, "undone": 4, "syntax_error": 3, "crash": 2, "memory_bomb": 3,
    "spread_bomb": 2, "fork_bomb": 2, "many_files": 1, "big_files": 1, "infinite_loop": 2,
}  # fmt: skip
"""A class of 40; other sizes scale it (each kind at least once)."""
LIMITS = ["--max-memory", "2", "--max-processes", "60", "--max-disk", "100", "--max-files", "500"]
EXPECTED_STOP = {
    "memory_bomb": "memory limit",
    "spread_bomb": "memory limit",
    "fork_bomb": "processes and threads",
    "many_files": "disk quota",
    "big_files": "disk quota",
    "infinite_loop": "time limit",
}


def class_mix(learners: int) -> dict[str, int]:
    total = sum(MIX.values())
    return {kind: max(1, round(count * learners / total)) for kind, count in MIX.items()}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--learners", type=int, default=40)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per notebook")
    parser.add_argument("--out", type=Path, help="report folder (default: a temporary one)")
    parser.add_argument("grade_options", nargs="*", help="more options for cyclegan grade")
    args = parser.parse_args(argv)
    work = Path(tempfile.mkdtemp(prefix="grade-class-"))
    out = args.out or work / "report"
    learners = write_class(work / "submitted", class_mix(args.learners))
    command = [sys.executable, "-m", "cyclegan_lib", "grade", str(work / "submitted"),
               "--out", str(out), "--timeout", str(args.timeout), *LIMITS, *args.grade_options]  # fmt: skip
    start = time.perf_counter()
    run = subprocess.run(command, capture_output=True, text=True)
    wall = time.perf_counter() - start
    print(run.stdout.splitlines()[0] if run.stdout else run.stderr)
    grades = {g["learner"]: g for g in json.loads((out / "grades.json").read_text())}
    missing = sorted(set(learners) - set(grades))
    wrong_stop = [
        name for name, g in grades.items()
        for kind, words in EXPECTED_STOP.items()
        if name.startswith(kind) and words not in g["problem"]
    ]  # fmt: skip
    print(f"{len(learners)} learners, wall time {wall:.0f} s, exit code {run.returncode}")
    print(f"graded: {len(grades)}; missing: {missing or 'none'}; "
          f"hostile ones not stopped by their limit: {wrong_stop or 'none'}")  # fmt: skip
    print(f"{'kind':14} {'n':>3} {'score':>6} {'seconds':>8} {'peak MiB (median, max)':>24}")
    for kind in MIX:
        rows = [g for name, g in grades.items() if name.startswith(kind)]
        peaks = [g["peak_memory_mib"] for g in rows]
        print(
            f"{kind:14} {len(rows):3d} {statistics.mean(g['score'] for g in rows):6.2f} "
            f"{statistics.median(g['seconds'] for g in rows):8.1f} "
            f"{statistics.median(peaks):12.0f} {max(peaks):10.0f}"
        )
    print(f"report: {out}/grades.json")
    return 0 if run.returncode == 0 and not missing and not wrong_stop else 1


if __name__ == "__main__":
    raise SystemExit(main())
