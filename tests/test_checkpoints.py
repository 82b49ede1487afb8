"""Checkpoint files: one error type, one loader, one naming rule, and the faults a long run meets."""

from __future__ import annotations

import pytest
import torch

from cyclegan_lib.pipeline import checkpoints, pretrained
from cyclegan_lib.pipeline.checkpoints import CheckpointError, checkpoint_label, load_file


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
