"""Lesson 06's helpers and widget: the resize-convolution twin, FID/KID by sample size."""

import pytest
import torch
from torch import nn

from cyclegan_lib.course.diagnostics import checkerboard_energy
from cyclegan_lib.lessons.debugging import (
    ResizeConv,
    distances_by_sample_size,
    with_resize_convolutions,
)
from cyclegan_lib.lessons.widgets.upsampling_explorer import (
    upsample_smooth_image,
    upsampler,
    upsampling_widget,
)
from cyclegan_lib.networks import define_G


def test_resize_twin_has_no_transposed_convolution_and_the_same_shapes():
    torch.manual_seed(0)
    net = define_G(1, 3, 8, "resnet_1blocks", "instance")
    twin = with_resize_convolutions(net)
    assert not any(isinstance(m, nn.ConvTranspose2d) for m in twin.modules())
    assert sum(isinstance(m, ResizeConv) for m in twin.modules()) == 2
    assert any(isinstance(m, nn.ConvTranspose2d) for m in net.modules())  # original untouched
    x = torch.rand(2, 1, 32, 32) * 2 - 1
    assert twin(x).shape == net(x).shape == (2, 3, 32, 32)


def test_resize_twin_makes_less_checkerboard_than_the_original():
    x = torch.rand(20, 1, 32, 32, generator=torch.Generator().manual_seed(1)) * 2 - 1
    for seed in range(3):
        torch.manual_seed(seed)
        net = define_G(1, 3, 8, "resnet_1blocks", "instance")
        with torch.no_grad():
            original = checkerboard_energy(net(x))
            resized = checkerboard_energy(with_resize_convolutions(net, seed)(x))
        assert original > 5 * resized, seed


def test_fid_is_biased_at_small_n_and_kid_is_not():
    generator = torch.Generator().manual_seed(2)
    reference, pool = (
        torch.randn(2000, 6, generator=generator),
        torch.randn(1000, 6, generator=generator),
    )
    table = distances_by_sample_size(reference, pool, [20, 1000], repeats=5)
    assert table[20]["FID"] > 5 * table[1000]["FID"]
    assert abs(table[20]["KID"]) < 3 * table[20]["KID sd"] / 5**0.5 + 1e-3


def test_upsampler_kinds_and_a_bad_kind():
    layers = {kind: upsampler(kind) for kind in ("transposed3", "transposed4", "resize")}
    for layer in layers.values():
        assert layer(torch.zeros(1, 8, 4, 4)).shape == (1, 8, 8, 8)
    with pytest.raises(ValueError, match="kind='bilinear' is not one of"):
        upsampler("bilinear")


def test_widget_shows_resize_smoother_than_transposed():
    resize = checkerboard_energy(upsample_smooth_image("resize", 1), 2)
    transposed = checkerboard_energy(upsample_smooth_image("transposed3", 1), 2)
    assert transposed > 10 * resize
    box = upsampling_widget()
    assert len(box.children) == 4
