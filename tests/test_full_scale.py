"""Lesson 05's helpers: offline dataset, evaluation, exercises."""

from __future__ import annotations

import urllib.error

import pytest
import torch
from PIL import Image

from cyclegan_lib.course import digits
from cyclegan_lib.lessons import full_scale as fs
from cyclegan_lib.lessons.exercises import lesson05
from cyclegan_lib.models import CycleGANModel, ModelConfig
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


def test_reference_lr_factor_matches_the_scheduler_and_a_resume_continues_it():
    def run(epoch_count: int) -> list[float]:
        parameter = torch.nn.Parameter(torch.zeros(1))
        optimizer = torch.optim.Adam([parameter], lr=1.0)
        scheduler = get_scheduler(optimizer, "linear", 3, 4, epoch_count=epoch_count)
        rates = []
        for steps in range(8 - epoch_count):
            assert optimizer.param_groups[0]["lr"] == pytest.approx(
                lesson05.linear_lr_factor(steps, 3, 4, epoch_count)
            )
            rates.append(optimizer.param_groups[0]["lr"])
            optimizer.step()
            scheduler.step()
        return rates

    whole = run(epoch_count=1)
    assert whole[-1] == pytest.approx(0.2)  # epoch 7, the last, trains at 1/(4 + 1)
    assert run(epoch_count=5) == pytest.approx(whole[4:])  # resumed at epoch 5


def test_identity_term_is_the_models_identity_losses_bit_for_bit():
    torch.manual_seed(0)
    config = ModelConfig.for_model(
        "cycle_gan", netG="resnet_2blocks", ngf=4, ndf=4, lambda_A=10.0, lambda_B=3.0
    )
    model = CycleGANModel(config, torch.device("cpu"))
    images = torch.rand(4, 3, 16, 16, generator=torch.Generator().manual_seed(1)) * 2 - 1
    model.set_input({"A": images[:2], "B": images[2:], "A_paths": [], "B_paths": []})
    with torch.no_grad():
        terms = model.identity_losses()
        ours = lesson05.identity_term(
            model.netG_A, model.netG_B, model.real_A, model.real_B, 0.5, 10.0, 3.0
        )
        swapped = lesson05.identity_term(
            model.netG_A, model.netG_B, model.real_B, model.real_A, 0.5, 10.0, 3.0
        )
    assert ours > 0 and torch.equal(ours, terms["idt_A"] + terms["idt_B"])
    assert not torch.equal(swapped, ours)


def test_as_flags_writes_switches_bare_and_leaves_false_ones_out():
    flags = fs.as_flags({"netD": "n_layers", "lr": 0.001, "no_flip": True, "amp": False})
    assert flags == "--netD n_layers --lr 0.001 --no_flip"


def test_train_flags_apply_the_profiles_changes_over_the_papers(tmp_path):
    from cyclegan_lib.pipeline.options import parse_train_options

    settings = {
        "size": 32, "load_size": 32, "netG": "resnet_3blocks", "ngf": 16, "ndf": 32,
        "n_epochs": 3, "n_epochs_decay": 2, "workers": 0, "amp": False,
        "changes": {"netD": "n_layers", "batch_size": 4, "lambda_B": 1.0, "no_flip": True},
    }  # fmt: skip
    flags = fs.train_flags(settings, tmp_path, "x", tmp_path / "ckpt", "-1")
    assert flags.startswith(fs.PAPER_FLAGS)
    opt = parse_train_options(flags.split())
    assert (opt.netD, opt.batch_size, opt.lambda_B, opt.no_flip) == ("n_layers", 4, 1.0, True)
    assert (opt.netG, opt.crop_size, opt.total_epochs, opt.lambda_A) == (
        "resnet_3blocks",
        32,
        5,
        10,
    )
    assert (
        parse_train_options(
            fs.train_flags({**settings, "changes": {}}, tmp_path, "x", tmp_path, "-1").split()
        ).netD
        == "basic"
    )


def test_lesson05_cpu_profile_trains_lesson04s_recipe():
    from cyclegan_lib.tools.nbtools import lesson_setting

    lesson05 = lesson_setting("05", "S", "cpu")
    lesson04 = lesson_setting("04", "recipe", "cpu")
    changes = lesson05["changes"]
    assert (lesson05["netG"], lesson05["ngf"], lesson05["ndf"]) == (
        lesson04.netG,
        lesson04.ngf,
        lesson04.ndf,
    )
    assert (changes["n_layers_D"], changes["batch_size"], changes["lr"]) == (
        lesson04.n_layers_D,
        lesson04.batch_size,
        lesson04.lr,
    )
    assert changes["lambda_B"] == 1.0 and changes["netD"] == "n_layers"


def test_distribution_features_fall_back_to_the_digit_classifier():
    real = digits.load_domain("color", "test")[0][:6]
    big = torch.nn.functional.interpolate(real, size=64, mode="nearest")
    real_features, fake_features, name = fs.distribution_features(
        big, big.flip(0), try_inception=False
    )
    assert name == "colour-digit classifier"
    assert real_features.shape == fake_features.shape == (6, real_features.shape[1])
    assert torch.allclose(real_features.flip(0), fake_features, atol=1e-5)


def test_score_digit_translations_reads_both_directions_at_any_size():
    test = digits.paired_digits("test")
    n = 200
    clean, color, labels = test.clean[:n], test.color[:n], test.labels[:n]

    def large(images):  # as lesson 05's pipeline loads them: RGB, here at 64 px
        return torch.nn.functional.interpolate(images.expand(-1, 3, -1, -1), size=64)

    # perfect translations: G_A(A) is the colour twin, G_B(B) the clean one
    scores = fs.score_digit_translations(large(clean), large(color), large(clean), labels)
    assert set(scores) == {"G_B(B) read as clean", "G_A(A) read as color", "real A (clean)"}
    for numbers in scores.values():
        assert numbers["label_accuracy"] > 0.9
    # translations that swap every digit for the next one's keep almost no label
    shifted = torch.roll(labels, 1)
    swapped = fs.score_digit_translations(large(clean), large(color), large(clean), shifted)
    assert swapped["G_A(A) read as color"]["label_accuracy"] < 0.3
    assert swapped["G_B(B) read as clean"]["label_accuracy"] < 0.3
