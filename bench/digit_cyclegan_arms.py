"""Train lesson 04's digit CycleGAN with several loss weights and print what survives.

Each arm uses the same recipe, seed and batches (:func:`train_cyclegan_digits`);
only the cycle weights change. For every arm the script prints the share of
F(y) the clean-digit classifier reads as the right digit, the same for G(x)
and the colour classifier, and the training time. Lesson 04 quotes its runs
for the choice of the y-cycle's weight.

Examples::

    python bench/digit_cyclegan_arms.py --steps 1600 --lambda_y 1 10
    python bench/digit_cyclegan_arms.py --steps 400 --batch_size 16 --netG unet_32 --ngf 32
"""

from __future__ import annotations

import argparse

import torch

from cyclegan_lib.digit_translation import (
    DigitRecipe,
    evaluate_translation,
    train_cyclegan_digits,
    translate,
)
from cyclegan_lib.digits import load_domain, unpaired_digits


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--steps", type=int, default=1600)
    parser.add_argument("--batch_size", type=int, default=4)
    parser.add_argument("--netG", default="resnet_3blocks")
    parser.add_argument("--ngf", type=int, default=16)
    parser.add_argument("--ndf", type=int, default=32)
    parser.add_argument("--lr", type=float, default=1e-3)
    parser.add_argument("--lambda_x", type=float, default=10.0, help="weight of |F(G(x)) - x|")
    parser.add_argument(
        "--lambda_y", type=float, nargs="+", default=[1.0, 10.0], help="one arm per value"
    )
    parser.add_argument("--threads", type=int, default=0, help="torch threads (0: default)")
    return parser.parse_args(argv)


def run_arm(recipe: DigitRecipe, lambda_x: float, lambda_y: float) -> dict[str, float]:
    """Train one arm and judge both directions on the 1,000 test digits."""
    run = train_cyclegan_digits(unpaired_digits("train"), recipe, lambda_x, lambda_y=lambda_y)
    x_test, labels = load_domain("clean", "test")
    y_test, _ = load_domain("color", "test")
    to_clean = evaluate_translation(translate(run.generators["F"], y_test), "clean", labels)
    to_color = evaluate_translation(translate(run.generators["G"], x_test), "color", labels)
    return {
        "F(y)": to_clean["label_accuracy"],
        "G(x)": to_color["label_accuracy"],
        "seconds": run.seconds,
    }


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    if args.threads:
        torch.set_num_threads(args.threads)
    recipe = DigitRecipe(
        steps=args.steps,
        batch_size=args.batch_size,
        netG=args.netG,
        ngf=args.ngf,
        ndf=args.ndf,
        lr=args.lr,
    )
    print(recipe)
    print(f"{'lambda_x':>9} {'lambda_y':>9} {'F(y)':>7} {'G(x)':>7} {'seconds':>8}")
    for lambda_y in args.lambda_y:
        numbers = run_arm(recipe, args.lambda_x, lambda_y)
        print(
            f"{args.lambda_x:9.1f} {lambda_y:9.1f} {numbers['F(y)']:7.1%} "
            f"{numbers['G(x)']:7.1%} {numbers['seconds']:8.0f}",
            flush=True,
        )


if __name__ == "__main__":
    main()
