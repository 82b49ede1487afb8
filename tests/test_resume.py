"""Exact resume: a run killed with SIGKILL and resumed with --continue_train ends bit-identical.

Three processes train the same tiny CycleGAN on a tiny fake dataset (random crops, flips,
random B partners, a full image pool, a learning rate that decays across epochs):

1. uninterrupted, 6 iterations;
2. killed with SIGKILL right after iteration 5 (the last full-state save was at iteration 4),
   by a crash the test injects into that process (the training code has no hook for it);
3. resumed from that save with ``--continue_train``: it redoes iteration 5, then 6.

Networks and optimizer states of runs 1 and 3 must be equal bit for bit (``torch.equal``).
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys

import pytest
import torch

from cyclegan_lib.tools.fake_data import make_image_folder_dataset

TINY = (
    "--gpu_ids -1 --netG resnet_1blocks --ngf 4 --ndf 4 --n_layers_D 1 --netD n_layers "
    "--load_size 20 --crop_size 16 --num_threads 0 --n_epochs 1 --n_epochs_decay 1 "
    "--pool_size 2 --print_freq 1 --save_latest_freq 2 --save_epoch_freq 1 --display_id "
    "-1 --seed 7"
).split()


CRASH_AFTER = """
import os, signal, sys
from cyclegan_lib.cli import train
from cyclegan_lib.models import CycleGANModel

optimize, steps = CycleGANModel.optimize_parameters, []

def optimize_then_crash(self):
    losses = optimize(self)
    steps.append(losses)
    if len(steps) == int(sys.argv[1]):
        os.kill(os.getpid(), signal.SIGKILL)
    return losses

CycleGANModel.optimize_parameters = optimize_then_crash
sys.exit(train.main(sys.argv[2:]))
"""
"""``cyclegan train`` that SIGKILLs itself right after its N-th iteration, like a power cut."""


def train(dataroot, checkpoints, *extra: str, crash_after: int = 0) -> subprocess.CompletedProcess:
    flags = ["--dataroot", str(dataroot), "--checkpoints_dir", str(checkpoints), "--name", "run"]
    entry = (
        ["-c", CRASH_AFTER, str(crash_after)] if crash_after else ["-m", "cyclegan_lib", "train"]
    )
    command = [sys.executable, *entry, *flags, *TINY, *extra]
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COURSE_PROFILE": "smoke"}
    return subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)


def final_state(checkpoints) -> dict:
    return torch.load(checkpoints / "run" / "latest_state.pt", weights_only=True)


def assert_same(a, b, path="state") -> None:
    """Recursively compare nested states; tensors must be bit-identical."""
    if isinstance(a, torch.Tensor):
        assert torch.equal(a, b), f"{path} differs"
    elif isinstance(a, dict):
        assert a.keys() == b.keys(), path
        for key in a:
            assert_same(a[key], b[key], f"{path}.{key}")
    elif isinstance(a, list | tuple):
        assert len(a) == len(b), path
        for i, (x, y) in enumerate(zip(a, b, strict=True)):
            assert_same(x, y, f"{path}[{i}]")
    else:
        assert a == b, f"{path}: {a} != {b}"


@pytest.mark.slow
def test_kill_9_and_continue_train_gives_bit_identical_weights(tmp_path):
    data = make_image_folder_dataset(tmp_path / "data", n=3, size=24)
    straight = train(data, tmp_path / "straight")
    assert straight.returncode == 0, straight.stderr

    killed = train(data, tmp_path / "resumed", crash_after=5)
    assert killed.returncode == -signal.SIGKILL, killed.stderr
    saved = final_state(tmp_path / "resumed")
    assert saved["position"] == {"epoch": 2, "batches_done": 1, "epoch_iter": 1, "total_iters": 4}

    resumed = train(data, tmp_path / "resumed", "--continue_train")
    assert resumed.returncode == 0, resumed.stderr

    expected, got = final_state(tmp_path / "straight"), final_state(tmp_path / "resumed")
    assert got["position"]["total_iters"] == 6
    assert_same(expected["model"], got["model"], "model")  # networks, optimizers, pools
    assert_same(expected["schedulers"], got["schedulers"], "schedulers")
    for name in ("G_A", "G_B", "D_A", "D_B"):
        file = f"latest_net_{name}.pth"
        a = torch.load(tmp_path / "straight" / "run" / file, weights_only=True)
        b = torch.load(tmp_path / "resumed" / "run" / file, weights_only=True)
        assert_same(a, b, file)
    # the losses logged after the resume are those of the uninterrupted run's iterations 5-6
    straight_log = (tmp_path / "straight" / "run" / "loss_log.txt").read_text().splitlines()
    resumed_log = (tmp_path / "resumed" / "run" / "loss_log.txt").read_text().splitlines()
    losses = [line.split(")", 1)[1] for line in straight_log if line.startswith("(epoch: 2")]
    tail = [line.split(")", 1)[1] for line in resumed_log if line.startswith("(epoch: 2")][-2:]
    assert tail == losses[-2:]


def test_rng_state_round_trip_through_a_weights_only_file(tmp_path):
    import random

    import numpy as np

    from cyclegan_lib.pipeline.checkpoints import capture_rng_state, restore_rng_state

    torch.save(capture_rng_state(), tmp_path / "rng.pt")
    first = (random.random(), np.random.rand(), torch.rand(3))
    restore_rng_state(torch.load(tmp_path / "rng.pt", weights_only=True))
    again = (random.random(), np.random.rand(), torch.rand(3))
    assert first[:2] == again[:2] and torch.equal(first[2], again[2])


def test_a_failed_save_keeps_the_previous_file(tmp_path, monkeypatch):
    from cyclegan_lib.pipeline import checkpoints

    path = tmp_path / "latest_state.pt"
    checkpoints.atomic_save({"good": torch.ones(2)}, path)

    def broken_save(obj, file):
        file.write(b"half a checkpoint")
        raise OSError("disk full")

    monkeypatch.setattr(torch, "save", broken_save)
    try:
        checkpoints.atomic_save({"good": torch.zeros(2)}, path)
    except OSError:
        pass
    monkeypatch.undo()
    assert torch.equal(torch.load(path, weights_only=True)["good"], torch.ones(2))
    assert [p.name for p in tmp_path.iterdir()] == ["latest_state.pt"]


def test_temporaries_of_a_killed_save_are_cleaned_up(tmp_path):
    from cyclegan_lib.pipeline.checkpoints import remove_stale_temporaries

    (tmp_path / "latest_state.pt").write_bytes(b"kept")
    (tmp_path / ".latest_state.pt.k2j4.tmp").write_bytes(b"half")
    remove_stale_temporaries(tmp_path)
    assert [p.name for p in tmp_path.iterdir()] == ["latest_state.pt"]


@pytest.mark.slow
def test_continuing_a_finished_run_with_more_epochs_trains_at_the_new_schedules_lr(tmp_path):
    """The finished run's LR had decayed to 0; the longer schedule says 1e-4 for epoch 3."""
    data = make_image_folder_dataset(tmp_path / "data", n=3, size=24)
    finished = train(data, tmp_path / "ckpt")
    assert finished.returncode == 0, finished.stderr
    before = torch.load(tmp_path / "ckpt" / "run" / "latest_net_G_A.pth", weights_only=True)
    longer = train(data, tmp_path / "ckpt", "--continue_train", "--n_epochs", "2")
    assert longer.returncode == 0, longer.stderr
    state = final_state(tmp_path / "ckpt")
    assert state["position"]["epoch"] == 4  # epoch 3 was trained
    after = torch.load(tmp_path / "ckpt" / "run" / "latest_net_G_A.pth", weights_only=True)
    assert any(not torch.equal(before[key], after[key]) for key in before), "no update in epoch 3"
