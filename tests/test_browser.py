"""Lesson 01's loss explorer in JupyterLab, driven in headless Chromium.

Starts JupyterLab on 127.0.0.1 (a free port, a token) in a throw-away folder
holding a copy of the lesson, opens it in Debian's Chromium through Playwright,
runs the cells up to the loss explorer and the explorer itself, drags its
D(G(z)) slider, and checks that the plot was redrawn. Screenshots go to
``build/test-artifacts/browser/``. Run with ``make test-browser`` (which installs
Chromium when it is missing); Playwright's own browser download is never used.
"""

from __future__ import annotations

import io
import json
import re
import shutil
from pathlib import Path

import pytest

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.tools import nbtools
from cyclegan_lib.tools.lab import CHROMIUM, CHROMIUM_FLAGS, lesson_copy, running_lab

pytestmark = pytest.mark.browser

LESSON = "01_vanilla_gan.ipynb"
EXPLORER_CALL = re.compile(r"(?<!\w)loss_explorer\(")
"""The widget's own cell, not ``draw_loss_explorer(...)``, its static twin."""
ARTIFACTS = repo_root() / "build" / "test-artifacts" / "browser"


def explorer_cell(nb) -> int:
    """The index of the cell that calls ``loss_explorer(...)``."""
    calls = [
        i
        for i, c in enumerate(nb.cells)
        if c.cell_type == "code" and EXPLORER_CALL.search(c.source)
    ]
    assert calls, f"{LESSON} has no cell calling loss_explorer(...)"
    return calls[0]


@pytest.fixture
def lab(tmp_path):
    """A JupyterLab server on 127.0.0.1 serving ``tmp_path`` in the smoke profile."""
    try:
        with running_lab(tmp_path, "smoke") as server:
            yield server
    finally:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        shutil.copy(tmp_path / "lab.log", ARTIFACTS / "jupyterlab.log")


def changed_fraction(before: bytes, after: bytes) -> float:
    """Fraction of pixels that differ between two screenshots of the same element."""
    from PIL import Image, ImageChops

    a, b = (Image.open(io.BytesIO(png)).convert("RGB") for png in (before, after))
    if a.size != b.size:
        return 1.0
    diff = ImageChops.difference(a, b).convert("L").point(lambda v: 255 if v > 16 else 0)
    return diff.histogram()[255] / (a.size[0] * a.size[1])


RUN_UP_TO = """async ([index, seconds]) => {
  const app = window.jupyterapp;
  const panel = app.shell.currentWidget;
  const run = (async () => {
    await panel.sessionContext.ready;
    panel.content.activeCellIndex = index;
    if (index > 0) { await app.commands.execute('notebook:run-all-above'); }
    await app.commands.execute('notebook:run-cell');
  })();
  const late = new Promise((_, fail) => setTimeout(() => fail(new Error('cells still running')), seconds * 1000));
  await Promise.race([run, late]);
}"""


def test_loss_explorer_slider_redraws_the_plot(lab, tmp_path):
    from playwright.sync_api import sync_playwright

    assert Path(CHROMIUM).exists(), (
        "Chromium is missing: run 'make test-browser' (apt-get install chromium)"
    )
    notebook, nb = lesson_copy(nbtools.notebooks_dir() / LESSON, tmp_path)
    index = explorer_cell(nb)
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    with sync_playwright() as driver:
        browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1500, "height": 1000})
        try:
            page.goto(lab.url(f"/lab/tree/{notebook.name}?reset"))
            page.wait_for_function(
                "window.jupyterapp?.shell?.currentWidget?.sessionContext", timeout=120_000
            )
            page.evaluate(RUN_UP_TO, [index, 300])
            cell = page.locator(".jp-Notebook .jp-Cell").nth(index)
            plot = cell.locator(".jp-OutputArea img").last
            plot.wait_for(timeout=120_000)
            cell.scroll_into_view_if_needed()
            before_src = plot.get_attribute("src")
            before = plot.screenshot(path=str(ARTIFACTS / "loss_explorer_before.png"))
            page.screenshot(path=str(ARTIFACTS / "lab_before.png"))

            slider = cell.locator(".widget-slider").nth(1)  # D(G(z)) on a fake
            readout_before = slider.locator(".widget-readout").inner_text()
            handle = slider.locator(".noUi-handle").bounding_box()
            x, y = handle["x"] + handle["width"] / 2, handle["y"] + handle["height"] / 2
            page.mouse.move(x, y)
            page.mouse.down()
            page.mouse.move(x + 160, y, steps=8)
            page.mouse.up()
            page.wait_for_function(
                "([el, src]) => el.isConnected ? el.src !== src : true",
                arg=[plot.element_handle(), before_src],
                timeout=60_000,
            )
            plot = cell.locator(".jp-OutputArea img").last
            plot.wait_for(timeout=60_000)
            page.wait_for_timeout(500)  # let the new image finish decoding before the screenshot
            after = plot.screenshot(path=str(ARTIFACTS / "loss_explorer_after.png"))
            page.screenshot(path=str(ARTIFACTS / "lab_after.png"))
            readout_after = slider.locator(".widget-readout").inner_text()
        finally:
            page.screenshot(path=str(ARTIFACTS / "lab_last.png"))
            browser.close()
    changed = changed_fraction(before, after)
    (ARTIFACTS / "result.json").write_text(
        json.dumps({"readout": [readout_before, readout_after], "changed_pixels": changed})
    )
    assert float(readout_after) > float(readout_before), (readout_before, readout_after)
    assert changed > 0.005, f"the plot barely changed ({changed:.2%} of its pixels)"
