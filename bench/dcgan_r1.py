"""Train lesson 01's DCGAN with several R1 weights and seeds, and judge each run.

Every arm is the lesson's recipe in the ``cpu`` profile (:func:`dcgan_recipe`: z, network
sizes, batch, Adam, weight average, R1 every 4 steps); only the number of steps, the R1
weight gamma and the seed change. Seed s initialises the networks with
``torch.manual_seed(s)`` and draws the batches with seed s + 1, so seed 0 is the lesson's
own run. Each arm is
judged as the lesson judges it: 1,000 samples of the averaged G, the share the
digit classifier reads with confidence >= 0.9, the rarest digit's share and the
Fréchet distance to the test digits. Arms run ``--jobs`` at a time, one thread each.

Examples::

    python bench/dcgan_r1.py --gamma 0 2 --seeds 0 1 2
    python bench/dcgan_r1.py --steps 1000 --gamma 0 1 3 10
"""

from __future__ import annotations

import argparse
import copy
import itertools
from concurrent.futures import ProcessPoolExecutor
from dataclasses import replace
from multiprocessing import get_context

import torch

from cyclegan_lib.course.digits import load_domain
from cyclegan_lib.course.metrics import evaluate_digits
from cyclegan_lib.lessons.gan_loop import dcgan_recipe, generate, train_gan

LESSON = dcgan_recipe("cpu")


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=LESSON.steps)
    parser.add_argument("--gamma", type=float, nargs="+", default=[0.0, 2.0], help="R1 weights")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0])
    parser.add_argument("--jobs", type=int, default=2, help="arms trained at once")
    return parser.parse_args(argv)


def train_arm(steps: int, gamma: float, seed: int) -> dict[str, float]:
    """One run of the lesson's DCGAN recipe, judged on 1,000 samples of the averaged G."""
    torch.set_num_threads(1)
    x_train, _ = load_domain("clean", "train")
    recipe = replace(LESSON, steps=steps, r1_gamma=gamma, seed=seed + LESSON.seed)
    torch.manual_seed(seed)
    G, D = recipe.networks()
    G_avg = copy.deepcopy(G)
    history = train_gan(G, D, x_train, recipe, G_avg=G_avg)
    sample_z = torch.randn(1000, recipe.z_dim, generator=torch.Generator().manual_seed(1))
    scores = evaluate_digits(generate(G_avg, sample_z), "clean")
    return {**scores, "seconds": history.seconds}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    arms = list(itertools.product(dict.fromkeys(args.gamma), dict.fromkeys(args.seeds)))
    if args.jobs > 1:
        with ProcessPoolExecutor(args.jobs, mp_context=get_context("spawn")) as pool:
            gammas, seeds = [gamma for gamma, _ in arms], [seed for _, seed in arms]
            results = list(pool.map(train_arm, [args.steps] * len(arms), gammas, seeds))
    else:
        results = [train_arm(args.steps, gamma, seed) for gamma, seed in arms]
    print(f"{args.steps} steps per arm")
    print(f"{'gamma':>6} {'seed':>5} {'confident':>10} {'rarest':>7} {'Frechet':>8} {'seconds':>8}")
    for (gamma, seed), r in zip(arms, results, strict=True):
        print(
            f"{gamma:6g} {seed:5d} {r['confident_fraction']:10.1%} "
            f"{r['min_class_fraction']:7.1%} {r['frechet_distance']:8.2f} {r['seconds']:8.0f}"
        )


if __name__ == "__main__":
    main()
