"""A control group per submission: a hard memory and process cap, where the machine allows one.

The grader makes a child of its own cgroup for each notebook (cgroup v2: one folder with
``memory.max`` and ``pids.max``; cgroup v1: one folder in the ``memory`` and one in the ``pids``
hierarchy) and starts the notebook's process inside it. The kernel then counts every process,
thread and page the notebook makes (tmpfs files included) and no code in it can leave: over
``memory.max`` the kernel's OOM killer ends it, over ``pids.max`` ``fork`` fails.

Where the grader may not create cgroups (an ordinary user without a delegated subtree), the
limits in :mod:`.runner` (``RLIMIT_DATA``, ``RLIMIT_NPROC``) and the watchdog in :mod:`.sandbox`
take over; ``docs/grading.md`` compares the two.
"""

from __future__ import annotations

import functools
import os
import shlex
import signal
import time
from pathlib import Path

ROOT = Path("/sys/fs/cgroup")


def _own_paths() -> dict[str, str]:
    """This process's cgroup per hierarchy, from ``/proc/self/cgroup``: ``{"": v2, "memory": ...}``."""
    paths = {}
    for line in Path("/proc/self/cgroup").read_text().splitlines():
        _, controllers, path = line.split(":", 2)
        for controller in controllers.split(",") if controllers else [""]:
            paths[controller] = path.lstrip("/")
    return paths


def _v2_parent(paths: dict[str, str]) -> list[Path] | None:
    """Our v2 cgroup, when it may hold children with memory and pids controllers."""
    if "" not in paths or not (ROOT / "cgroup.controllers").is_file():
        return None
    parent = ROOT / paths[""]
    control = parent / "cgroup.subtree_control"
    try:
        if not {"memory", "pids"} <= set(control.read_text().split()):
            control.write_text("+memory +pids")  # allowed at the root, or in a delegated subtree
    except OSError:
        return None
    return [parent]


def _v1_parents(paths: dict[str, str]) -> list[Path] | None:
    """Our cgroups in the v1 ``memory`` and ``pids`` hierarchies, when both are mounted."""
    parents = [ROOT / name / paths[name] for name in ("memory", "pids") if name in paths]
    return parents if len(parents) == 2 and all(p.is_dir() for p in parents) else None


@functools.lru_cache(maxsize=1)
def parents() -> tuple[Path, ...]:
    """Where submission cgroups go (one folder on cgroup v2, two on v1); empty if nowhere.

    Found by creating and removing a probe child, so it answers "can *this* grader do it".
    """
    try:
        paths = _own_paths()
    except OSError:
        return ()
    for found in (_v2_parent(paths), _v1_parents(paths)):
        if found and _can_create_children(found):
            return tuple(found)
    return ()


def _can_create_children(folders: list[Path]) -> bool:
    probes = [folder / f"cyclegan-grade-probe-{os.getpid()}" for folder in folders]
    try:
        for probe in probes:
            probe.mkdir()
        return all(
            (p / "memory.max").exists() or (p / "memory.limit_in_bytes").exists() or
            (p / "pids.max").exists() for p in probes
        )  # fmt: skip
    except OSError:
        return False
    finally:
        for probe in probes:
            if probe.is_dir():
                probe.rmdir()


def available() -> bool:
    """True when the grader can give each submission its own cgroup here."""
    return bool(parents())


class Cgroup:
    """One submission's cgroup(s): created with its limits, entered by its process, then removed."""

    def __init__(self, name: str, max_memory: int, max_tasks: int) -> None:
        self.folders = [parent / name for parent in parents()]
        for folder in self.folders:
            folder.mkdir()
        self._set("memory.max", max_memory) or self._set("memory.limit_in_bytes", max_memory)
        self._set("memory.swap.max", 0) or self._set("memory.memsw.limit_in_bytes", max_memory)
        self._set("pids.max", max_tasks)

    def _set(self, file: str, value: int) -> bool:
        """Write ``value`` to ``file`` in whichever folder has it; False when none has."""
        for folder in self.folders:
            if (folder / file).exists():
                (folder / file).write_text(str(value))
                return True
        return False

    def _read(self, file: str) -> str:
        for folder in self.folders:
            if (folder / file).exists():
                return (folder / file).read_text()
        return ""

    def _count(self, file: str, key: str) -> int:
        """The number after ``key`` in a flat-keyed file such as ``memory.events``."""
        for line in self._read(file).splitlines():
            name, _, value = line.partition(" ")
            if name == key:
                return int(value)
        return 0

    def wrap(self, argv: list[str]) -> list[str]:
        """``argv`` run by a shell that first moves itself into the cgroup(s), then ``exec``s."""
        enter = " && ".join(
            f"echo $$ > {shlex.quote(str(f / 'cgroup.procs'))}" for f in self.folders
        )
        return ["/bin/sh", "-c", f'{enter} && exec "$@"', "cgroup-enter", *argv]

    def memory_exceeded(self) -> bool:
        """The kernel killed a process of this cgroup for going over its memory limit."""
        return (
            self._count("memory.events", "oom_kill") + self._count("memory.oom_control", "oom_kill")
            > 0
        )

    def tasks_exceeded(self) -> bool:
        """A ``fork`` or thread creation was refused at ``pids.max``."""
        return self._count("pids.events", "max") > 0

    def peak_memory(self) -> int:
        """The most memory the cgroup held, in bytes (0 where the kernel does not keep it)."""
        text = self._read("memory.peak") or self._read("memory.max_usage_in_bytes")
        return int(text) if text.strip().isdigit() else 0

    def close(self) -> None:
        """Kill whatever is left inside and remove the folders."""
        for folder in self.folders:
            for _ in range(50):
                pids = [int(p) for p in (folder / "cgroup.procs").read_text().split()]
                for pid in pids:
                    try:
                        os.kill(pid, signal.SIGKILL)
                    except ProcessLookupError:
                        pass
                try:
                    folder.rmdir()
                    break
                except OSError:  # busy until the killed processes are reaped
                    time.sleep(0.1)
