"""Lesson 05's helpers: offline dataset, estimates, budgets, speed rows, evaluation, exercises."""

from __future__ import annotations

import json
import math
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_lib.course import digits
from cyclegan_lib.lessons import full_scale as fs
from cyclegan_lib.lessons.exercises import lesson05
from cyclegan_lib.networks import NLayerDiscriminator
from cyclegan_lib.pipeline.options import parse_train_options
from cyclegan_lib.pipeline.schedulers import get_scheduler
from cyclegan_lib.pipeline.trainer import Trainer

TINY = (
    "--netG resnet_1blocks --ngf 4 --ndf 4 --load_size 36 --crop_size 32 --num_threads 0 "
    "--gpu_ids -1 --display_id -1 --pool_size 2 --print_freq 1000"
)


@pytest.fixture(scope="module")
def digit_root(tmp_path_factory):
    return fs.build_digit_folders(tmp_path_factory.mktemp("data") / "digits2color", 32, 4, 3)


def tiny_options(dataroot, checkpoints, *extra: str):
    flags = f"--dataroot {dataroot} --name tiny --checkpoints_dir {checkpoints} {TINY}"
    return parse_train_options([*flags.split(), *extra])


def test_digit_folders_have_the_reference_layout_and_labels(digit_root):
    assert fs.count_images(digit_root) == {"testA": 3, "testB": 3, "trainA": 4, "trainB": 4}
    clean, paths = fs.load_images(digit_root, "test", "A", 32, 3)
    color, _ = fs.load_images(digit_root, "test", "B", 32, 3)
    assert clean.shape == color.shape == (3, 3, 32, 32)
    assert torch.equal(clean[:, 0], clean[:, 1]), "clean digits are grey"
    assert not torch.equal(color[:, 0], color[:, 1]), "colour digits are not"
    assert fs.labels_from_names(paths).tolist() == [0, 1, 2]
    # Domain A is the clean test digits, upscaled losslessly at size 32.
    expected, labels = digits.load_domain("clean", "test")
    firsts = [int((labels == d).nonzero()[0]) for d in range(3)]
    assert torch.allclose(clean[:, :1], expected[firsts], atol=1 / 127)


def test_classes_in_turn_balances_sorted_labels():
    labels = torch.tensor([0, 0, 0, 1, 1, 2, 2, 2, 2])
    chosen = fs.classes_in_turn(labels, 7)
    assert labels[chosen].tolist() == [0, 1, 2, 0, 1, 2, 0]
    assert len(set(chosen.tolist())) == 7
    assert sorted(fs.classes_in_turn(labels, 20).tolist()) == list(range(9))


def test_digit_folders_are_rebuilt_only_when_asked_for_something_else(tmp_path):
    root = fs.build_digit_folders(tmp_path / "d", 64, 2, 1)
    first = root / "trainA" / "0000_label0.png"
    first.write_bytes(first.read_bytes())  # touch: same content, new mtime
    stamp = first.stat().st_mtime_ns
    fs.build_digit_folders(root, 64, 2, 1)
    assert first.stat().st_mtime_ns == stamp
    fs.build_digit_folders(root, 48, 3, 1)
    assert Image.open(root / "trainB" / "0002_label2.png").size == (48, 48)
    assert fs.count_images(root)["trainA"] == 3


def test_count_images_ignores_other_files_and_hidden_folders(tmp_path):
    (tmp_path / "trainA" / "sub").mkdir(parents=True)
    (tmp_path / ".cache").mkdir()
    Image.new("RGB", (4, 4)).save(tmp_path / "trainA" / "a.JPG")
    Image.new("RGB", (4, 4)).save(tmp_path / "trainA" / "sub" / "b.png")
    Image.new("RGB", (4, 4)).save(tmp_path / ".cache" / "c.png")
    (tmp_path / "trainA" / "notes.txt").write_text("not an image")
    assert fs.count_images(tmp_path) == {"trainA": 2}


def test_epoch_estimate_arithmetic_and_durations():
    estimate = fs.EpochEstimate(seconds_per_iteration=20.0, iterations_per_epoch=1334, epochs=200)
    assert estimate.epoch_seconds == 26680.0
    assert estimate.total_seconds == 26680.0 * 200
    assert "7.4 h per epoch" in estimate.describe()
    assert "61.8 days" in estimate.describe()
    assert [fs.format_duration(s) for s in (42, 150, 7200, 200000)] == [
        "42 s", "2.5 min", "2.0 h", "2.3 days",
    ]  # fmt: skip


def test_estimate_leaves_the_run_unchanged(digit_root, tmp_path):
    """Timing a throwaway model must not shift the trainer's RNGs, pools or weights."""

    def train_one_epoch(folder, estimate: bool):
        trainer = Trainer(
            tiny_options(digit_root, folder, "--n_epochs", "1", "--n_epochs_decay", "0")
        )
        if estimate:
            result = fs.estimate_epoch(trainer, iters=1)
            assert result.iterations_per_epoch == 4 and result.epochs == 1
            assert result.seconds_per_iteration > 0
        fs.train_for(trainer, minutes=10)
        return trainer.model.netG_A.state_dict()

    plain, estimated = train_one_epoch(tmp_path / "a", False), train_one_epoch(tmp_path / "b", True)
    for key in plain:
        assert torch.equal(plain[key], estimated[key]), key


def test_train_for_stops_at_the_budget_then_resumes(digit_root, tmp_path):
    opt = tiny_options(digit_root, tmp_path, "--n_epochs", "2", "--n_epochs_decay", "1")
    seen = []
    position = fs.train_for(Trainer(opt), minutes=0, on_epoch=lambda t: seen.append(t.position))
    assert position.epoch == 2 and position.total_iters == 4, "a zero budget still trains one epoch"
    assert [p.epoch for p in seen] == [2]
    assert (tmp_path / "tiny" / "latest_net_G_A.pth").is_file()
    resumed = Trainer(parse_train_options([*opt_argv(opt), "--continue_train"]))
    assert resumed.position.epoch == 2
    final = fs.train_for(resumed, minutes=10)
    assert (final.epoch, final.total_iters) == (4, 12)
    assert fs.train_for(resumed, minutes=10) == final, "nothing left to train"


def opt_argv(opt) -> list[str]:
    return (
        f"--dataroot {opt.dataroot} --name {opt.name} --checkpoints_dir {opt.checkpoints_dir} "
        f"{TINY} --n_epochs {opt.n_epochs} --n_epochs_decay {opt.n_epochs_decay}"
    ).split()


def test_train_for_respects_last_epoch(digit_root, tmp_path):
    trainer = Trainer(
        tiny_options(digit_root, tmp_path, "--n_epochs", "3", "--n_epochs_decay", "0")
    )
    assert fs.train_for(trainer, minutes=10, last_epoch=2).epoch == 3
    assert not (tmp_path / "tiny" / "3_net_G_A.pth").exists()


def test_speed_rows_on_the_cpu_are_fp32_with_positive_numbers(capsys):
    spec = fs.SpeedSpec(
        size=32, batch_size=2, amp=True, n_blocks=1, ngf=4, ndf=4, iters=1, warmup=0
    )
    row = fs.measure_here(spec)
    assert row["precision"] == "fp32", "no autocast on the CPU, even when asked"
    assert row["images_per_second"] == pytest.approx(2 / row["seconds_per_iteration"])
    assert row["peak_memory_mib"] > 50
    assert fs.main(["speed", *spec.args(), "--device=cpu"]) == 0
    printed = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert (printed["size"], printed["batch_size"]) == (32, 2)
    table = fs.speed_table([row, printed])
    assert len(table.splitlines()) == 3 and "fp32" in table


def test_measuring_in_a_new_process_counts_only_that_process():
    """A child must not report the parent's memory (``ru_maxrss`` survives fork + exec)."""
    ballast = torch.ones(160 * 2**20)  # 640 MiB of float32 held by this process
    parent = fs.peak_resident_mib()
    assert parent > 640
    spec = fs.SpeedSpec(size=32, n_blocks=1, ngf=4, ndf=4, iters=1, warmup=0, device="cpu")
    row = fs.measure(spec)
    assert 50 < row["peak_memory_mib"] < parent - 400
    del ballast


def test_speed_specs_add_mixed_precision_only_on_cuda():
    base = fs.SpeedSpec(size=64)
    on_cpu = fs.speed_specs(base, (1, 4), on_cuda=False)
    on_gpu = fs.speed_specs(base, (1, 4), on_cuda=True)
    assert [(s.batch_size, s.amp) for s in on_cpu] == [(1, False), (4, False)]
    assert [(s.batch_size, s.amp) for s in on_gpu] == [(1, False), (1, True), (4, False), (4, True)]
    assert all(s.size == 64 for s in on_gpu)


def test_cycle_report_in_grey_levels():
    x = torch.zeros(2, 3, 4, 4)
    assert fs.cycle_report(x, x, x) == {"cycle_error": 0.0, "change": 0.0}
    numbers = fs.cycle_report(x, torch.full_like(x, 1.0), torch.full_like(x, -0.2))
    assert numbers["cycle_error"] == pytest.approx(0.2 * 127.5)
    assert numbers["change"] == pytest.approx(127.5)


def test_inception_features_offline_return_none(monkeypatch, capsys):
    import torchvision.models

    def offline(**_):
        raise urllib.error.URLError("no network")

    monkeypatch.setattr(torchvision.models, "inception_v3", offline)
    assert fs.inception_features(torch.zeros(2, 3, 32, 32)) is None
    assert "No FID" in capsys.readouterr().out


def test_reference_receptive_field_matches_the_gradient_of_one_output():
    """The exercise's answer, checked by back-propagating from one central output."""
    for n_layers in (1, 2, 3):
        torch.manual_seed(0)
        net = NLayerDiscriminator(1, ndf=2, n_layers=n_layers, norm="none")
        image = torch.randn(1, 1, 160, 160, requires_grad=True)
        out = net(image)
        out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
        rows = image.grad[0, 0].abs().sum(1).nonzero()
        assert int(rows.max() - rows.min() + 1) == lesson05.patch_receptive_field(n_layers)


def test_reference_lr_factor_matches_the_scheduler():
    parameter = torch.nn.Parameter(torch.zeros(1))
    optimizer = torch.optim.Adam([parameter], lr=1.0)
    scheduler = get_scheduler(optimizer, "linear", n_epochs=3, n_epochs_decay=4)
    for epoch in range(1, 8):
        assert optimizer.param_groups[0]["lr"] == pytest.approx(
            lesson05.linear_lr_factor(epoch, 3, 4)
        )
        optimizer.step()
        scheduler.step()
    assert lesson05.linear_lr_factor(7, 3, 4) == pytest.approx(0.2)


def test_reference_uint8_conversion_truncates_and_clips():
    image = torch.tensor([-1.5, -0.5, 0.999, 1.0, 2.0]).view(1, 1, 5)
    array = lesson05.tensor_to_uint8(image)
    assert array.dtype == np.uint8 and array.shape == (1, 5, 3)
    assert array[0, :, 0].tolist() == [0, 63, 254, 255, 255]
    assert math.isclose(array[..., 1].sum(), array[..., 2].sum())
