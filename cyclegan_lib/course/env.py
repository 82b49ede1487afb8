"""Hardware, profiles, seeding and paths shared by every lesson.

A *profile* decides how much a lesson trains:

* ``smoke``: every code path runs in seconds (CI, nbval);
* ``cpu``: a laptop, real and visible results in minutes;
* ``gpu``: full scale.

The default follows the hardware (CUDA -> ``gpu``, otherwise ``cpu``); the
environment variable ``COURSE_PROFILE`` overrides it.
"""

from __future__ import annotations

import math
import os
import platform
from pathlib import Path
from typing import TypeVar

import torch

# Re-exported so that a lesson's ``env`` has everything its set-up cell needs.
from cyclegan_lib.runtime import autocast as autocast
from cyclegan_lib.runtime import cpu_has_amx
from cyclegan_lib.runtime import get_device as get_device
from cyclegan_lib.runtime import seed_everything as seed_everything

PROFILES = ("smoke", "cpu", "gpu")
PROFILE_VARIABLE = "COURSE_PROFILE"
T = TypeVar("T")


CPU_BUDGET_MINUTES = {"01": 5, "02": 5, "03": 8, "04": 12, "05": 8, "06": 10}
"""Each lesson's time budget in the ``cpu`` profile on a 2-core CPU, in minutes, by its
number (lesson 00 trains nothing and has none). ``make course`` prints each lesson's time
against it; a lesson over budget still counts as run, since the time depends on the CPU."""
CPU_COURSE_BUDGET_MINUTES = 25
"""The goal for the whole course in the ``cpu`` profile on a 2-core CPU, in minutes."""


def time_budget(lesson: str, profile: str) -> float | None:
    """Seconds that ``lesson`` (``"04"`` or ``"04_cyclegan"``) may take in ``profile``,
    or None where there is no budget: lesson 00, and the ``smoke`` and ``gpu`` profiles
    (seconds for tests, and as long as the learner chooses)."""
    minutes = CPU_BUDGET_MINUTES.get(lesson[:2]) if profile == "cpu" else None
    return None if minutes is None else minutes * 60.0


def budget_verdict(seconds: float, budget: float | None, word: str = "budget") -> str:
    """``"within its budget of 300 s"``, ``"over its budget of 300 s by 20 s"``, or ``""``."""
    if budget is None:
        return ""
    if seconds <= budget:
        return f"within its {word} of {budget:.0f} s"
    return f"over its {word} of {budget:.0f} s by {seconds - budget:.0f} s"


def lesson_time(lesson: str, seconds: float, profile: str | None = None) -> str:
    """The last line of a lesson: how long it ran here, against its budget in the profile.

    ``"this lesson ran 416 s here, within its budget of 720 s (cpu profile, set for 2 cores)"``;
    without the budget where the profile has none (:func:`time_budget`).
    """
    profile = profile or get_profile()
    line = f"this lesson ran {seconds:.0f} s here"
    verdict = budget_verdict(seconds, time_budget(lesson, profile))
    return f"{line}, {verdict} ({profile} profile, set for 2 cores)" if verdict else line


def course_goal(runs: list[dict]) -> float | None:
    """Seconds the whole course may take, for ``runs`` of ``make course`` (dicts with
    ``lesson`` and ``profile``): the ``cpu`` goal when every run was in ``cpu`` and every
    lesson with a budget ran, else None (a partial build is not the course)."""
    ran = {run["lesson"][:2] for run in runs}
    whole = bool(runs) and set(CPU_BUDGET_MINUTES) <= ran
    cpu = all(run["profile"] == "cpu" for run in runs)
    return CPU_COURSE_BUDGET_MINUTES * 60.0 if whole and cpu else None


def default_profile() -> str:
    """The profile the hardware allows: ``gpu`` with CUDA, else ``cpu``."""
    return "gpu" if torch.cuda.is_available() else "cpu"


def get_profile() -> str:
    """The active profile: ``$COURSE_PROFILE`` if set, else :func:`default_profile`.

    Raises:
        ValueError: the variable names no known profile.
    """
    chosen = os.environ.get(PROFILE_VARIABLE, "").strip().lower()
    if not chosen:
        return default_profile()
    if chosen not in PROFILES:
        raise ValueError(
            f"{PROFILE_VARIABLE}={chosen!r} is not a profile; use one of {', '.join(PROFILES)}"
        )
    return chosen


def pick(smoke: T, cpu: T, gpu: T, profile: str | None = None) -> T:
    """Return the value for the active profile, e.g. ``steps = pick(20, 3000, 20000)``."""
    return {"smoke": smoke, "cpu": cpu, "gpu": gpu}[profile or get_profile()]


def cpu_bf16_pays(profile: str | None = None) -> bool:
    """Train lessons 01-02 in bf16 autocast? Only in the ``cpu`` profile, on a CPU with AMX.

    Measured with ``bench/course_speed.py`` (steps per second against fp32, 2 threads):
    1.65x (lesson 01) and 1.54x (lesson 02) on a Xeon with AMX, but 0.87x and 1.09x on an
    AMD EPYC that has AVX512-BF16 without AMX; ``bench/seeds.py 01`` and ``02`` check
    the lessons' targets in bf16 for seeds 0-2. Elsewhere the lessons train in fp32.
    """
    return pick(smoke=False, cpu=cpu_has_amx(), gpu=False, profile=profile)


def cpu_budget(cgroup: Path = Path("/sys/fs/cgroup")) -> int:
    """How many CPUs this process may keep busy: its affinity mask, capped by a cgroup quota.

    A container limited to 2 CPUs on a 16-core host (``docker --cpus 2``, many notebook
    services) still sees 16 cores in ``os.cpu_count()``, and PyTorch would start 16
    threads that take turns on 2 CPUs. The quota is ``cpu.max`` under cgroup v2 and
    ``cpu/cpu.cfs_quota_us`` over ``cpu.cfs_period_us`` under v1; a fraction rounds up.
    """
    cores = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    quota = _cgroup_cpu_quota(cgroup)
    return max(1, min(cores or 1, math.ceil(quota) if quota else cores or 1))


def _cgroup_cpu_quota(root: Path) -> float | None:
    """CPUs allowed by the cgroup quota, or None when there is none (or no cgroup files)."""
    try:
        if (root / "cpu.max").is_file():
            quota, period = (root / "cpu.max").read_text().split()[:2]
            return None if quota == "max" else int(quota) / int(period)
        v1 = root / "cpu"
        if (v1 / "cpu.cfs_quota_us").is_file():
            quota = int((v1 / "cpu.cfs_quota_us").read_text())
            return None if quota <= 0 else quota / int((v1 / "cpu.cfs_period_us").read_text())
    except (OSError, ValueError):
        return None
    return None


def repo_root() -> Path:
    """The checkout this package lives in (the folder holding ``pyproject.toml``)."""
    return Path(__file__).resolve().parents[2]


def data_dir() -> Path:
    """The embedded data: ``$COURSE_DATA_DIR``, the wheel's copy, or the checkout's ``data/``."""
    if os.environ.get("COURSE_DATA_DIR"):
        return Path(os.environ["COURSE_DATA_DIR"])
    packaged = Path(__file__).resolve().parents[1] / "_data"
    return packaged if packaged.is_dir() else repo_root() / "data"


def build_dir() -> Path:
    """Where lessons write results: ``$COURSE_BUILD_DIR`` or ``build/`` in the checkout (or cwd)."""
    if os.environ.get("COURSE_BUILD_DIR"):
        return Path(os.environ["COURSE_BUILD_DIR"])
    root = repo_root()
    return (root if (root / "pyproject.toml").exists() else Path.cwd()) / "build"


def results_dir() -> Path:
    """``build/results``, created on first use."""
    path = build_dir() / "results"
    path.mkdir(parents=True, exist_ok=True)
    return path


def use_cpu_budget() -> int:
    """Give torch one thread per CPU this process may use (:func:`cpu_budget`) and return it.

    PyTorch starts with one thread per core it sees, which in a container with a CPU quota
    can be more than the quota allows, so the threads wait for each other.
    """
    threads = cpu_budget()
    torch.set_num_threads(threads)
    return threads


def describe() -> dict[str, str]:
    """Versions, device and profile, for the first cell of every lesson."""
    import torchvision

    device = get_device()
    info = {
        "python": platform.python_version(),
        "torch": torch.__version__,
        "torchvision": torchvision.__version__,
        "device": str(device),
        "profile": get_profile(),
        "cpu threads": str(torch.get_num_threads()),
    }
    if info["profile"] == "cpu":
        info["numerics"] = (
            "this CPU has AMX: lessons 01-02 train in bf16 autocast, the others in fp32"
            if cpu_bf16_pays()
            else "fp32 (no AMX on this CPU; bf16 without AMX was not faster where measured)"
        )
    if device.type == "cuda":
        info["gpu"] = torch.cuda.get_device_name(device)
    return info
