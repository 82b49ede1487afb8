"""``cyclegan train`` / ``cyclegan test`` end to end on a tiny fake dataset (in process, CPU).

Checks the reference's file layout (``latest_net_G_A.pth``, ``<epoch>_net_*.pth``, ``loss_log.txt``,
``web/index.html``, ``results/<name>/test_latest/images/<stem>_<label>.png``), that the saved
networks are plain state_dicts, and that a NaN loss stops the run without touching the last
good checkpoint.
"""

from __future__ import annotations

import math
import re
import shutil

import pytest
import torch

from cyclegan_lib.cli import test as test_command
from cyclegan_lib.cli import train as train_command
from cyclegan_lib.models import CycleGANModel
from cyclegan_lib.networks import define_G
from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.trainer import Trainer
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

TINY = "--gpu_ids -1 --ngf 4 --ndf 4 --netD n_layers --n_layers_D 1 --num_threads 0".split()
CYCLE = [*TINY, "--netG", "resnet_1blocks", "--load_size", "20", "--crop_size", "16"]
TRAIN = ["--display_id", "-1", "--print_freq", "1"]


def folders(dataroot, checkpoints) -> list[str]:
    """``--dataroot`` and ``--checkpoints_dir`` (paths may hold spaces, so not in a split string)."""
    return ["--dataroot", str(dataroot), "--checkpoints_dir", str(checkpoints)]


LOSS_LINE = re.compile(
    r"^\(epoch: \d+, iters: \d+, time: \d+\.\d{3}, data: \d+\.\d{3}\) "
    r"D_A: -?\d+\.\d{3} G_A: .* idt_B: -?\d+\.\d{3} $"
)


@pytest.fixture(scope="module")
def trained(tmp_path_factory):
    """A cycle_gan run of 2 epochs x 3 images; returns (dataroot, checkpoints folder)."""
    root = tmp_path_factory.mktemp("cycle")
    data = make_image_folder_dataset(root / "data", n=3, size=24)
    argv = [
        *folders(data, root / "ck"),
        *CYCLE,
        *TRAIN,
        *"--name tiny --n_epochs 1 --n_epochs_decay 1 --save_epoch_freq 1".split(),
    ]
    assert train_command.main(argv) == 0
    return data, root / "ck"


def test_training_writes_the_references_files(trained):
    _, checkpoints = trained
    folder = checkpoints / "tiny"
    for label in ("latest", "1", "2"):
        for net in ("G_A", "G_B", "D_A", "D_B"):
            assert (folder / f"{label}_net_{net}.pth").is_file()
    assert (folder / "latest_state.pt").is_file() and (folder / "train_opt.txt").is_file()
    assert not list(folder.glob("*.tmp")) and not list(folder.glob(".*.tmp"))
    log = (folder / "loss_log.txt").read_text().splitlines()
    assert log[0].startswith("================ Training Loss (")
    assert len(log) == 7 and all(LOSS_LINE.match(line) for line in log[1:]), log
    page = (folder / "web" / "index.html").read_text()
    assert "epoch [2]" in page and "images/epoch001_real_A.png" in page
    assert (folder / "web" / "images" / "epoch002_rec_B.png").is_file()


def test_saved_networks_are_plain_state_dicts_with_decayed_learning_rate(trained):
    _, checkpoints = trained
    state = torch.load(checkpoints / "tiny" / "latest_net_G_A.pth", weights_only=True)
    net = define_G(3, 3, 4, "resnet_1blocks", "instance")
    net.load_state_dict(state, strict=True)
    full = torch.load(checkpoints / "tiny" / "latest_state.pt", weights_only=True)
    assert full["position"] == {"epoch": 3, "batches_done": 0, "epoch_iter": 0, "total_iters": 6}
    assert torch.equal(full["model"]["networks"]["G_A"]["model.1.weight"], state["model.1.weight"])
    # linear policy, 1 + 1 epochs: 2e-4, then 1e-4, then 0 after the last epoch
    assert full["model"]["optimizers"]["G"]["param_groups"][0]["lr"] == 0.0


def test_cycle_gan_test_writes_stem_label_images_and_page(trained, tmp_path):
    data, checkpoints = trained
    argv = [
        *folders(data, checkpoints),
        "--results_dir",
        str(tmp_path),
        *CYCLE,
        *"--name tiny --model cycle_gan --num_test 2 --load_size 16".split(),
    ]
    assert test_command.main(argv) == 0
    folder = tmp_path / "tiny" / "test_latest"
    names = sorted(p.name for p in (folder / "images").iterdir())
    labels = ["fake_A", "fake_B", "real_A", "real_B", "rec_A", "rec_B"]
    assert names == sorted(f"{stem}_{label}.png" for stem in ("0000", "0001") for label in labels)
    assert 'src="images/0001_rec_B.png"' in (folder / "index.html").read_text()


def test_model_test_runs_one_generator_with_model_suffix(trained, tmp_path):
    data, checkpoints = trained
    argv = [
        *folders(data / "testB", checkpoints),
        "--results_dir",
        str(tmp_path),
        *CYCLE,
        *"--name tiny --model test --model_suffix _B --no_dropout --epoch 1 --load_size 16".split(),
    ]
    assert test_command.main(argv) == 0
    images = sorted(p.name for p in (tmp_path / "tiny" / "test_1" / "images").iterdir())
    assert images == [f"{i:04d}_{label}.png" for i in range(3) for label in ("fake", "real")]


def test_pix2pix_trains_and_tests(tmp_path):
    data = make_image_folder_dataset(tmp_path / "facades", n=2, size=32, layout="aligned")
    common = [
        *folders(data, tmp_path / "ck"),
        *TINY,
        *"--name p2p --model pix2pix --netG unet_32 --load_size 32 --crop_size 32".split(),
        *"--direction BtoA".split(),
    ]
    assert train_command.main([*common, *TRAIN, "--n_epochs", "1", "--n_epochs_decay", "0"]) == 0
    saved = sorted(p.name for p in (tmp_path / "ck" / "p2p").glob("latest_net_*"))
    assert saved == ["latest_net_D.pth", "latest_net_G.pth"]
    assert test_command.main([*common, "--results_dir", str(tmp_path / "res")]) == 0
    images = sorted(p.name for p in (tmp_path / "res" / "p2p" / "test_latest" / "images").iterdir())
    assert images == [
        f"{i:04d}_{label}.png" for i in range(2) for label in ("fake_B", "real_A", "real_B")
    ]


def test_nan_loss_stops_and_keeps_the_last_good_checkpoint(tmp_path, monkeypatch, capsys):
    data = make_image_folder_dataset(tmp_path / "data", n=4, size=24)
    real_step = CycleGANModel.optimize_parameters
    calls = []

    def step_that_diverges(self):
        losses = real_step(self)
        calls.append(1)
        return {**losses, "G_A": math.nan} if len(calls) == 3 else losses

    monkeypatch.setattr(CycleGANModel, "optimize_parameters", step_that_diverges)
    argv = [
        *folders(data, tmp_path),
        *CYCLE,
        *TRAIN,
        *"--name nan --n_epochs 1 --n_epochs_decay 0 --save_latest_freq 2".split(),
    ]
    assert train_command.main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "G_A became nan" in err and "last good checkpoint" in err
    state = torch.load(tmp_path / "nan" / "latest_state.pt", weights_only=True)
    assert state["position"]["total_iters"] == 2
    weights = state["model"]["networks"]["G_A"]
    assert all(torch.isfinite(t).all() for t in weights.values())
    saved = torch.load(tmp_path / "nan" / "latest_net_G_A.pth", weights_only=True)
    assert all(torch.equal(saved[k], weights[k]) for k in saved)


def test_continue_train_from_an_epoch_loads_its_weights(trained, tmp_path):
    data, checkpoints = trained
    shutil.copytree(checkpoints / "tiny", tmp_path / "tiny")
    argv = [
        *folders(data, tmp_path),
        *CYCLE,
        *TRAIN,
        *"--name tiny --continue_train --epoch 1 --epoch_count 2 --n_epochs 1".split(),
        *"--n_epochs_decay 1 --max_dataset_size 1".split(),
    ]
    assert train_command.main(argv) == 0
    log = (tmp_path / "tiny" / "loss_log.txt").read_text()
    assert "(epoch: 2, iters: 1," in log.split("Training Loss")[-1]


def budget_options(data, checkpoints, n_epochs: int, n_epochs_decay: int, *extra: str):
    epochs = f"--n_epochs {n_epochs} --n_epochs_decay {n_epochs_decay}"
    argv = [
        *folders(data, checkpoints),
        *CYCLE,
        *f"--name budget --display_id -1 {epochs}".split(),
        *extra,
    ]
    return parse_train_options(argv)


def test_a_time_budget_stops_after_a_saved_epoch_then_resumes(tmp_path):
    data = make_image_folder_dataset(tmp_path / "data", n=2, size=24)
    seen = []
    trainer = Trainer(budget_options(data, tmp_path / "ck", 2, 1), show_progress=False)
    position = trainer.run(minutes=0, on_epoch=lambda t: seen.append(t.position.epoch))
    assert (position.epoch, position.total_iters) == (2, 2), "a zero budget still trains one epoch"
    assert seen == [2] and (tmp_path / "ck" / "budget" / "latest_net_G_A.pth").is_file()
    options = budget_options(data, tmp_path / "ck", 2, 1, "--continue_train")
    resumed = Trainer(options, show_progress=False)
    assert resumed.position.epoch == 2
    final = resumed.run(minutes=10)
    assert (final.epoch, final.total_iters) == (4, 6)
    assert resumed.run(minutes=10) == final, "nothing left to train"


def test_run_stops_after_last_epoch(tmp_path):
    data = make_image_folder_dataset(tmp_path / "data", n=2, size=24)
    options = budget_options(data, tmp_path / "ck", 3, 0, "--save_epoch_freq", "1")
    trainer = Trainer(options, show_progress=False)
    assert trainer.run(last_epoch=2).epoch == 3
    assert (tmp_path / "ck" / "budget" / "2_net_G_A.pth").is_file()
    assert not (tmp_path / "ck" / "budget" / "3_net_G_A.pth").exists()
