"""Data-parallel training on 2 CPU processes (gloo): the ranks read different images but keep
identical weights, and only rank 0 writes files.

Started both ways the command supports: ``torchrun --nproc_per_node=2`` and the one-process-per-id
launcher that ``--gpu_ids 0,1`` uses (here with ``--gpu_ids -1``, so on the CPU).
"""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap

import pytest
import torch

from cyclegan_lib.cli import train as train_command
from cyclegan_lib.pipeline import distributed
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

TINY = (
    "--gpu_ids -1 --netG resnet_1blocks --ngf 4 --ndf 4 --netD n_layers --n_layers_D 1 "
    "--load_size 16 --crop_size 16 --num_threads 0 --n_epochs 2 --n_epochs_decay 0 "
    "--print_freq 1 --display_id -1 --name ddp"
).split()

pytestmark = pytest.mark.slow  # several processes each, DDP over gloo


RANK_SCRIPT = textwrap.dedent(
    """
    import sys, torch
    from cyclegan_lib.pipeline import distributed
    from cyclegan_lib.pipeline.options import parse_train_options
    from cyclegan_lib.pipeline.trainer import Trainer

    out, argv = sys.argv[1], sys.argv[2:]
    opt = parse_train_options(argv)
    context = distributed.setup(opt.gpu_ids)
    trainer = Trainer(opt, context)
    seen = []
    set_input = trainer.model.set_input
    trainer.model.set_input = lambda batch: (seen.extend(batch["A_paths"]), set_input(batch))
    trainer.run()
    nets = {name: net.state_dict() for name, net in trainer.model.networks().items()}
    torch.save({"nets": nets, "seen": seen}, f"{out}/rank{context.rank}.pt")
    distributed.teardown(context)
    """
)


def test_torchrun_two_cpu_processes_keep_identical_weights(tmp_path):
    data = make_image_folder_dataset(tmp_path / "data", n=4, size=16)
    script = tmp_path / "rank.py"
    script.write_text(RANK_SCRIPT)
    command = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node=2",
               "--master_addr=127.0.0.1", f"--master_port={distributed.free_port()}",
               str(script), str(tmp_path), "--dataroot", str(data),
               "--checkpoints_dir", str(tmp_path / "ck"), *TINY]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "COURSE_PROFILE": "smoke"}
    done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=300)
    assert done.returncode == 0, done.stderr[-3000:]

    rank0 = torch.load(tmp_path / "rank0.pt", weights_only=True)
    rank1 = torch.load(tmp_path / "rank1.pt", weights_only=True)
    # each epoch, the two ranks read disjoint halves of the 4 images
    assert len(rank0["seen"]) == len(rank1["seen"]) == 4
    assert not set(rank0["seen"][:2]) & set(rank1["seen"][:2])
    for name, weights in rank0["nets"].items():
        for key, value in weights.items():
            assert torch.equal(value, rank1["nets"][name][key]), f"{name}.{key} differs"
    # trained, and the files of rank 0 only: one log header, weights equal to rank 0's
    saved = torch.load(tmp_path / "ck" / "ddp" / "latest_net_G_A.pth", weights_only=True)
    assert all(torch.equal(saved[k], v) for k, v in rank0["nets"]["G_A"].items())
    log = (tmp_path / "ck" / "ddp" / "loss_log.txt").read_text()
    assert log.count("Training Loss") == 1 and log.count("(epoch: 2,") == 2


def test_one_process_per_id_launcher_trains_on_two_cpu_processes(tmp_path, monkeypatch):
    monkeypatch.setenv("OMP_NUM_THREADS", "1")
    data = make_image_folder_dataset(tmp_path / "data", n=4, size=16)
    argv = ["--dataroot", str(data), "--checkpoints_dir", str(tmp_path / "ck"), *TINY]
    assert distributed.spawn_per_gpu(2, train_command.main, argv) == 0
    log = (tmp_path / "ck" / "ddp" / "loss_log.txt").read_text()
    # 2 processes x batch 1: the image counter advances by 2 per step, 4 images per epoch
    assert log.count("Training Loss") == 1 and "(epoch: 2, iters: 4," in log
    assert (tmp_path / "ck" / "ddp" / "latest_state.pt").is_file()
