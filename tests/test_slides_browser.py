"""Every lesson's reveal.js deck in headless Chromium: it opens offline, has the slides its
metadata promises, and steps through to the end without a console error. The rendered
height of every slide goes to ``decks.json`` beside the screenshots (``over_the_stage``:
slides taller than the 720-px stage), the measurement behind the row budget that
``tests/test_slides.py`` enforces. Decks are built from the lessons into a temporary folder (reveal.js
and MathJax from the npm cache in ``build/cache/npm``); screenshots of each deck's first
slide and first figure go to ``build/test-artefacts/slides/``.
"""

from __future__ import annotations

import json

import pytest

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.tools import nbtools, slides
from cyclegan_lib.tools.lab import CHROMIUM

pytestmark = pytest.mark.browser

ARTEFACTS = repo_root() / "build" / "test-artefacts" / "slides"
STEP_THROUGH = """async () => {
  const heights = [];
  Reveal.slide(0, 0, 0);
  for (let guard = 0; guard < 2000; guard++) {
    await new Promise(done => setTimeout(done, 20));
    const slide = Reveal.getCurrentSlide();
    heights.push([Reveal.getSlidePastCount(), slide.scrollHeight]);
    if (Reveal.isLastSlide() && !Reveal.availableFragments().next) break;
    Reveal.next();
  }
  return {heights, last: Reveal.isLastSlide()};
}"""


@pytest.fixture(scope="module")
def decks(tmp_path_factory):
    out = tmp_path_factory.mktemp("slides")
    lessons = nbtools.lessons()
    return out, lessons, slides.build_decks(lessons, out, repo_root() / "build" / "cache" / "npm")


def test_every_deck_opens_offline_and_steps_through(decks):
    from playwright.sync_api import sync_playwright

    out, lessons, built = decks
    assert len(built) == len(lessons)
    ARTEFACTS.mkdir(parents=True, exist_ok=True)
    report = {}
    with sync_playwright() as driver:
        browser = driver.chromium.launch(
            executable_path=CHROMIUM, args=["--headless", "--no-sandbox", "--disable-gpu"]
        )
        page = browser.new_page(viewport={"width": 1280, "height": 720})
        errors, remote = [], []
        page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: errors.append(str(e)))
        page.on("requestfailed", lambda r: errors.append(f"failed to load {r.url}"))

        def only_local(route):
            if route.request.url.startswith(("file:", "data:")):
                route.continue_()
            else:
                remote.append(route.request.url)
                route.abort()

        page.route("**/*", only_local)
        try:
            for lesson, deck in zip(lessons, built, strict=True):
                nb = json.loads(lesson.read_text(encoding="utf-8"))
                page.goto(deck.as_uri())
                page.wait_for_function("window.Reveal && Reveal.isReady()", timeout=60_000)
                page.screenshot(path=str(ARTEFACTS / f"{lesson.stem}_title.png"))
                assert page.evaluate("Reveal.hasPlugin('notes')"), deck.name
                total = page.evaluate("Reveal.getTotalSlides()")
                assert total == len(list(slides.slides_of(nb))), deck.name
                walk = page.evaluate(STEP_THROUGH)
                assert walk["last"], f"{deck.name}: never reached the last slide"
                figure = page.evaluate(
                    "(() => { const s = Reveal.getSlides().findIndex(x => x.querySelector("
                    "'.jp-OutputArea-output img')); return s; })()"
                )
                if figure >= 0:
                    page.evaluate(
                        f"Reveal.slide(...Object.values(Reveal.getIndices(Reveal.getSlides()[{figure}])))"
                    )
                    page.wait_for_timeout(300)
                    page.screenshot(path=str(ARTEFACTS / f"{lesson.stem}_figure.png"))
                tall = sorted({n for n, h in walk["heights"] if h > slides.STAGE[1]})
                report[deck.name] = {
                    "slides": total,
                    "bytes": deck.stat().st_size,
                    "over_the_stage": tall,
                }
        finally:
            browser.close()
            (ARTEFACTS / "decks.json").write_text(json.dumps(report, indent=2))
    assert remote == [], f"decks asked the network for {remote[:3]}"
    assert errors == [], errors[:5]
