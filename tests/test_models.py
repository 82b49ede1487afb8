"""CycleGAN / pix2pix steps against losses recomputed by hand, update order, state, config."""

import copy
import io
import math

import pytest
import torch
import torch.nn.functional as F

from cyclegan_lib import models
from cyclegan_lib.losses import gradient_penalty
from cyclegan_lib.models import CycleGANModel, ModelConfig, Pix2PixModel, create_model
from cyclegan_lib.pipeline.options import parse_test_options, parse_train_options

SMALL = dict(ngf=4, ndf=4, netG="resnet_1blocks", netD="n_layers", n_layers_D=2)


def batch(channels_a: int = 3, channels_b: int = 3, size: int = 16, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(2, channels_a, size, size, generator=g) * 2 - 1,
        "B": torch.rand(2, channels_b, size, size, generator=g) * 2 - 1,
        "A_paths": ["a0.png", "a1.png"],
        "B_paths": ["b0.png", "b1.png"],
    }


def cyclegan(seed: int = 0, **overrides) -> CycleGANModel:
    torch.manual_seed(seed)
    config = ModelConfig.for_model("cycle_gan", **{**SMALL, **overrides})
    return CycleGANModel(config, "cpu", torch.Generator().manual_seed(seed))


def record_frozen(net: torch.nn.Module, log: list) -> None:
    """Append, at every forward call of ``net``, whether its parameters were frozen."""
    net.register_forward_pre_hook(
        lambda module, args: log.append(not next(module.parameters()).requires_grad)
    )


def test_cyclegan_losses_match_hand_computation():
    model = cyclegan()
    data = batch()
    G_A, G_B = copy.deepcopy(model.netG_A), copy.deepcopy(model.netG_B)
    D_A, D_B = copy.deepcopy(model.netD_A), copy.deepcopy(model.netD_B)
    A, B = data["A"], data["B"]
    with torch.no_grad():
        fake_B, fake_A = G_A(A), G_B(B)
        expected = {
            "G_A": F.mse_loss(D_A(fake_B), torch.ones(2, 1, 2, 2)),
            "G_B": F.mse_loss(D_B(fake_A), torch.ones(2, 1, 2, 2)),
            "cycle_A": 10 * F.l1_loss(G_B(fake_B), A),
            "cycle_B": 10 * F.l1_loss(G_A(fake_A), B),
            "idt_A": 10 * 0.5 * F.l1_loss(G_A(B), B),
            "idt_B": 10 * 0.5 * F.l1_loss(G_B(A), A),
            # D after G's step, on the fakes made before it (the pool is still filling)
            "D_A": 0.5 * (D_A(B).sub(1).pow(2).mean() + D_A(fake_B).pow(2).mean()),
            "D_B": 0.5 * (D_B(A).sub(1).pow(2).mean() + D_B(fake_A).pow(2).mean()),
        }
    model.set_input(data)
    losses = model.optimize_parameters()
    assert list(losses) == ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
    for name, value in expected.items():
        assert losses[name] == pytest.approx(value.item(), rel=1e-5), name
    assert all(isinstance(v, float) for v in losses.values())


def test_cyclegan_updates_generators_with_frozen_discriminators_first():
    model = cyclegan()
    calls: list[bool] = []
    record_frozen(model.netD_A, calls)
    before = {name: copy.deepcopy(net.state_dict()) for name, net in model.networks().items()}
    model.set_input(batch())
    model.optimize_parameters()
    assert calls == [True, False, False]  # G step (frozen), then D on real and on fake
    for name, net in model.networks().items():
        changed = any(not torch.equal(before[name][k], v) for k, v in net.state_dict().items())
        assert changed, name
    assert all(p.requires_grad for p in model.netD_A.parameters())


def test_a_cycle_weighted_zero_is_not_differentiated_and_changes_nothing():
    """The no-cycle ablation skips the cycle's backward pass; the weights end up the same."""
    fast = cyclegan(lambda_A=0.0, lambda_B=0.0, lambda_identity=0.0)
    plain = copy.deepcopy(fast)

    def forward_with_autograd(self=plain):  # what forward() did before the shortcut
        self.fake_B = self.netG_A(self.real_A)
        self.rec_A = self.netG_B(self.fake_B)
        self.fake_A = self.netG_B(self.real_B)
        self.rec_B = self.netG_A(self.fake_A)

    plain.forward = forward_with_autograd
    for model in (fast, plain):
        model.set_input(batch())
        losses = model.optimize_parameters()
        assert losses["cycle_A"] == losses["cycle_B"] == 0.0
    assert not fast.rec_A.requires_grad and plain.rec_A.requires_grad
    for name, net in fast.networks().items():
        for key, value in net.state_dict().items():
            assert torch.allclose(value, plain.networks()[name].state_dict()[key]), (name, key)
    cycled = cyclegan()
    cycled.set_input(batch())
    cycled.forward()
    assert cycled.rec_A.requires_grad and cycled.rec_B.requires_grad


def test_adam_settings_follow_reference():
    model = cyclegan(lr=0.001, beta1=0.3)
    for optimizer in model.optimizers.values():
        assert isinstance(optimizer, torch.optim.Adam)
        assert optimizer.param_groups[0]["betas"] == (0.3, 0.999)
        assert optimizer.param_groups[0]["lr"] == 0.001
    n_g = sum(p.numel() for p in model.optimizers["G"].param_groups[0]["params"])
    assert n_g == sum(p.numel() for net in (model.netG_A, model.netG_B) for p in net.parameters())


def test_direction_b_to_a_swaps_sides():
    model = cyclegan(direction="BtoA")
    data = batch()
    model.set_input(data)
    assert torch.equal(model.real_A, data["B"]) and torch.equal(model.real_B, data["A"])
    assert model.image_paths == data["B_paths"]


def test_identity_needs_equal_channels():
    with pytest.raises(ValueError, match="--lambda_identity"):
        cyclegan(input_nc=1, output_nc=3)
    model = cyclegan(input_nc=1, output_nc=3, lambda_identity=0.0)
    model.set_input(batch(channels_a=1))
    losses = model.optimize_parameters()
    assert losses["idt_A"] == 0.0 and "idt_A" not in model.visuals()
    assert model.visuals()["fake_B"].shape == (2, 3, 16, 16)


def test_wgangp_adds_the_gradient_penalty_to_d():
    model = cyclegan(gan_mode="wgangp", pool_size=0)
    data = batch()
    G_A, D_A = copy.deepcopy(model.netG_A), copy.deepcopy(model.netD_A)
    penalty_rng = torch.Generator()
    penalty_rng.set_state(model.penalty_generator.get_state())
    fake_B = G_A(data["A"]).detach()
    critic = 0.5 * (-D_A(data["B"]).mean() + D_A(fake_B).mean())
    penalty = gradient_penalty(D_A, data["B"], fake_B, 10.0, generator=penalty_rng)
    assert penalty.item() > 0
    model.set_input(data)
    losses = model.optimize_parameters()
    assert losses["D_A"] == pytest.approx((critic + penalty).item(), rel=1e-5)


def test_pix2pix_defaults_and_step_order():
    config = ModelConfig.pix2pix(netG="unet_32", ngf=4, ndf=4)
    assert (config.norm, config.gan_mode, config.pool_size, config.no_dropout) == (
        "batch",
        "vanilla",
        0,
        False,
    )
    torch.manual_seed(0)
    model = Pix2PixModel(config, "cpu", torch.Generator().manual_seed(0))
    data = batch(size=32)
    G, D = copy.deepcopy(model.netG), copy.deepcopy(model.netD)
    calls: list[bool] = []
    record_frozen(model.netD, calls)
    model.set_input(data)
    torch.manual_seed(1)  # dropout noise
    losses = model.optimize_parameters()
    assert list(losses) == ["G_GAN", "G_L1", "D_real", "D_fake"]
    assert calls == [False, False, True]  # D on fake and real pairs first, then G with D frozen
    fake_B = model.fake_B.detach()
    real_AB = torch.cat([data["A"], data["B"]], 1)
    fake_AB = torch.cat([data["A"], fake_B], 1)
    with torch.no_grad():
        D.train()
        ones = torch.ones(2, 1, 2, 2)
        assert losses["D_real"] == pytest.approx(
            F.binary_cross_entropy_with_logits(D(real_AB), ones).item(), rel=1e-5
        )
        assert losses["G_L1"] == pytest.approx(100 * F.l1_loss(fake_B, data["B"]).item(), rel=1e-5)
        # G is judged by the D that was just updated
        updated = model.netD(fake_AB)
    assert losses["G_GAN"] == pytest.approx(
        F.binary_cross_entropy_with_logits(updated, ones).item(), rel=1e-4
    )
    assert not torch.equal(G.model.model[0].weight, model.netG.model.model[0].weight)


def test_state_dict_round_trip_continues_identically():
    data = batch()
    straight = cyclegan(seed=3, pool_size=2)
    for _ in range(3):
        straight.set_input(data)
        straight.optimize_parameters()
    straight.set_input(data)
    expected = straight.optimize_parameters()

    first = cyclegan(seed=3, pool_size=2)
    for _ in range(3):
        first.set_input(data)
        first.optimize_parameters()
    buffer = io.BytesIO()
    torch.save(first.state_dict(), buffer)
    buffer.seek(0)
    resumed = cyclegan(seed=99, pool_size=2)
    resumed.load_state_dict(torch.load(buffer, weights_only=True))
    resumed.set_input(data)
    assert resumed.optimize_parameters() == expected
    for (name, a), b in zip(straight.networks().items(), resumed.networks().values(), strict=True):
        for key, value in a.state_dict().items():
            assert torch.equal(value, b.state_dict()[key]), (name, key)


def test_nan_input_shows_in_losses():
    model = cyclegan()
    data = batch()
    data["A"][0, 0, 0, 0] = math.nan
    model.set_input(data)
    losses = model.optimize_parameters()
    assert not all(math.isfinite(v) for v in losses.values())


def test_inference_models_and_modes():
    torch.manual_seed(0)
    config = ModelConfig(
        model="test",
        is_train=False,
        netG="unet_32",
        ngf=4,
        norm="batch",
        no_dropout=False,
        model_suffix="_A",
    )
    model = create_model(config)
    assert isinstance(model, models.TestModel) and list(model.networks()) == ["G_A"]
    model.eval()
    assert not model.netG.training
    model.set_input({"A": torch.zeros(1, 3, 32, 32), "A_paths": ["x.png"]})
    visuals = model.test()
    assert list(visuals) == ["real", "fake"] and not visuals["fake"].requires_grad
    assert torch.equal(model.test()["fake"], visuals["fake"])  # eval: dropout off

    cycle = create_model(ModelConfig(is_train=False, **SMALL))
    assert list(cycle.networks()) == ["G_A", "G_B"]
    cycle.set_input(batch())
    assert list(cycle.test()) == ["real_A", "fake_B", "rec_A", "real_B", "fake_A", "rec_B"]


def test_bad_model_name_and_training_test_model():
    with pytest.raises(ValueError, match="--model 'gan'"):
        create_model(ModelConfig(model="gan"))
    with pytest.raises(ValueError, match="testing only"):
        models.TestModel(ModelConfig(model="test"))


def test_config_from_command_line_options():
    train_opt = parse_train_options(["--dataroot", "d", "--model", "pix2pix"])
    train = ModelConfig.from_options(train_opt, is_train=True)
    assert train == ModelConfig.pix2pix(gan_mode="vanilla")
    assert train.is_train
    test_opt = parse_test_options(["--dataroot", "d", "--no_dropout", "--model_suffix", "_B"])
    test = ModelConfig.from_options(test_opt, is_train=False)
    assert (test.model, test.is_train, test.model_suffix, test.no_dropout) == (
        "test",
        False,
        "_B",
        True,
    )


def test_plain_config_is_the_references_base_and_each_model_adds_its_own_defaults():
    assert not ModelConfig().no_dropout  # the reference's --no_dropout is off unless set
    assert ModelConfig.for_model("cycle_gan").no_dropout  # CycleGAN's generators: no dropout
    pix2pix = ModelConfig.for_model("pix2pix")
    assert (pix2pix.netG, pix2pix.norm, pix2pix.no_dropout) == ("unet_256", "batch", False)
    assert ModelConfig.for_model("pix2pix", netG="unet_32").netG == "unet_32"


def test_discriminators_are_trained_on_pool_samples():
    model = cyclegan()
    data = batch()
    D_A = copy.deepcopy(model.netD_A)
    model.pools["fake_B"].query = lambda images: torch.zeros_like(images)  # a pool of blanks
    model.set_input(data)
    losses = model.optimize_parameters()
    with torch.no_grad():
        expected = 0.5 * (
            D_A(data["B"]).sub(1).pow(2).mean() + D_A(torch.zeros(2, 3, 16, 16)).pow(2).mean()
        )
    assert losses["D_A"] == pytest.approx(expected.item(), rel=1e-5)


def dropout_and_batch_norm_net() -> torch.nn.Module:
    torch.manual_seed(0)
    layers = [torch.nn.Conv2d(3, 4, 1), torch.nn.BatchNorm2d(4), torch.nn.Dropout(0.5)]
    return torch.nn.Sequential(*layers).train()


def test_translate_in_eval_mode_is_per_image_and_restores_the_mode():
    net, images = dropout_and_batch_norm_net(), torch.randn(10, 3, 8, 8)
    chunked = models.translate(net, images, batch_size=3)
    assert net.training, "the network's own mode comes back"
    net.eval()
    with torch.no_grad():
        assert torch.allclose(chunked, net(images), atol=1e-6)
    alone = models.translate(net, images[:1])
    assert torch.allclose(alone, chunked[:1], atol=1e-6), "no dependence on the rest of the batch"


def test_translate_like_the_reference_test_keeps_batch_statistics_and_dropout():
    net, images = dropout_and_batch_norm_net(), torch.randn(10, 3, 8, 8)
    before = copy.deepcopy(net.state_dict())
    first = models.translate(net, images, batch_size=5, eval_mode=False)
    second = models.translate(net, images, batch_size=5, eval_mode=False)
    assert not torch.equal(first, second), "dropout stays on, as in the reference without --eval"
    for key, value in net.state_dict().items():
        assert torch.equal(value, before[key]), f"{key} changed"
    net[2].p = 0.0  # without dropout, each chunk is normalised by its own statistics
    no_dropout = models.translate(net, images, batch_size=5, eval_mode=False)
    with torch.no_grad():
        expected = torch.cat([net[:2](chunk) for chunk in images.split(5)])
    assert torch.allclose(no_dropout, expected, atol=1e-6)


@pytest.mark.parametrize(
    "rgb, lab",
    [  # CIELAB of the sRGB primaries and white (D65), as scikit-image's rgb2lab gives them
        ((1.0, 1.0, 1.0), (100.0, 0.0, 0.0)),
        ((1.0, 0.0, 0.0), (53.2408, 80.0925, 67.2032)),
        ((0.0, 1.0, 0.0), (87.7347, -86.1827, 83.1793)),
        ((0.0, 0.0, 1.0), (32.2970, 79.1875, -107.8602)),
        ((0.0, 0.0, 0.0), (0.0, 0.0, 0.0)),
    ],
)
def test_rgb_to_lab_known_values_and_back(rgb, lab):
    image = torch.tensor(rgb).view(3, 1, 1)
    got = models.rgb_to_lab(image).flatten()
    assert torch.allclose(got, torch.tensor(lab), atol=0.01), got
    assert torch.allclose(models.lab_to_rgb(models.rgb_to_lab(image)), image, atol=1e-5)


def test_lab_round_trip_on_random_images():
    images = torch.rand(2, 3, 8, 8, generator=torch.Generator().manual_seed(0))
    assert torch.allclose(models.lab_to_rgb(models.rgb_to_lab(images)), images, atol=1e-5)
    L, ab = models.lab_to_model(models.rgb_to_lab(images))
    assert L.shape == (2, 1, 8, 8) and ab.shape == (2, 2, 8, 8)
    assert L.min() >= -1 and L.max() <= 1 and ab.abs().max() <= 1
    assert torch.allclose(models.model_to_rgb(L, ab), images * 2 - 1, atol=1e-4)


def test_colorization_model_trains_l_to_ab_and_shows_rgb():
    torch.manual_seed(0)
    config = ModelConfig.for_model("colorization", netG="unet_32", ngf=4, ndf=4)
    assert (config.input_nc, config.output_nc) == (1, 2)
    model = create_model(config)
    assert isinstance(model, models.ColorizationModel)
    lab = models.rgb_to_lab(torch.rand(2, 3, 32, 32))
    L, ab = models.lab_to_model(lab)
    model.set_input({"A": L, "B": ab, "A_paths": ["a", "b"], "B_paths": ["a", "b"]})
    losses = model.optimize_parameters()
    assert list(losses) == ["G_GAN", "G_L1", "D_real", "D_fake"]
    assert all(math.isfinite(v) for v in losses.values())
    visuals = model.visuals()
    assert list(visuals) == ["real_A", "real_B_rgb", "fake_B_rgb"]
    assert visuals["real_B_rgb"].shape == visuals["fake_B_rgb"].shape == (2, 3, 32, 32)
    assert torch.allclose(visuals["real_B_rgb"], models.lab_to_rgb(lab) * 2 - 1, atol=1e-4)
    with pytest.raises(ValueError, match="--output_nc 3"):
        create_model(ModelConfig.for_model("colorization", output_nc=3, netG="unet_32"))
