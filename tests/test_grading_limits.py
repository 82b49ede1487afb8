"""The grader under load and attack: memory, process and disk caps, ``--jobs``, resume after a kill.

Each hostile cell (:mod:`cyclegan_lib.tools.grading.samples`) is bounded, so a cap that fails
cannot hurt the machine: the memory bombs allocate 64 MiB at a time up to 4 GiB, the fork bomb
starts at most 100 ``sleep`` processes, the disk fillers write at most 2,000 files or 400 MiB. The test checks that the cap stopped
them first, that the report says which limit and which cell, and that the learner graded
beside them in the same batch gets full marks.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from test_grading import grade_folder, write_submissions

from cyclegan_lib.tools.grading import cgroups, default_jobs
from cyclegan_lib.tools.grading.samples import (
    BIG_FILES,
    CORRECT,
    FORK_BOMB,
    MANY_FILES,
    MEMORY_BOMB,
    SPREAD_BOMB,
)
from cyclegan_lib.tools.grading.samples import lesson00_notebook as lesson_notebook

MODES = [
    pytest.param([], id="cgroup", marks=pytest.mark.skipif(
        not cgroups.available(), reason="this machine gives the grader no cgroups (fallback below)")),
    pytest.param(["--no-cgroups"], id="fallback"),
]  # fmt: skip


def grade_pair(tmp_path: Path, hostile: str, *options: str) -> tuple[dict, dict, str]:
    """Grade a hostile notebook (its cell 3) beside a correct one; (hostile, correct, its log)."""
    folder = tmp_path / "submitted"
    write_submissions(
        folder, {"mallory": lesson_notebook(CORRECT, (hostile,)), "ann": lesson_notebook(CORRECT)}
    )
    out = tmp_path / "out"
    grades = grade_folder(folder, out, "--timeout", "120", "--jobs", "2", *options)
    log = (out / "logs" / "mallory_00_start_here.txt").read_text()
    return grades["mallory_00_start_here"], grades["ann_00_start_here"], log


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
@pytest.mark.parametrize("bomb", [MEMORY_BOMB, SPREAD_BOMB], ids=["one_process", "four_processes"])
def test_memory_bomb_costs_only_its_author(tmp_path, mode, bomb):
    mallory, ann, log = grade_pair(tmp_path, bomb, "--max-memory", "2", *mode)
    assert mallory["problem"] == "stopped: the memory limit of 2 GiB was reached in cell 3"
    assert "allocated EVERYTHING" not in log
    assert 0 < mallory["peak_memory_mib"] < 3000  # stopped well before the 4 GiB ceiling
    assert ann["score"] == 1.0 and ann["problem"] == "" and ann["peak_memory_mib"] > 0


def sleepers() -> list[int]:
    """Processes left by the fork bomb (its children run ``sleep 61.4242``)."""
    found = []
    for entry in Path("/proc").iterdir():
        try:
            if entry.name.isdigit() and b"61.4242" in (entry / "cmdline").read_bytes():
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.mark.slow
@pytest.mark.parametrize("mode", MODES)
def test_fork_bomb_is_capped_and_cleaned_up(tmp_path, mode):
    mallory, ann, log = grade_pair(tmp_path, FORK_BOMB, "--max-processes", "60", *mode)
    assert (
        mallory["problem"] == "stopped: the limit of 60 processes and threads was reached in cell 3"
    )
    assert "started 100" not in log
    assert ann["score"] == 1.0 and ann["problem"] == ""
    assert sleepers() == []  # every process it started was killed with it


@pytest.mark.slow
@pytest.mark.parametrize(
    ("filler", "option"),
    [(MANY_FILES, ["--max-files", "500"]), (BIG_FILES, ["--max-disk", "100"])],
    ids=["many_files", "big_files"],
)
def test_disk_filler_is_stopped_at_the_quota(tmp_path, filler, option):
    mallory, ann, log = grade_pair(tmp_path, filler, *option)
    assert mallory["problem"].startswith("stopped: its folder passed the disk quota of")
    assert mallory["problem"].endswith("in cell 3")  # measured after each cell, so it is named
    if filler == BIG_FILES:  # RLIMIT_FSIZE stops the write itself; a file count is polled,
        assert "wrote EVERYTHING" not in log  # so a fast machine may finish the 2,000 files
    assert ann["score"] == 1.0 and ann["problem"] == ""


def test_jobs_default_follows_cores_and_memory():
    cores = os.cpu_count() or 1
    assert default_jobs(2**20) == cores  # tiny notebooks: one per core
    assert default_jobs(2**50) == 1  # huge ones: one at a time, never zero


def finished(out: Path) -> list[dict]:
    try:
        return json.loads((out / "grades.json").read_text())
    except (OSError, ValueError):
        return []


def without_timings(report: list[dict]) -> list[dict]:
    return [{k: v for k, v in g.items() if k not in ("seconds", "peak_memory_mib")} for g in report]


@pytest.mark.slow
def test_killed_grader_resumes_without_regrading(tmp_path):
    folder = tmp_path / "submitted"
    answers = {"ann": CORRECT, "bob": CORRECT.replace("127.5", "128"), "cy": CORRECT, "di": None}
    write_submissions(folder, {k: lesson_notebook(v) for k, v in answers.items()})
    command = [sys.executable, "-m", "cyclegan_lib", "grade", str(folder), "--jobs", "1"]
    straight = tmp_path / "straight"
    subprocess.run([*command, "--out", str(straight)], check=True, capture_output=True)

    out = tmp_path / "resumed"
    grader = subprocess.Popen([*command, "--out", str(out)], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, start_new_session=True)  # fmt: skip
    deadline = time.monotonic() + 300
    while len(finished(out)) < 2 and time.monotonic() < deadline:
        time.sleep(0.2)
    os.killpg(grader.pid, signal.SIGKILL)  # the grader and the notebook it was running
    grader.wait()
    before = finished(out)
    assert 2 <= len(before) < 4  # killed half-way, with a complete report of those done

    again = subprocess.run([*command, "--out", str(out)], capture_output=True, text=True)
    assert again.returncode == 0, again.stderr
    assert f"{len(before)} of them already graded" in again.stdout
    after = finished(out)
    assert after[: len(before)] == before  # not regraded: same timings, same everything
    assert without_timings(after) == without_timings(finished(straight))
