"""The command line: the seed's commands, the reference's pretrained-model command, and user
mistakes that must end with exit code 2 and one line naming the option or path (no traceback)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
import torch
from PIL import Image

from cyclegan_lib import cli
from cyclegan_lib.networks import define_G
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

SEED_TRAIN = (
    "train --dataroot ./datasets/vangogh2photo --name vangogh_cyclegan --model cycle_gan "
    "--gpu_ids 0,1 --batch_size 8 --display_id -1"
).split()
SEED_TEST = (
    "test --dataroot ./datasets/vangogh2photo --name vangogh_cyclegan --model cycle_gan "
    "--gpu_ids 0,1"
).split()
SHRINK = (
    "--netG resnet_1blocks --ngf 4 --ndf 4 --netD n_layers --n_layers_D 1 --load_size 32 "
    "--crop_size 32 --num_threads 0"
).split()


COLORIZATION = (
    "--name color --model colorization --gpu_ids -1 --netG unet_32 --ngf 4 --ndf 4 "
    "--load_size 32 --crop_size 32 --num_threads 0"
)


def folders(dataroot: Path, checkpoints: Path) -> list[str]:
    """``--dataroot`` and ``--checkpoints_dir`` (paths may hold spaces: not in a split string)."""
    return ["--dataroot", str(dataroot), "--checkpoints_dir", str(checkpoints)]


def cyclegan(args: list[str], cwd: Path, **env: str) -> subprocess.CompletedProcess:
    """``python -m cyclegan_lib ARGS`` in ``cwd``, as a user would run it."""
    environment = {**os.environ, "OMP_NUM_THREADS": "1", "COURSE_PROFILE": "smoke", **env}
    command = [sys.executable, "-m", "cyclegan_lib", *args]
    return subprocess.run(
        command, cwd=cwd, capture_output=True, text=True, env=environment, timeout=300
    )


@pytest.mark.slow
def test_seed_train_command_without_gpus_says_so_in_one_line(tmp_path):
    done = cyclegan(SEED_TRAIN, tmp_path, CUDA_VISIBLE_DEVICES="")
    assert done.returncode == 2
    assert "Traceback" not in done.stderr and len(done.stderr.strip().splitlines()) == 1
    assert "--gpu_ids" in done.stderr and "--gpu_ids -1" in done.stderr


def test_seed_test_command_without_gpus_says_so_in_one_line(capsys, monkeypatch):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    code, err = run_cli(SEED_TEST, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and "--gpu_ids -1" in err, err


def test_seed_commands_run_on_the_cpu_with_gpu_ids_minus_1(tmp_path, capsys, monkeypatch):
    monkeypatch.chdir(tmp_path)
    make_image_folder_dataset(tmp_path / "datasets" / "vangogh2photo", n=8, size=32)
    cpu = ["--gpu_ids", "-1", *SHRINK]
    assert run_cli([*SEED_TRAIN, *cpu, "--n_epochs", "1", "--n_epochs_decay", "0"], capsys)[0] == 0
    assert (tmp_path / "checkpoints" / "vangogh_cyclegan" / "latest_net_G_A.pth").is_file()
    assert run_cli([*SEED_TEST, *cpu], capsys)[0] == 0
    images = tmp_path / "results" / "vangogh_cyclegan" / "test_latest" / "images"
    assert len(list(images.glob("*_fake_B.png"))) == 8 and (images.parent / "index.html").is_file()


@pytest.mark.slow
def test_reference_readme_pretrained_command(tmp_path, capsys, monkeypatch):
    """``cyclegan test --dataroot datasets/horse2zebra/testA --name horse2zebra_pretrained
    --model test --no_dropout`` with a reference-layout generator that still has old
    InstanceNorm running-statistics keys (as the published files do)."""
    monkeypatch.chdir(tmp_path)  # no --gpu_ids: GPU 0 where there is one, else the CPU
    make_image_folder_dataset(tmp_path / "datasets" / "horse2zebra", n=2, size=32)
    torch.manual_seed(0)
    state = define_G(3, 3, 64, "resnet_9blocks", "instance").state_dict()
    state["model.2.running_mean"] = torch.zeros(64)  # stale key of an old PyTorch file
    state["model.2.running_var"] = torch.ones(64)
    folder = tmp_path / "checkpoints" / "horse2zebra_pretrained"
    folder.mkdir(parents=True)
    torch.save(state, folder / "latest_net_G.pth")
    args = (
        "test --dataroot datasets/horse2zebra/testA --name horse2zebra_pretrained "
        "--model test --no_dropout"
    ).split()
    code, err = run_cli(args, capsys)
    assert code == 0, err
    images = tmp_path / "results" / "horse2zebra_pretrained" / "test_latest" / "images"
    saved = sorted(p.name for p in images.iterdir())
    assert saved == ["0000_fake.png", "0000_real.png", "0001_fake.png", "0001_real.png"]


def run_cli(argv: list[str], capsys) -> tuple[int, str]:
    """Run ``cyclegan ARGV`` in process; return (exit code, stderr)."""
    try:
        code = cli.main(argv)
    except SystemExit as exit_info:
        code = exit_info.code
    return code, capsys.readouterr().err.strip()


@pytest.fixture
def tiny_data(tmp_path):
    return make_image_folder_dataset(tmp_path / "data", n=2, size=16)


@pytest.mark.parametrize(
    "extra, named",
    [
        (["--model", "cyclegan"], "--model"),
        (["--netG", "resnet"], "--netG"),
        (["--norm", "group"], "--norm"),
        (["--lr_policy", "exp"], "--lr_policy"),
        (["--gpu_ids", "first"], "--gpu_ids"),
        (["--gpu_ids", "0,1"], "--gpu_ids -1"),
        (["--gpu_ids", "-1", "--continue_train"], "latest_state.pt"),
        (["--gpu_ids", "-1", "--dataset_mode", "aligned"], "train"),
        (["--gpu_ids", "-1", "--input_nc", "1", "--lambda_identity", "0.5"], "--lambda_identity"),
    ],
)
def test_train_mistakes_exit_2_with_one_line(
    extra, named, tiny_data, tmp_path, capsys, monkeypatch
):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    argv = [
        "train",
        *folders(tiny_data, tmp_path / "ck"),
        *SHRINK,
        *"--crop_size 16 --load_size 16".split(),
        *extra,
    ]
    code, err = run_cli(argv, capsys)
    assert code == 2 and len(err.splitlines()) == 1 and named in err, err


def test_missing_dataroot_and_missing_folder(tmp_path, capsys):
    code, err = run_cli(["train"], capsys)
    assert code == 2 and "--dataroot" in err and len(err.splitlines()) == 1
    missing = tmp_path / "no_such_dataset"
    code, err = run_cli(["train", "--dataroot", str(missing), "--gpu_ids", "-1"], capsys)
    assert code == 2 and str(missing) in err and len(err.splitlines()) == 1, err


def test_test_mistakes_exit_2_with_one_line(tiny_data, tmp_path, capsys):
    common = [
        "test",
        *folders(tiny_data, tmp_path),
        "--results_dir",
        str(tmp_path / "res"),
        *"--name m --gpu_ids -1 --model test".split(),
    ]
    code, err = run_cli(common, capsys)
    assert code == 2 and "latest_net_G.pth" in err and len(err.splitlines()) == 1, err
    (tmp_path / "m").mkdir()
    torch.save(
        define_G(3, 3, 8, "resnet_2blocks", "instance").state_dict(),
        tmp_path / "m" / "latest_net_G.pth",
    )
    code, err = run_cli([*common, "--netG", "resnet_2blocks", "--ngf", "4"], capsys)
    assert code == 2 and "--ngf 8" in err and len(err.splitlines()) == 1, err


def test_continue_train_with_another_architecture_names_the_option(tiny_data, tmp_path, capsys):
    argv = [
        "train",
        *folders(tiny_data, tmp_path),
        *SHRINK,
        *"--gpu_ids -1 --load_size 16 --crop_size 16 --n_epochs 1 --n_epochs_decay 0".split(),
        *"--display_id -1".split(),
    ]
    assert run_cli(argv, capsys)[0] == 0
    code, err = run_cli([*argv, "--continue_train", "--ngf", "8"], capsys)
    assert code == 2 and "--ngf 4" in err and len(err.splitlines()) == 1, err


def test_gpu_ids_beyond_the_machines_gpus(monkeypatch):
    from cyclegan_lib.pipeline.distributed import DeviceError, check_gpu_ids

    monkeypatch.setattr(torch.cuda, "is_available", lambda: True)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 1)
    check_gpu_ids([0])
    check_gpu_ids([])
    with pytest.raises(DeviceError, match=r"GPU 1 does not exist; this machine has 1 GPU"):
        check_gpu_ids([0, 1])


@pytest.mark.slow
def test_colorization_trains_and_tests_with_the_references_test_options(tmp_path):
    """``--model colorization`` (L -> ab) end to end, and ``--num_test``, ``--aspect_ratio``,
    ``--eval`` and ``--results_dir`` of the reference's ``test.py``."""
    data = make_image_folder_dataset(tmp_path / "photos", n=2, size=32, layout="aligned")
    common = ["--dataroot", str(data), *COLORIZATION.split()]
    epochs = "--n_epochs 1 --n_epochs_decay 0 --display_id -1".split()
    trained = cyclegan(["train", *common, *epochs], tmp_path)
    assert trained.returncode == 0, trained.stderr
    assert "input_nc: 1" in trained.stdout and "dataset_mode: colorization" in trained.stdout

    def test(*flags: str) -> Path:
        run = cyclegan(["test", *common, *flags], tmp_path)
        assert run.returncode == 0, run.stderr
        return tmp_path / "res" / "color" / "test_latest" / "images"

    images = test("--results_dir", "res", "--num_test", "1", "--aspect_ratio", "2.0")
    saved = sorted(p.name for p in images.iterdir())
    assert saved == ["0000_fake_B_rgb.png", "0000_real_A.png", "0000_real_B_rgb.png"]
    with Image.open(images / "0000_fake_B_rgb.png") as picture:
        assert (picture.size, picture.mode) == ((64, 32), "RGB")  # stretched to aspect ratio 2
    training_mode = Image.open(images / "0000_fake_B_rgb.png").tobytes()
    eval_mode = Image.open(test("--results_dir", "res", "--eval") / "0000_fake_B_rgb.png")
    assert eval_mode.tobytes() != training_mode  # batch norm uses its running statistics
    assert len(list(images.iterdir())) == 6  # without --num_test 1: both images
