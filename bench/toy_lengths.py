"""How long lesson 01's toy GANs must train: modes covered per length, setting and seed.

Lesson 01 (section 5) trains two settings of the 2-D toy GAN on the ring of 8 modes,
balanced (1 D step, 1 G step) and G rushing (1 D step, 3 G steps), for seeds 0, 1 and 2,
and asserts that every balanced run covers more modes than any rushing one. This script
trains both settings for several lengths and prints, per length, the modes each run
covers, the share of samples close to a mode (``high_quality``, how sharp the blobs are)
and the seconds all runs took, so the lesson's length can be the shortest that keeps its
claim.

Examples::

    python bench/toy_lengths.py                                 # 750, 1000, 1500 iterations
    python bench/toy_lengths.py --iterations 500 3000 --seeds 0 1 2 3 4
"""

from __future__ import annotations

import argparse
import time

import torch

from cyclegan_lib.course import env
from cyclegan_lib.lessons.toy_gan import ToyGAN

SETTINGS = {"balanced": (1, 1), "G rushes": (1, 3)}
"""The lesson's two settings: (D steps, G steps) per iteration."""


def measure(iterations: int, seeds: list[int]) -> dict[str, list[tuple[int, float]]]:
    """(modes covered, high-quality share) of each setting's run, seed by seed."""
    found: dict[str, list[tuple[int, float]]] = {}
    for label, (d_steps, g_steps) in SETTINGS.items():
        for seed in seeds:
            toy = ToyGAN(d_steps=d_steps, g_steps=g_steps, seed=seed)
            toy.train(iterations)
            coverage = toy.coverage()
            found.setdefault(label, []).append((coverage.modes_covered, coverage.high_quality))
    return found


def claim_holds(found: dict[str, list[tuple[int, float]]]) -> bool:
    """The lesson's assertion: every balanced run covers more modes than any rushing one."""
    balanced = [modes for modes, _ in found["balanced"]]
    rushed = [modes for modes, _ in found["G rushes"]]
    return min(balanced) > max(rushed)


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--iterations", type=int, nargs="+", default=[750, 1000, 1500])
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    args = parser.parse_args(argv)
    if min(args.iterations) < 1:
        parser.error(f"--iterations must be >= 1, got {args.iterations}")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    env.use_cpu_budget()  # the lesson's threads
    print(f"seeds {args.seeds}, {torch.get_num_threads()} thread(s)")
    print(
        f"{'iterations':>10}  {'setting':<9} {'modes covered':<16} {'high quality':<20} claim  seconds"
    )
    for iterations in args.iterations:
        start = time.perf_counter()
        found = measure(iterations, args.seeds)
        seconds = time.perf_counter() - start
        for label, runs in found.items():
            modes = ", ".join(str(m) for m, _ in runs)
            sharp = ", ".join(f"{q:.2f}" for _, q in runs)
            last = label == "G rushes"
            verdict = ("holds" if claim_holds(found) else "FAILS") if last else ""
            timing = f"{seconds:.1f}" if last else ""
            print(f"{iterations:>10}  {label:<9} {modes:<16} {sharp:<20} {verdict:<6} {timing}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
