"""Every lesson as a slide deck: slide metadata, a size check, and offline reveal.js decks.

* ``assign``: give every cell without ``metadata.slideshow`` a default slide type (headings
  open slides, set-up and bookkeeping cells are skipped, provenance goes to speaker notes,
  the rest continues the current slide while it fits); explicit choices are kept.
* ``split``: shorten a slide that is too tall: cut its longest prose cell at a paragraph
  break (never inside math or code), or open a sub-slide at the cell that overflows.
* ``check``: every cell has a slide type and no slide is taller than the stage.
* ``build``: one reveal.js deck per lesson in ``build/slides/``, from the executed lessons of
  ``make course`` (``build/notebooks/``) or, where a lesson is not built, from its source.
  reveal.js and MathJax come from the npm registry (``npm pack``, cached in
  ``build/cache/npm/``) and are copied next to the decks, so a deck opens offline; ``s`` on
  a deck opens reveal's presenter view with the speaker notes.

Run as ``python -m cyclegan_lib.tools.slides {assign,split,check,build} [lessons...]``.

The stage and its budget
------------------------
A deck is laid out on a 1280 x 720 stage (a 720p projector; reveal scales it to the
window). Prose is set at 20 px with a line height of 1.5, so one *row* is 30 px, and the
720 px stage holds ``BUDGET_ROWS = 24`` rows. Measured in Chromium on the six decks (the
browser test measures it again), a row of this estimate took 29 px at the median and 32 px
at the 95th percentile, so the estimate is a fair ceiling, and the browser test checks the
rendered height of every slide against the stage itself. Other content is converted into rows: a wrapped prose line holds about 100
characters of a 1200 px column; code and text outputs are set at 19 px monospace (about 25
px a line, 0.85 row, 95 characters); a heading costs 1.5-2.5 rows, a table row 1.4; each
cell's padding half a row. The deck's stylesheet caps a figure at ``FIGURE_ROWS`` rows and
puts code longer than ``CODE_INPUT_ROWS`` rows, and long text outputs, in a scrolling box.
"""

from __future__ import annotations

import argparse
import ast
import json
import math
import re
import shutil
import subprocess
import tarfile
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from cyclegan_lib.course.env import build_dir, repo_root

SLIDE_TYPES = ("slide", "subslide", "fragment", "skip", "notes", "-")
STARTS = ("slide", "subslide")
HIDDEN = ("skip", "notes")
STAGE = (1280, 720)
ROW_PX = 30
BUDGET_ROWS = 24
CODE_INPUT_ROWS = 16
"""Code taller than this scrolls inside its slide (470 px, ``course_slides.html.j2``)."""
PROSE_CHARS, CODE_CHARS, CODE_ROW = 100, 95, 0.85
FIGURE_ROWS = 14
"""A figure's height cap in rows: 420 px, set by the deck's stylesheet."""
HEADING_ROWS = {1: 2.5, 2: 2.0, 3: 1.5}
TEXT_OUTPUT_ROWS = 12
"""A long text output scrolls in a box of this many rows (360 px)."""

NPM_PACKAGES = {"reveal.js": "5.2.1", "mathjax": "3.2.2"}
ASSETS = {
    "reveal.js": [
        "dist/reveal.css",
        "dist/reveal.js",
        "dist/theme/white.css",
        "dist/theme/fonts/source-sans-pro",
        "plugin/notes/notes.js",
    ],
    "mathjax": ["es5/tex-chtml-full.js", "es5/output/chtml/fonts/woff-v2"],
}
TEMPLATE_DIR = Path(__file__).with_name("slides_template")
SETUP_TAGS = {"colab-setup", "colab-badge"}
NOTES_MARKERS = re.compile(
    r"^\s*(\*\*|<summary>)?\s*behind the numbers|python -m bench|bench/\w+\.py", re.I | re.M
)
SKIPPED_SECTIONS = re.compile(r"^#{1,3}\s*[\d.]*\s*(environment|set-?up|record the numbers)", re.I)
"""Headings of sections that are set-up or bookkeeping: skipped whole, heading and cells."""
BOOKKEEPING = re.compile(r"\bresults\.(save|record|write)\w*\(|\bwrite_results\(|json\.dump\(")


# ---------------------------------------------------------------- how tall a cell is
def source_of(cell: dict) -> str:
    source = cell.get("source", "")
    return "".join(source) if isinstance(source, list) else source


def wrapped(line: str, width: int) -> int:
    return max(1, math.ceil(len(line) / width))


def markdown_rows(text: str) -> float:
    """Rows a markdown cell takes on the stage (headings taller, blank lines half a row)."""
    rows, in_math = 0.0, False
    for line in text.splitlines():
        stripped = line.strip()
        heading = re.match(r"(#{1,6})\s", stripped)
        if stripped.startswith("$$"):
            in_math = not in_math if stripped.count("$$") == 1 else in_math
            rows += 1.5
        elif heading:
            rows += HEADING_ROWS.get(len(heading.group(1)), 1.0) * wrapped(stripped, PROSE_CHARS)
        elif not stripped:
            rows += 0.5
        elif stripped.startswith("|"):
            rows += 1.4
        elif stripped.startswith("<img") or stripped.startswith("!["):
            rows += FIGURE_ROWS
        else:
            rows += (1.5 if in_math else 1.0) * wrapped(stripped, PROSE_CHARS)
    return rows + 0.5


def code_rows(text: str) -> float:
    lines = [line for line in text.splitlines() if not line.startswith("# NBVAL")]
    rows = CODE_ROW * sum(wrapped(line, CODE_CHARS) for line in lines)
    return min(rows, CODE_INPUT_ROWS) + 0.5


def output_rows(outputs: list[dict]) -> float:
    """Rows of a code cell's outputs: figures capped, long text clipped to a scrolling box."""
    rows = 0.0
    for output in outputs:
        data = output.get("data", {})
        if "image/png" in data or "image/svg+xml" in data:
            rows += FIGURE_ROWS
        elif "text/html" in data:
            html = source_of({"source": data["text/html"]})
            rows += min(TEXT_OUTPUT_ROWS, 1.2 * html.count("<tr") + 1)
        else:
            text = source_of({"source": output.get("text", data.get("text/plain", ""))})
            lines = [ln for ln in text.splitlines() if "\r" not in ln]
            rows += min(TEXT_OUTPUT_ROWS, CODE_ROW * sum(wrapped(ln, CODE_CHARS) for ln in lines))
    return rows


def cell_rows(cell: dict) -> float:
    if cell["cell_type"] == "markdown":
        return markdown_rows(source_of(cell))
    if cell["cell_type"] == "code":
        return code_rows(source_of(cell)) + output_rows(cell.get("outputs", []))
    return 0.0


# ---------------------------------------------------------------- default slide types
def slide_type(cell: dict) -> str | None:
    return cell.get("metadata", {}).get("slideshow", {}).get("slide_type")


def only_statements(source: str, kinds: tuple[type, ...]) -> bool:
    """True when the code parses and every top-level statement is one of ``kinds``."""
    try:
        body = ast.parse(source).body
    except SyntaxError:
        return False
    return bool(body) and all(isinstance(node, kinds) for node in body)


def is_exercise_wiring(source: str) -> bool:
    """``f = check(f, lessonNN.F)`` lines: bookkeeping, not teaching."""
    lines = [ln for ln in source.splitlines() if ln.strip() and not ln.startswith("#")]
    return bool(lines) and all(re.match(r"\s*\w+\s*=\s*check\(", ln) for ln in lines)


def default_type(cell: dict, rows_so_far: float, in_skipped_section: bool = False) -> str:
    """The slide type a cell gets when it has none.

    Markdown headings ``#``/``##`` open a slide and ``###`` a sub-slide; Colab cells,
    import-only cells, exercise wiring, assertion-only cells and cells that save results
    are skipped, and so are sections headed "Environment", "Set-up" or "Record the
    numbers" (``in_skipped_section``); "behind the numbers" prose and bench commands go to speaker notes;
    anything else continues the current slide (prose as a fragment) while the slide stays
    within ``BUDGET_ROWS``, and opens a sub-slide when it would not.
    """
    source = source_of(cell)
    if SETUP_TAGS & set(cell.get("metadata", {}).get("tags", [])):
        return "skip"
    if cell["cell_type"] == "markdown":
        heading = re.match(r"\s*(#{1,3})\s", source)
        if SKIPPED_SECTIONS.match(source.lstrip()):
            return "skip"
        if heading:
            return "slide" if len(heading.group(1)) <= 2 else "subslide"
        if NOTES_MARKERS.search(source):
            return "notes"
    if in_skipped_section and not re.match(r"\s*#{1,3}\s", source):
        return "skip"
    if cell["cell_type"] == "code":
        if (
            only_statements(source, (ast.Import, ast.ImportFrom))
            or only_statements(source, (ast.Assert,))
            or is_exercise_wiring(source)
            or BOOKKEEPING.search(source)
        ):
            return "skip"
    if rows_so_far + cell_rows(cell) > BUDGET_ROWS:
        return "subslide"
    return "fragment" if cell["cell_type"] == "markdown" and rows_so_far else "-"


def assign_defaults(nb: dict) -> int:
    """Set a default slide type on every cell without one; returns how many were set."""
    rows, changed, skipping = 0.0, 0, False
    for cell in nb["cells"]:
        source = source_of(cell)
        if cell["cell_type"] == "markdown" and re.match(r"\s*#{1,3}\s", source):
            skipping = bool(SKIPPED_SECTIONS.match(source.lstrip()))
        kind = slide_type(cell)
        if kind is None:
            kind = default_type(cell, rows, skipping)
            cell.setdefault("metadata", {})["slideshow"] = {"slide_type": kind}
            changed += 1
        if kind in STARTS:
            rows = cell_rows(cell)
        elif kind not in HIDDEN:
            rows += cell_rows(cell)
    return changed


# ---------------------------------------------------------------- the check
@dataclass
class Slide:
    first_cell: int
    rows: float


def slides_of(nb: dict) -> Iterator[Slide]:
    """The visible slides (a slide or sub-slide with the cells that continue it)."""
    current: Slide | None = None
    for index, cell in enumerate(nb["cells"]):
        kind = slide_type(cell) or "-"
        if kind in HIDDEN:
            continue
        if kind in STARTS or current is None:
            if current is not None:
                yield current
            current = Slide(index, 0.0)
        current.rows += cell_rows(cell)
    if current is not None:
        yield current


def problems(nb: dict, name: str) -> list[str]:
    """One line per cell without (valid) slide metadata and per slide over the budget."""
    found = []
    for index, cell in enumerate(nb["cells"]):
        kind = slide_type(cell)
        if kind not in SLIDE_TYPES:
            found.append(f"{name}: cell {index} has slide_type {kind!r}, not one of {SLIDE_TYPES}")
    for slide in slides_of(nb):
        if slide.rows > BUDGET_ROWS:
            found.append(
                f"{name}: the slide starting at cell {slide.first_cell} takes "
                f"{slide.rows:.1f} rows, over the budget of {BUDGET_ROWS}"
            )
    return found


# ---------------------------------------------------------------- splitting long prose
def paragraphs(text: str) -> list[str]:
    """Markdown blocks separated by blank lines, never cut inside ``$$`` math or a code fence."""
    blocks: list[list[str]] = [[]]
    in_math = in_code = False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_code = not in_code
        elif stripped.startswith("$$") and stripped.count("$$") == 1:
            in_math = not in_math
        if not stripped and not (in_math or in_code):
            if blocks[-1]:
                blocks.append([])
            continue
        blocks[-1].append(line)
    return ["\n".join(block) for block in blocks if block]


def fresh_id(nb: dict, base: str) -> str:
    taken = {cell.get("id") for cell in nb["cells"]}
    number = 2
    while f"{base}-{number}" in taken:
        number += 1
    return f"{base}-{number}"


def split_in_two(nb: dict, index: int) -> None:
    """Cut markdown cell ``index`` where its rows are halved; the second half opens a sub-slide."""
    cell = nb["cells"][index]
    blocks = paragraphs(source_of(cell))
    total = markdown_rows(source_of(cell))
    cut = min(
        range(1, len(blocks)),
        key=lambda k: abs(markdown_rows("\n\n".join(blocks[:k])) - total / 2),
    )
    cell["source"] = "\n\n".join(blocks[:cut]).splitlines(keepends=True)
    rest = {
        "cell_type": "markdown",
        "id": fresh_id(nb, str(cell.get("id", "cell"))),
        "metadata": {"slideshow": {"slide_type": "subslide"}},
        "source": "\n\n".join(blocks[cut:]).splitlines(keepends=True),
    }
    nb["cells"].insert(index + 1, rest)


def cells_of(nb: dict, slide: Slide) -> list[int]:
    """Indices of the visible cells that make up ``slide``."""
    found = [slide.first_cell]
    for index in range(slide.first_cell + 1, len(nb["cells"])):
        kind = slide_type(nb["cells"][index]) or "-"
        if kind in STARTS:
            break
        if kind not in HIDDEN:
            found.append(index)
    return found


def first_cut(nb: dict, slide: Slide) -> tuple[str, int] | None:
    """How to shorten ``slide``: split its longest cell if that is prose with several
    paragraphs, else open a sub-slide at the first later cell that overflows the stage."""
    cells = cells_of(nb, slide)
    longest = max(cells, key=lambda i: cell_rows(nb["cells"][i]))
    cell = nb["cells"][longest]
    if cell["cell_type"] == "markdown" and len(paragraphs(source_of(cell))) > 1:
        return "split", longest
    rows = 0.0
    for index in cells:
        rows += cell_rows(nb["cells"][index])
        if rows > BUDGET_ROWS and index != slide.first_cell:
            return "break", index
    return None


def split_long_slides(nb: dict) -> int:
    """Shorten every slide over the budget (:func:`first_cut`) until it fits or nothing is
    left to cut; returns how many cuts were made."""
    cuts = 0
    while True:
        over = (slide for slide in slides_of(nb) if slide.rows > BUDGET_ROWS)
        found = [cut for slide in over if (cut := first_cut(nb, slide)) is not None]
        if not found:
            return cuts
        how, index = found[0]
        if how == "split":
            split_in_two(nb, index)
        else:
            nb["cells"][index].setdefault("metadata", {})["slideshow"] = {"slide_type": "subslide"}
        cuts += 1


# ---------------------------------------------------------------- offline assets
def npm_assets(cache: Path) -> dict[str, Path]:
    """reveal.js and MathJax unpacked under ``cache`` (``npm pack`` once, then reused)."""
    unpacked = {}
    for name, version in NPM_PACKAGES.items():
        folder = cache / f"{name}-{version}"
        if not (folder / "package.json").exists():
            cache.mkdir(parents=True, exist_ok=True)
            if shutil.which("npm") is None:
                raise SystemExit("slides: npm is missing (make system-deps installs it)")
            spec = f"{name}@{version}"
            subprocess.run(
                ["npm", "pack", spec, "--silent", "--pack-destination", str(cache)],
                check=True,
                stdout=subprocess.DEVNULL,
            )
            with tarfile.open(cache / f"{name}-{version}.tgz") as archive:
                archive.extractall(cache / "unpack", filter="data")
            shutil.rmtree(folder, ignore_errors=True)
            (cache / "unpack" / "package").rename(folder)
        unpacked[name] = folder
    return unpacked


def copy_assets(out: Path, cache: Path) -> None:
    """The parts of reveal.js and MathJax a deck loads, copied into ``out``."""
    for name, folder in npm_assets(cache).items():
        for part in ASSETS[name]:
            source = folder / part
            target = out / name / part.removeprefix("es5/")
            target.parent.mkdir(parents=True, exist_ok=True)
            if source.is_dir():
                shutil.copytree(source, target, dirs_exist_ok=True)
            else:
                shutil.copy2(source, target)


# ---------------------------------------------------------------- the decks
def for_slides(nb):
    """A copy ready to export: no widget state (it would load a CDN), no nbval markers."""
    import copy

    deck = copy.deepcopy(nb)
    deck.metadata.pop("widgets", None)
    for cell in deck.cells:
        lines = source_of(cell).splitlines()
        cell.source = "\n".join(ln for ln in lines if not ln.startswith("# NBVAL"))
        for output in cell.get("outputs", []):
            output.get("data", {}).pop("application/vnd.jupyter.widget-view+json", None)
    return deck


def export_deck(nb, target: Path) -> None:
    from nbconvert import SlidesExporter

    exporter = SlidesExporter(
        extra_template_paths=[str(TEMPLATE_DIR)],
        template_file="course_slides.html.j2",
        reveal_url_prefix="reveal.js",
        reveal_width=str(STAGE[0]),
        reveal_height=str(STAGE[1]),
        reveal_number="c/t",
        reveal_theme="white",
    )
    body, _ = exporter.from_notebook_node(for_slides(nb))
    target.write_text(body, encoding="utf-8")


def build_decks(sources: list[Path], out: Path, cache: Path) -> list[Path]:
    """One deck per lesson in ``out`` (``NN_name.slides.html``), reveal.js beside them."""
    import nbformat

    out.mkdir(parents=True, exist_ok=True)
    copy_assets(out, cache)
    decks = []
    for source in sources:
        target = out / f"{source.stem}.slides.html"
        export_deck(nbformat.read(str(source), as_version=4), target)
        decks.append(target)
        print(f"{target} ({target.stat().st_size / 1e6:.1f} MB)")
    return decks


def deck_sources(lessons: list[Path], executed: Path) -> list[Path]:
    """The executed lesson from ``make course`` where there is one, else the source."""
    return [executed / p.name if (executed / p.name).exists() else p for p in lessons]


def main(argv: list[str] | None = None) -> int:
    from cyclegan_lib.tools.nbtools import lessons

    parser = argparse.ArgumentParser(
        prog="python -m cyclegan_lib.tools.slides", description=__doc__
    )
    parser.add_argument("command", choices=("assign", "split", "check", "build"))
    parser.add_argument("lessons", nargs="*", type=Path, help="default: every lesson")
    parser.add_argument("--out", type=Path, help="default: build/slides")
    args = parser.parse_args(argv)
    selected = args.lessons or lessons()
    if args.command in ("assign", "split"):
        change = assign_defaults if args.command == "assign" else split_long_slides
        for path in selected:  # load, change, save at once: others may edit the lesson
            nb = json.loads(path.read_text(encoding="utf-8"))
            changed = change(nb)
            path.write_text(
                json.dumps(nb, indent=1, sort_keys=True, ensure_ascii=False) + "\n",
                encoding="utf-8",
            )
            print(f"{path.name}: {args.command} changed {changed} cells")
        return 0
    if args.command == "check":
        found = [
            line
            for path in selected
            for line in problems(json.loads(path.read_text(encoding="utf-8")), path.name)
        ]
        print(
            "\n".join(found)
            or f"{len(selected)} lessons: every cell has a slide type, every slide fits"
        )
        return 1 if found else 0
    out = args.out or build_dir() / "slides"
    build_decks(
        deck_sources(selected, build_dir() / "notebooks"),
        out,
        repo_root() / "build" / "cache" / "npm",
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
