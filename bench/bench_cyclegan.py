"""Time full CycleGAN training iterations: plain fp32 eager vs. our default fast path.

Both runs use the reference architecture (ResNet generator, 70x70 PatchGAN,
LSGAN, pool 50, identity loss), the same weights and the same batch, in the
same process. Iterations of the two alternate, so a busy machine slows both
alike. One iteration = ``optimize_parameters()`` (both G and both D updated).

* plain: fp32, contiguous tensors, ``cudnn.benchmark`` off;
* fast: on CUDA, autocast (bf16 where supported, else fp16 with a grad scaler)
  + channels-last + ``cudnn.benchmark``; on the CPU our default *is* plain
  fp32 (bf16 autocast and channels-last were slower on a 2-core AMD EPYC
  without native bf16), so the ratio is about 1.0 and only measures noise.

The model, batch and timing are :mod:`cyclegan_lib.pipeline.speed`'s, which also
gives lesson 05 its estimates and ``bench/speed_table.py`` its table.

Examples::

    python bench/bench_cyclegan.py --size 64 --n_blocks 6          # CPU, small
    python bench/bench_cyclegan.py --size 256 --batch_size 4       # GPU, full size
"""

from __future__ import annotations

import argparse
import statistics
from dataclasses import replace

import torch

from cyclegan_lib.pipeline.speed import SpeedSpec, build_model, random_batch, time_iteration
from cyclegan_lib.runtime import get_device


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--size", type=int, default=256, help="image side in pixels")
    parser.add_argument("--batch_size", type=int, default=1)
    parser.add_argument("--n_blocks", type=int, default=9, help="ResNet blocks in G")
    parser.add_argument("--ngf", type=int, default=64)
    parser.add_argument("--ndf", type=int, default=64)
    parser.add_argument("--warmup", type=int, default=3, help="untimed iterations per path")
    parser.add_argument("--iters", type=int, default=10, help="timed iterations per path")
    parser.add_argument("--device", default=None, help="cpu or cuda (default: best available)")
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = get_device(args.device)
    spec = SpeedSpec(size=args.size, n_blocks=args.n_blocks, ngf=args.ngf, ndf=args.ndf)
    paths = {"plain fp32": False, "fast path": device.type == "cuda"}
    models = {name: build_model(replace(spec, amp=fast), device) for name, fast in paths.items()}
    batch = random_batch(args.batch_size, args.size, seed=1)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for step in range(args.warmup + args.iters):
        for name, fast in paths.items():
            torch.backends.cudnn.benchmark = fast
            seconds = time_iteration(models[name], batch)
            if step >= args.warmup:
                times[name].append(seconds)

    print(
        f"device {device}, {torch.get_num_threads()} CPU threads, torch {torch.__version__}"
        + (f", {torch.cuda.get_device_name(device)}" if device.type == "cuda" else "")
    )
    print(
        f"CycleGAN resnet_{args.n_blocks}blocks ngf {args.ngf} ndf {args.ndf}, "
        f"{args.size} px, batch {args.batch_size}: median of {args.iters} iterations "
        f"after {args.warmup} warm-up"
    )
    medians = {name: statistics.median(values) for name, values in times.items()}
    for name, median in medians.items():
        spread = f"min {min(times[name]):.4f} max {max(times[name]):.4f}"
        print(f"  {name:<11} {median:8.4f} s/iter  ({spread})")
    ratio = medians["plain fp32"] / medians["fast path"]
    print(f"  speed-up of the fast path over plain fp32: {ratio:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
