"""The course site (build/index.html) built from fake lesson runs."""

from __future__ import annotations

import json
import re
from html.parser import HTMLParser

import nbformat

from cyclegan_lib.course import env
from cyclegan_lib.tools import nbtools, site


class Links(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.hrefs: list[str] = []

    def handle_starttag(self, tag, attrs):
        self.hrefs += [value for name, value in attrs if tag == "a" and name == "href"]


def fake_build(build, lessons):
    """Executed notebooks, HTML pages and results files as ``make course`` leaves them."""
    (build / "notebooks").mkdir(parents=True)
    (build / "results").mkdir()
    for lesson, title, numbers in lessons:
        nb = nbformat.v4.new_notebook()
        nb.cells = [nbformat.v4.new_markdown_cell(f"badge\n\n# {title}\n\ntext")]
        nbformat.write(nb, str(build / "notebooks" / f"{lesson}.ipynb"))
        (build / f"{lesson}.html").write_text("<html></html>")
        if numbers is not None:
            (build / "results" / f"{lesson}.json").write_text(json.dumps(numbers))


def test_site_lists_lessons_in_order_with_results_and_links(tmp_path, monkeypatch):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    fake_build(
        tmp_path,
        [
            (
                "01_vanilla_gan",
                "01 · Vanilla GAN",
                {
                    "lesson": "01_vanilla_gan",
                    "profile": "cpu",
                    "written": "now",
                    "label_accuracy": 0.9312,
                    "frechet": 12.3456,
                    "real: n": 100,
                    "real: fid": 1.5,
                    "trained G": {"n": 64, "fid": 9.25},
                },
            ),
            ("00_start_here", "00 · Start here", {"clean_classifier_test_accuracy": 0.972}),
            ("02_conditional_gan", "02 · Conditional GAN", None),
        ],
    )
    runs = [
        {
            "lesson": "02_conditional_gan",
            "status": "failed: CellExecutionError",
            "seconds": 3.2,
            "profile": "cpu",
        },
        {"lesson": "00_start_here", "status": "ok", "seconds": 41.04, "profile": "cpu"},
        {
            "lesson": "01_vanilla_gan",
            "status": "ok",
            "seconds": 250.0,
            "profile": "cpu",
            "budget_seconds": 300.0,
        },
    ]
    nbtools.write_summary(tmp_path, runs)  # what `make course` calls after executing the lessons
    page = (tmp_path / "index.html").read_text()

    titles = re.findall(r'<span class="number">(\d\d)</span>([^<]+)', page)
    assert [(n, t.strip()) for n, t in titles] == [
        ("00", "Start here"),
        ("01", "Vanilla GAN"),
        ("02", "Conditional GAN"),
    ]
    assert "97.2%" in page and "93.1%" in page and "12.35" in page  # formatted numbers
    assert "written" not in page
    groups = re.search(r'<table class="groups">(.*?)</table>', page).group(1)
    assert re.findall(r"<th>([^<]*)</th>", groups) == ["", "real", "trained G"]
    assert re.findall(r"<tr><td>(\w+)</td>", groups) == ["n", "fid"]
    assert "<td>1.5</td><td>9.25</td>" in groups
    assert "2/3</b>lessons ran" in page and "failed: CellExecutionError" in page
    assert "41.0 s" in page and "4 min 10 s" in page and "This lesson saved no results." in page
    budgets = re.findall(r'<span class="(within|over)">\((\w+) its budget of ([^)]+)\)', page)
    assert budgets == [("within", "within", "5 min")]  # lessons without a budget show none
    assert "course's goal" not in page  # three lessons are not the course
    parser = Links()
    parser.feed(page)
    assert len(parser.hrefs) == 6
    assert all((tmp_path / href).exists() for href in parser.hrefs), parser.hrefs


def test_site_rebuilds_from_summary(tmp_path, capsys):
    assert site.main([str(tmp_path)]) == 1
    assert "run 'make course' first" in capsys.readouterr().err
    (tmp_path / "results").mkdir()
    (tmp_path / "results" / "summary.json").write_text(
        json.dumps(
            [{"lesson": "00_start_here", "status": "ok", "seconds": 1.0, "profile": "smoke"}]
        )
    )
    assert site.main([str(tmp_path)]) == 0
    assert "00_start_here" in (tmp_path / "index.html").read_text()


def test_make_course_judges_each_lesson_and_the_course_against_its_budget():
    def run(lesson, seconds, profile="cpu"):
        budget = env.time_budget(lesson, profile)
        return dict(
            lesson=lesson, status="ok", seconds=seconds, profile=profile, budget_seconds=budget
        )

    assert nbtools.describe_run(run("04_cyclegan", 402.0)) == (
        "04_cyclegan: ok in 402.0 s, within its budget of 720 s"
    )
    assert nbtools.describe_run(run("01_vanilla_gan", 437.4)) == (
        "01_vanilla_gan: ok in 437.4 s, over its budget of 300 s by 137 s"
    )
    assert nbtools.describe_run(run("00_start_here", 10.0)) == "00_start_here: ok in 10.0 s"
    assert nbtools.describe_run(run("04_cyclegan", 9.0, "smoke")) == "04_cyclegan: ok in 9.0 s"
    everything = [run(f"0{n}_lesson", 200.0) for n in range(7)]
    assert nbtools.describe_course(everything) == (
        "7 lessons in 1400 s (23.3 min): the course is within its goal of 1500 s"
    )
    everything[4] = run("04_cyclegan", 800.0)
    assert nbtools.describe_course(everything).endswith("over its goal of 1500 s by 500 s")
    without_06 = everything[:6]
    assert nbtools.describe_course(without_06) == "6 lessons in 1800 s (30.0 min)"
    smoke = [run(f"0{n}_lesson", 9.0, "smoke") for n in range(7)]
    assert nbtools.describe_course(smoke) == "7 lessons in 63 s (1.1 min)"
    assert nbtools.describe_course(smoke[:1]) == "1 lesson in 9 s (0.1 min)"


def test_site_shows_the_course_goal_for_a_whole_cpu_build(tmp_path):
    lessons = [f"0{n}_lesson" for n in range(7)]
    fake_build(tmp_path, [(lesson, f"{lesson[:2]} · Lesson", None) for lesson in lessons])
    runs = [
        {"lesson": lesson, "status": "ok", "seconds": 250.0, "profile": "cpu"}
        | {"budget_seconds": env.time_budget(lesson, "cpu")}
        for lesson in lessons
    ]
    page = site.render(tmp_path, runs)
    assert "<b>25 min</b>over the course's goal" in page  # 7 x 250 s = 29 min 10 s
    assert "(within its budget of 12 min)" in page and "(within its budget of 5 min)" in page
    runs[1]["seconds"] = 340.0
    page = site.render(tmp_path, runs)
    assert '<span class="over">(over its budget of 5 min)</span>' in page
    for one in runs:
        one["seconds"] = 100.0
    assert "<b>25 min</b>within the course's goal" in site.render(tmp_path, runs)
