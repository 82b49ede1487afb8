"""Screenshot lesson 04's training cell mid-run in JupyterLab: its progress bar and live view.

Starts JupyterLab (:mod:`cyclegan_lib.tools.lab`) at the lowest CPU priority on a copy of
``notebooks/04_cyclegan.ipynb`` in a throw-away folder, opens it in Debian's headless Chromium
through Playwright, runs all cells in the ``cpu`` profile, waits until the cell that trains
the ablation arms shows a progress bar past ``--after_steps`` steps and a live sample grid,
saves a screenshot, then interrupts the kernel and stops the server. Not a CI test: it trains for
minutes. Run with::

    .venv/bin/python bench/lab_progress_screenshot.py [--out PATH] [--minutes 40] [--after_steps 1]
"""

from __future__ import annotations

import argparse
import json
import re
import shutil
import sys
import tempfile
import time
from pathlib import Path

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.tools import nbtools
from cyclegan_lib.tools.lab import CHROMIUM, CHROMIUM_FLAGS, lesson_copy, running_lab

LESSON = "04_cyclegan.ipynb"
TRAINING_CALL = "train_cyclegan_arms("
DEFAULT_OUT = (
    repo_root() / "build" / "test-artefacts" / "lab-progress" / "lesson04_training_mid_run.png"
)
BAR_TEXT = re.compile(r"\b([1-9]\d*)/(\d+)\b")
"""tqdm's "n/total" once at least one step is done."""

KERNEL_IDLE = """() => {
  const kernel = window.jupyterapp.shell.currentWidget.sessionContext.session?.kernel;
  return kernel?.status === 'idle';
}"""

RUN_ALL = """() => {
  const app = window.jupyterapp;
  app.commands.execute('notebook:run-all-cells');
}"""
"""Started only once the kernel is idle and the widget manager has asked the kernel for its
widgets: a request queued behind a whole run would leave every widget "Loading..." until the
last cell finished."""


def capture(out: Path, minutes: float, after_steps: int = 1) -> dict:
    """Run the lesson in Lab until the training cell's bar shows ``after_steps`` steps done
    and a sample grid."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="lab-progress-"))
    notebook, nb = lesson_copy(nbtools.notebooks_dir() / LESSON, folder)
    index = next(i for i, cell in enumerate(nb.cells) if TRAINING_CALL in cell.source)
    try:
        with (
            running_lab(folder, "cpu", niceness=19, wait_seconds=600) as lab,
            sync_playwright() as driver,
        ):
            started = time.monotonic()
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(lab.url(f"/lab/tree/{notebook.name}?reset"))
            page.wait_for_function(
                "window.jupyterapp?.shell?.currentWidget?.sessionContext", timeout=180_000
            )
            page.wait_for_function(KERNEL_IDLE, timeout=180_000)
            page.wait_for_timeout(10_000)
            page.evaluate(RUN_ALL)
            cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
            deadline = started + 60 * minutes
            bar, seen = "", []
            while time.monotonic() < deadline:
                page.wait_for_timeout(5000)
                text = cell.locator(".jp-OutputArea").first.text_content() or ""
                seen.append(text[:200])
                found = BAR_TEXT.search(text)
                done = int(found.group(1)) if found else 0
                if done >= after_steps and cell.locator(".jp-OutputArea img").count():
                    bar = found.group(0)
                    break
            (out.parent / "polls.txt").write_text("\n".join(seen[-20:]))
            cell.scroll_into_view_if_needed()
            if bar:
                cell.locator(".jp-OutputArea img").last.scroll_into_view_if_needed()
            page.wait_for_timeout(1000)
            page.screenshot(path=str(out))
            cell.screenshot(path=str(out.with_name(out.stem + "_cell.png")))
            browser.close()
    finally:
        shutil.copy(folder / "lab.log", out.with_name("jupyterlab.log"))
        shutil.rmtree(folder, ignore_errors=True)
    return {"bar": bar, "seconds": round(time.monotonic() - started), "screenshot": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--minutes", type=float, default=40.0, help="give up after this long")
    parser.add_argument("--after_steps", type=int, default=1, help="wait for this many steps")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    result = capture(args.out, args.minutes, args.after_steps)
    print(json.dumps(result))
    return 0 if result["bar"] else 1


if __name__ == "__main__":
    sys.exit(main())
