"""Lesson 06's sections 3 and 6 outside the notebook: the identity-loss arms over seeds, and
what both sections cost.

The recipe is the lesson's own, read from the notebook (``recipe`` and ``BOLD_STEPS``, the
``cpu`` profile unless ``--profile`` says otherwise). For each seed the two arms of section 6
(λ_identity = 0 and 0.5, colour digits <-> bold colour digits) train side by side, and the
script prints each arm's colour report (``debugging.colour_report`` on the 1,000 colour test
digits), whether the lesson's promise holds (a smaller background colour shift with the
identity loss), and the arms' wall time. ``--score`` also times section 3's scoring of five
snapshots of G and F on the 1,000 test digits (``debugging.score_snapshots``). ``--share N``
times section 2's pool as the lesson runs it, its three runs at N steps, without and then with
section 6's two runs at the lesson's share of N: the difference is what section 6's training
adds to the lesson's wall time (``--share 1500`` is the lesson itself).

Examples::

    python bench/lesson06_additions.py                  # seeds 0 1 2
    python bench/lesson06_additions.py --bold_steps 400      # longer identity-loss runs
    python bench/lesson06_additions.py --seeds --score --share 300
"""

from __future__ import annotations

import argparse
import time
from dataclasses import replace

from cyclegan_lib.course import digits
from cyclegan_lib.lessons.debugging import colour_report, score_snapshots, split_in_two
from cyclegan_lib.lessons.digit_translation import (
    DigitRecipe,
    train_cyclegan_arms,
    train_cyclegan_digits,
)
from cyclegan_lib.tools.nbtools import lesson_setting

SECTION2_ARMS = {
    "λ_y = 1": {"lambda_cycle": 10.0, "lambda_y": 1.0},
    "λ_y = 10": {"lambda_cycle": 10.0, "lambda_y": 10.0},
    "no cycle": {"lambda_cycle": 0.0},
}
IDENTITY_ARMS = {
    "λ_identity = 0": {"lambda_cycle": 10.0},
    "λ_identity = 0.5": {"lambda_cycle": 10.0, "lambda_identity": 0.5},
}
SHOWN = ("background shift G(x)", "colour shift G(x)", "G(x) accuracy", "F(y) accuracy")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--seeds", type=int, nargs="*", default=[0, 1, 2])
    parser.add_argument("--profile", default="cpu", choices=["smoke", "cpu", "gpu"])
    parser.add_argument("--score", action="store_true", help="time section 3's scoring too")
    parser.add_argument("--share", type=int, metavar="N", help="time section 2's pool at N steps")
    parser.add_argument("--bold_steps", type=int, help="section 6's steps (default: the lesson's)")
    return parser.parse_args(argv)


def identity_arms(recipe: DigitRecipe, seed: int) -> bool:
    """Section 6 for one seed: print each arm's report; True if the lesson's promise holds."""
    test = digits.paired_digits("test")
    y_bold = digits.to_tensor(digits.bold_color_images("test"))
    background = digits.bold_background("test")
    start = time.perf_counter()
    runs = train_cyclegan_arms(
        digits.unpaired_bold("train"), replace(recipe, seed=seed), IDENTITY_ARMS
    )
    wall = time.perf_counter() - start
    tint = {}
    for name, run in runs.items():
        report = colour_report(run.generators, test.color, y_bold, background, test.labels)
        tint[name] = report["background shift G(x)"]
        cells = "  ".join(f"{key} {report[key]:6.3f}" for key in SHOWN)
        print(f"seed {seed}  {name:>16}  {cells}  {run.seconds:5.0f} s")
    kept = tint["λ_identity = 0.5"] < tint["λ_identity = 0"]
    print(
        f"seed {seed}: arms side by side {wall:.0f} s wall; promise {'kept' if kept else 'MISSED'}"
    )
    return kept


def time_scoring(recipe: DigitRecipe) -> float:
    """Seconds to score five snapshots of G and F on the 1,000 test digits (section 3)."""
    run = train_cyclegan_digits(
        digits.unpaired_digits("train"), replace(recipe, steps=5), lambda_y=1.0,
        snapshot_every=1, show_progress=False,
    )  # fmt: skip
    test = digits.paired_digits("test")
    halves = dict(zip(("validation", "test"), split_in_two(test.labels), strict=True))
    start = time.perf_counter()
    score_snapshots(run, test.clean, test.color, test.labels, halves)
    return time.perf_counter() - start


def time_sharing(recipe: DigitRecipe, bold_steps: int, steps: int) -> None:
    """Print the wall time of section 2's pool at ``steps``, without and with section 6's runs."""
    short = max(1, round(steps * bold_steps / recipe.steps))
    own = {"data": digits.unpaired_bold("train"), "recipe": replace(recipe, steps=short)}
    with_identity = SECTION2_ARMS | {name: own | arm for name, arm in IDENTITY_ARMS.items()}
    walls = {}
    for label, arms in (("three runs", SECTION2_ARMS), ("five runs", with_identity)):
        start = time.perf_counter()
        train_cyclegan_arms(digits.unpaired_digits("train"), replace(recipe, steps=steps), arms)
        walls[label] = time.perf_counter() - start
        print(f"section 2's pool, {label} ({steps} and {short} steps): {walls[label]:.0f} s wall")
    print(f"section 6's runs add {walls['five runs'] - walls['three runs']:.0f} s")


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    recipe = lesson_setting("06", "recipe", args.profile)
    bold_steps = args.bold_steps or lesson_setting("06", "BOLD_STEPS", args.profile)
    print(recipe, f"BOLD_STEPS={bold_steps}")
    if args.seeds:
        kept = [identity_arms(replace(recipe, steps=bold_steps), seed) for seed in args.seeds]
        print(f"promise kept for {sum(kept)} of {len(kept)} seeds")
    if args.score:
        print(f"scoring 5 snapshots on 1,000 test digits: {time_scoring(recipe):.1f} s")
    if args.share:
        time_sharing(recipe, bold_steps, args.share)


if __name__ == "__main__":
    main()
