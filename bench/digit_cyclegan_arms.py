"""Train lesson 04's digit CycleGAN with several loss weights and print what survives.

Each arm uses the same recipe, seed and batches; only the cycle weights change.
The arms train side by side as in the lesson (:func:`train_cyclegan_arms`). For
every arm the script prints the share of F(y) the clean-digit classifier reads
as the right digit, the same for G(x) and the colour classifier, and the
training time. Lesson 04 quotes its runs
for the choice of the y-cycle's weight.

Examples::

    python bench/digit_cyclegan_arms.py --steps 1600 --lambda_y 1 10
    python bench/digit_cyclegan_arms.py --steps 400 --batch_size 16 --netG unet_32 --ngf 32
"""

from __future__ import annotations

import argparse

from cyclegan_lib.course.digits import load_domain, unpaired_digits
from cyclegan_lib.lessons.digit_translation import (
    DigitRecipe,
    TrainingRun,
    evaluate_translation,
    train_cyclegan_arms,
)
from cyclegan_lib.models import translate


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
    return parser.parse_args(argv)


def judge(run: TrainingRun) -> dict[str, float]:
    """Both directions of one trained arm, judged on the 1,000 test digits."""
    x_test, labels = load_domain("clean", "test")
    y_test, _ = load_domain("color", "test")
    to_clean = evaluate_translation(translate(run.generators["F"], y_test), "clean", labels)
    to_color = evaluate_translation(translate(run.generators["G"], x_test), "color", labels)
    return {"F(y)": to_clean["label_accuracy"], "G(x)": to_color["label_accuracy"]}


def main(argv: list[str] | None = None) -> None:
    args = parse_args(argv)
    recipe = DigitRecipe(
        steps=args.steps,
        batch_size=args.batch_size,
        netG=args.netG,
        ngf=args.ngf,
        ndf=args.ndf,
        lr=args.lr,
    )
    print(recipe)
    weights_y = list(dict.fromkeys(args.lambda_y))  # one arm per distinct value
    arms = {
        f"lambda_y={lambda_y:g}": {"lambda_cycle": args.lambda_x, "lambda_y": lambda_y}
        for lambda_y in weights_y
    }
    runs = train_cyclegan_arms(unpaired_digits("train"), recipe, arms)
    print(f"{'lambda_x':>9} {'lambda_y':>9} {'F(y)':>7} {'G(x)':>7} {'seconds':>8}")
    for lambda_y, run in zip(weights_y, runs.values(), strict=True):
        numbers = judge(run)
        print(
            f"{args.lambda_x:9.1f} {lambda_y:9.1f} {numbers['F(y)']:7.1%} "
            f"{numbers['G(x)']:7.1%} {run.seconds:8.0f}"
        )


if __name__ == "__main__":
    main()
