"""A lesson in a throw-away JupyterLab on 127.0.0.1, for driving it in headless Chromium.

The browser tests (``tests/test_browser.py``) and the mid-run screenshot
(``bench/lab_progress_screenshot.py``) share this: copy a lesson into a temporary folder
with the kernel Lab starts without asking, start Lab on a free port with a fresh token and
no pop-ups, and shut its kernels and the server down afterwards. Chromium is Debian's
(``apt-get install chromium``); Playwright's own browser download is never used.
"""

from __future__ import annotations

import json
import os
import secrets
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

import nbformat

from cyclegan_lib.tools.nbtools import KERNELSPEC

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


def lesson_copy(lesson: Path, folder: Path) -> tuple[Path, nbformat.NotebookNode]:
    """``lesson`` written into ``folder`` (Lab saves what it runs) with the course's plain
    ``python3`` kernel, without which Lab would stop and ask which kernel to use; returns
    the copy's path and the notebook."""
    nb = nbformat.read(str(lesson), 4)
    nb.metadata["kernelspec"] = dict(KERNELSPEC)
    path = folder / lesson.name
    nbformat.write(nb, str(path))
    return path, nb


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@dataclass(frozen=True)
class Lab:
    """A running server: its address and the token every request must carry."""

    base: str
    token: str

    def url(self, path: str) -> str:
        """``path`` (which may carry a query already) on the server, with the token."""
        separator = "&" if "?" in path else "?"
        return f"{self.base}{path}{separator}token={self.token}"

    def request(self, path: str, method: str = "GET") -> urllib.request.Request:
        return urllib.request.Request(
            self.base + path, method=method, headers={"Authorization": f"token {self.token}"}
        )


def wait_for_lab(lab: Lab, server: subprocess.Popen, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert server.poll() is None, "JupyterLab exited early"
        try:
            with urllib.request.urlopen(lab.request("/api/status"), timeout=5) as answer:
                if answer.status == 200:
                    return
        except OSError:
            time.sleep(0.5)
    raise AssertionError(f"JupyterLab did not answer {lab.base} in {seconds} s")


def lab_command(folder: Path, port: int, token: str, niceness: int) -> list[str]:
    settings = folder / "settings"
    news = settings / "@jupyterlab" / "apputils-extension" / "notification.jupyterlab-settings"
    news.parent.mkdir(parents=True, exist_ok=True)
    news.write_text(json.dumps({"fetchNews": "false"}))  # no "get Jupyter news?" pop-up
    return [
        "nice", "-n", str(niceness), str(Path(sys.executable).parent / "jupyter"), "lab",
        "--no-browser", "--ServerApp.ip=127.0.0.1", f"--ServerApp.port={port}",
        "--ServerApp.port_retries=0", f"--IdentityProvider.token={token}",
        f"--ServerApp.root_dir={folder}", "--allow-root",
        "--LabApp.expose_app_in_browser=True", f"--LabApp.user_settings_dir={settings}",
    ]  # fmt: skip


def shut_down(lab: Lab, server: subprocess.Popen) -> None:
    """The kernels through the API while the server answers (a training kernel stops now,
    not when the server gets round to it), then the server."""
    try:
        with urllib.request.urlopen(lab.request("/api/kernels"), timeout=10) as answer:
            for kernel in json.load(answer):
                delete = lab.request(f"/api/kernels/{kernel['id']}", method="DELETE")
                urllib.request.urlopen(delete, timeout=30).close()
    except OSError:
        pass  # the server is gone or stuck: terminating it below ends its kernels
    finally:
        server.terminate()
        try:
            server.wait(timeout=30)
        except subprocess.TimeoutExpired:
            server.kill()


@contextmanager
def running_lab(
    folder: Path, profile: str, niceness: int = 0, wait_seconds: float = 120
) -> Iterator[Lab]:
    """JupyterLab serving ``folder``, its kernels running the lessons in ``profile``, at
    ``niceness`` (so are its kernels); its log goes to ``folder / "lab.log"``."""
    port = free_port()
    lab = Lab(f"http://127.0.0.1:{port}", secrets.token_hex(16))
    env = {k: v for k, v in os.environ.items() if k != "MPLBACKEND"}  # the kernel draws inline
    env.update(HOME=str(folder), COURSE_PROFILE=profile, COURSE_BUILD_DIR=str(folder / "build"),
               JUPYTER_CONFIG_DIR=str(folder / "cfg"))  # fmt: skip
    command = lab_command(folder, port, lab.token, niceness)
    with open(folder / "lab.log", "w") as log:
        server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT)
        try:
            wait_for_lab(lab, server, wait_seconds)
            yield lab
        finally:
            shut_down(lab, server)
