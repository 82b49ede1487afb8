"""Run one submission in its own process: isolated, time-limited, its output capped.

Two isolation modes (``docs/grading.md`` says what each protects):

* ``bwrap``: bubblewrap builds a fresh root in which only the system folders,
  the Python installation, the course package and its data are visible, all
  read-only; the submission's own temporary folder and a private ``/tmp`` are
  the only writable places. No network, own PID namespace, and the learner's
  code runs as user 65534 (``nobody``) with no capabilities.
* ``process``: when bubblewrap is missing, a plain child process in its own
  temporary folder and session. It protects against accidents (relative paths,
  the grader's memory), not against a cell that writes by absolute path.

Either way the grader kills the whole process tree at the time limit or when the
output passes its cap, and the scores streamed before that are kept.

Resources (:class:`Limits`): memory, processes and threads are capped by a cgroup per
submission where the grader may make one (:mod:`.cgroups`), else by ``RLIMIT_DATA`` and
``RLIMIT_NPROC`` in the runner plus a watchdog here that adds up the resident memory and the
threads of the notebook's whole process tree; the watchdog also measures the folder a
submission writes in (bytes and files) and records the peak memory for the report.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from dataclasses import dataclass, field
from pathlib import Path

from cyclegan_lib.course.env import data_dir
from cyclegan_lib.tools.grading import cgroups

MODES = ("auto", "bwrap", "process")
NOBODY = "65534"
OUTPUT_KEPT = 64 * 1024
"""How much of a submission's printed output the report keeps."""
RECORDS_MAX = 2**20
"""The most bytes of result records read back (a flood on the pipe is cut here)."""
POLL_SECONDS = 0.2
"""How often the watchdog looks at a submission's processes (its folder: every 5th time)."""


class SandboxError(RuntimeError):
    """The requested isolation is not available on this machine."""


@dataclass(frozen=True)
class Limits:
    """What one submission may use."""

    timeout: float = 600.0
    max_output: int = 10 * 2**20
    max_file: int = 100 * 2**20
    max_memory: int = 4 * 2**30
    """Bytes of memory for the whole submission (all its processes)."""
    max_tasks: int = 256
    """Processes plus threads at once (torch alone starts a dozen threads)."""
    max_disk: int = 2**30
    """Bytes the submission may keep in its folder."""
    max_files: int = 10_000
    """Files and folders it may keep there."""
    threads: int = 1
    use_cgroups: bool = True
    """Use a cgroup where possible; False tests the fallback on a machine that has them."""


@dataclass
class RunResult:
    """What came back from one submission's process."""

    records: list[dict] = field(default_factory=list)
    output: str = ""
    output_bytes: int = 0
    returncode: int | None = None
    timed_out: bool = False
    output_exceeded: bool = False
    limit: str = ""
    """``memory``, ``tasks`` or ``disk`` when a resource limit stopped the run."""
    peak_memory: int = 0
    seconds: float = 0.0


@functools.lru_cache(maxsize=1)
def bwrap_works() -> bool:
    """True when bubblewrap is installed and can create its namespaces here."""
    binary = shutil.which("bwrap")
    if binary is None:
        return False
    probe = [binary, "--ro-bind", "/", "/", "--unshare-all", "--unshare-user", "true"]
    return subprocess.run(probe, capture_output=True).returncode == 0


def choose_mode(requested: str) -> str:
    """Resolve ``auto`` to the strongest mode available; refuse a mode that can't work."""
    if requested not in MODES:
        raise SandboxError(f"unknown sandbox {requested!r}; choose from {', '.join(MODES)}")
    if requested == "process":
        return "process"
    if bwrap_works():
        return "bwrap"
    if requested == "bwrap":
        raise SandboxError(
            "bubblewrap is not usable here: install it (apt-get install bubblewrap) "
            "or pass --sandbox process"
        )
    return "process"


def readable_paths() -> list[Path]:
    """What a submission must read: the Python installation, the course package and its data."""
    package = Path(__file__).resolve().parents[2]
    wanted = {Path(p).resolve() for p in (sys.base_prefix, sys.prefix, package, data_dir())}
    return sorted(p for p in wanted if not any(q in p.parents for q in wanted))


def bwrap_command(workdir: Path, argv: list[str]) -> list[str]:
    """bubblewrap's command line: read-only system and course, a writable ``workdir``, no net."""
    command = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user"]
    command += ["--uid", NOBODY, "--gid", NOBODY, "--die-with-parent", "--new-session"]
    command += ["--ro-bind", "/usr", "/usr", "--ro-bind", "/etc", "/etc"]
    for top in ("/bin", "/sbin", "/lib", "/lib32", "/lib64"):
        if os.path.islink(top):
            command += ["--symlink", os.readlink(top), top]
        elif os.path.isdir(top):
            command += ["--ro-bind", top, top]
    # the private /tmp first: binds made after it stay visible, so a course
    # checked out under /tmp (as CI may do) is still readable inside
    command += ["--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"]
    for path in readable_paths():
        command += ["--ro-bind", str(path), str(path)]
    command += ["--bind", str(workdir), str(workdir), "--chdir", str(workdir)]
    return command + ["--remount-ro", "/", *argv]


def child_environment(workdir: Path, limits: Limits) -> dict[str, str]:
    """A small, explicit environment: smoke profile, home and caches inside ``workdir``."""
    threads = str(limits.threads)
    return {
        "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
        "HOME": str(workdir),
        "TMPDIR": str(workdir),
        "LANG": "C.UTF-8",
        "PYTHONIOENCODING": "utf-8",
        "PYTHONUNBUFFERED": "1",
        "PYTHONDONTWRITEBYTECODE": "1",
        "MPLBACKEND": "Agg",
        "MPLCONFIGDIR": str(workdir / ".matplotlib"),
        "IPYTHONDIR": str(workdir / ".ipython"),
        "COURSE_PROFILE": "smoke",
        "COURSE_BUILD_DIR": str(workdir / "build"),
        "COURSE_DATA_DIR": str(data_dir()),
        "OMP_NUM_THREADS": threads,
        "MKL_NUM_THREADS": threads,
        "CUDA_VISIBLE_DEVICES": "",  # the smoke profile runs on the CPU; no GPU to share or exhaust
    }


class _Watch:
    """Reads a submission's output and result records, and stops it when it misbehaves."""

    def __init__(
        self,
        process: subprocess.Popen,
        records_fd: int,
        limits: Limits,
        workdir: Path,
        cgroup: cgroups.Cgroup | None,
    ) -> None:
        self.process, self.limits, self.result = process, limits, RunResult()
        self.workdir, self.cgroup = workdir, cgroup
        self._kept = bytearray()
        self._threads = [
            threading.Thread(target=self._read_output, daemon=True),
            threading.Thread(target=self._read_records, args=(records_fd,), daemon=True),
            threading.Thread(target=self._police, daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def kill(self) -> None:
        """SIGKILL the process group and every process of the tree (some may have left the group)."""
        for kill, target in [(os.killpg, self.process.pid)] + [
            (os.kill, pid) for pid in process_tree(self.process.pid)
        ]:
            try:
                kill(target, signal.SIGKILL)
            except (ProcessLookupError, PermissionError):
                pass

    def _police(self) -> None:
        """Every ``POLL_SECONDS``: note the tree's memory; stop it at a limit the kernel did not hold."""
        tick = 0
        while self.process.poll() is None and not self.result.limit:
            tasks, resident = tree_usage(process_tree(self.process.pid))
            self.result.peak_memory = max(self.result.peak_memory, resident)
            if self.cgroup is not None:
                over = self.cgroup.memory_exceeded(), self.cgroup.tasks_exceeded()
            else:
                over = resident > self.limits.max_memory, tasks > self.limits.max_tasks
            disk = tick % 5 == 0 and folder_over(self.workdir, self.limits)
            for name, exceeded in zip(("memory", "tasks", "disk"), (*over, disk), strict=True):
                if exceeded:
                    self.result.limit = name
                    self.kill()
                    return
            tick += 1
            time.sleep(POLL_SECONDS)

    def _read_output(self) -> None:
        while chunk := self.process.stdout.read1(65536):
            self.result.output_bytes += len(chunk)
            room = OUTPUT_KEPT - len(self._kept)
            if room > 0:
                self._kept += chunk[:room]
            if (
                self.result.output_bytes > self.limits.max_output
                and not self.result.output_exceeded
            ):
                self.result.output_exceeded = True
                self.kill()

    def _read_records(self, fd: int) -> None:
        received = 0
        with os.fdopen(fd, "rb") as pipe:
            for line in pipe:
                received += len(line)
                if received > RECORDS_MAX:
                    break
                try:
                    self.result.records.append(json.loads(line))
                except ValueError:
                    continue  # noise written to the pipe by the learner's code

    def wait(self) -> RunResult:
        start = time.perf_counter()
        try:
            self.process.wait(timeout=self.limits.timeout)
        except subprocess.TimeoutExpired:
            self.result.timed_out = True
            self.kill()
            self.process.wait()
        for thread in self._threads:
            thread.join(timeout=10)
        if self.cgroup is not None:
            if not self.result.limit and self.cgroup.memory_exceeded():
                self.result.limit = "memory"  # killed by the kernel between two polls
            self.result.peak_memory = self.cgroup.peak_memory() or self.result.peak_memory
        self.result.returncode = self.process.returncode
        self.result.seconds = round(time.perf_counter() - start, 1)
        self.result.output = self._kept.decode("utf-8", errors="replace")
        return self.result


def process_tree(root: int) -> set[int]:
    """``root``, its descendants and every process of its session (orphans stay in the session)."""
    parent, session = {}, {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rpartition(")")[2].split()
        except (OSError, ValueError):
            continue  # not a process, or it just ended
        parent[int(entry.name)], session[int(entry.name)] = int(fields[1]), int(fields[3])
    tree = {pid for pid, sid in session.items() if sid == root} | {root}
    grew = True
    while grew:
        children = {pid for pid, ppid in parent.items() if ppid in tree} - tree
        tree |= children
        grew = bool(children)
    return tree


def tree_usage(pids: set[int]) -> tuple[int, int]:
    """(threads, memory bytes) of these processes, read from ``/proc``.

    Memory is the proportional set size: a page shared by n processes (after a ``fork``)
    counts 1/n in each, so the sum is what the tree really holds, unlike a sum of RSS.
    """
    tasks = memory = 0
    for pid in pids:
        try:
            tasks += len(os.listdir(f"/proc/{pid}/task"))
            for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
                if line.startswith("Pss:"):
                    memory += int(line.split()[1]) * 1024
                    break
        except (OSError, ValueError, IndexError):
            continue
    return tasks, memory


def folder_over(folder: Path, limits: Limits) -> bool:
    """True once ``folder`` holds more than ``max_disk`` bytes (allocated) or ``max_files`` entries."""
    size = count = 0
    pending = [str(folder)]
    while pending:
        try:
            entries = list(os.scandir(pending.pop()))
        except OSError:
            continue
        for entry in entries:
            count += 1
            try:
                if entry.is_dir(follow_symlinks=False):
                    pending.append(entry.path)
                else:
                    size += entry.stat(follow_symlinks=False).st_blocks * 512
            except OSError:
                continue
            if size > limits.max_disk or count > limits.max_files:
                return True
    return False


def run_isolated(notebook_json: str, lesson: str, limits: Limits, mode: str) -> RunResult:
    """Grade a notebook (nbformat 4 JSON) with the runner in a child process, in a fresh folder."""
    workdir = Path(tempfile.mkdtemp(prefix="cyclegan-grade-"))
    cgroup = None
    try:
        copy = workdir / "submission.ipynb"
        copy.write_text(notebook_json, encoding="utf-8")
        read_fd, write_fd = os.pipe()
        argv = [sys.executable, "-m", "cyclegan_lib.tools.grading.runner", str(copy), lesson]
        argv += ["--results-fd", str(write_fd), "--max-file-bytes", str(limits.max_file)]
        argv += ["--max-memory-bytes", str(limits.max_memory)]
        argv += ["--max-tasks", str(limits.max_tasks)]
        argv += ["--max-disk-bytes", str(limits.max_disk), "--max-files", str(limits.max_files)]
        command = bwrap_command(workdir, argv) if mode == "bwrap" else argv
        if limits.use_cgroups and cgroups.available():
            cgroup = cgroups.Cgroup(workdir.name, limits.max_memory, limits.max_tasks)
            command = cgroup.wrap(command)
        process = subprocess.Popen(
            command,
            cwd=workdir,
            env=child_environment(workdir, limits),
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            pass_fds=(write_fd,),
            start_new_session=True,
        )
        os.close(write_fd)
        return _Watch(process, read_fd, limits, workdir, cgroup).wait()
    finally:
        if cgroup is not None:
            cgroup.close()
        shutil.rmtree(workdir, ignore_errors=True)
