"""The course as a web page: ``build/index.html``, one card per executed lesson.

``make course`` executes every lesson (:func:`cyclegan_lib.tools.nbtools.build_course`)
and calls :func:`build_site` with what each run reported: status, run time,
profile, and the numbers the lesson saved with
:func:`cyclegan_lib.course.results.save_results`. Each card links to the executed
notebook and its HTML page. Rebuild the page alone with
``python -m cyclegan_lib.tools.site`` (reads ``build/results/summary.json``).
"""

from __future__ import annotations

import html
import json
import re
import sys
import time
from pathlib import Path

from cyclegan_lib.course.env import build_dir

RECORD_KEYS = {"lesson", "profile", "written"}
"""Keys every results file has; the card shows them elsewhere, not in its table."""
PERCENT_WORDS = ("accuracy", "fraction", "rate")

STYLE = """
:root { --ink:#1d2330; --muted:#5b6475; --line:#e3e6ec; --ok:#1f8a4c; --bad:#c0392b; --accent:#3456d1; }
* { box-sizing: border-box; }
body { margin:0; font:16px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; color:var(--ink);
       background:#f5f6f9; }
header { background:linear-gradient(120deg,#22305e,#3456d1); color:white; padding:36px 48px 28px; }
header h1 { margin:0 0 6px; font-size:30px; }
header p { margin:0; opacity:.85; }
.facts { display:flex; gap:28px; margin-top:18px; flex-wrap:wrap; }
.facts div { font-size:14px; opacity:.9; } .facts b { display:block; font-size:22px; }
main { max-width:1040px; margin:28px auto; padding:0 24px; display:grid; gap:18px; }
.card { background:white; border:1px solid var(--line); border-radius:12px; padding:20px 24px;
        box-shadow:0 1px 3px rgba(20,30,60,.06); }
.card h2 { margin:0; font-size:20px; display:flex; align-items:center; gap:12px; }
.number { background:var(--accent); color:white; border-radius:8px; padding:2px 10px; font-size:16px; }
.pill { margin-left:auto; border-radius:999px; padding:2px 12px; font-size:13px; font-weight:600; }
.pill.ok { background:#e3f4ea; color:var(--ok); } .pill.bad { background:#fbe7e5; color:var(--bad); }
.meta { color:var(--muted); font-size:14px; margin:6px 0 12px; }
.meta a { color:var(--accent); text-decoration:none; margin-right:14px; font-weight:600; }
table { border-collapse:collapse; width:100%; font-size:14px; }
td { border-top:1px solid var(--line); padding:6px 8px; vertical-align:top; }
td:first-child { color:var(--muted); width:45%; } td { font-variant-numeric:tabular-nums; }
table + table { margin-top:14px; }
.groups td:first-child { width:22%; } .groups th { text-align:left; font-size:13px; padding:6px 8px;
  color:var(--accent); border-bottom:2px solid var(--line); }
.empty { color:var(--muted); font-style:italic; font-size:14px; }
footer { text-align:center; color:var(--muted); font-size:13px; padding:10px 0 36px; }
"""


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
    return html.escape(key.replace("_", " "))


def results_tables(results: dict | None) -> str:
    """The lesson's numbers: a name/value table, then one column per group of metrics."""
    plain, groups = split_results(results)
    if not plain and not groups:
        return '<p class="empty">This lesson saved no results.</p>'
    parts = []
    if plain:
        rows = (
            f"<tr><td>{label(k)}</td><td>{html.escape(format_value(k, v))}</td></tr>"
            for k, v in plain.items()
        )
        parts.append(f"<table>{''.join(rows)}</table>")
    if groups:
        metrics = list(dict.fromkeys(m for numbers in groups.values() for m in numbers))
        head = "".join(f"<th>{label(g)}</th>" for g in groups)
        rows = [
            f"<tr><td>{label(m)}</td>"
            + "".join(f"<td>{html.escape(format_value(m, groups[g].get(m)))}</td>" for g in groups)
            + "</tr>"
            for m in metrics
        ]
        parts.append(f'<table class="groups"><tr><th></th>{head}</tr>{"".join(rows)}</table>')
    return "\n".join(parts)


def format_seconds(seconds: float) -> str:
    """``41.0 s`` under a minute, ``3 min 32 s`` above."""
    if seconds < 60:
        return f"{seconds:.1f} s"
    minutes, rest = divmod(round(seconds), 60)
    return f"{minutes} min {rest} s"


def lesson_card(build: Path, run: dict) -> str:
    """One lesson: number, title, status, run time, profile, links, and its results table."""
    lesson = run["lesson"]
    number, _, _ = lesson.partition("_")
    title = lesson_title(build, lesson)
    title = title[len(number) :].lstrip(" ·.-:") if title.startswith(number) else title
    ok = run["status"] == "ok"
    return f"""<section class="card" id="{html.escape(lesson)}">
  <h2><span class="number">{html.escape(number)}</span>{html.escape(title)}
    <span class="pill {"ok" if ok else "bad"}">{html.escape(run["status"])}</span></h2>
  <div class="meta">{format_seconds(run["seconds"])} · profile <b>{html.escape(run["profile"])}</b> ·
    <a href="{html.escape(lesson)}.html">read the executed lesson</a>
    <a href="notebooks/{html.escape(lesson)}.ipynb">download the notebook</a></div>
  {results_tables(run.get("results"))}
</section>"""


def render(build: Path, runs: list[dict]) -> str:
    """The whole page, lessons in course order."""
    runs = sorted(runs, key=lambda r: r["lesson"])
    passed = sum(r["status"] == "ok" for r in runs)
    minutes = sum(r["seconds"] for r in runs) / 60
    profiles = ", ".join(sorted({r["profile"] for r in runs})) or "—"
    cards = "\n".join(lesson_card(build, run) for run in runs)
    built = time.strftime("%Y-%m-%d %H:%M")
    return f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>CycleGAN from Scratch: the course</title><style>{STYLE}</style></head>
<body><header><h1>CycleGAN from Scratch</h1>
<p>Every lesson, executed from top to bottom, with the numbers it measured.</p>
<div class="facts"><div><b>{passed}/{len(runs)}</b>lessons ran</div>
<div><b>{minutes:.1f} min</b>in all</div><div><b>{html.escape(profiles)}</b>profile</div></div>
</header>
<main>
{cards}
</main>
<footer>Built {built} by <code>make course</code>.</footer>
</body></html>
"""


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
