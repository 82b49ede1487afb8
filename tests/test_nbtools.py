import asyncio
import time
from queue import Empty

import nbformat
import pytest

from cyclegan_lib.course import config
from cyclegan_lib.tools import nbtools

SOLVED = """def f(x):
    \"\"\"doc\"\"\"
    ### BEGIN SOLUTION
    y = x + 1
    return y
    ### END SOLUTION
"""


def test_strip_solutions_keeps_indentation_and_rest():
    student = nbtools.strip_solutions(SOLVED)
    assert student.splitlines() == [
        "def f(x):",
        '    """doc"""',
        "    # YOUR CODE HERE",
        "    raise NotImplementedError()",
    ]


@pytest.mark.parametrize("broken", ["### BEGIN SOLUTION\nx = 1", "x = 1\n### END SOLUTION"])
def test_unbalanced_markers_are_errors(broken):
    with pytest.raises(ValueError, match="SOLUTION"):
        nbtools.strip_solutions(broken)


def make_nb():
    nb = nbformat.v4.new_notebook()
    nb.cells = [
        nbformat.v4.new_code_cell(SOLVED, outputs=[nbformat.v4.new_output("stream", text="hi")]),
        nbformat.v4.new_code_cell(
            "# NBVAL_CHECK_OUTPUT\nprint(1)",
            execution_count=3,
            outputs=[nbformat.v4.new_output("stream", text="1\n")],
        ),
        nbformat.v4.new_code_cell(
            "print(2)", outputs=[nbformat.v4.new_output("stream", text="2\n")]
        ),
    ]
    return nb


def test_student_version_replaces_solutions_only():
    nb = make_nb()
    student = nbtools.make_student(nb)
    assert "raise NotImplementedError()" in student.cells[0].source
    assert student.cells[0].outputs == []
    assert student.cells[1].source == nb.cells[1].source
    assert nbtools.BEGIN in nb.cells[0].source  # the instructor copy is untouched


def test_strip_outputs_keeps_only_compared_cells():
    nb = make_nb()
    nbtools.strip_outputs(nb)
    assert [len(c.outputs) for c in nb.cells] == [0, 1, 0]
    assert [c.execution_count for c in nb.cells] == [None, 2, None]


def test_nbgrader_metadata_on_solution_cells():
    nb = make_nb()
    nbtools.tag_for_nbgrader(nb)
    meta = nb.cells[0].metadata["nbgrader"]
    assert meta == {
        "grade": False,
        "grade_id": "f",
        "locked": False,
        "schema_version": 3,
        "solution": True,
    }
    assert "nbgrader" not in nb.cells[1].metadata


def test_every_lesson_has_badge_and_current_setup_cell():
    lessons = nbtools.lessons()
    assert lessons, "no lessons found"
    for lesson in lessons:
        nb = nbformat.read(str(lesson), 4)
        tags = [c.metadata.get("tags", []) for c in nb.cells]
        assert nbtools.BADGE_TAG in tags[0], f"{lesson.name}: first cell must be the Colab badge"
        setup = [c for c, t in zip(nb.cells, tags, strict=True) if nbtools.SETUP_TAG in t]
        assert len(setup) == 1 and setup[0].source == nbtools.setup_source(), lesson.name
        assert config.REPO_URL in setup[0].source


def test_lessons_have_exercises_with_checks():
    for lesson in nbtools.lessons():
        nb = nbformat.read(str(lesson), 4)
        solutions = [c for c in nb.cells if nbtools.is_solution_cell(c)]
        assert solutions, f"{lesson.name} has no exercise"
        assert all("nbgrader" in c.metadata for c in solutions), lesson.name


def test_committed_notebooks_are_diff_friendly():
    for lesson in nbtools.lessons():
        nb = nbformat.read(str(lesson), 4)
        for cell in nb.cells:
            if cell.cell_type == "code" and nbtools.CHECK_MARKER not in cell.source:
                assert not cell.outputs, f"{lesson.name}: stray outputs in\n{cell.source[:80]}"


def test_student_versions_are_current():
    assert nbtools.stale_students() == [], "run 'make student'"


class MissedReply:
    """A shell channel whose poll misses a waiting reply until the poll's timeout ends
    (jupyter/nbclient#312): each call sleeps its whole timeout, and the reply is there
    from ``ready_after`` seconds on."""

    def __init__(self, ready_after: float | None) -> None:
        self.start = time.monotonic()
        self.ready_after = ready_after
        self.timeouts: list[float | None] = []

    async def get_msg(self, timeout=None):
        self.timeouts.append(timeout)
        if self.ready_after is not None and time.monotonic() - self.start >= self.ready_after:
            return {"reply": True}
        await asyncio.sleep(timeout)
        raise Empty


def test_the_shell_reply_is_seen_within_a_slice_not_at_the_cells_timeout():
    channel = MissedReply(ready_after=0.05)
    get_msg = nbtools.in_slices(channel.get_msg, slice_seconds=0.02)
    start = time.monotonic()
    assert asyncio.run(get_msg(timeout=30)) == {"reply": True}
    assert time.monotonic() - start < 1.0  # one long poll would have slept 30 s
    assert max(channel.timeouts) <= 0.02 and len(channel.timeouts) >= 3


def test_sliced_polling_still_times_out_at_the_cells_timeout():
    channel = MissedReply(ready_after=None)
    get_msg = nbtools.in_slices(channel.get_msg, slice_seconds=0.02)
    start = time.monotonic()
    with pytest.raises(Empty):
        asyncio.run(get_msg(timeout=0.1))
    assert 0.1 <= time.monotonic() - start < 0.5
