"""The lessons' Colab set-up cell, run in a clean virtual environment without the course.

The clean venv reaches the project's already-installed packages (torch & co.)
through a folder of links that leaves the course out, so nothing is downloaded
(``PIP_NO_INDEX``) and torch isn't installed twice. The cell's ``REPO_URL`` is
pointed at a local git copy of this working tree; the rest of the cell runs as
it is on Colab.
"""

from __future__ import annotations

import ast
import json
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import nbformat
import pytest

from cyclegan_lib.course import config
from cyclegan_lib.course.env import repo_root
from cyclegan_lib.tools import nbtools

COURSE_ENTRIES = ("cyclegan", "_editable_impl_cyclegan", "__editable__")

DRIVER = """
import json, subprocess, sys
calls = []
real_run = subprocess.run
def recording_run(command, *args, **kwargs):
    calls.append(list(map(str, command)))
    return real_run(command, *args, **kwargs)
subprocess.run = recording_run
exec(compile(open(sys.argv[1]).read(), "colab-setup", "exec"), {"__name__": "__main__"})
import cyclegan_lib
print(json.dumps({"calls": calls, "course": cyclegan_lib.__file__}))
"""


def git(*args: str, cwd: Path) -> None:
    subprocess.run(["git", "-c", "user.name=t", "-c", "user.email=t@t", *args], cwd=cwd, check=True)


def local_repository(target: Path) -> Path:
    """A git repository holding this working tree (tracked and untracked, not ignored), on main."""
    listing = subprocess.run(
        ["git", "ls-files", "-co", "--exclude-standard", "-z"],
        cwd=repo_root(),
        capture_output=True,
        check=True,
    )
    for name in filter(None, listing.stdout.decode().split("\0")):
        source = repo_root() / name
        if source.is_file():
            (target / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, target / name)
    git("init", "-q", "-b", config.REPO_BRANCH, cwd=target)
    git("add", "-A", cwd=target)
    git("commit", "-qm", "local copy for the Colab test", cwd=target)
    return target


def clean_venv(root: Path) -> Path:
    """A venv without the course that sees the project's other packages through links."""
    deps = root / "deps"
    deps.mkdir()
    for entry in Path(sysconfig.get_paths()["purelib"]).iterdir():
        if not entry.name.startswith(COURSE_ENTRIES) and entry.suffix != ".pth":
            (deps / entry.name).symlink_to(entry)
    venv = root / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    site_packages = next(venv.glob("lib*/python*/site-packages"))
    (site_packages / "project_deps.pth").write_text(f"{deps}\n")
    return venv / "bin" / "python"


def run_python(python: Path, *args: str, cwd: Path) -> str:
    env = {
        "PATH": f"{python.parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(cwd),
        "PIP_NO_INDEX": "1",  # any missing dependency fails here instead of downloading
        "PIP_NO_BUILD_ISOLATION": "0",  # (pip's spelling of "off") build with the linked hatchling
        "PIP_DISABLE_PIP_VERSION_CHECK": "1",
        "MPLBACKEND": "Agg",
    }
    done = subprocess.run([str(python), *args], cwd=cwd, env=env, capture_output=True, text=True)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    return done.stdout


def lesson_imports() -> str:
    """Every import statement of every lesson's code cells, one per line."""
    lines = set()
    for lesson in nbtools.lessons():
        for cell in nbformat.read(str(lesson), 4).cells:
            if cell.cell_type == "code" and nbtools.SETUP_TAG not in cell.metadata.get("tags", []):
                tree = ast.parse(cell.source)
                imports = (ast.Import, ast.ImportFrom)
                lines |= {ast.unparse(n) for n in ast.walk(tree) if isinstance(n, imports)}
    return "\n".join(sorted(lines))


@pytest.fixture(scope="module")
def colab_like(tmp_path_factory):
    root = tmp_path_factory.mktemp("colab")
    repository = local_repository(root / "repository")
    python = clean_venv(root)
    cell = nbtools.setup_source()
    assert f'REPO_URL = "{config.REPO_URL}"' in cell
    local_cell = cell.replace(config.REPO_URL, repository.as_uri())
    (root / "setup_cell.py").write_text(local_cell)
    return root, python


@pytest.mark.slow
def test_setup_cell_installs_the_course_then_does_nothing(colab_like):
    root, python = colab_like
    missing = "import importlib.util, torch; print(importlib.util.find_spec('cyclegan_lib'))"
    assert run_python(python, "-c", missing, cwd=root).strip() == "None"
    (root / "driver.py").write_text(DRIVER)

    first = json.loads(run_python(python, "driver.py", "setup_cell.py", cwd=root).splitlines()[-1])
    (pip_call,) = first["calls"]
    assert pip_call[1:4] == ["-m", "pip", "install"]
    assert pip_call[-1].startswith("git+file://") and pip_call[-1].endswith(
        f"@{config.REPO_BRANCH}"
    )
    assert str(root / "venv") in first["course"], "the course must come from the install"

    second = json.loads(run_python(python, "driver.py", "setup_cell.py", cwd=root).splitlines()[-1])
    assert second["calls"] == [], "a second run must not reinstall"

    imports = lesson_imports()
    assert "cyclegan_lib" in imports
    data_check = "from cyclegan_lib.course import digits\nprint(tuple(digits.load_domain('color', 'test')[0].shape))"
    (root / "imports.py").write_text(f"{imports}\n{data_check}\n")
    assert run_python(python, "imports.py", cwd=root).strip().endswith("(1000, 3, 32, 32)")


def test_setup_cell_enables_colab_widget_manager():
    cell = nbtools.setup_source()
    assert 'if "google.colab" in sys.modules:' in cell
    assert "output.enable_custom_widget_manager()" in cell
