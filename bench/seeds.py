"""Train a lesson's recipe with several seeds and check the lesson's targets for each one.

A lesson's quality assertion is a promise to every learner, whatever seed their run
draws, so each lesson's recipe is checked here for seeds 0, 1 and 2 (or any others). The
recipe and the judging are the lesson's own: lessons 01-02 take theirs from
:mod:`cyclegan_lib.lessons.gan_loop`, lessons 03-04 read them from the notebook (the
``recipe = env.pick(...)`` cell), lesson 05 its settings (``S = env.pick(...)``), which
it trains with ``cyclegan train``'s pipeline and ``--seed s``. Seed s initialises the networks with seed s; in
lessons 01-02 the batches are drawn with seed s + ``recipe.seed``, so seed 0 is exactly
the lesson's own run, in lessons 03-04 ``DigitRecipe(seed=s)`` seeds both.

Every (seed, arm) is one job; ``--jobs`` of them run side by side, each on an equal
share of the CPUs (at these model sizes one thread per job gives more steps per second
in total than two threads for one job). An *arm* is a variant of the lesson's recipe
that the lesson compares with it, e.g. lesson 04 without the cycle loss; a target is
checked on the lesson's own arm.

Examples::

    python bench/seeds.py 01                                # seeds 0 1 2
    python bench/seeds.py 01 --seeds 0 --arms lesson "no R1"
    python bench/seeds.py 01 --set r1_gamma=5 steps=1000    # another R1 weight, shorter
    python bench/seeds.py 02 --arms "with y" "D without y"
    python bench/seeds.py 04 --seeds 1 2 --arms cycle "no cycle" "pool 0" "λ_y = 10"
    python bench/seeds.py 01 --set average_decay=0.999      # try a recipe change
    python bench/seeds.py 05 --set lambda_identity=0        # lesson 05 without the identity loss
"""

from __future__ import annotations

import argparse
import copy
import json
import statistics
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor, as_completed
from dataclasses import dataclass, fields, replace
from multiprocessing import get_context
from pathlib import Path

import torch

from cyclegan_lib.course import env
from cyclegan_lib.course.digits import load_domain, paired_digits, unpaired_digits
from cyclegan_lib.course.metrics import evaluate_digits
from cyclegan_lib.lessons import full_scale
from cyclegan_lib.lessons.digit_translation import (
    evaluate_translation,
    train_cyclegan_digits,
    train_pix2pix_digits,
)
from cyclegan_lib.lessons.gan_loop import conditional_recipe, dcgan_recipe, generate, train_gan
from cyclegan_lib.lessons.mnist_gans import LabelBlindDiscriminator
from cyclegan_lib.models import translate
from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.runtime import end_with_parent
from cyclegan_lib.tools.nbtools import lesson_setting


@dataclass(frozen=True)
class Target:
    """``key`` of the lesson's own arm must be at least ``minimum`` (the lesson's assertion)."""

    key: str
    minimum: float

    def met(self, numbers: dict[str, float]) -> bool:
        return numbers[self.key] >= self.minimum


# ---------------------------------------------------------------- lessons 01-02
def gan_recipe(lesson: str, overrides: dict):
    recipe = (dcgan_recipe if lesson == "01" else conditional_recipe)(env.get_profile())
    return replace(recipe, **overrides)


LESSON01_ARMS = {"lesson": {}, "no R1": {"r1_gamma": 0.0}}


def lesson01_recipe(seed: int, arm: str, overrides: dict):
    """Lesson 01's recipe, ``--set``'s changes, then the arm's; batches use seed s + recipe.seed."""
    recipe = replace(gan_recipe("01", overrides), **LESSON01_ARMS[arm])
    return replace(recipe, seed=seed + recipe.seed)


def train_lesson01(seed: int, arm: str, overrides: dict) -> dict[str, float]:
    """The DCGAN of lesson 01 (or without R1), judged on 1,000 samples of the averaged G."""
    recipe = lesson01_recipe(seed, arm, overrides)
    images, _ = load_domain("clean", "train")
    torch.manual_seed(seed)
    G, D = recipe.networks()
    G_avg = copy.deepcopy(G)
    history = train_gan(G, D, images, recipe, G_avg=G_avg)
    z = torch.randn(1000, recipe.z_dim, generator=torch.Generator().manual_seed(1))
    scores = evaluate_digits(generate(G_avg, z), "clean")
    keys = ("confident_fraction", "min_class_fraction", "frechet_distance")
    return {**{key: float(scores[key]) for key in keys}, "seconds": history.seconds}


def train_lesson02(seed: int, arm: str, overrides: dict) -> dict[str, float]:
    """The conditional DCGAN of lesson 02 (or its D-without-y ablation), 100 samples per digit."""
    recipe = gan_recipe("02", overrides)
    recipe = replace(recipe, seed=seed + recipe.seed)
    images, labels = load_domain("clean", "train")
    torch.manual_seed(seed)
    G, D = recipe.networks(conditional=True)
    if arm == "D without y":
        D = LabelBlindDiscriminator(recipe.channels, recipe.ndf)
    G_avg = copy.deepcopy(G)
    history = train_gan(G, D, images, recipe, labels, G_avg=G_avg)
    requested = torch.arange(10).repeat_interleave(100)
    z = torch.randn(len(requested), recipe.z_dim, generator=torch.Generator().manual_seed(1))
    scores = evaluate_digits(generate(G_avg, z, requested), "clean", requested)
    keys = ("label_accuracy", "confident_fraction", "frechet_distance")
    return {**{key: float(scores[key]) for key in keys}, "seconds": history.seconds}


# ---------------------------------------------------------------- lessons 03-04
def digit_recipe(lesson: str, seed: int, overrides: dict):
    return replace(lesson_setting(lesson, "recipe", env.get_profile()), seed=seed, **overrides)


def train_lesson03(seed: int, arm: str, overrides: dict) -> dict[str, float]:
    """pix2pix (cGAN + L1) from colour to clean digits, judged on the paired test set."""
    recipe = digit_recipe("03", seed, overrides)
    run = train_pix2pix_digits(paired_digits("train"), recipe, show_progress=False)
    test = paired_digits("test")
    translated = translate(run.generators["G"], test.color)
    scores = evaluate_translation(translated, "clean", test.labels, target=test.clean)
    return {**scores, "seconds": run.seconds}


LESSON04_ARMS = {
    "cycle": {"lambda_cycle": 10.0, "lambda_y": 1.0},
    "no cycle": {"lambda_cycle": 0.0},
    "pool 0": {"lambda_cycle": 10.0, "lambda_y": 1.0, "pool_size": 0},
    "λ_y = 10": {"lambda_cycle": 10.0, "lambda_y": 10.0},
}


def train_lesson04(seed: int, arm: str, overrides: dict) -> dict[str, float]:
    """One arm of lesson 04's CycleGAN, both directions judged on the paired test set.

    ``D_Y wobble`` is the standard deviation of D_Y's loss over the last half of the
    run: how much D's verdicts still swing, the thing the history pool is meant to calm.
    """
    recipe = digit_recipe("04", seed, overrides)
    run = train_cyclegan_digits(unpaired_digits("train"), recipe, **LESSON04_ARMS[arm],
                                show_progress=False)  # fmt: skip
    test = paired_digits("test")
    G, F = run.generators["G"], run.generators["F"]
    to_color = evaluate_translation(translate(G, test.clean), "color", test.labels)
    to_clean = evaluate_translation(translate(F, test.color), "clean", test.labels)
    d_y = run.history["D_A"][len(run.history["D_A"]) // 2 :]
    return {
        "G(x) accuracy": to_color["label_accuracy"],
        "F(y) accuracy": to_clean["label_accuracy"],
        "D_Y wobble": statistics.pstdev(d_y),
        "seconds": run.seconds,
    }


# ---------------------------------------------------------------- lesson 05
@dataclass(frozen=True)
class FullScaleRun:
    """What ``--set`` may change in lesson 05's run: its settings, or any of these options."""

    n_train: int
    n_epochs: int
    n_epochs_decay: int
    lambda_identity: float
    lr: float
    batch_size: int


def train_lesson05(seed: int, arm: str, overrides: dict) -> dict[str, float]:
    """Lesson 05's profile through the ``Trainer`` behind ``cyclegan train`` with ``--seed``,
    judged like the lesson: every test digit, translated both ways."""
    settings = dict(lesson_setting("05", "S", env.get_profile()))
    settings["changes"] = dict(settings["changes"])
    for name, value in overrides.items():
        (settings if name in settings else settings["changes"])[name] = value
    with tempfile.TemporaryDirectory() as folder:
        root = full_scale.build_digit_folders(Path(folder) / "digits", settings["size"],
                                              settings["n_train"], settings["n_test"])  # fmt: skip
        flags = full_scale.train_flags(settings, root, "seeds", Path(folder) / "checkpoints", "-1")
        options = f"{flags} --seed {seed} --display_id -1 --no_html --print_freq 1000000"
        trainer = Trainer(parse_train_options(options.split()), show_progress=False)
        start = time.perf_counter()
        trainer.run()
        seconds = time.perf_counter() - start
        a, a_paths = full_scale.load_images(root, "test", "A", settings["size"], settings["n_test"])
        b, _ = full_scale.load_images(root, "test", "B", settings["size"], settings["n_test"])
    labels = full_scale.labels_from_names(a_paths)
    model = trainer.model
    scores = full_scale.score_digit_translations(
        a, translate(model.netG_A, a), translate(model.netG_B, b), labels
    )
    return {
        "G_A(A) accuracy": float(scores["G_A(A) read as color"]["label_accuracy"]),
        "G_B(B) accuracy": float(scores["G_B(B) read as clean"]["label_accuracy"]),
        "seconds": seconds,
    }


@dataclass(frozen=True)
class Lesson:
    train: Callable[[int, str, dict], dict[str, float]]
    arms: tuple[str, ...]
    targets: tuple[Target, ...]
    overridable: type


LESSONS = {
    "01": Lesson(
        train_lesson01,
        tuple(LESSON01_ARMS),
        (Target("confident_fraction", 0.80), Target("min_class_fraction", 0.04)),
        type(dcgan_recipe("cpu")),
    ),  # fmt: skip
    "02": Lesson(
        train_lesson02,
        ("with y", "D without y"),
        (Target("label_accuracy", 0.95),),
        type(conditional_recipe("cpu")),
    ),  # fmt: skip
    "03": Lesson(
        train_lesson03,
        ("cGAN + L1",),
        (Target("label_accuracy", 0.95),),
        type(lesson_setting("03", "recipe", "cpu")),
    ),  # fmt: skip
    "04": Lesson(
        train_lesson04,
        tuple(LESSON04_ARMS),
        (Target("G(x) accuracy", 0.90), Target("F(y) accuracy", 0.90)),
        type(lesson_setting("04", "recipe", "cpu")),
    ),  # fmt: skip
    "05": Lesson(
        train_lesson05,
        ("cyclegan train",),
        (Target("G_A(A) accuracy", 0.80), Target("G_B(B) accuracy", 0.80)),
        FullScaleRun,
    ),  # fmt: skip
}


# ---------------------------------------------------------------- the run
BOOLEANS = {"1": True, "true": True, "yes": True, "0": False, "false": False, "no": False}


def as_bool(text: str) -> bool:
    """``true``/``false`` (or 1/0, yes/no, any case); anything else is an error, not False."""
    if text.lower() not in BOOLEANS:
        raise ValueError(f"expected one of {sorted(BOOLEANS)}")
    return BOOLEANS[text.lower()]


def parse_override(text: str, recipe_type: type) -> tuple[str, object]:
    """``name=value`` for a field of the lesson's recipe, the value cast to the field's type."""
    name, _, value = text.partition("=")
    types = {field.name: str(field.type) for field in fields(recipe_type)}
    if name not in types or not value:
        raise SystemExit(f"--set {text!r}: expected FIELD=VALUE with FIELD one of {sorted(types)}")
    casts = {"int": int, "float": float, "str": str, "bool": as_bool}
    if types[name] not in casts:
        raise SystemExit(f"--set {text!r}: {name} is a {types[name]}, which --set cannot change")
    try:
        return name, casts[types[name]](value)
    except ValueError as error:
        raise SystemExit(
            f"--set {text!r}: {value!r} is not a valid {types[name]} ({error})"
        ) from None


def run_job(lesson: str, seed: int, arm: str, overrides: dict, threads: int) -> dict:
    torch.set_num_threads(threads)
    start = time.perf_counter()
    numbers = LESSONS[lesson].train(seed, arm, overrides)
    return {"seed": seed, "arm": arm, **numbers, "wall": time.perf_counter() - start}


def record(row: dict, args: argparse.Namespace, overrides: dict) -> dict:
    """Say that a job finished (and append its row to ``--json``) as soon as it does."""
    print(f"  done: seed {row['seed']}, {row['arm']}, {row['wall']:.0f} s", flush=True)
    if args.json:
        with open(args.json, "a") as out:
            out.write(json.dumps({"lesson": args.lesson, "set": overrides, **row}) + "\n")
    return row


LOWER_IS_BETTER = {"frechet_distance", "D_Y wobble", "seconds", "wall"}


def worst(rows: list[dict], keys: list[str]) -> dict[str, float]:
    """Each number at its worst seed: the highest where lower is better, else the lowest."""
    return {key: (max if key in LOWER_IS_BETTER else min)(row[key] for row in rows) for key in keys}


def print_table(lesson: Lesson, rows: list[dict]) -> bool:
    """One line per (arm, seed), each arm's worst seed per column, then the targets' verdicts."""
    keys = [key for key in rows[0] if key not in {"seed", "arm"}]
    highest = [key for key in keys if key in LOWER_IS_BETTER]
    print(f"row 'worst': the highest {', '.join(highest)} over the seeds, the lowest of the rest")
    print(f"{'arm':<14} {'seed':>5} " + " ".join(f"{key[:18]:>18}" for key in keys))
    for arm in dict.fromkeys(row["arm"] for row in rows):
        mine = [row for row in rows if row["arm"] == arm]
        for row in mine:
            print(f"{arm:<14} {row['seed']:>5} " + " ".join(f"{row[k]:18.4g}" for k in keys))
        at_worst = worst(mine, keys)
        print(f"{arm:<14} {'worst':>5} " + " ".join(f"{at_worst[k]:18.4g}" for k in keys))
    own = [row for row in rows if row["arm"] == lesson.arms[0]]
    if not own:
        print(
            f"targets not checked: they hold for the lesson's own arm, {lesson.arms[0]!r}, not run"
        )
        return True
    all_met = True
    for target in lesson.targets:
        failing = [row["seed"] for row in own if not target.met(row)]
        all_met &= not failing
        verdict = "met for every seed" if not failing else f"MISSED for seeds {failing}"
        print(f"target {target.key} >= {target.minimum:g}: {verdict}")
    return all_met


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("lesson", choices=sorted(LESSONS))
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--arms", nargs="+", help="variants to train (default: the lesson's own)")
    parser.add_argument("--set", nargs="+", default=[], metavar="FIELD=VALUE",
                        help="change a field of the lesson's recipe")  # fmt: skip
    parser.add_argument("--jobs", type=int, default=env.cpu_budget(), help="jobs side by side")
    parser.add_argument("--threads", type=int, help="threads per job (default: CPUs / jobs)")
    parser.add_argument("--json", help="also write every row to this JSON-lines file")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    lesson = LESSONS[args.lesson]
    arms = args.arms or [lesson.arms[0]]
    unknown = sorted(set(arms) - set(lesson.arms))
    if unknown:
        raise SystemExit(f"--arms {unknown}: lesson {args.lesson} has {list(lesson.arms)}")
    overrides = dict(parse_override(text, lesson.overridable) for text in args.set)
    jobs = [(seed, arm) for arm in arms for seed in args.seeds]
    workers = max(1, min(args.jobs, len(jobs)))
    threads = args.threads or max(1, env.cpu_budget() // workers)
    print(f"lesson {args.lesson}, profile {env.get_profile()}, {len(jobs)} jobs, "
          f"{workers} at a time on {threads} thread(s) each, changes {overrides or 'none'}")  # fmt: skip
    start = time.perf_counter()
    if workers == 1:  # in this process, one job after the other
        rows = [record(run_job(args.lesson, seed, arm, overrides, threads), args, overrides)
                for seed, arm in jobs]  # fmt: skip
    else:
        spawn = get_context("spawn")
        with ProcessPoolExecutor(workers, mp_context=spawn, initializer=end_with_parent) as pool:
            futures = [pool.submit(run_job, args.lesson, seed, arm, overrides, threads)
                       for seed, arm in jobs]  # fmt: skip
            for future in as_completed(futures):
                record(future.result(), args, overrides)
            rows = [future.result() for future in futures]
    print(f"all jobs in {time.perf_counter() - start:.0f} s\n")
    return 0 if print_table(lesson, rows) else 1


if __name__ == "__main__":
    raise SystemExit(main())
