"""Networks against the reference's parameter counts, key layouts and output shapes."""

import pytest
import torch
from torch import nn

from cyclegan_lib.networks import (
    NLayerDiscriminator,
    ResnetGenerator,
    UnetGenerator,
    count_parameters,
    define_D,
    define_G,
    init_weights,
    parse_generator_name,
    receptive_field,
)


@pytest.mark.parametrize(
    "netG, norm, expected",
    [
        ("resnet_9blocks", "instance", 11_378_179),
        ("resnet_6blocks", "instance", 7_837_699),
        ("unet_256", "batch", 54_413_955),
        ("unet_128", "batch", 41_828_995),
    ],
)
def test_generator_parameter_counts_match_reference(netG, norm, expected):
    assert count_parameters(define_G(3, 3, 64, netG, norm)) == expected


@pytest.mark.parametrize("norm, expected", [("instance", 2_764_737), ("batch", 2_765_633)])
def test_basic_discriminator_parameter_count(norm, expected):
    assert count_parameters(define_D(3, 64, "basic", norm=norm)) == expected


def test_resnet_generator_keys_follow_reference_layout():
    keys = define_G(3, 3, 64, "resnet_9blocks", "instance").state_dict()
    # reflect-pad, conv, norm, relu, 2 x (conv, norm, relu), blocks at 10..18, up at 19 and 22
    assert list(keys)[:6] == [
        "model.1.weight",
        "model.1.bias",
        "model.4.weight",
        "model.4.bias",
        "model.7.weight",
        "model.7.bias",
    ]
    assert keys["model.10.conv_block.1.weight"].shape == (256, 256, 3, 3)
    assert keys["model.18.conv_block.5.weight"].shape == (256, 256, 3, 3)
    assert keys["model.19.weight"].shape == (256, 128, 3, 3)  # ConvTranspose: (in, out, k, k)
    assert keys["model.22.weight"].shape == (128, 64, 3, 3)
    assert keys["model.26.weight"].shape == (3, 64, 7, 7)
    assert "model.26.bias" in keys
    # instance norm: no affine and no running statistics, hence no norm keys at all
    assert len(keys) == 48
    assert not any("running" in k for k in keys)


def test_resnet_dropout_shifts_second_conv_like_reference():
    keys = define_G(3, 3, 64, "resnet_6blocks", "instance", use_dropout=True).state_dict()
    assert "model.10.conv_block.6.weight" in keys
    assert "model.10.conv_block.5.weight" not in keys


def test_unet_keys_nest_like_reference():
    keys = define_G(3, 3, 64, "unet_256", "batch").state_dict()
    assert keys["model.model.0.weight"].shape == (64, 3, 4, 4)
    assert "model.model.0.bias" not in keys  # batch norm: no conv bias
    assert keys["model.model.3.weight"].shape == (128, 3, 4, 4)  # outermost convT keeps a bias
    assert keys["model.model.3.bias"].shape == (3,)
    assert keys["model.model.1.model.1.weight"].shape == (128, 64, 4, 4)
    assert keys["model.model.1.model.2.running_mean"].shape == (128,)
    assert keys["model.model.1.model.5.weight"].shape == (256, 64, 4, 4)
    innermost = "model.model.1" + ".model.3" * 6 + ".model."  # 8th level
    assert keys[innermost + "1.weight"].shape == (512, 512, 4, 4)
    assert keys[innermost + "3.weight"].shape == (512, 512, 4, 4)
    assert keys[innermost + "4.running_var"].shape == (512,)
    # 6 middle levels with two batch norms each, plus the innermost's up-norm
    assert sum(k.endswith("num_batches_tracked") for k in keys) == 13


def test_discriminator_keys_and_patch_map():
    net = define_D(3, 64, "basic", norm="instance")
    keys = net.state_dict()
    assert list(keys) == [
        "model.0.weight",
        "model.0.bias",
        "model.2.weight",
        "model.2.bias",
        "model.5.weight",
        "model.5.bias",
        "model.8.weight",
        "model.8.bias",
        "model.11.weight",
        "model.11.bias",
    ]
    assert net(torch.zeros(1, 3, 256, 256)).shape == (1, 1, 30, 30)
    pixel = define_D(6, 64, "pixel", norm="batch")
    assert [k for k in pixel.state_dict() if k.endswith("weight")] == [
        "net.0.weight",
        "net.2.weight",
        "net.3.weight",
        "net.5.weight",
    ]
    assert pixel(torch.zeros(2, 6, 8, 8)).shape == (2, 1, 8, 8)


def test_n_layers_discriminator_depth():
    net = define_D(3, 8, "n_layers", n_layers_D=2, norm="batch")
    assert isinstance(net, NLayerDiscriminator)
    assert net(torch.zeros(1, 3, 64, 64)).shape == (1, 1, 14, 14)


def test_norm_none_keeps_conv_biases():
    """The reference drops biases with --norm none; we keep them."""
    net = ResnetGenerator(3, 3, ngf=8, norm="none", n_blocks=1)
    convs = [m for m in net.modules() if isinstance(m, (nn.Conv2d, nn.ConvTranspose2d))]
    assert all(conv.bias is not None for conv in convs)
    batch = ResnetGenerator(3, 3, ngf=8, norm="batch", n_blocks=1)
    biased = [m.bias is not None for m in batch.modules() if isinstance(m, nn.Conv2d)]
    assert biased == [False, False, False, False, False, True]  # only the output conv
    # same key indices with or without a norm: the norm slot is an nn.Identity
    assert "model.4.weight" in net.state_dict()


@pytest.mark.parametrize(
    "netG, size", [("resnet_6blocks", 64), ("resnet_2blocks", 32), ("unet_32", 32)]
)
def test_generators_keep_shape_and_range(netG, size):
    net = define_G(1, 3, 8, netG, "instance")
    out = net(torch.randn(2, 1, size, size))
    assert out.shape == (2, 3, size, size)
    assert out.abs().max() <= 1


def test_resnet_256_forward_shape():
    net = define_G(3, 3, 64, "resnet_9blocks", "instance").eval()
    with torch.no_grad():
        assert net(torch.zeros(1, 3, 256, 256)).shape == (1, 3, 256, 256)


def test_unet_depth_from_name():
    assert parse_generator_name("unet_32") == ("unet", 5)
    assert parse_generator_name("unet_256") == ("unet", 8)
    assert parse_generator_name("resnet_12blocks") == ("resnet", 12)
    net = define_G(3, 3, 4, "unet_64", "batch")
    assert isinstance(net, UnetGenerator)
    assert sum(isinstance(m, nn.ConvTranspose2d) for m in net.modules()) == 6


@pytest.mark.parametrize("name", ["unet_48", "unet_16", "resnet", "vgg"])
def test_unknown_generator_names_raise(name):
    with pytest.raises(ValueError, match="--netG"):
        define_G(3, 3, 8, name)


def test_bad_options_raise_clear_errors():
    with pytest.raises(ValueError, match="--norm 'group'"):
        define_G(3, 3, 8, "resnet_1blocks", norm="group")
    with pytest.raises(ValueError, match="--netD 'big'"):
        define_D(3, 8, "big")
    with pytest.raises(ValueError, match="--init_type 'zeros'"):
        define_D(3, 8, "basic", init_type="zeros")


def test_init_weights_normal_statistics():
    torch.manual_seed(0)
    net = define_G(3, 3, 64, "unet_128", "batch", init_gain=0.02)
    conv = net.model.model[1].model[1]
    norm = net.model.model[1].model[2]
    assert abs(conv.weight.std().item() - 0.02) < 0.002
    assert abs(conv.weight.mean().item()) < 0.002
    assert abs(norm.weight.mean().item() - 1.0) < 0.01
    assert torch.all(norm.bias == 0)
    assert torch.all(net.model.model[3].bias == 0)


@pytest.mark.parametrize("init_type", ["xavier", "kaiming", "orthogonal"])
def test_other_inits_change_weights(init_type):
    torch.manual_seed(0)
    net = NLayerDiscriminator(3, 8, 2, "batch")
    before = net.model[0].weight.clone()
    init_weights(net, init_type, 0.02)
    assert not torch.equal(before, net.model[0].weight)
    assert torch.all(net.model[0].bias == 0)


@pytest.mark.parametrize("n_layers, size", [(1, 16), (2, 34), (3, 70), (4, 142), (5, 286)])
def test_receptive_field_is_the_patch_one_output_sees(n_layers, size):
    """Measured by back-propagating from one central output: the rows it reaches."""
    torch.manual_seed(0)
    net = NLayerDiscriminator(1, ndf=2, n_layers=n_layers, norm="none")
    image = torch.randn(1, 1, 2 * size + 32, 2 * size + 32, requires_grad=True)
    out = net(image)
    out[0, 0, out.shape[2] // 2, out.shape[3] // 2].backward()
    rows = image.grad[0, 0].abs().sum(1).nonzero()
    assert int(rows.max() - rows.min() + 1) == receptive_field(n_layers) == size


def test_receptive_field_leaves_the_random_generator_alone():
    torch.manual_seed(0)
    state = torch.get_rng_state()
    receptive_field(3)
    assert torch.equal(torch.get_rng_state(), state)


def test_count_parameters_counts_frozen_parameters_and_no_buffers():
    net = NLayerDiscriminator(3, ndf=8, n_layers=2, norm="batch")
    everything = count_parameters(net)
    assert everything == sum(p.numel() for p in net.parameters())
    net.model[0].requires_grad_(False)  # frozen, as D is during G's update
    assert count_parameters(net) == everything
    assert sum(b.numel() for b in net.buffers()) > 0  # batch norm's statistics: not counted
