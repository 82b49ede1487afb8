"""Timing and memory (:mod:`cyclegan_lib.pipeline.speed`) and the bench scripts built on it.

No test here asserts a speed: the numbers depend on the machine. They check what a
measurement reports, that it leaves a run unchanged, and that each script runs.
"""

from __future__ import annotations

import contextlib
import json
import os
import runpy
import time

import pytest
import torch

from cyclegan_lib.course.env import repo_root
from cyclegan_lib.pipeline import speed
from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.tools import nbtools
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

TINY_SPEC = speed.SpeedSpec(size=32, n_blocks=1, ngf=4, ndf=4, iters=1, warmup=0, device="cpu")


def bench_script(name: str) -> dict:
    return runpy.run_path(str(repo_root() / "bench" / name))


def test_epoch_estimate_arithmetic_and_durations():
    estimate = speed.EpochEstimate(
        seconds_per_iteration=20.0, iterations_per_epoch=1334, epochs=200
    )
    assert estimate.epoch_seconds == 26680.0
    assert estimate.total_seconds == 26680.0 * 200
    assert "7.4 h per epoch" in estimate.describe()
    assert "61.8 days" in estimate.describe()
    assert [speed.format_duration(s) for s in (42, 150, 7200, 200000)] == [
        "42 s", "2.5 min", "2.0 h", "2.3 days",
    ]  # fmt: skip


def test_estimate_leaves_the_run_unchanged(tmp_path):
    """Timing a throwaway model must not shift the trainer's RNGs, pools or weights."""
    data = make_image_folder_dataset(tmp_path / "data", n=4, size=40)

    def train_one_epoch(folder, estimate: bool):
        flags = (f"--dataroot {data} --name tiny --checkpoints_dir {folder} --gpu_ids -1 "
                 "--netG resnet_1blocks --ngf 4 --ndf 4 --load_size 36 --crop_size 32 "
                 "--num_threads 0 --display_id -1 --pool_size 2 --n_epochs 1 --n_epochs_decay 0")  # fmt: skip
        trainer = Trainer(parse_train_options(flags.split()), show_progress=False)
        if estimate:
            result = speed.estimate_epoch(trainer, iters=1)
            assert result.iterations_per_epoch == 4 and result.epochs == 1
            assert result.seconds_per_iteration > 0
        trainer.run()
        return trainer.model.netG_A.state_dict()

    plain, estimated = train_one_epoch(tmp_path / "a", False), train_one_epoch(tmp_path / "b", True)
    for key in plain:
        assert torch.equal(plain[key], estimated[key]), key


def test_time_iteration_refuses_a_diverged_model():
    model = speed.build_model(TINY_SPEC, torch.device("cpu"))
    model.optimize_parameters = lambda: {"G_A": float("nan")}
    with pytest.raises(RuntimeError, match="non-finite"):
        speed.time_iteration(model, speed.random_batch(1, 32))


def test_a_progress_bar_sees_every_timed_iteration_and_no_warmup():
    model = speed.build_model(TINY_SPEC, torch.device("cpu"))
    shown = []

    def progress(iterations):
        for i in iterations:
            shown.append(i)
            yield i

    speed.seconds_per_iteration(model, speed.random_batch(1, 32), 2, warmup=1, progress=progress)
    assert shown == [0, 1]


def test_models_of_one_spec_start_from_the_same_weights():
    first, second = (speed.build_model(TINY_SPEC, torch.device("cpu")) for _ in range(2))
    for key, value in first.netG_A.state_dict().items():
        assert torch.equal(value, second.netG_A.state_dict()[key]), key


def test_speed_rows_on_the_cpu_are_fp32_with_positive_numbers():
    spec = speed.SpeedSpec(size=32, batch_size=2, amp=True, n_blocks=1, ngf=4, ndf=4, iters=1,
                           warmup=0, device="cpu")  # fmt: skip
    row = speed.measure_here(spec)
    assert row["precision"] == "fp32", "no autocast on the CPU, even when asked"
    assert row["images_per_second"] == pytest.approx(2 / row["seconds_per_iteration"])
    assert row["peak_memory_mib"] > 50
    table = speed.speed_table([row, row])
    assert len(table.splitlines()) == 3 and "fp32" in table


@pytest.mark.slow
def test_measuring_in_a_new_process_counts_only_that_process():
    """A child must not report the parent's memory (``ru_maxrss`` survives fork + exec)."""
    ballast = torch.ones(160 * 2**20)  # 640 MiB of float32 held by this process
    parent = speed.peak_resident_mib()
    assert parent > 640
    row = speed.measure(TINY_SPEC)
    assert (row["size"], row["batch_size"]) == (32, 1)
    assert 50 < row["peak_memory_mib"] < parent - 400
    del ballast


@pytest.mark.slow
def test_a_failed_measurement_names_its_spec():
    with pytest.raises(RuntimeError, match="device='no_such_device'"):
        speed.measure(speed.SpeedSpec(size=32, iters=1, warmup=0, device="no_such_device"))


def test_speed_specs_add_mixed_precision_only_on_cuda():
    base = speed.SpeedSpec(size=64)
    on_cpu = speed.speed_specs(base, (1, 4), on_cuda=False)
    on_gpu = speed.speed_specs(base, (1, 4), on_cuda=True)
    assert [(s.batch_size, s.amp) for s in on_cpu] == [(1, False), (4, False)]
    assert [(s.batch_size, s.amp) for s in on_gpu] == [(1, False), (1, True), (4, False), (4, True)]
    assert all(s.size == 64 for s in on_gpu)


def test_benchmark_script_reports_the_ratio(capsys):
    tiny = "--size 32 --n_blocks 1 --ngf 4 --ndf 4 --warmup 0 --iters 1 --device cpu"
    assert bench_script("bench_cyclegan.py")["main"](tiny.split()) == 0
    out = capsys.readouterr().out
    assert "plain fp32" in out and "fast path" in out and "speed-up" in out


@pytest.mark.slow
def test_speed_table_script_prints_a_row_per_batch_size(capsys):
    tiny = "--size 32 --n_blocks 1 --ngf 4 --ndf 4 --warmup 0 --iters 1 --device cpu"
    assert bench_script("speed_table.py")["main"]([*tiny.split(), "--batch_sizes", "1", "2"]) == 0
    lines = capsys.readouterr().out.strip().splitlines()
    rows = [json.loads(line) for line in lines[:2]]
    assert [row["batch_size"] for row in rows] == [1, 2]
    assert len(lines) == 2 + 3, "two JSON rows, then a header and two table rows"


def test_the_lessons_settings_are_read_from_their_notebooks():
    settings = nbtools.lesson_setting
    assert settings("04", "recipe", "smoke").steps < settings("04", "recipe", "cpu").steps
    assert settings("05", "S", "cpu")["netG"].startswith("resnet_")
    with pytest.raises(LookupError, match="no cell assigns"):
        settings("03", "NO_SUCH_NAME", "cpu")


@pytest.mark.slow
def test_course_speed_measures_every_lesson_and_lever(capsys):
    script = bench_script("course_speed.py")
    assert script["main"](["--profile", "smoke", "--steps", "2", "--repeats", "1"]) == 0
    out = capsys.readouterr().out
    assert "CPU:" in out and "usable CPUs" in out
    rows = [line.split() for line in out.splitlines() if line[:2] in {"01", "02", "03", "04", "05"}]
    assert {row[0] for row in rows} == {"01", "02", "03", "04", "05"}
    assert not [row for row in rows if "failed:" in row], "every lever ran"
    for lesson in ("01", "02", "03", "04", "05"):
        baseline = next(row for row in rows if row[0] == lesson and row[1] == "baseline")
        assert float(baseline[-3]) > 0 and float(baseline[-2]) == 1.0
        assert float(baseline[-1]) >= 0, "the warm-up run's seconds come last"
        work = next(row for row in rows if row[0] == lesson and row[1] == "arithmetic,")
        assert float(work[4]) > 0 and work[5:8] == ["GFLOP", "per", "step"], work
        assert "convolutions and matrix products" in " ".join(work)


def test_course_speed_counts_a_steps_flops_and_times_its_arithmetic():
    script = bench_script("course_speed.py")
    a, b = torch.randn(256, 128), torch.randn(128, 64)

    def loop(steps: int) -> float:
        start = time.perf_counter()
        for _ in range(steps):
            torch.relu(a @ b)  # a matrix product, then an operator that is not arithmetic
        return time.perf_counter() - start

    work = script["arithmetic"](loop, steps=5)
    assert work.flops_per_step == 2 * 256 * 128 * 64
    assert 0 < work.kernel_seconds_per_step < loop(5) / 5 * 10
    line = work.describe(steps_per_second=1000.0, large_conv_flops=1e10)
    assert line.startswith("0.00 GFLOP per step at 4.2 GFLOP/s, 42% of a large convolution's 10")
    assert script["large_convolution_flops"](repeats=1) > 0
    arithmetic_operator = script["is_arithmetic_operator"]
    for name in ("aten::mkldnn_convolution", "aten::convolution_backward", "aten::addmm"):
        assert arithmetic_operator(name), name
    for name in ("aten::native_batch_norm", "aten::relu", "Optimizer.step#Adam.step"):
        assert not arithmetic_operator(name), name


def test_course_speed_quotes_a_lesson_time_only_from_the_same_profile(monkeypatch, tmp_path):
    monkeypatch.setenv("COURSE_BUILD_DIR", str(tmp_path))
    wall_time = bench_script("course_speed.py")["recorded_wall_time"]
    assert wall_time("04", "cpu") == "not recorded; its budget is 720 s"
    results = tmp_path / "results" / "04_cyclegan.json"
    results.write_text(json.dumps({"profile": "smoke", "run_seconds": 17.4}))
    assert wall_time("04", "cpu") == "not recorded (the last run was smoke); its budget is 720 s"
    assert wall_time("04", "smoke") == "17 s (undated)"  # no budget in smoke
    results.write_text(json.dumps({"profile": "cpu", "run_seconds": 379.2, "written": "today"}))
    assert wall_time("04", "cpu") == "379 s (today); its budget is 720 s"


def test_course_speed_compile_lever_compiles_the_networks_it_builds_and_only_then():
    script = bench_script("course_speed.py")
    from cyclegan_lib import models

    def build() -> torch.nn.Module:
        return models.define_G(1, 1, 4, "resnet_1blocks", "instance", False, "normal", 0.02)

    with script["lever"](threads=1, compiled=True):
        assert script["Compiling"].on
        compiled = build()
    plain = build()
    assert getattr(compiled, "_compiled_call_impl", None) is not None
    assert getattr(plain, "_compiled_call_impl", None) is None
    assert not script["Compiling"].on
    rows = script["levers"](2, "04", "cpu", compile_lever=True)
    assert rows["torch.compile (warm-up run compiles)"]["compiled"] is True
    assert not any("compile" in name for name in script["levers"](2, "04", "cpu"))


def test_lesson_times_finds_a_lesson_by_its_number(tmp_path):
    find = bench_script("lesson_times.py")["lesson_notebook"]
    assert find(repo_root(), "04").name == "04_cyclegan.ipynb"
    (tmp_path / "notebooks").mkdir()
    (tmp_path / "notebooks" / "01_vanilla_gan.ipynb").write_text("{}")
    assert find(tmp_path, "01").name == "01_vanilla_gan.ipynb"
    assert find(tmp_path, "06") is None


@pytest.mark.slow
def test_lesson_times_runs_each_side_in_a_kernel_that_imports_that_side(tmp_path):
    import nbformat

    script = bench_script("lesson_times.py")
    side = tmp_path / "side"
    (side / "notebooks").mkdir(parents=True)
    seen = tmp_path / "seen.txt"
    keys = ("PYTHONPATH", "COURSE_BUILD_DIR", "COURSE_PROFILE", "ONEDNN_MAX_CPU_ISA")
    report = (
        f"import os; open({str(seen)!r}, 'w').write(repr([os.environ.get(k) for k in {keys!r}]))"
    )
    notebook = side / "notebooks" / "01_probe.ipynb"
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(report)]), notebook)
    before = dict(os.environ)
    cap = script["CAPS"]["avx2"]
    run = script["run_lesson"](side, notebook, "smoke", tmp_path / "build", cap)
    assert run.ok and run.seconds > 0
    assert seen.read_text() == repr([str(side), str(tmp_path / "build"), "smoke", "AVX2"])
    assert dict(os.environ) == before, "the kernel's environment does not leak into this process"
    failing = side / "notebooks" / "02_fails.ipynb"
    nbformat.write(
        nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("assert False")]), failing
    )
    failed = script["run_lesson"](side, failing, "smoke", tmp_path / "build", {})
    assert not failed.ok and failed.seconds > 0, "a missed target keeps its time, marked"


def test_lesson_times_compares_lesson_by_lesson_and_totals_only_shared_lessons(tmp_path, capsys):
    script = bench_script("lesson_times.py")
    Run = script["Run"]
    old = tmp_path / "old"
    (old / "notebooks").mkdir(parents=True)
    for name in ("01_vanilla_gan", "04_cyclegan"):
        (old / "notebooks" / f"{name}.ipynb").write_text("{}")
    ran = []

    @contextlib.contextmanager
    def fake_worktree(commit, folder):
        assert commit == "abc1234"
        yield old

    def fake_run(root, notebook, profile, build, cap):
        ran.append((root == old, notebook.name[:2], profile, cap))
        return {(True, "01"): Run(300.0, False), (False, "01"): Run(150.0, True),
                (True, "04"): Run(600.0, True), (False, "04"): Run(400.0, True),
                (False, "06"): Run(280.0, True)}[(root == old, notebook.name[:2])]  # fmt: skip

    script["main"].__globals__.update(worktree=fake_worktree, run_lesson=fake_run)
    assert script["main"](["--baseline", "abc1234", "--lessons", "01", "04", "06",
                           "--cap", "avx2"]) == 0  # fmt: skip
    cap = {"ATEN_CPU_CAPABILITY": "avx2", "ONEDNN_MAX_CPU_ISA": "AVX2"}
    assert ran == [(True, "01", "cpu", cap), (False, "01", "cpu", cap),
                   (True, "04", "cpu", cap), (False, "04", "cpu", cap),
                   (False, "06", "cpu", cap)]  # fmt: skip
    rows = {line.split()[0]: line.split()[1:] for line in capsys.readouterr().out.splitlines()}
    assert rows["01"] == ["300.0", "(failed)", "150.0", "2.00"]
    assert rows["04"] == ["600.0", "400.0", "1.50"]
    assert rows["06"] == ["(none)", "280.0"]
    assert rows["both"] == ["900.0", "550.0", "1.64"], "the totals leave lesson 06 out"
    assert rows["lessons"] == ["only", "in", "this", "checkout:", "280.0", "s", "more"]
