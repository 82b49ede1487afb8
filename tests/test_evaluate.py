"""``cyclegan evaluate``: folders of images scored with FID and KID, bad input named."""

import numpy as np
import pytest
import torch
from PIL import Image

from cyclegan_lib.cli import main
from cyclegan_lib.course import digits


def write_images(folder, images, suffix=""):
    folder.mkdir(parents=True, exist_ok=True)
    pixels = ((images + 1) * 127.5).round().clamp(0, 255).byte().permute(0, 2, 3, 1).numpy()
    for i, image in enumerate(pixels):
        Image.fromarray(image).save(folder / f"{i:04d}{suffix}.png")


@pytest.fixture(scope="module")
def colour_digits():
    train, _ = digits.load_domain("color", "train")
    test, _ = digits.load_domain("color", "test")
    return train[:300], test[:300]


def fid_of(output: str) -> float:
    line = next(line for line in output.splitlines() if line.startswith("FID:"))
    return float(line.split()[1])


@pytest.mark.slow
def test_real_against_real_scores_lower_than_noise(tmp_path, capsys, colour_digits):
    train, test = colour_digits
    write_images(tmp_path / "real", test)
    write_images(tmp_path / "same", train)
    noise = np.random.default_rng(0).uniform(-1, 1, size=(300, 3, 32, 32)).astype(np.float32)
    write_images(tmp_path / "noise", torch.from_numpy(noise))
    args = ["evaluate", "--real", str(tmp_path / "real"), "--features", "digits", "--fake"]
    assert main([*args, str(tmp_path / "same")]) == 0
    same = capsys.readouterr().out
    assert main([*args, str(tmp_path / "noise")]) == 0
    noisy = capsys.readouterr().out
    assert "colour-digit classifier" in same and "300 real, 300 translated" in same
    assert fid_of(same) * 20 < fid_of(noisy)


def test_results_dir_pairs_the_reference_file_names(tmp_path, capsys, colour_digits):
    train, test = colour_digits
    folder = tmp_path / "images"
    write_images(folder, test[:40], "_real_B")
    write_images(folder, train[:30], "_fake_B")
    write_images(folder, train[:5], "_real_A")
    assert main(["evaluate", "--results_dir", str(folder), "--features", "digits"]) == 0
    assert "40 real, 30 translated" in capsys.readouterr().out


def test_an_empty_folder_is_named(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    write_images(tmp_path / "real", digits.load_domain("color", "test")[0][:3])
    code = main(["evaluate", "--real", str(tmp_path / "real"), "--fake", str(tmp_path / "empty")])
    assert code == 2
    assert f"need at least 2 images matching '*' in {tmp_path / 'empty'}" in capsys.readouterr().err


def test_real_without_fake_is_refused(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["evaluate", "--real", str(tmp_path)])
    assert "--real and --fake go together" in capsys.readouterr().err
