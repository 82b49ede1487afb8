"""Steps per second of each lesson's training loop, with and without each speed lever.

For lessons 01-05, in one run, the training loop a lesson runs, in its own configuration
for a profile (``cpu`` by default): lessons 01-02 take their recipes from
:mod:`cyclegan_lib.lessons.gan_loop`, lessons 03-05 read theirs from the notebook itself
(the ``recipe = env.pick(...)`` or ``S = env.pick(...)`` cell), so nothing here is
retyped. Each configuration changes one lever from the lesson's own setting:

* threads: 1, 2 and every CPU this process may use (``env.cpu_budget``: the affinity
  mask capped by a cgroup quota), the last being what the lessons use;
* Adam: PyTorch's default on the CPU (one parameter at a time), ``foreach`` or ``fused``;
* bf16 autocast, only where the CPU has native bf16 (AVX512-BF16 or AMX), detected here
  (lessons 01-02 train this way on a CPU with AMX,
  :func:`~cyclegan_lib.course.env.cpu_bf16_pays`, so their first row, fp32, is then the
  baseline rather than the lesson's own);
* with ``--compile``: ``torch.compile`` (inductor) on every network of the loop, the
  compile time falling in the untimed warm-up run;
* lesson 04 only: its two arms side by side in two processes (what the lesson does), the
  rate of one arm while the other runs.

After each lesson's rows, a line says how close its step comes to the CPU's arithmetic
speed: the floating-point operations of one step (lesson 05: of one image, as its rows
count), by ``torch.utils.flop_counter``'s formulas for convolutions and matrix products,
forward and backward; the rate the first row reaches; that rate against a large
convolution's on the same threads (what oneDNN attains when tensors are big); and the share
of a step spent inside convolution and matrix-product operators (``torch.profiler``, their
own time). A high share with a low rate means the step waits on convolutions too small to
run at full speed, not on Python or dispatch, which no compiler or optimiser lever removes.

To see how a CPU without AVX-512 would fare, cap the instruction sets of both PyTorch's own
kernels and oneDNN's convolutions: ``ATEN_CPU_CAPABILITY=avx2 ONEDNN_MAX_CPU_ISA=AVX2 python
bench/course_speed.py`` (the clock, caches and memory stay this machine's).

A number is the median over ``--repeats`` runs of ``--steps`` steps, after an untimed
warm-up run whose wall time is the last column; "x" is the ratio to the first row (fp32,
all threads). The last recorded wall time of each lesson (``build/results``, from ``make
course``) is printed when there is one.

Examples::

    python bench/course_speed.py                        # about 3-5 minutes on 2 cores
    python bench/course_speed.py --lessons 04 --steps 48 --repeats 5
    python bench/course_speed.py --profile gpu          # the gpu profile's configurations
    python bench/course_speed.py --lessons 01 04 --compile   # also torch.compile (minutes)
"""

from __future__ import annotations

import argparse
import contextlib
import copy
import functools
import json
import os
import platform
import statistics
import tempfile
import time
from collections.abc import Callable, Iterator
from dataclasses import replace
from pathlib import Path
from typing import NamedTuple
from unittest import mock

import torch
from torch import profiler
from torch.utils._python_dispatch import TorchDispatchMode
from torch.utils.flop_counter import flop_registry

from cyclegan_lib import models
from cyclegan_lib.course import env
from cyclegan_lib.course.digits import load_domain, paired_digits, unpaired_digits
from cyclegan_lib.lessons import full_scale
from cyclegan_lib.lessons.digit_translation import (
    DigitRecipe,
    train_cyclegan_arms,
    train_cyclegan_digits,
    train_pix2pix_digits,
)
from cyclegan_lib.lessons.gan_loop import conditional_recipe, dcgan_recipe, train_gan
from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.runtime import cpu_has_native_bf16, onednn_isa_cap
from cyclegan_lib.tools.nbtools import lesson_setting

LESSONS = ("01", "02", "03", "04", "05")
Loop = Callable[[int], float]  # trains n steps, returns the seconds they took


# ---------------------------------------------------------------- the lessons' settings
# ---------------------------------------------------------------- one loop per lesson
def gan_loop(recipe, conditional: bool, device: torch.device) -> Loop:
    """Lessons 01-02: ``train_gan`` with the lesson's recipe and weight average, in fp32
    (the bf16 lever is the autocast around it). The networks go on learning from one timed
    run to the next; the ``torch.compile`` lever gets its own compiled pair."""
    images, labels = load_domain("clean", "train")
    nets: dict[bool, tuple] = {}

    def networks(compiled: bool) -> tuple:
        if compiled not in nets:
            torch.manual_seed(0)
            G, D = (net.to(device) for net in recipe.networks(conditional))
            G_avg = copy.deepcopy(G)
            if compiled:
                G.compile()
                D.compile()
            nets[compiled] = G, D, G_avg
        return nets[compiled]

    def loop(steps: int) -> float:
        G, D, G_avg = networks(Compiling.on)
        history = train_gan(G, D, images, replace(recipe, steps=steps, bf16=False),
                            labels if conditional else None, G_avg=G_avg)  # fmt: skip
        return history.seconds

    return loop


def pix2pix_loop(recipe: DigitRecipe) -> Loop:
    """Lesson 03: ``train_pix2pix_digits`` (the cGAN + L1 arm)."""
    data = paired_digits("train")
    return lambda steps: (
        train_pix2pix_digits(data, replace(recipe, steps=steps), show_progress=False).seconds
    )


def cyclegan_loop(recipe: DigitRecipe) -> Loop:
    """Lesson 04: one CycleGAN arm, ``train_cyclegan_digits``, in this process."""
    data = unpaired_digits("train")
    return lambda steps: (
        train_cyclegan_digits(data, replace(recipe, steps=steps), show_progress=False).seconds
    )


def arms_side_by_side(recipe: DigitRecipe) -> Loop:
    """Lesson 04 as it runs: both arms in worker processes; the slower arm's loop time."""
    data = unpaired_digits("train")
    arms = {"cycle": {"lambda_cycle": 10.0}, "no cycle": {"lambda_cycle": 0.0}}

    def loop(steps: int) -> float:
        runs = train_cyclegan_arms(data, replace(recipe, steps=steps), arms)
        return max(run.seconds for run in runs.values())

    return loop


def full_scale_loop(settings: dict, folder: Path) -> Loop:
    """Lesson 05: the ``Trainer`` behind ``cyclegan train``, one epoch of ``steps`` images."""
    root = full_scale.build_digit_folders(folder / "digits", settings["size"],
                                          settings["n_train"], settings["n_test"])  # fmt: skip
    gpu_ids = "0" if torch.cuda.is_available() else "-1"
    flags = (
        full_scale.train_flags(settings, root, "speed", folder, gpu_ids)
        + " --display_id -1 --no_html"
    )

    def loop(steps: int) -> float:
        opt = parse_train_options([*flags.split(), "--max_dataset_size", str(steps)])
        trainer = Trainer(opt, show_progress=False)
        trainer.model.train()
        start = time.perf_counter()
        trainer.run_epoch()
        return time.perf_counter() - start

    return loop


def lesson_loop(lesson: str, profile: str, folder: Path) -> Loop:
    device = env.get_device() if profile == "gpu" else torch.device("cpu")
    if lesson == "01":
        return gan_loop(dcgan_recipe(profile), False, device)
    if lesson == "02":
        return gan_loop(conditional_recipe(profile), True, device)
    if lesson == "03":
        return pix2pix_loop(lesson_setting("03", "recipe", profile))
    if lesson == "04":
        return cyclegan_loop(lesson_setting("04", "recipe", profile))
    return full_scale_loop(lesson_setting("05", "S", profile), folder)


# ---------------------------------------------------------------- levers
class Compiling:
    """Whether the ``torch.compile`` lever is on; :func:`lever` sets it, the loops read it."""

    on = False


def compiled_builder(build: Callable[..., torch.nn.Module]) -> Callable[..., torch.nn.Module]:
    """``build`` (``define_G`` or ``define_D``) whose networks come back compiled in place."""

    @functools.wraps(build)
    def build_compiled(*args, **kwargs) -> torch.nn.Module:
        net = build(*args, **kwargs)
        net.compile()
        return net

    return build_compiled


@contextlib.contextmanager
def lever(
    threads: int, adam: str = "default", bf16: str | None = None, compiled: bool = False
) -> Iterator[None]:
    """Run the block with ``threads`` threads, Adam's ``adam`` implementation, bf16
    autocast on device type ``bf16`` (``"cpu"`` or ``"cuda"``) or plain fp32, and with
    ``compiled`` every network the loop builds (lessons 03-05: ``models.define_G`` and
    ``define_D``; lessons 01-02: see :func:`gan_loop`) run through ``torch.compile``."""
    previous_threads, original_adam = torch.get_num_threads(), torch.optim.Adam
    torch.set_num_threads(threads)
    if adam != "default":
        torch.optim.Adam = functools.partial(original_adam, **{adam: True})
    autocast = torch.autocast(bf16, dtype=torch.bfloat16) if bf16 else contextlib.nullcontext()
    with contextlib.ExitStack() as patches:
        if compiled:
            for name in ("define_G", "define_D"):
                build = compiled_builder(getattr(models, name))
                patches.enter_context(mock.patch.object(models, name, build))
        Compiling.on = compiled
        try:
            with autocast:
                yield
        finally:
            Compiling.on = False
            torch.optim.Adam = original_adam
            torch.set_num_threads(previous_threads)


def levers(budget: int, lesson: str, profile: str, compile_lever: bool = False) -> dict[str, dict]:
    """The lesson's own setting first, then one lever changed at a time (``torch.compile``
    only with ``compile_lever``: compiling takes minutes and needs a C++ compiler).

    In the ``gpu`` profile the threads and the lesson-04 processes are left out (the
    models train on the GPU) and bf16 means CUDA autocast.
    """
    own = {"threads": budget}
    rows = {f"baseline ({budget} threads, default Adam, fp32)": own}
    if profile != "gpu":
        rows |= {f"{t} thread{'s' * (t > 1)}": {"threads": t}
                 for t in sorted({1, 2} - {budget}) if t <= budget}  # fmt: skip
    rows |= {f"Adam {kind}": {**own, "adam": kind} for kind in ("foreach", "fused")}
    if profile == "gpu" and torch.cuda.is_available():
        rows["bf16 autocast (CUDA)"] = {**own, "bf16": "cuda"}
    elif profile != "gpu" and cpu_has_native_bf16():  # else a bf16 step ran 11x slower than fp32
        rows["bf16 autocast"] = {**own, "bf16": "cpu"}
    if compile_lever:
        rows["torch.compile (warm-up run compiles)"] = {**own, "compiled": True}
    if lesson == "04" and budget >= 2 and profile != "gpu":
        rows["2 arms side by side, per arm"] = {"threads": budget, "arms": True}
    return rows


def steps_per_second(
    loop: Loop, steps: int, repeats: int, setting: dict
) -> tuple[float, float] | str:
    """Median steps per second over ``repeats`` timed runs, and the wall seconds of the short
    warm-up run before them (allocations, oneDNN's kernel choice, and for the
    ``torch.compile`` lever the compiling); an error's name if it fails."""
    knobs = {k: v for k, v in setting.items() if k != "arms"}
    try:
        with lever(**knobs):
            start = time.perf_counter()
            loop(max(2, steps // 4))
            warm_up = time.perf_counter() - start
            rates = [steps / loop(steps) for _ in range(repeats)]
    except (RuntimeError, TypeError, ValueError) as error:
        return f"failed: {type(error).__name__}: {error}"[:80]
    return statistics.median(rates), warm_up


# ---------------------------------------------------------------- arithmetic
class Arithmetic(NamedTuple):
    """One training step's floating-point work, and how fast a loop does it."""

    flops_per_step: float
    kernel_seconds_per_step: float  # inside convolution and matrix-product operators

    def describe(self, steps_per_second: float, large_conv_flops: float) -> str:
        rate = self.flops_per_step * steps_per_second
        share = min(1.0, self.kernel_seconds_per_step * steps_per_second)
        return (
            f"{self.flops_per_step / 1e9:.2f} GFLOP per step at {rate / 1e9:.1f} GFLOP/s, "
            f"{rate / large_conv_flops:.0%} of a large convolution's "
            f"{large_conv_flops / 1e9:.0f} GFLOP/s; {share:.0%} of a step in "
            "convolutions and matrix products"
        )


class FlopCount(TorchDispatchMode):
    """Counts the floating-point operations of the operators run inside it, by the formulas
    of ``torch.utils.flop_counter`` (convolutions and matrix products, forward and backward).

    ``FlopCounterMode`` also attributes them to modules, with hooks that break a double
    backward (lesson 01's R1 penalty); this counts the total only.
    """

    def __init__(self) -> None:
        super().__init__()
        self.total = 0

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        kwargs = kwargs or {}
        out = func(*args, **kwargs)
        formula = flop_registry.get(func._overloadpacket)
        if formula is not None:
            self.total += formula(*args, **kwargs, out_val=out)
        return out


def is_arithmetic_operator(name: str) -> bool:
    """Whether a profiled operator is a convolution or a matrix product (its own time is
    the kernel's: the wrappers ``aten::convolution``/``conv2d`` add only microseconds)."""
    operator = name.removeprefix("aten::")
    return "conv" in operator or operator in {"mm", "addmm", "bmm", "baddbmm", "matmul"}


def arithmetic(loop: Loop, steps: int) -> Arithmetic:
    """Count one step's FLOPs over ``steps`` steps, then time its arithmetic operators over
    as many more (the profiler's own overhead falls outside their self time)."""
    with FlopCount() as counter:
        loop(steps)
    with profiler.profile(activities=[profiler.ProfilerActivity.CPU]) as profiled:
        loop(steps)
    kernel_us = sum(
        event.self_cpu_time_total
        for event in profiled.key_averages()
        if is_arithmetic_operator(event.key)
    )
    return Arithmetic(counter.total / steps, kernel_us / 1e6 / steps)


def large_convolution_flops(repeats: int = 9) -> float:
    """FLOP/s of one large 3x3 convolution (32 images of 64 channels at 32x32, no
    gradients) on the current threads: about what oneDNN attains on this CPU."""
    images, weight = torch.randn(32, 64, 32, 32), torch.randn(64, 64, 3, 3)
    # glibc maps a block above its threshold fresh from the kernel, page faults and all, and
    # raises the threshold to the largest such block freed; a training loop soon has freed
    # big ones. Free one larger than the output first, so that it comes from the heap too.
    images.new_empty(2 * images.numel())  # dropped at once
    timings = []
    with torch.no_grad():
        # Two untimed calls (oneDNN picks and compiles its kernel on the first); the first
        # is counted, by the same formulas as the lessons' steps.
        with FlopCount() as counter:
            torch.nn.functional.conv2d(images, weight, padding=1)
        torch.nn.functional.conv2d(images, weight, padding=1)
        for _ in range(repeats):
            start = time.perf_counter()
            torch.nn.functional.conv2d(images, weight, padding=1)
            timings.append(time.perf_counter() - start)
    return counter.total / statistics.median(timings)


def recorded_wall_time(lesson: str, profile: str) -> str:
    """The lesson's last recorded wall time in build/results, if ``make course`` ran it in
    ``profile`` (a smoke run of the tests overwrites the file with its own profile), and
    the lesson's time budget in that profile if it has one."""
    budget = env.time_budget(lesson, profile)
    return recorded_seconds(lesson, profile) + (
        "" if budget is None else f"; its budget is {budget:.0f} s"
    )


def recorded_seconds(lesson: str, profile: str) -> str:
    for path in sorted(env.results_dir().glob(f"{lesson}_*.json")):
        numbers = json.loads(path.read_text())
        if numbers.get("profile") != profile:
            return f"not recorded (the last run was {numbers.get('profile')})"
        for key in ("lesson_seconds", "run_seconds"):
            if isinstance(numbers.get(key), int | float):
                return f"{numbers[key]:.0f} s ({numbers.get('written', 'undated')})"
    return "not recorded"


def cpu_model() -> str:
    info = Path("/proc/cpuinfo")
    if info.exists():
        for line in info.read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


# ---------------------------------------------------------------- the run
def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--profile", choices=env.PROFILES, default="cpu")
    parser.add_argument("--lessons", nargs="+", choices=LESSONS, default=list(LESSONS))
    parser.add_argument("--steps", type=int, default=24, help="timed steps per run")
    parser.add_argument("--repeats", type=int, default=3, help="timed runs per setting")
    parser.add_argument("--compile", action="store_true",
                        help="add a torch.compile row (minutes of compiling per lesson)")  # fmt: skip
    return parser.parse_args(argv)


def print_lever_rows(
    lesson: str, loop: Loop, args: argparse.Namespace, budget: int
) -> float | None:
    """One row per lever (:func:`levers`); returns the first row's steps per second, the
    lesson's own setting in fp32, or None if it failed."""
    base = None
    for index, (name, setting) in enumerate(
        levers(budget, lesson, args.profile, args.compile).items()
    ):
        if setting.get("arms"):
            arms_loop = arms_side_by_side(lesson_setting("04", "recipe", args.profile))
            timed = steps_per_second(arms_loop, args.steps, args.repeats, setting)
        else:
            timed = steps_per_second(loop, args.steps, args.repeats, setting)
        if isinstance(timed, str):
            print(f"{lesson:<7} {name:<46} {timed}")
            continue
        rate, warm_up = timed
        if index == 0:
            base = rate
        ratio = f"{rate / base:6.2f}" if base else f"{'':>6}"
        print(f"{lesson:<7} {name:<46} {rate:8.3g} {ratio} {warm_up:10.1f}", flush=True)
    return base


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    budget = env.cpu_budget()
    print(f"CPU: {cpu_model()}; usable CPUs {budget} (os.cpu_count {os.cpu_count()}); "
          f"torch {torch.__version__}, {torch.get_num_threads()} threads by default, "
          f"native bf16 {'yes' if cpu_has_native_bf16() else 'no'}; profile {args.profile}")  # fmt: skip
    print(f"vector code: ATen {torch.backends.cpu.get_cpu_capability()}, oneDNN up to "
          f"{onednn_isa_cap()}")  # fmt: skip
    print(f"median of {args.repeats} runs of {args.steps} steps, after a warm-up run\n")
    on_cpu = args.profile != "gpu"  # the arithmetic lines time CPU operators
    print(f"{'lesson':<7} {'setting':<46} {'steps/s':>8} {'x':>6} {'warm-up s':>10}")
    with tempfile.TemporaryDirectory() as tmp:
        for lesson in args.lessons:
            loop = lesson_loop(lesson, args.profile, Path(tmp) / lesson)
            baseline = print_lever_rows(lesson, loop, args, budget)
            if baseline is not None and on_cpu:
                with lever(threads=budget):  # the first row's setting, at the same moment
                    work = arithmetic(loop, args.steps).describe(
                        baseline, large_convolution_flops()
                    )
                print(f"{lesson:<7} {'arithmetic, first row':<46} {work}")
            wall = recorded_wall_time(lesson, args.profile)
            print(f"{lesson:<7} {'whole lesson, last recorded':<46} {wall}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
