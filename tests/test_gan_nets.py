"""Shapes, parameter counts and conditioning of the lesson 01-02 networks."""

import pytest
import torch

from cyclegan_lib.lessons.mnist_gans import (
    ConditionalDiscriminator,
    ConditionalGenerator,
    DCGANDiscriminator,
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    conditional_dcgan,
    generator_input,
    label_planes,
    sample_noise,
)
from cyclegan_lib.networks import count_parameters


def linear_params(n_in: int, n_out: int) -> int:
    return n_in * n_out + n_out


def test_mlp_shapes_and_parameter_count():
    G, D = MLPGenerator(z_dim=64, hidden=256), MLPDiscriminator(hidden=256)
    images = G(torch.randn(5, 64))
    assert images.shape == (5, 1, 32, 32)
    assert images.abs().max() <= 1  # tanh output
    assert D(images).shape == (5,)
    assert count_parameters(G) == linear_params(64, 256) + linear_params(256, 512) + linear_params(
        512, 1024
    )
    assert count_parameters(D) == linear_params(1024, 512) + linear_params(
        512, 256
    ) + linear_params(256, 1)


def test_dcgan_shapes_and_parameter_count():
    G, D = DCGANGenerator(z_dim=64, ngf=32), DCGANDiscriminator(channels=1, ndf=32)
    images = G(torch.randn(3, 64))
    assert images.shape == (3, 1, 32, 32)
    assert D(images).shape == (3,)
    # transposed convs 64->128->64->32 (4x4, no bias), 32->1 (bias), three batch norms
    g_count = 16 * (64 * 128 + 128 * 64 + 64 * 32 + 32 * 1) + 1 + 2 * (128 + 64 + 32)
    d_count = 16 * (1 * 32 + 32 * 64 + 64 * 128 + 128 * 1) + 32 + 1 + 2 * (64 + 128)
    assert (count_parameters(G), count_parameters(D)) == (g_count, d_count) == (295873, 166817)


def test_dcgan_init_follows_radford():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=64, ngf=32)
    conv = G.net[0].weight
    assert abs(conv.mean().item()) < 2e-3
    assert conv.std().item() == pytest.approx(0.02, rel=0.05)
    assert G.net[1].bias.abs().sum() == 0


@pytest.mark.parametrize("make", [lambda: DCGANGenerator(8, 4), lambda: DCGANDiscriminator(1, 4)])
def test_dcgan_weights_are_channels_last_and_compute_the_same(make):
    torch.manual_seed(0)
    net = make().eval()
    weights = [p for p in net.parameters() if p.dim() == 4]
    assert weights and all(w.is_contiguous(memory_format=torch.channels_last) for w in weights)
    same_weights_usual_layout = make().eval()
    same_weights_usual_layout.load_state_dict(net.state_dict())
    for p in same_weights_usual_layout.parameters():
        p.data = p.data.contiguous()
    x = torch.randn(2, 8) if isinstance(net, DCGANGenerator) else torch.randn(2, 1, 32, 32)
    assert torch.allclose(net(x), same_weights_usual_layout(x), atol=1e-5)


def test_generator_input_appends_one_hot_label():
    z = torch.randn(2, 3)
    out = generator_input(z, torch.tensor([0, 9]))
    assert out.shape == (2, 13)
    assert torch.equal(out[:, :3], z)
    assert out[0, 3].item() == 1 and out[1, 12].item() == 1
    assert out[:, 3:].sum().item() == 2


def test_label_planes_mark_the_label_channel_everywhere():
    x = torch.randn(2, 1, 4, 4)
    out = label_planes(x, torch.tensor([2, 7]))
    assert out.shape == (2, 11, 4, 4)
    assert torch.equal(out[:, :1], x)
    assert torch.equal(out[0, 1 + 2], torch.ones(4, 4))
    assert torch.equal(out[1, 1 + 7], torch.ones(4, 4))
    assert out[:, 1:].sum().item() == 2 * 16


def test_conditional_dcgan_uses_the_label():
    torch.manual_seed(0)
    G, D = conditional_dcgan(z_dim=16, ngf=8, ndf=8)
    assert isinstance(G, ConditionalGenerator) and isinstance(D, ConditionalDiscriminator)
    assert G.z_dim == 16
    G.eval()
    D.eval()
    z = torch.randn(1, 16).expand(2, -1)
    images = G(z, torch.tensor([3, 5]))
    assert images.shape == (2, 1, 32, 32)
    assert not torch.allclose(images[0], images[1])  # same noise, different digit
    same = images[:1].expand(2, -1, -1, -1)
    scores = D(same, torch.tensor([3, 5]))
    assert scores.shape == (2,) and scores[0] != scores[1]


def test_sample_noise_is_seeded():
    a = sample_noise(4, 8, torch.Generator().manual_seed(1))
    b = sample_noise(4, 8, torch.Generator().manual_seed(1))
    assert a.shape == (4, 8) and torch.equal(a, b)
