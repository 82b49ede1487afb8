"""The course as a web page: ``build/index.html``, one card per executed lesson.

``make course`` executes every lesson (:func:`cyclegan_lib.tools.nbtools.build_course`)
and calls :func:`build_site` with what each run reported: status, run time,
profile, and the numbers the lesson saved with
:func:`cyclegan_lib.course.results.save_results`. Each card links to the executed
notebook and its HTML page. Rebuild the page alone with
``python -m cyclegan_lib.tools.site`` (reads ``build/results/summary.json``). The page
is ``templates/course.html`` of :mod:`cyclegan_lib.pipeline.templates`.
"""

from __future__ import annotations

import json
import re
import sys
import time
from pathlib import Path

from cyclegan_lib.course.env import build_dir, course_goal
from cyclegan_lib.pipeline.templates import render as render_template

RECORD_KEYS = {"lesson", "profile", "written"}
"""Keys every results file has; the card shows them elsewhere, not in its table."""
PERCENT_WORDS = ("accuracy", "fraction", "rate")


def lesson_title(build: Path, lesson: str) -> str:
    """The lesson's first Markdown heading (``# 01 · Vanilla GAN``), else its file name."""
    path = build / "notebooks" / f"{lesson}.ipynb"
    try:
        cells = json.loads(path.read_text())["cells"]
    except (OSError, ValueError, KeyError):
        return lesson
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            match = re.search(r"^#\s+(.+)$", "".join(cell.get("source", "")), re.M)
            if match:
                return match.group(1).strip()
    return lesson


def format_value(key: str, value, digits: int = 4) -> str:
    """Numbers to ``digits`` significant digits, fractions named like accuracies as percentages."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "yes" if value else "no"
    if isinstance(value, float):
        if 0 <= value <= 1 and any(word in key.lower() for word in PERCENT_WORDS):
            return f"{value:.{max(0, digits - 3)}%}"
        return f"{value:.{digits}g}"
    if isinstance(value, list):  # e.g. a class histogram: short items, one line
        return " ".join(format_value(key, v, digits=2) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{k} {format_value(k, v)}" for k, v in value.items())
    return str(value)


def split_results(results: dict | None) -> tuple[dict, dict[str, dict]]:
    """(plain numbers, numbers by group): ``"trained G: label_accuracy"`` or a nested dict
    ``{"trained G": {...}}`` is metric ``label_accuracy`` of group ``trained G``."""
    plain, groups = {}, {}
    for key, value in (results or {}).items():
        if key in RECORD_KEYS:
            continue
        if isinstance(value, dict):
            groups.setdefault(key, {}).update(value)
        elif ": " in key:
            group, metric = key.split(": ", 1)
            groups.setdefault(group, {})[metric] = value
        else:
            plain[key] = value
    return plain, groups


def label(key: str) -> str:
    return key.replace("_", " ")


def results_context(results: dict | None) -> dict:
    """The lesson's numbers for the template: ``plain`` (name, value) rows, and ``groups``
    with ``metrics`` (name, one value per group) for the table with one column per group."""
    plain, groups = split_results(results)
    metrics = list(dict.fromkeys(m for numbers in groups.values() for m in numbers))
    return {
        "plain": [(label(k), format_value(k, v)) for k, v in plain.items()],
        "groups": [label(g) for g in groups],
        "metrics": [
            (label(m), [format_value(m, numbers.get(m)) for numbers in groups.values()])
            for m in metrics
        ],
    }


def format_seconds(seconds: float) -> str:
    """``41.0 s`` under a minute, ``3 min 32 s`` above (``5 min`` on the minute)."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s" if rest else f"{minutes} min"


def budget_context(run: dict) -> dict:
    """``budget`` (the lesson's time budget in its profile, or None) and ``over`` (True
    when the run took longer), for the card's time line."""
    budget = run.get("budget_seconds")
    if budget is None:
        return {"budget": None, "over": False}
    return {"budget": format_seconds(budget), "over": run["seconds"] > budget}


def lesson_card(build: Path, run: dict) -> dict:
    """One lesson: number, title, status, run time, profile, and its results."""
    lesson = run["lesson"]
    number, _, _ = lesson.partition("_")
    title = lesson_title(build, lesson)
    title = title[len(number) :].lstrip(" ·.-:") if title.startswith(number) else title
    return {
        "lesson": lesson,
        "number": number,
        "title": title,
        "ok": run["status"] == "ok",
        "status": run["status"],
        "time": format_seconds(run["seconds"]),
        **budget_context(run),
        "profile": run["profile"],
        **results_context(run.get("results")),
    }


def render(build: Path, runs: list[dict]) -> str:
    """The whole page (``templates/course.html``), lessons in course order."""
    runs = sorted(runs, key=lambda r: r["lesson"])
    seconds = sum(r["seconds"] for r in runs)
    goal = course_goal(runs)
    return render_template(
        "course.html",
        title="CycleGAN from Scratch: the course",
        cards=[lesson_card(build, run) for run in runs],
        passed=sum(r["status"] == "ok" for r in runs),
        minutes=seconds / 60,
        goal=None if goal is None else {"time": format_seconds(goal), "over": seconds > goal},
        profiles=", ".join(sorted({r["profile"] for r in runs})) or "—",
        built=time.strftime("%Y-%m-%d %H:%M"),
    )


def build_site(build: Path, runs: list[dict]) -> Path:
    """Write ``index.html`` into ``build`` and return its path."""
    page = build / "index.html"
    page.write_text(render(build, runs), encoding="utf-8")
    return page


def main(argv: list[str] | None = None) -> int:
    """Rebuild ``build/index.html`` from ``build/results/summary.json``."""
    build = Path(argv[0]) if argv else build_dir()
    summary = build / "results" / "summary.json"
    if not summary.exists():
        print(f"no {summary}: run 'make course' first", file=sys.stderr)
        return 1
    print(f"wrote {build_site(build, json.loads(summary.read_text()))}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
