"""Time full CycleGAN training iterations: plain fp32 eager vs. our default fast path.

Both runs use the reference architecture (ResNet generator, 70x70 PatchGAN,
LSGAN, pool 50, identity loss), the same weights and the same batch, in the
same process. Iterations of the two alternate, so a busy machine slows both
alike. One iteration = ``optimize_parameters()`` (both G and both D updated).

* plain: fp32, contiguous tensors, ``cudnn.benchmark`` off;
* fast: on CUDA, autocast (bf16 where supported, else fp16 with a grad scaler)
  + channels-last + ``cudnn.benchmark``; on the CPU our default *is* plain
  fp32 (bf16 and channels-last are slower there, COURSE.md §7), so the ratio
  is about 1.0 and only measures noise.

Examples::

    python bench/bench_cyclegan.py --size 64 --n_blocks 6          # CPU, small
    python bench/bench_cyclegan.py --size 256 --batch_size 4       # GPU, full size
"""

from __future__ import annotations

import argparse
import math
import statistics
import time

import torch

from cyclegan_lib.course.env import get_device
from cyclegan_lib.models import CycleGANModel, ModelConfig


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


def build(args: argparse.Namespace, device: torch.device, fast: bool) -> CycleGANModel:
    """The reference CycleGAN; ``fast`` turns on what our default does on CUDA."""
    config = ModelConfig(
        netG=f"resnet_{args.n_blocks}blocks",
        ngf=args.ngf,
        ndf=args.ndf,
        amp=fast,
        channels_last=fast,
    )
    torch.manual_seed(0)  # identical initial weights for both paths
    return CycleGANModel(config, device, torch.Generator().manual_seed(0))


def make_batch(args: argparse.Namespace) -> dict:
    shape = (args.batch_size, 3, args.size, args.size)
    g = torch.Generator().manual_seed(1)
    names = [f"{i}.png" for i in range(args.batch_size)]
    return {
        "A": torch.rand(shape, generator=g) * 2 - 1,
        "B": torch.rand(shape, generator=g) * 2 - 1,
        "A_paths": names,
        "B_paths": names,
    }


def timed_iteration(model: CycleGANModel, batch: dict, device: torch.device, fast: bool) -> float:
    """Seconds for set_input + optimize_parameters (losses fetched, so the device is done)."""
    if device.type == "cuda":
        torch.backends.cudnn.benchmark = fast
        torch.cuda.synchronize(device)
    start = time.perf_counter()
    model.set_input(batch)
    losses = model.optimize_parameters()
    if device.type == "cuda":
        torch.cuda.synchronize(device)
    elapsed = time.perf_counter() - start
    if not all(math.isfinite(value) for value in losses.values()):
        raise RuntimeError(f"non-finite loss in the benchmark: {losses}")
    return elapsed


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    device = get_device(args.device)
    paths = {"plain fp32": False, "fast path": device.type == "cuda"}
    models = {name: build(args, device, fast) for name, fast in paths.items()}
    batch = make_batch(args)
    times: dict[str, list[float]] = {name: [] for name in paths}
    for step in range(args.warmup + args.iters):
        for name, fast in paths.items():
            seconds = timed_iteration(models[name], batch, device, fast)
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
