import os
import signal
import subprocess
import sys
import time

import pytest
import torch

from cyclegan_lib.course import env


def test_profile_defaults_to_hardware(monkeypatch):
    monkeypatch.delenv("COURSE_PROFILE", raising=False)
    assert env.get_profile() == ("gpu" if torch.cuda.is_available() else "cpu")


@pytest.mark.parametrize("value", ["smoke", "cpu", "gpu", " SMOKE "])
def test_profile_override(monkeypatch, value):
    monkeypatch.setenv("COURSE_PROFILE", value)
    assert env.get_profile() == value.strip().lower()


def test_unknown_profile_is_named(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "laptop")
    with pytest.raises(ValueError, match="'laptop'.*smoke, cpu, gpu"):
        env.get_profile()


def test_pick_follows_profile(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert env.pick(1, 2, 3) == 1
    assert env.pick(1, 2, 3, profile="gpu") == 3


def test_time_budgets_cover_the_training_lessons_and_match_the_readme():
    from cyclegan_lib.tools import nbtools

    numbers = [lesson.name[:2] for lesson in nbtools.lessons()]
    assert sorted(env.CPU_BUDGET_MINUTES) == [n for n in numbers if n != "00"]
    assert env.time_budget("04_cyclegan", "cpu") == 12 * 60.0
    assert env.time_budget("04", "cpu") == 12 * 60.0
    assert env.time_budget("00_start_here", "cpu") is None
    assert env.time_budget("04_cyclegan", "smoke") is None
    assert env.time_budget("04_cyclegan", "gpu") is None
    minutes = env.CPU_BUDGET_MINUTES
    assert minutes["01"] == minutes["02"]  # the README states them as one
    stated = f"lessons 01–02 ≤ {minutes['01']} min, " + ", ".join(
        f"{n} ≤ {minutes[n]} min" for n in ("03", "04", "05", "06")
    )
    assert stated in (env.repo_root() / "README.md").read_text()


def test_a_lesson_reports_its_time_against_its_budget(monkeypatch):
    assert env.lesson_time("04_cyclegan", 415.9, "cpu") == (
        "this lesson ran 416 s here, within its budget of 720 s (cpu profile, set for 2 cores)"
    )
    assert env.lesson_time("01_vanilla_gan", 437.4, "cpu") == (
        "this lesson ran 437 s here, over its budget of 300 s by 137 s "
        "(cpu profile, set for 2 cores)"
    )
    assert env.lesson_time("00_start_here", 12.0, "cpu") == "this lesson ran 12 s here"
    assert env.lesson_time("04_cyclegan", 9.0, "gpu") == "this lesson ran 9 s here"
    monkeypatch.setenv("COURSE_PROFILE", "smoke")  # the active profile by default
    assert env.lesson_time("04_cyclegan", 9.0) == "this lesson ran 9 s here"


def test_seed_everything_repeats_all_generators():
    import random

    import numpy as np

    def draw():
        gen = env.seed_everything(7)
        return (
            random.random(),
            np.random.rand(),
            torch.rand(1).item(),
            torch.rand(1, generator=gen).item(),
        )

    assert draw() == draw()


def test_no_autocast_on_cpu():
    with env.autocast(torch.device("cpu")):
        y = torch.ones(2, 2) @ torch.ones(2, 2)
    assert y.dtype == torch.float32


def cap_onednn(monkeypatch, isa_cap: str | None) -> None:
    """Set ``ONEDNN_MAX_CPU_ISA`` to ``isa_cap``, or leave it unset for ``None``."""
    if isa_cap is None:
        monkeypatch.delenv("ONEDNN_MAX_CPU_ISA", raising=False)
    else:
        monkeypatch.setenv("ONEDNN_MAX_CPU_ISA", isa_cap)


@pytest.mark.parametrize(
    ("isa_cap", "tiles_usable"),
    [
        (None, True),
        ("ALL", True),
        ("avx512_core_amx", True),
        ("AVX2", False),
        ("AVX512_CORE", False),
    ],
)
def test_amx_counts_only_where_onednn_may_use_it(monkeypatch, isa_cap, tiles_usable):
    from cyclegan_lib import runtime

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: True, raising=False)
    cap_onednn(monkeypatch, isa_cap)
    assert runtime.cpu_has_amx() is tiles_usable
    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: False, raising=False)
    assert runtime.cpu_has_amx() is False


@pytest.mark.parametrize(
    ("isa_cap", "allowed", "refused"),
    [
        (None, ["AVX10_1_512_AMX", "AVX2_VNNI_2"], []),
        ("default", ["AVX10_1_512_AMX"], []),
        ("AVX2_VNNI_2", ["AVX2_VNNI", "AVX2", "SSE41"], ["AVX512_CORE", "AVX512_CORE_BF16"]),
        ("AVX512_CORE_BF16", ["AVX512_CORE_VNNI", "AVX2"], ["AVX2_VNNI", "AVX10_1_512"]),
        ("avx512_core_fp16", ["AVX512_CORE_BF16", "AVX2_VNNI"], ["AVX10_1_512_AMX", "AVX2_VNNI_2"]),
        ("AVX10_2_512", ["AVX10_1_512", "AVX512_CORE_BF16"], ["AVX10_1_512_AMX"]),
        ("AVX10_2_512_AMX_2", ["AVX10_1_512_AMX", "AVX10_2"], []),
        ("AVX_9000", [], ["AVX2", "AVX512_CORE_BF16"]),
    ],
)
def test_onednn_caps_follow_onednns_partial_order(monkeypatch, isa_cap, allowed, refused):
    from cyclegan_lib import runtime

    cap_onednn(monkeypatch, isa_cap)
    assert [isa for isa in allowed if not runtime.onednn_may_use(isa)] == []
    assert [isa for isa in refused if runtime.onednn_may_use(isa)] == []


@pytest.mark.parametrize(
    ("isa_cap", "amx", "avx512_bf16", "native"),
    [
        (None, False, True, True),
        ("AVX512_CORE_BF16", False, True, True),
        ("AVX512_CORE_VNNI", False, True, False),
        ("AVX", True, True, False),
        ("AVX2_VNNI_2", True, True, False),
        ("AVX512_CORE_AMX", True, False, True),
        (None, False, False, False),
    ],
)
def test_native_bf16_needs_the_instructions_and_onednns_leave(
    monkeypatch, isa_cap, amx, avx512_bf16, native
):
    from cyclegan_lib import runtime

    monkeypatch.setattr(torch.cpu, "_is_amx_tile_supported", lambda: amx, raising=False)
    monkeypatch.setattr(torch.cpu, "_is_avx512_bf16_supported", lambda: avx512_bf16, raising=False)
    cap_onednn(monkeypatch, isa_cap)
    assert runtime.cpu_has_native_bf16() is native


def test_build_dir_override(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    assert env.results_dir() == tmp_path / "results"
    assert (tmp_path / "results").is_dir()


def test_cpu_budget_follows_a_cgroup_quota(tmp_path):
    cores = len(os.sched_getaffinity(0))
    (tmp_path / "cpu.max").write_text("100000 100000\n")
    assert env.cpu_budget(tmp_path) == 1
    (tmp_path / "cpu.max").write_text("150000 100000\n")  # 1.5 CPUs: a second thread still helps
    assert env.cpu_budget(tmp_path) == min(2, cores)
    (tmp_path / "cpu.max").write_text("max 100000\n")
    assert env.cpu_budget(tmp_path) == cores
    (tmp_path / "cpu.max").write_text("garbage\n")
    assert env.cpu_budget(tmp_path) == cores


def test_cpu_budget_reads_cgroup_v1(tmp_path):
    (tmp_path / "cpu").mkdir()
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("50000\n")
    (tmp_path / "cpu" / "cpu.cfs_period_us").write_text("100000\n")
    assert env.cpu_budget(tmp_path) == 1
    (tmp_path / "cpu" / "cpu.cfs_quota_us").write_text("-1\n")
    assert env.cpu_budget(tmp_path) == len(os.sched_getaffinity(0))


def test_use_cpu_budget_gives_torch_one_thread_per_usable_cpu(monkeypatch):
    before = torch.get_num_threads()
    monkeypatch.setattr(env, "cpu_budget", lambda: before + 1)
    try:
        assert env.use_cpu_budget() == before + 1
        assert torch.get_num_threads() == before + 1
    finally:
        torch.set_num_threads(before)


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="PR_SET_PDEATHSIG is Linux's")
def test_a_pool_worker_ends_when_its_parent_is_killed(tmp_path):
    parent = tmp_path / "parent.py"
    parent.write_text(
        "import os, time\n"
        "from concurrent.futures import ProcessPoolExecutor\n"
        "from multiprocessing import get_context\n"
        "from cyclegan_lib.runtime import end_with_parent\n"
        "if __name__ == '__main__':\n"
        "    pool = ProcessPoolExecutor(1, mp_context=get_context('spawn'),\n"
        "                               initializer=end_with_parent)\n"
        "    print(pool.submit(os.getpid).result(), flush=True)\n"
        "    pool.submit(time.sleep, 120)\n"
        "    time.sleep(120)\n"
    )
    process = subprocess.Popen([sys.executable, str(parent)], stdout=subprocess.PIPE, text=True)
    worker = int(process.stdout.readline())
    os.kill(worker, 0)  # alive while its parent is
    process.kill()
    process.wait()
    deadline = time.monotonic() + 20
    while time.monotonic() < deadline:
        try:
            os.kill(worker, 0)
        except ProcessLookupError:
            return
        time.sleep(0.1)
    os.kill(worker, signal.SIGKILL)
    pytest.fail(f"worker {worker} outlived its killed parent by 20 s")
