"""Devices and multi-process data-parallel training (one process per GPU).

Three ways to run ``cyclegan train``:

* ``--gpu_ids -1``: one process on the CPU; ``--gpu_ids 0``: one process on GPU 0.
* ``torchrun --nproc_per_node=N -m cyclegan_lib train ...``: N processes; torchrun sets ``RANK``,
  ``LOCAL_RANK`` and ``WORLD_SIZE``. Process ``LOCAL_RANK`` uses the ``LOCAL_RANK``-th id of
  ``--gpu_ids`` when N ids are listed, else GPU ``LOCAL_RANK`` (torchrun's convention), or the
  CPU with ``--gpu_ids -1``, over the gloo backend (which the tests use).
* ``--gpu_ids 0,1``: the command starts one process per id itself, as torchrun would.

``--batch_size`` is per process: N processes see ``N * batch_size`` images per step. Each
process reads its own share of every epoch (a ``DistributedSampler``); only rank 0 prints,
writes logs, pages and checkpoints.

Why not ``DistributedDataParallel``? A GAN step runs D several times per backward pass and
freezes D's parameters while G learns, which DDP's bucketed reducer rejects unless it searches
for unused parameters every step. Like StyleGAN2-ADA, we average the gradients ourselves,
right before each optimizer step (:func:`average_gradients_before_step`): the same arithmetic
as DDP, independent of how a model organises its forward passes. Batch-norm running statistics
(pix2pix) stay per process and rank 0's are saved, as DDP (which broadcasts rank 0's buffers)
would give. Exact resume is guaranteed for one process: a multi-process resume restores rank
0's random states and pools on every rank.
"""

from __future__ import annotations

import os
import socket
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn


class DeviceError(RuntimeError):
    """``--gpu_ids`` names GPUs this machine does not have; the message says what to do."""


@dataclass(frozen=True)
class Context:
    """Where this process runs: its rank among ``world_size`` processes and its device."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    device: torch.device = torch.device("cpu")

    @property
    def is_main(self) -> bool:
        """Rank 0 prints, saves checkpoints and writes the HTML page."""
        return self.rank == 0

    @property
    def distributed(self) -> bool:
        return self.world_size > 1


def check_gpu_ids(gpu_ids: Sequence[int]) -> None:
    """Raise :class:`DeviceError` if any id in ``--gpu_ids`` is not a CUDA device here."""
    if not gpu_ids:
        return
    shown = ",".join(map(str, gpu_ids))
    available = torch.cuda.device_count() if torch.cuda.is_available() else 0
    if available == 0:
        raise DeviceError(
            f"argument --gpu_ids: {shown} asks for CUDA GPUs, but this machine has none; "
            "use --gpu_ids -1 to run on the CPU"
        )
    missing = [i for i in gpu_ids if i >= available]
    if missing:
        raise DeviceError(
            f"argument --gpu_ids: GPU {missing[0]} does not exist; this machine has "
            f"{available} GPU(s), numbered 0 to {available - 1} (or use --gpu_ids -1 for the CPU)"
        )


def launched_by_torchrun() -> bool:
    """True in a process started by torchrun (or by :func:`spawn_per_gpu`) with 2+ processes."""
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(gpu_ids: Sequence[int]) -> Context:
    """Join the process group when there are several processes and pick this process's device.

    The backend is NCCL on GPUs and gloo on the CPU.
    """
    if not launched_by_torchrun():
        device = torch.device(f"cuda:{gpu_ids[0]}") if gpu_ids else torch.device("cpu")
        if device.type == "cuda":
            torch.cuda.set_device(device)
        return Context(device=device)
    rank, world = int(os.environ["RANK"]), int(os.environ["WORLD_SIZE"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    if gpu_ids:
        # one listed id per process; with fewer ids than processes, torchrun's LOCAL_RANK decides
        index = gpu_ids[local_rank] if len(gpu_ids) >= world else local_rank
        check_gpu_ids([index])
        device = torch.device(f"cuda:{index}")
        torch.cuda.set_device(device)
    else:
        device = torch.device("cpu")
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
    return Context(rank=rank, world_size=world, local_rank=local_rank, device=device)


def teardown(context: Context) -> None:
    """Leave the process group (a no-op for a single process)."""
    if context.distributed and dist.is_initialized():
        dist.destroy_process_group()


def free_port() -> int:
    """A TCP port on 127.0.0.1 that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def _run_rank(
    local_rank: int, world: int, port: int, entry: Callable[[list[str]], int], argv: list[str]
) -> None:
    os.environ.update(
        RANK=str(local_rank), LOCAL_RANK=str(local_rank), WORLD_SIZE=str(world),
        MASTER_ADDR="127.0.0.1", MASTER_PORT=str(port),
    )  # fmt: skip
    code = entry(argv)
    if code:
        raise SystemExit(code)


def spawn_per_gpu(world: int, entry: Callable[[list[str]], int], argv: list[str]) -> int:
    """Run ``entry(argv)`` in ``world`` new processes, set up as ``torchrun`` would (one machine)."""
    import torch.multiprocessing as mp

    try:
        mp.start_processes(
            _run_rank, args=(world, free_port(), entry, argv), nprocs=world, start_method="spawn"
        )
    except mp.ProcessExitedException as error:  # the process printed its own error line
        return error.exit_code or 1
    except mp.ProcessRaisedException as error:
        print(f"cyclegan: process {error.error_index} failed: {error}", file=sys.stderr)
        return 1
    return 0


def broadcast_state(modules: Iterable[nn.Module]) -> None:
    """Copy rank 0's parameters and buffers to every process (after building or resuming)."""
    for module in modules:
        for tensor in [*module.parameters(), *module.buffers()]:
            dist.broadcast(tensor.data, src=0)


def average_gradients_before_step(optimizer: torch.optim.Optimizer) -> None:
    """Make ``optimizer.step()`` first average its gradients over all processes.

    The gradients are flattened into one buffer per step (one all-reduce, as DDP's buckets),
    summed and divided by the world size: every process then applies the same update.
    """

    def all_reduce_gradients(opt: torch.optim.Optimizer, args, kwargs) -> None:
        grads = [
            p.grad for group in opt.param_groups for p in group["params"] if p.grad is not None
        ]
        if not grads:
            return
        flat = torch.cat([g.reshape(-1) for g in grads])
        dist.all_reduce(flat)
        flat /= dist.get_world_size()
        offset = 0
        for grad in grads:
            grad.copy_(flat[offset : offset + grad.numel()].view_as(grad))
            offset += grad.numel()

    optimizer.register_step_pre_hook(all_reduce_gradients)
