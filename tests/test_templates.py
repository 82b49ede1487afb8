"""The HTML pages come from the package's Jinja2 templates, escape what they show, and ship
inside the wheel."""

from __future__ import annotations

import re
from html.parser import HTMLParser

import torch
from hatchling.builders.wheel import WheelBuilder

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.pipeline.pages import ResultsPage, TrainingPage
from cyclegan_lib.pipeline.templates import environment
from cyclegan_lib.tools import site
from cyclegan_lib.tools.grading.report import (
    ExerciseGrade,
    SubmissionGrade,
    html_report,
    write_reports,
)

NASTY = "<script>alert(\"x\")</script> & 'quotes'"


class Page(HTMLParser):
    """The tags and the text a browser would see."""

    def __init__(self, markup: str) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.text: list[str] = []
        self.images: list[str] = []
        self.feed(markup)

    def handle_starttag(self, tag, attrs):
        self.tags.append(tag)
        if tag == "img":
            self.images.append(dict(attrs)["src"])

    def handle_data(self, data):
        self.text.append(data)


def test_training_page_escapes_the_experiment_name(tmp_path):
    page = TrainingPage(tmp_path / "web", NASTY, width=100, refresh=5)
    index = page.update(1, {"fake_B": torch.zeros(1, 3, 4, 4)})
    parsed = Page(index.read_text())
    assert "script" not in parsed.tags
    assert parsed.text.count(f"Experiment name = {NASTY}") == 2  # <title> and <h1>
    assert parsed.images == ["images/epoch001_fake_B.png"]
    assert 'http-equiv="refresh" content="5"' in index.read_text()


def test_results_page_escapes_file_names_in_links(tmp_path):
    page = ResultsPage(tmp_path, "test", width=64)
    page.add('a"b<c', {"fake": torch.zeros(1, 3, 4, 4)})
    markup = page.write().read_text()
    parsed = Page(markup)
    assert parsed.images == ['images/a"b<c_fake.png']  # one attribute, decoded intact
    assert 'src="images/a&#34;b&lt;c_fake.png"' in markup
    assert "refresh" not in markup  # the test page is static


def test_course_site_escapes_titles_and_result_names(tmp_path):
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "07_x.ipynb").write_text(
        '{"cells": [{"cell_type": "markdown", "source": "# 07 · A <b>bold</b> lesson"}]}'
    )
    run = {"lesson": "07_x", "status": NASTY, "seconds": 1.0, "profile": "smoke"}
    run["results"] = {"<i>_rate": 0.5, "g<1>": {"m&m": 2.0}}
    markup = site.render(tmp_path, [run])
    parsed = Page(markup)
    assert "script" not in parsed.tags and "i" not in parsed.tags
    assert "<b>bold" not in markup and "&lt;b&gt;bold&lt;/b&gt;" in markup
    text = "".join(parsed.text)
    assert "A <b>bold</b> lesson" in text and NASTY in text
    assert "<i> rate" in text and "50.0%" in text and "g<1>" in text and "m&m" in text


def test_class_report_has_a_row_per_learner_and_exercise_with_escaped_feedback(tmp_path):
    grades = [
        SubmissionGrade(
            "ann",
            "ann/01.ipynb",
            "01",
            [
                ExerciseGrade("loss", "passed", 4, 4, "all cases pass", "2/2", "2/2"),
                ExerciseGrade("step", "failed", 1, 4, f"expected 3, got {NASTY}", "1/2", "0/2"),
            ],
        ),
        SubmissionGrade("<bo>", "bo.ipynb", "01", problem="not a valid notebook"),
    ]
    markup = html_report(grades)
    parsed = Page(markup)
    assert "script" not in parsed.tags and "bo" not in parsed.tags
    assert f"expected 3, got {NASTY}" in parsed.text
    overview = re.search(r'<table class="groups matrix">(.*?)</table>', markup, re.S).group(1)
    rows = re.findall(r"<tr>(.*?)</tr>", overview, re.S)
    assert len(rows) == 3  # a header and one row per learner
    header = re.findall(r"<th>([^<]*)</th>", rows[0])
    assert header == ["learner", "lesson", "loss", "step", "total"]
    cells = [re.sub(r"<[^>]+>", "", c) for c in re.findall(r"<td>(.*?)</td>", rows[1], re.S)]
    assert cells == ["ann", "01", "1", "0.25", "1.25/2"]
    assert "&lt;bo&gt;" in rows[2] and "not a valid notebook" in markup
    write_reports(grades, tmp_path)
    assert (tmp_path / "grades.html").read_text(encoding="utf-8") == markup


def test_every_template_parses_and_the_wheel_ships_them():
    env = environment()
    names = [n for n in env.list_templates() if not n.endswith(".py")]
    assert {"base.html", "results.html", "course.html", "grades.html"} <= set(names)
    for name in names:
        env.get_template(name)  # a syntax error raises here
    builder = WheelBuilder(str(repo_root()))  # the files `pip install .` would ship
    shipped = {f.distribution_path for f in builder.recurse_included_files()}
    assert {f"cyclegan_lib/pipeline/templates/{n}" for n in names} <= shipped
