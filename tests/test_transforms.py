"""The reference's preprocessing modes, checked against plain torchvision calls."""

import numpy as np
import pytest
import torch
import torchvision.transforms.functional as TF
from PIL import Image
from torchvision.transforms import InterpolationMode

from cyclegan_lib.pipeline.transforms import (
    PREPROCESS_MODES,
    AugmentParams,
    Preprocess,
    build_transform,
    multiple_of_size,
    preprocess,
    sample_params,
    size_before_crop,
)


def random_image(width: int, height: int, seed: int = 0) -> Image.Image:
    pixels = np.random.default_rng(seed).integers(0, 256, (height, width, 3), dtype=np.uint8)
    return Image.fromarray(pixels)


def to_unit_range(image: Image.Image) -> torch.Tensor:
    return TF.to_tensor(image) * 2 - 1


@pytest.mark.parametrize(
    "mode, size, expected",
    [
        ("resize_and_crop", (100, 50), (32, 32)),
        ("crop", (100, 50), (32, 32)),
        ("scale_width", (100, 120), (48, 40)),  # (H, W): width 40, aspect kept
        ("scale_width", (400, 20), (32, 40)),  # height floored at crop_size
        ("scale_width_and_crop", (100, 50), (32, 32)),
        ("none", (30, 42), (40, 32)),  # 42 -> 40 and 30 -> 32 (Python's round, as the reference)
        ("none", (1, 1), (4, 4)),  # would round to 0
    ],
)
def test_output_sizes_per_mode(mode, size, expected):
    pre = Preprocess(mode, load_size=40, crop_size=32)
    if mode == "none":  # both sizes need rounding: the reference's warning, once
        with pytest.warns(UserWarning, match="multiples of 4"):
            out = preprocess(random_image(*size), pre, torch.Generator().manual_seed(0))
    else:
        out = preprocess(random_image(*size), pre, torch.Generator().manual_seed(0))
    assert out.shape == (3, *expected)


def test_resize_and_crop_equals_torchvision_resize_then_crop():
    image = random_image(90, 70)
    pre = Preprocess("resize_and_crop", load_size=64, crop_size=48)
    params = AugmentParams(crop_x=5, crop_y=11, flip=True)
    expected = TF.hflip(
        TF.crop(TF.resize(image, [64, 64], InterpolationMode.BICUBIC), 11, 5, 48, 48)
    )
    assert torch.allclose(build_transform(pre, params)(image), to_unit_range(expected), atol=1e-6)


def test_crop_takes_original_pixels_at_the_sampled_corner():
    image = random_image(60, 50)
    pre = Preprocess("crop", crop_size=16, no_flip=True)
    out = build_transform(pre, AugmentParams(crop_x=7, crop_y=3))(image)
    expected = np.asarray(image)[3:19, 7:23]
    assert torch.equal(out, to_unit_range(Image.fromarray(expected)))


def test_crop_upscales_an_image_smaller_than_the_crop():
    pre = Preprocess("crop", crop_size=32)
    assert size_before_crop(pre, (16, 8)) == (64, 32)
    out = preprocess(random_image(16, 8), pre, torch.Generator().manual_seed(1))
    assert out.shape == (3, 32, 32)


@pytest.mark.parametrize("mode", PREPROCESS_MODES)
def test_sampled_crops_stay_inside_the_image(mode):
    pre = Preprocess(mode, load_size=40, crop_size=24)
    generator = torch.Generator().manual_seed(0)
    for _ in range(50):
        width, height = size_before_crop(pre, (57, 31))
        params = sample_params(pre, (57, 31), generator)
        if pre.crops:
            assert 0 <= params.crop_x <= width - 24 and 0 <= params.crop_y <= height - 24
        else:
            assert (params.crop_x, params.crop_y) == (0, 0)


def test_sampling_is_reproducible_and_uses_both_flip_values():
    pre = Preprocess("resize_and_crop", load_size=40, crop_size=24)
    draws = [sample_params(pre, (50, 50), torch.Generator().manual_seed(s)) for s in range(40)]
    again = [sample_params(pre, (50, 50), torch.Generator().manual_seed(s)) for s in range(40)]
    assert draws == again
    assert {p.flip for p in draws} == {True, False}
    assert len({(p.crop_x, p.crop_y) for p in draws}) > 10


def test_no_flip_never_flips():
    pre = Preprocess("resize_and_crop", load_size=40, crop_size=24, no_flip=True)
    generator = torch.Generator().manual_seed(0)
    assert not any(sample_params(pre, (50, 50), generator).flip for _ in range(40))
    image = random_image(40, 40)
    flipped_params = AugmentParams(flip=True)
    assert torch.equal(
        build_transform(pre, flipped_params)(image), build_transform(pre, AugmentParams())(image)
    )


def test_flip_mirrors_the_tensor():
    pre = Preprocess("none")
    image = random_image(32, 32)
    plain = build_transform(pre, AugmentParams(flip=False))(image)
    mirrored = build_transform(pre, AugmentParams(flip=True))(image)
    assert torch.equal(mirrored, plain.flip(-1))


def test_scaling_to_minus_one_one_and_grayscale():
    black_white = Image.fromarray(np.array([[[0, 0, 0], [255, 255, 255]] * 2] * 4, dtype=np.uint8))
    pre = Preprocess("none", no_flip=True)
    rgb = build_transform(pre, AugmentParams())(black_white)
    gray = build_transform(pre, AugmentParams(), grayscale=True)(black_white)
    assert rgb.shape[0] == 3 and gray.shape[0] == 1
    for tensor in (rgb, gray):
        assert tensor.min() == -1.0 and tensor.max() == 1.0


@pytest.mark.parametrize(
    "mode, load_size, crop_size, message",
    [
        ("resize", 286, 256, "--preprocess 'resize' is unknown"),
        ("resize_and_crop", 200, 256, "--load_size 200 is smaller than --crop_size 256"),
        ("scale_width_and_crop", 100, 128, "--load_size 100 is smaller than --crop_size 128"),
        ("crop", 0, 256, "--load_size must be a positive integer"),
    ],
)
def test_bad_options_name_the_option(mode, load_size, crop_size, message):
    with pytest.raises(ValueError, match=message):
        Preprocess(mode, load_size, crop_size)


def test_load_smaller_than_crop_is_fine_when_nothing_is_cropped_after_resizing():
    assert Preprocess("scale_width", load_size=100, crop_size=128).mode == "scale_width"
    assert multiple_of_size((6, 10)) == (8, 8)  # 1.5 -> 2 and 2.5 -> 2, round half to even
