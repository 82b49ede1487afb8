"""Generated lesson 00 submissions: correct, partial, broken and hostile, to try the grader on.

``tests/test_grading_limits.py`` grades a few of them; ``bench/grade_class.py`` grades a
whole class of them at once. Every hostile cell is bounded (memory up to 4 GiB in 64 MiB
steps, at most 100 processes, 2,000 files or 400 MiB on disk), so a cap that fails cannot
take the machine down with it.
"""

from __future__ import annotations

from pathlib import Path

import nbformat

from cyclegan_lib.tools import nbtools

CORRECT = "def scale_pixels(images):\n    return images.float() / 127.5 - 1.0"
PARTIAL = "def scale_pixels(images):\n    return images.double() / 127.5 - 1.0"  # wrong dtype
UNDONE = "def scale_pixels(images):\n    # YOUR CODE HERE\n    raise NotImplementedError()"
SYNTAX_ERROR = "def scale_pixels(images)\n    return images.float() / 127.5 - 1.0"
CHECK = (
    "from cyclegan_lib.lessons.exercises import check\n"
    "from cyclegan_lib.lessons.exercises.lesson00 import SCALE_PIXELS\n\n"
    "scale_pixels = check(scale_pixels, SCALE_PIXELS)"
)

MEMORY_BOMB = """import torch
blocks = []
for _ in range(64):  # 64 MiB at a time, 4 GiB at most
    blocks.append(torch.ones(16 * 2**20))
print("allocated", "everything".upper())"""
SPREAD_BOMB = """import os, time, torch
for _ in range(4):  # 4 processes of 700 MiB: each under the per-process limit, 2.8 GiB in all
    if os.fork() == 0:
        block = torch.ones(175 * 2**20)
        time.sleep(60)
        os._exit(0)
time.sleep(60)
print("allocated", "everything".upper())"""
FORK_BOMB = """import os
started = 0
for _ in range(100):
    if os.fork() == 0:
        os.execvp("sleep", ["sleep", "61.4242"])
    started += 1
print("started", started)"""
MANY_FILES = """for i in range(2000):
    open(f"file{i}.txt", "w").write("x")
print("wrote", "everything".upper())"""
BIG_FILES = """import time
for i in range(10):  # 40 MiB each, under the per-file limit; 400 MiB at most
    with open(f"big{i}.bin", "wb") as f:
        f.write(b"x" * 40 * 2**20)
    time.sleep(0.5)
print("wrote", "everything".upper())"""
INFINITE_LOOP = "while True:\n    pass"
CRASH = "import os\nos._exit(3)"

KINDS = {
    # kind: (answer cell, cells before it)
    "correct": (CORRECT, ()),
    "partial": (PARTIAL, ()),
    "undone": (UNDONE, ()),
    "syntax_error": (SYNTAX_ERROR, ()),
    "crash": (CORRECT, (CRASH,)),
    "memory_bomb": (CORRECT, (MEMORY_BOMB,)),
    "spread_bomb": (CORRECT, (SPREAD_BOMB,)),
    "fork_bomb": (CORRECT, (FORK_BOMB,)),
    "many_files": (CORRECT, (MANY_FILES,)),
    "big_files": (CORRECT, (BIG_FILES,)),
    "infinite_loop": (CORRECT, (INFINITE_LOOP,)),
}


def lesson00_notebook(answer: str | None, before: tuple[str, ...] = ()) -> str:
    """A tiny lesson 00: set-up, ``before`` (from cell 3 on), the answer cell, its check."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_markdown_cell("# a tiny lesson"),
        nbformat.v4.new_code_cell("import torch"),
    ]
    nb.cells += [nbformat.v4.new_code_cell(source) for source in before]
    if answer is not None:
        nb.cells.append(nbformat.v4.new_code_cell(answer))
        nbtools.tag_for_nbgrader(nb)
    nb.cells.append(nbformat.v4.new_code_cell(CHECK))
    return nbformat.writes(nb)


def write_class(folder: Path, kinds: dict[str, int]) -> list[str]:
    """Write ``count`` notebooks of each kind as ``<kind>NN_00_start_here.ipynb``; their names."""
    folder.mkdir(parents=True, exist_ok=True)
    learners = []
    for kind, count in kinds.items():
        answer, before = KINDS[kind]
        for number in range(count):
            learner = f"{kind}{number:02d}_00_start_here"
            (folder / f"{learner}.ipynb").write_text(lesson00_notebook(answer, before))
            learners.append(learner)
    return learners
