"""Lessons as slides: every cell has a slide type, no slide is taller than the stage, the
defaults follow the rules in ``cyclegan_lib.tools.slides``, and student versions keep them."""

from __future__ import annotations

import json

import nbformat
import pytest

from cyclegan_lib.tools import nbtools, slides


def markdown(text: str, **metadata) -> dict:
    return {"cell_type": "markdown", "metadata": metadata, "source": text}


def code(text: str, **metadata) -> dict:
    return {"cell_type": "code", "metadata": metadata, "source": text, "outputs": []}


@pytest.mark.parametrize("lesson", nbtools.lessons(), ids=lambda p: p.name)
def test_every_cell_has_a_slide_type_and_every_slide_fits(lesson):
    nb = json.loads(lesson.read_text(encoding="utf-8"))
    assert slides.problems(nb, lesson.name) == []


def test_defaults_open_skip_note_and_continue():
    nb = {
        "cells": [
            markdown("badge", tags=["colab-badge"]),
            markdown("# 07 · A lesson"),
            code("import torch\nfrom cyclegan_lib import networks"),
            markdown("## 0. Environment"),
            code("import time\nstart = time.perf_counter()"),
            markdown("## 1. The idea"),
            markdown("Some prose."),
            code("y = f(x)\ny"),
            code("f = check(f, lesson07.F)"),
            markdown("**Behind the numbers.** `python bench/sweep.py` measured it."),
            markdown("### A detail"),
            code("results.save(numbers)"),
        ]
    }
    assert slides.assign_defaults(nb) == len(nb["cells"])
    kinds = [slides.slide_type(c) for c in nb["cells"]]
    assert kinds == [
        "skip", "slide", "skip", "skip", "skip", "slide", "fragment", "-", "skip", "notes",
        "subslide", "skip",
    ]  # fmt: skip


def test_explicit_choices_are_kept_and_a_full_slide_opens_a_subslide():
    long_prose = "\n".join(f"line {i} of a long argument" for i in range(slides.BUDGET_ROWS - 4))
    nb = {
        "cells": [
            markdown("## 1. Title"),
            markdown(long_prose),
            code("more = 1", slideshow={"slide_type": "notes"}),
            markdown(long_prose),
        ]
    }
    slides.assign_defaults(nb)
    assert [slides.slide_type(c) for c in nb["cells"]] == ["slide", "fragment", "notes", "subslide"]
    assert slides.problems(nb, "x") == []


def test_problems_name_a_missing_type_and_an_overflowing_slide():
    tall = "\n".join(f"x{i} = {i}" for i in range(10))
    nb = {
        "cells": [
            markdown("## 1. Title", slideshow={"slide_type": "slide"}),
            markdown("no type"),
            *[code(tall, slideshow={"slide_type": "-"}) for _ in range(4)],
        ]
    }
    found = slides.problems(nb, "07_x.ipynb")
    assert found[0] == "07_x.ipynb: cell 1 has slide_type None, not one of " + str(
        slides.SLIDE_TYPES
    )
    assert "the slide starting at cell 0 takes" in found[1] and len(found) == 2


def test_figures_and_long_code_cost_at_most_their_scroll_box():
    figure = {
        "output_type": "display_data",
        "data": {"image/png": "iVBOR", "text/plain": "<Figure>"},
    }
    long_code = code("\n".join(f"a{i} = {i}" for i in range(200)))
    long_code["outputs"] = [figure, figure]
    assert slides.cell_rows(long_code) == slides.CODE_INPUT_ROWS + 0.5 + 2 * slides.FIGURE_ROWS


def test_student_versions_keep_the_slide_types():
    for lesson in nbtools.lessons():
        teacher = nbformat.read(str(lesson), 4)
        student = nbtools.student_version(lesson)
        assert [slides.slide_type(c) for c in student.cells] == [
            slides.slide_type(c) for c in teacher.cells
        ], lesson.name


def test_split_cuts_long_prose_at_paragraphs_until_every_slide_fits():
    prose = "\n\n".join(f"Paragraph {i}: " + "word " * 60 for i in range(12))
    math = "$$\nL = a\n\nb = c\n$$"
    nb = {"cells": [markdown(f"## Long\n\n{prose}\n\n{math}", slideshow={"slide_type": "slide"})]}
    assert slides.problems(nb, "t") != []
    cuts = slides.split_long_slides(nb)
    assert cuts >= 2 and slides.problems(nb, "t") == []
    texts = ["".join(cell["source"]) for cell in nb["cells"]]
    assert "\n\n".join(texts) == f"## Long\n\n{prose}\n\n{math}"  # nothing lost or reordered
    assert sum("$$\nL = a\n\nb = c\n$$" in text for text in texts) == 1  # math never cut
    assert [cell["metadata"]["slideshow"]["slide_type"] for cell in nb["cells"][1:]] == [
        "subslide"
    ] * cuts
    assert len({cell["id"] for cell in nb["cells"][1:]}) == cuts


def test_split_leaves_a_slide_it_cannot_shorten():
    nb = {"cells": [markdown("one " * 2000, slideshow={"slide_type": "slide"})]}
    assert slides.split_long_slides(nb) == 0 and len(nb["cells"]) == 1


def test_split_opens_a_subslide_at_the_code_cell_that_overflows():
    nb = {
        "cells": [
            markdown("## Short", slideshow={"slide_type": "slide"}),
            code("\n".join(f"a{i} = {i}" for i in range(15)), slideshow={"slide_type": "-"}),
            code("\n".join(f"b{i} = {i}" for i in range(15)), slideshow={"slide_type": "-"}),
        ]
    }
    assert slides.split_long_slides(nb) == 1
    kinds = [cell["metadata"]["slideshow"]["slide_type"] for cell in nb["cells"]]
    assert kinds == ["slide", "-", "subslide"] and slides.problems(nb, "t") == []
