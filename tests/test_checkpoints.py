"""Checkpoint files: one error type, one loader, one naming rule, and the faults a long run meets."""

from __future__ import annotations

import os
import re
import resource
import subprocess
import sys

import pytest
import torch
from test_resume import TINY

from cyclegan_lib.cli import train as train_command
from cyclegan_lib.pipeline import checkpoints, pretrained
from cyclegan_lib.pipeline.checkpoints import CheckpointError, checkpoint_label, load_file
from cyclegan_lib.tools.fake_data import make_image_folder_dataset


def test_one_error_type_for_every_checkpoint_problem():
    assert pretrained.CheckpointError is CheckpointError
    assert issubclass(CheckpointError, ValueError)  # the CLI reports it as bad input, exit 2


@pytest.mark.parametrize(
    ("epoch", "load_iter", "label"),
    [("latest", 0, "latest"), ("7", 0, "7"), ("latest", 500, "iter_500"), ("7", 500, "iter_500")],
)
def test_checkpoint_label_follows_the_reference(epoch, load_iter, label):
    assert checkpoint_label(epoch, load_iter) == label
    assert checkpoints.network_file("ck", label, "G_A").name == f"{label}_net_G_A.pth"


def test_load_file_names_the_file_and_what_is_wrong(tmp_path):
    with pytest.raises(CheckpointError, match=r"nothing\.pt: no such training state$"):
        load_file(tmp_path / "nothing.pt", what="training state")
    torch.save({"w": torch.ones(3)}, tmp_path / "good.pt")
    (tmp_path / "cut.pt").write_bytes((tmp_path / "good.pt").read_bytes()[:100])
    with pytest.raises(CheckpointError, match=r"cut\.pt: not a readable PyTorch weights file"):
        load_file(tmp_path / "cut.pt")
    assert torch.equal(load_file(tmp_path / "good.pt")["w"], torch.ones(3))


# ----- faults of a long run: a full disk, a damaged state file ---------------------------------
def tiny_run(tmp_path, *extra: str) -> list[str]:
    """``cyclegan train`` arguments for a 3-image, 2-epoch run in ``tmp_path/ck/run``."""
    if not (tmp_path / "data").exists():
        make_image_folder_dataset(tmp_path / "data", n=3, size=24)
    where = ["--dataroot", str(tmp_path / "data"), "--checkpoints_dir", str(tmp_path / "ck")]
    return [*where, "--name", "run", *TINY, *extra]


def saved_files(folder) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".pt", ".pth")}


@pytest.mark.slow
def test_disk_full_while_saving_keeps_the_previous_files_and_continue_train_resumes(
    tmp_path, capsys
):
    assert train_command.main(tiny_run(tmp_path)) == 0
    folder = tmp_path / "ck" / "run"
    before = saved_files(folder)
    assert max(len(b) for n, b in before.items() if n != "latest_state.pt") < 40_000
    limit = 40_000  # every network file fits, the full state (optimizers too) does not
    assert len(before["latest_state.pt"]) > limit
    command = [sys.executable, "-m", "cyclegan_lib", "train",
               *tiny_run(tmp_path, "--continue_train", "--n_epochs", "2")]  # fmt: skip
    full = subprocess.run(
        command,
        capture_output=True,
        text=True,
        env={**os.environ, "OMP_NUM_THREADS": "1"},
        timeout=300,
        preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_FSIZE, (limit, limit)),
    )
    assert full.returncode == 1, full.stderr
    assert "Traceback" not in full.stderr, full.stderr
    [line] = [x for x in full.stderr.splitlines() if "error" in x]
    assert re.search(
        r"cannot write \S+latest_state\.pt: File too large \(the file needs .* KiB", line
    )
    assert saved_files(folder) == before  # every latest_* of the previous save, byte for byte
    assert not list(folder.glob(".*.tmp"))

    capsys.readouterr()
    assert train_command.main(tiny_run(tmp_path, "--continue_train", "--n_epochs", "2")) == 0
    assert "End of epoch 3 / 3" in capsys.readouterr().out
    assert load_file(folder / "latest_state.pt")["position"]["total_iters"] == 9


@pytest.mark.slow
def test_damaged_state_falls_back_to_the_last_good_epoch(tmp_path, capsys):
    assert train_command.main(tiny_run(tmp_path)) == 0
    folder = tmp_path / "ck" / "run"
    state = folder / "latest_state.pt"
    state.write_bytes(state.read_bytes()[:5000])  # a copy that stopped half-way
    (folder / "2_net_D_B.pth").write_bytes(b"")  # and epoch 2's set is incomplete
    capsys.readouterr()
    assert train_command.main(tiny_run(tmp_path, "--continue_train", "--n_epochs", "2")) == 0
    out = capsys.readouterr().out
    assert re.search(r"warning: \S+latest_state\.pt: not a readable PyTorch weights file", out)
    assert "continuing from the networks saved after epoch 1" in out
    assert "End of epoch 1 " not in out and "End of epoch 2 / 3" in out
    expected = load_file(folder / "1_net_G_A.pth")  # the weights it started from ...
    assert load_file(folder / "latest_state.pt")["position"]["epoch"] == 4
    assert not torch.equal(
        expected["model.1.weight"], load_file(folder / "3_net_G_A.pth")["model.1.weight"]
    )


@pytest.mark.slow
def test_damaged_state_without_an_epoch_checkpoint_stops_with_one_line(tmp_path, capsys):
    assert train_command.main(tiny_run(tmp_path, "--save_epoch_freq", "5")) == 0
    folder = tmp_path / "ck" / "run"
    (folder / "latest_state.pt").write_bytes(b"PK\x03\x04 not really")
    damaged = saved_files(folder)
    capsys.readouterr()
    assert train_command.main(tiny_run(tmp_path, "--continue_train")) == 2
    err = capsys.readouterr().err
    assert "Traceback" not in err and len(err.strip().splitlines()) == 1
    assert "latest_state.pt: not a readable PyTorch weights file" in err
    assert "no complete epoch checkpoint" in err and "train without --continue_train" in err
    assert saved_files(folder) == damaged  # nothing was trained or overwritten
