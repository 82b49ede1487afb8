"""``cyclegan evaluate``: FID and KID of a folder of translated images against real ones.

Examples::

    cyclegan evaluate --results_dir results/horse2zebra_cyclegan/test_latest/images
    cyclegan evaluate --real datasets/horse2zebra/testB --fake my_zebras --features digits

``--results_dir`` reads what ``cyclegan test`` wrote: ``*_fake_B.png`` against
``*_real_B.png`` (``--direction AtoB``) or ``*_fake_A.png`` against ``*_real_A.png``.
The features are Inception-v3's pool features (torchvision's ImageNet weights, 299 px)
when their weights can be loaded, else the course's colour-digit classifier (32 px, 128
features), named in the output: such numbers compare runs scored the same way, not
published FIDs. KID (Bińkowski et al. 2018) is unbiased; FID grows as N shrinks, so
compare FIDs only at equal N.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from cyclegan_lib.course.metrics import classify, frechet_distance, kernel_distance
from cyclegan_lib.lessons.full_scale import inception_features
from cyclegan_lib.pipeline.datasets import is_image_file

PROG = "cyclegan evaluate"
FEATURES = ("auto", "inception", "digits")


class EvaluationError(ValueError):
    """Bad folders or options, with a message naming them."""


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog=PROG, description=__doc__.split("\n\n")[0])
    parser.add_argument("--results_dir", type=Path, help="images written by 'cyclegan test'")
    parser.add_argument("--direction", choices=("AtoB", "BtoA"), default="AtoB")
    parser.add_argument("--real", type=Path, help="a folder of real images of the target domain")
    parser.add_argument("--fake", type=Path, help="a folder of translated images")
    parser.add_argument("--features", choices=FEATURES, default="auto")
    parser.add_argument("--kid_subset_size", type=int, default=100)
    args = parser.parse_args(argv)
    if (args.results_dir is None) == (args.real is None and args.fake is None):
        parser.error("give either --results_dir, or both --real and --fake")
    if args.results_dir is None and (args.real is None or args.fake is None):
        parser.error("--real and --fake go together")
    return args


def image_paths(folder: Path, pattern: str = "*") -> list[Path]:
    """Sorted image files in ``folder`` matching ``pattern``; an error names an empty folder."""
    if not folder.is_dir():
        raise EvaluationError(f"{PROG}: no such folder: {folder}")
    paths = sorted(p for p in folder.glob(pattern) if is_image_file(p))
    if len(paths) < 2:
        raise EvaluationError(f"{PROG}: need at least 2 images matching {pattern!r} in {folder}")
    return paths


def load_images(paths: list[Path], size: int) -> torch.Tensor:
    """(N, 3, size, size) RGB images in [-1, 1], resized with bicubic interpolation."""
    arrays = [
        np.asarray(Image.open(p).convert("RGB").resize((size, size), Image.BICUBIC)) for p in paths
    ]
    pixels = torch.from_numpy(np.stack(arrays)).permute(0, 3, 1, 2).float()
    return pixels / 127.5 - 1


def folder_pair(args: argparse.Namespace) -> tuple[list[Path], list[Path]]:
    """(real paths, fake paths) from ``--results_dir`` or from ``--real``/``--fake``."""
    if args.results_dir is not None:
        side = "B" if args.direction == "AtoB" else "A"
        return (
            image_paths(args.results_dir, f"*_real_{side}.*"),
            image_paths(args.results_dir, f"*_fake_{side}.*"),
        )
    return image_paths(args.real), image_paths(args.fake)


def extract(paths: list[Path], features: str) -> torch.Tensor | None:
    """Features of the images: Inception's (None if its weights cannot be loaded) or the digits'."""
    if features == "inception":
        return inception_features(load_images(paths, 299))
    return classify(load_images(paths, 32), "color")[1]


def score(real: list[Path], fake: list[Path], features: str, kid_subset_size: int) -> dict:
    """FID and KID (mean, sd over subsets) of ``fake`` against ``real``, and the features used."""
    used = "inception" if features in ("auto", "inception") else "digits"
    real_features = extract(real, used)
    if real_features is None:
        if features == "inception":
            raise EvaluationError(f"{PROG}: the Inception weights are unavailable (offline?)")
        used, real_features = "digits", extract(real, "digits")
    fake_features = extract(fake, used)
    kid, kid_sd = kernel_distance(real_features, fake_features, subset_size=kid_subset_size)
    return {
        "features": used,
        "n_real": len(real),
        "n_fake": len(fake),
        "fid": frechet_distance(real_features, fake_features),
        "kid": kid,
        "kid_sd": kid_sd,
    }


FEATURE_NAMES = {
    "inception": "Inception-v3 pool features (torchvision ImageNet weights)",
    "digits": "the course's colour-digit classifier (fallback: comparable only with itself)",
}


def main(argv: list[str] | None = None) -> int:
    args = parse_args(list(sys.argv[1:] if argv is None else argv))
    try:
        real, fake = folder_pair(args)
        result = score(real, fake, args.features, args.kid_subset_size)
    except EvaluationError as error:
        print(error, file=sys.stderr)
        return 2
    print(f"features: {FEATURE_NAMES[result['features']]}")
    print(f"images:   {result['n_real']} real, {result['n_fake']} translated")
    print(f"FID:      {result['fid']:.3f}   (biased upward at small N: compare at equal N)")
    print(f"KID:      {result['kid']:.4f} ± {result['kid_sd']:.4f}   (unbiased; sd over subsets)")
    return 0
