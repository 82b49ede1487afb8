"""Screenshot lesson 04's training cell mid-run in JupyterLab: its progress bar and live view.

Starts JupyterLab (no token, 127.0.0.1, a free port) at the lowest CPU priority on a copy of
``notebooks/04_cyclegan.ipynb`` in a throw-away folder, opens it in Debian's headless Chromium
through Playwright, runs all cells in the ``cpu`` profile, waits until the cell that trains
the ablation arms shows a progress bar past 0 steps and a live sample grid, saves a
screenshot, then interrupts the kernel and stops the server. Not a CI test: it trains for
minutes. Run with::

    .venv/bin/python bench/lab_progress_screenshot.py [--out PATH] [--minutes 40]
"""

from __future__ import annotations

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "tests"))
from test_browser import CHROMIUM, CHROMIUM_FLAGS, free_port, wait_for_lab  # noqa: E402

LESSON = "04_cyclegan.ipynb"
TRAINING_CALL = "train_cyclegan_arms("
DEFAULT_OUT = ROOT / "build" / "test-artefacts" / "lab-progress" / "lesson04_training_mid_run.png"
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


def lesson_copy(folder: Path) -> tuple[Path, int]:
    """The lesson in ``folder``, with the kernel Lab starts without asking, and the index of
    the cell that trains the arms."""
    nb = nbformat.read(str(ROOT / "notebooks" / LESSON), 4)
    index = next(i for i, c in enumerate(nb.cells) if TRAINING_CALL in c.source)
    nb.metadata["kernelspec"] = {
        "name": "python3",
        "display_name": "Python 3",
        "language": "python",
    }
    path = folder / LESSON
    nbformat.write(nb, str(path))
    return path, index


def start_lab(folder: Path) -> tuple[subprocess.Popen, str]:
    """JupyterLab at nice 19 (so is its kernel) on ``folder``, lesson profile ``cpu``."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}
    env.update(HOME=str(folder), COURSE_PROFILE="cpu", COURSE_BUILD_DIR=str(folder / "build"),
               JUPYTER_CONFIG_DIR=str(folder / "cfg"))  # fmt: skip
    settings = folder / "settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True)
    news.write_text(json.dumps({"fetchNews": "false"}))
    command = [
        "nice", "-n", "19", str(Path(sys.executable).parent / "jupyter"), "lab", "--no-browser",
        "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}", "--ServerApp.port_retries=0",
        "--ServerApp.token=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={folder}", "--allow-root",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
    ]  # fmt: skip
    log = open(folder / "lab.log", "w")
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
    base = f"http://127.0.0.1:{port}"
    try:
        wait_for_lab(f"{base}/api/status", server, seconds=600)  # slow at nice 19 on a busy CPU
    except AssertionError:
        server.kill()
        raise
    return server, base


def stop(server: subprocess.Popen, base: str) -> None:
    """Shut the kernels down through the API, then the server."""
    try:
        with urllib.request.urlopen(f"{base}/api/kernels", timeout=10) as answer:
            for kernel in json.load(answer):
                request = urllib.request.Request(
                    f"{base}/api/kernels/{kernel['id']}", method="DELETE"
                )
                urllib.request.urlopen(request, timeout=30).close()
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


def capture(out: Path, minutes: float) -> dict:
    """Run the lesson in Lab until the training cell shows progress and a sample grid."""
    from playwright.sync_api import sync_playwright

    out.parent.mkdir(parents=True, exist_ok=True)
    folder = Path(tempfile.mkdtemp(prefix="lab-progress-"))
    notebook, index = lesson_copy(folder)
    server, base = start_lab(folder)
    started = time.monotonic()
    try:
        with sync_playwright() as driver:
            browser = driver.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
            page = browser.new_page(viewport={"width": 1400, "height": 1100})
            page.goto(f"{base}/lab/tree/{notebook.name}?reset")
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
                if found and cell.locator(".jp-OutputArea img").count():
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
        try:
            stop(server, base)
        finally:
            shutil.copy(folder / "lab.log", out.with_name("jupyterlab.log"))
            shutil.rmtree(folder, ignore_errors=True)
    return {"bar": bar, "seconds": round(time.monotonic() - started), "screenshot": str(out)}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=DEFAULT_OUT)
    parser.add_argument("--minutes", type=float, default=40.0, help="give up after this long")
    args = parser.parse_args(argv)
    if not Path(CHROMIUM).exists():
        print(f"{CHROMIUM} is missing (apt-get install chromium)", file=sys.stderr)
        return 2
    result = capture(args.out, args.minutes)
    print(json.dumps(result))
    return 0 if result["bar"] else 1


if __name__ == "__main__":
    sys.exit(main())
