"""Lesson 05's helpers: offline dataset, evaluation, exercises."""

from __future__ import annotations

import math
import urllib.error

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_lib.course import digits
from cyclegan_lib.lessons import full_scale as fs
from cyclegan_lib.lessons.exercises import lesson05
from cyclegan_lib.pipeline.schedulers import get_scheduler


@pytest.fixture(scope="module")
def digit_root(tmp_path_factory):
    return fs.build_digit_folders(tmp_path_factory.mktemp("data") / "digits2color", 32, 4, 3)


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
    array = lesson05.TO_UINT8.reference(image)
    assert array.dtype == np.uint8 and array.shape == (1, 5, 3)
    assert array[0, :, 0].tolist() == [0, 63, 254, 255, 255]
    assert math.isclose(array[..., 1].sum(), array[..., 2].sum())
