"""The memory/speed table of lesson 05: images/s and peak memory per batch size and precision.

Each row is full CycleGAN training iterations (both G, both D) of the reference
architecture at one image size, measured in a fresh Python process so that its peak
memory counts only that row (``torch.cuda.max_memory_allocated`` on CUDA, the peak
resident set size on the CPU). On CUDA every batch size is measured in fp32 and with
mixed precision; the CPU trains in fp32 only. The measuring is
:mod:`cyclegan_lib.pipeline.speed`'s; this script only chooses the rows and prints them.

Examples::

    python bench/speed_table.py --size 64 --n_blocks 6 --iters 3      # CPU, small
    python bench/speed_table.py --size 256 --batch_sizes 1 4 --warmup 5 --iters 30   # GPU
"""

from __future__ import annotations

import argparse
import json

from cyclegan_lib.pipeline.speed import SpeedSpec, measure, speed_specs, speed_table
from cyclegan_lib.runtime import get_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--batch_sizes", type=int, nargs="+", default=[1, 4])
    parser.add_argument("--n_blocks", type=int, default=9, help="ResNet blocks in G")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations per row")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per row")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: best available)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = vars(parse_args(argv))
    batch_sizes = args.pop("batch_sizes")
    base = SpeedSpec(**args)
    rows = []
    for spec in speed_specs(base, batch_sizes, get_device(base.device).type == "cuda"):
        rows.append(measure(spec))
        print(json.dumps(rows[-1]), flush=True)
    print(speed_table(rows))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
