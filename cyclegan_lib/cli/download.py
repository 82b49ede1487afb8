"""``cyclegan download``: fetch the reference's datasets and pretrained generators.

    cyclegan download dataset horse2zebra                 # -> ./datasets/horse2zebra
    cyclegan download dataset facades --pix2pix           # pix2pix's aligned facades
    cyclegan download model horse2zebra                   # -> ./checkpoints/horse2zebra_pretrained/latest_net_G.pth

The same as the reference's ``bash ./datasets/download_cyclegan_dataset.sh NAME`` and
``bash ./scripts/download_cyclegan_model.sh NAME``. Errors print one line and return 1.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence

from cyclegan_lib.pipeline.download import (
    BASE_URL_VARIABLE,
    CATALOGUE,
    DownloadError,
    download_dataset,
    download_model,
)


def _names(kind: str) -> str:
    cyclegan, pix2pix = CATALOGUE[kind, "cyclegan"][0], CATALOGUE[kind, "pix2pix"][0]
    return f"CycleGAN: {', '.join(cyclegan)}. pix2pix: {', '.join(pix2pix)}."


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="cyclegan download", description="Download a dataset or a pretrained generator."
    )
    kinds = parser.add_subparsers(dest="kind", required=True, metavar="{dataset,model}")
    dataset = kinds.add_parser(
        "dataset", help="a dataset, into ROOT/NAME", epilog=_names("dataset")
    )
    dataset.add_argument(
        "--root", default="datasets", help="folder for datasets (default: datasets)"
    )
    model = kinds.add_parser("model", help="a pretrained generator", epilog=_names("model"))
    model.add_argument(
        "--checkpoints_dir",
        default="./checkpoints",
        help="saved as CHECKPOINTS_DIR/NAME_pretrained/latest_net_G.pth (default: ./checkpoints)",
    )
    for sub in (dataset, model):
        sub.add_argument("name", metavar="NAME", help="e.g. horse2zebra (see the list below)")
        sub.add_argument("--pix2pix", action="store_true", help="pix2pix's version of NAME")
        sub.add_argument("--force", action="store_true", help="download again if already there")
        sub.add_argument(
            "--base_url",
            default=None,
            help=f"server to download from (default: ${BASE_URL_VARIABLE} or the reference's)",
        )
        sub.add_argument("--quiet", action="store_true", help="no progress bar or messages")
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run ``cyclegan download``; return 0 on success, 1 on a download error, 2 on bad usage."""
    parser = build_parser()
    try:
        args = parser.parse_args(sys.argv[1:] if argv is None else list(argv))
    except SystemExit as exit_:  # argparse has printed its one-line error (or the help)
        return int(exit_.code or 0)
    common = dict(
        pix2pix=args.pix2pix, base_url=args.base_url, force=args.force, progress=not args.quiet
    )
    try:
        if args.kind == "dataset":
            download_dataset(args.name, args.root, **common)
        else:
            download_model(args.name, args.checkpoints_dir, **common)
    except DownloadError as error:
        print(f"cyclegan download: {error}", file=sys.stderr)
        return 1
    except OSError as error:  # e.g. the target folder is not writable
        print(
            f"cyclegan download: {error.strerror or error}: {error.filename or ''}", file=sys.stderr
        )
        return 1
    return 0
