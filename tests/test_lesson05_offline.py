"""Lesson 05 offline: a reference-layout checkpoint through the library and `cyclegan test`.

The reference's published generators were saved with PyTorch 0.3: their InstanceNorm layers
carry ``running_mean``/``running_var`` entries today's layers lack. We write such a file from
our own ResnetGenerator and check both paths of the lesson (library and command line) on it,
and that the lesson's download and seed-command cells fail with one sentence, not a traceback.
"""

from __future__ import annotations

from pathlib import Path

import pytest
import torch
from torch import nn

from cyclegan_lib.lessons import full_scale as fs
from cyclegan_lib.models import translate
from cyclegan_lib.networks import ResnetGenerator, count_parameters
from cyclegan_lib.pipeline.distributed import free_port
from cyclegan_lib.pipeline.pages import tensor_to_image
from cyclegan_lib.pipeline.pretrained import (
    CheckpointError,
    GeneratorSpec,
    load_pretrained_generator,
)

SMALL = GeneratorSpec(netG="resnet_2blocks", ngf=8)
SEED_TRAIN = (
    "cyclegan train --dataroot ./datasets/vangogh2photo --name vangogh_cyclegan "
    "--model cycle_gan --gpu_ids 0,1 --batch_size 8 --display_id -1"
)
SEED_TEST = (
    "cyclegan test --dataroot ./datasets/vangogh2photo --name vangogh_cyclegan "
    "--model cycle_gan --gpu_ids 0,1"
)


@pytest.fixture(scope="module")
def digit_root(tmp_path_factory):
    return fs.build_digit_folders(tmp_path_factory.mktemp("data") / "digits2color", 32, 2, 3)


def small_generator(seed: int = 0) -> nn.Module:
    torch.manual_seed(seed)
    return SMALL.build().eval()


def instance_norms(net: nn.Module) -> int:
    return sum(isinstance(m, nn.InstanceNorm2d) for m in net.modules())


def test_reference_layout_file_loads_with_its_stale_keys_dropped(tmp_path):
    net = small_generator()
    path = fs.write_reference_checkpoint(net, tmp_path / "x_pretrained" / "latest_net_G.pth")
    saved = torch.load(path, weights_only=True)
    stale = [key for key in saved if key.endswith(fs.STALE_KEYS)]
    assert len(stale) == 2 * instance_norms(net) > 0
    assert "model.2.running_mean" in stale
    with pytest.raises(RuntimeError, match="Unexpected running stats"):
        small_generator(1).load_state_dict(saved, strict=True)  # a plain strict load fails
    loaded = load_pretrained_generator(path, SMALL)
    x = torch.rand(2, 3, 32, 32) * 2 - 1
    assert torch.equal(loaded(x), net(x))


def test_full_size_reference_file_loads_with_the_default_spec(tmp_path):
    path = fs.write_reference_checkpoint(ResnetGenerator(3, 3), tmp_path / "latest_net_G.pth")
    generator = load_pretrained_generator(path)  # resnet_9blocks, instance, no dropout
    assert count_parameters(generator) == 11_378_179
    assert not generator.training


def test_library_and_cyclegan_test_give_the_same_pixels(tmp_path, digit_root, capsys):
    checkpoint = tmp_path / "checkpoints" / "digits_pretrained" / "latest_net_G.pth"
    fs.write_reference_checkpoint(small_generator(), checkpoint)
    command = (
        f"cyclegan test --dataroot {digit_root / 'testA'} --name digits_pretrained --model test "
        "--no_dropout --netG resnet_2blocks --ngf 8 --checkpoints_dir ./checkpoints "
        "--results_dir ./results --load_size 32 --crop_size 32 --num_test 3 --gpu_ids -1"
    )
    assert fs.run_cli(command, cwd=tmp_path) == 0
    images = tmp_path / "results" / "digits_pretrained" / "test_latest" / "images"
    assert (images.parent / "index.html").is_file()
    inputs, paths = fs.load_images(digit_root / "testA", "test", "A", 32, 3)
    library = translate(load_pretrained_generator(checkpoint, SMALL), inputs)
    stems = [Path(p).stem for p in paths]
    from_cli = fs.read_result_images(images, stems, "fake")
    ours = torch.stack([torch.from_numpy(tensor_to_image(x)) for x in library])
    assert from_cli.shape == ours.shape == (3, 32, 32, 3)
    assert (ours.int() - from_cli.int()).abs().max() <= 1
    real = fs.read_result_images(images, stems, "real")
    assert torch.equal(real, torch.stack([torch.from_numpy(tensor_to_image(x)) for x in inputs]))
    assert "(exit code 0)" in capsys.readouterr().out


def test_a_file_of_another_architecture_names_the_option(tmp_path, digit_root, capsys):
    fs.write_reference_checkpoint(small_generator(), tmp_path / "ck" / "other" / "latest_net_G.pth")
    with pytest.raises(CheckpointError, match="--ngf 8"):
        load_pretrained_generator(tmp_path / "ck" / "other" / "latest_net_G.pth")
    command = (
        f"cyclegan test --dataroot {digit_root / 'testA'} --name other --model test --no_dropout "
        "--checkpoints_dir ./ck --load_size 32 --crop_size 32 --gpu_ids -1"
    )
    assert fs.run_cli(command, cwd=tmp_path) == 2
    error = capsys.readouterr().err.strip().splitlines()
    assert len(error) == 1 and "--netG resnet_2blocks --ngf 8" in error[0]


def test_downloads_offline_say_one_sentence_and_leave_nothing(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("CYCLEGAN_BASE_URL", f"http://127.0.0.1:{free_port()}")
    assert fs.fetch_pretrained("horse2zebra", tmp_path / "checkpoints") is None
    assert fs.fetch_dataset("horse2zebra", tmp_path / "datasets") is None
    lines = capsys.readouterr().out.strip().splitlines()
    assert len(lines) == 2 and all(line.startswith("No download (OfflineError)") for line in lines)
    assert not (tmp_path / "checkpoints" / "horse2zebra_pretrained").exists()
    assert not (tmp_path / "datasets" / "horse2zebra").exists()


def test_seed_commands_without_gpus_print_one_clear_line(tmp_path, monkeypatch, capsys):
    monkeypatch.setattr(torch.cuda, "is_available", lambda: False)
    monkeypatch.setattr(torch.cuda, "device_count", lambda: 0)
    for command in (SEED_TRAIN, SEED_TEST):
        assert fs.run_cli(command, cwd=tmp_path) == 2
        error = capsys.readouterr().err.strip().splitlines()
        assert len(error) == 1 and "--gpu_ids -1" in error[0], error


def test_run_cli_refuses_other_programs_and_restores_the_folder(tmp_path):
    before = Path.cwd()
    with pytest.raises(ValueError, match="starting with 'cyclegan'"):
        fs.run_cli("python train.py", cwd=tmp_path)
    assert fs.run_cli("cyclegan train --no_such_option", cwd=tmp_path) == 2
    assert Path.cwd() == before
