"""Lessons 03/04 exercises: references agree with the library's models, wrong answers are caught."""

import copy

import pytest
import torch

from cyclegan_lib.lessons.exercises import check, grade
from cyclegan_lib.lessons.exercises import lesson03 as l03
from cyclegan_lib.lessons.exercises import lesson04 as l04
from cyclegan_lib.lessons.widgets.patchgan_explorer import patchgan
from cyclegan_lib.models import CycleGANModel, ModelConfig, Pix2PixModel, frozen
from cyclegan_lib.networks import patch_geometry
from cyclegan_lib.pool import ImagePool

EXERCISES = [
    l03.RECEPTIVE_FIELD,
    l03.PATCHGAN_LAYERS,
    l03.CONDITIONAL_D_LOSS,
    l03.PIX2PIX_G_LOSS,
    l04.LSGAN_D_LOSS,
    l04.CYCLE_CONSISTENCY_LOSS,
    l04.QUERY_POOL,
    l04.CYCLEGAN_GENERATOR_LOSS,
    l04.CYCLEGAN_STEP,
]


def batch(nc_a: int, nc_b: int, seed: int = 0) -> dict:
    g = torch.Generator().manual_seed(seed)
    return {
        "A": torch.rand(2, nc_a, 32, 32, generator=g) * 2 - 1,
        "B": torch.rand(2, nc_b, 32, 32, generator=g) * 2 - 1,
        "A_paths": [],
        "B_paths": [],
    }


SMALL = dict(netG="unet_32", ngf=4, ndf=4, netD="n_layers", n_layers_D=2)


def test_pix2pix_references_match_the_model_step():
    torch.manual_seed(0)
    model = Pix2PixModel(ModelConfig.pix2pix(input_nc=3, output_nc=1, **SMALL))
    model.set_input(batch(3, 1))
    d_before = copy.deepcopy(model.netD)
    losses = model.optimize_parameters()
    x, y, fake_y = model.real_A, model.real_B, model.fake_B.detach()
    d_loss = l03.conditional_d_loss(d_before, x, y, fake_y)
    assert d_loss.item() == pytest.approx(0.5 * (losses["D_real"] + losses["D_fake"]), rel=1e-5)
    g_loss = l03.pix2pix_g_loss(model.netD, x, y, fake_y, lambda_L1=100.0)
    assert g_loss.item() == pytest.approx(losses["G_GAN"] + losses["G_L1"], rel=1e-5)


def test_cyclegan_references_match_the_model_step():
    torch.manual_seed(0)
    config = ModelConfig.for_model(
        "cycle_gan", input_nc=1, output_nc=3, lambda_identity=0.0, **SMALL
    )
    model = CycleGANModel(config)
    model.set_input(batch(1, 3))
    G, F = copy.deepcopy(model.netG_A), copy.deepcopy(model.netG_B)
    D_X, D_Y = copy.deepcopy(model.netD_B), copy.deepcopy(model.netD_A)
    x, y = model.real_A, model.real_B
    cycle = l04.cycle_consistency_loss(x, y, G, F, 10.0)
    total = l04.cyclegan_generator_loss(x, y, G, F, D_X, D_Y, 10.0)
    losses = model.optimize_parameters()
    assert cycle.item() == pytest.approx(losses["cycle_A"] + losses["cycle_B"], rel=1e-5)
    expected = losses["G_A"] + losses["G_B"] + losses["cycle_A"] + losses["cycle_B"]
    assert total.item() == pytest.approx(expected, rel=1e-5)


@pytest.mark.parametrize("n_layers", [1, 2, 3])
def test_receptive_field_reference_agrees_with_the_network(n_layers):
    convs = [m for m in patchgan(n_layers).modules() if isinstance(m, torch.nn.Conv2d)]
    kernels = [c.kernel_size[0] for c in convs]
    strides = [c.stride[0] for c in convs]
    assert (
        l03.receptive_field(kernels, strides) == patch_geometry(patchgan(n_layers)).receptive_field
    )


def test_query_pool_is_the_library_pool():
    images = torch.randn(6, 1, 2, 2)
    stored: list[torch.Tensor] = []
    mine = [
        l04.query_pool(stored, images[i : i + 3], 4, torch.Generator().manual_seed(9))
        for i in (0, 3)
    ]
    pool = ImagePool(4, torch.Generator().manual_seed(9))
    first = pool.query(images[:3])
    pool.generator = torch.Generator().manual_seed(9)  # query_pool gets a fresh generator each call
    second = pool.query(images[3:])
    assert torch.equal(mine[0], first) and torch.equal(mine[1], second)
    assert all(torch.equal(a, b) for a, b in zip(stored, pool.images, strict=True))


def test_common_mistakes_get_specific_feedback(capsys):
    def patchgan_with_biases(input_nc, ndf, n_layers):  # a bias before every batch norm
        return [
            torch.nn.Conv2d(m.in_channels, m.out_channels, 4, m.stride, 1)
            if isinstance(m, torch.nn.Conv2d)
            else m
            for m in l03.patchgan_layers(input_nc, ndf, n_layers)
        ]

    def undetached_d_loss(D, x, y, fake_y):
        bce = torch.nn.functional.binary_cross_entropy_with_logits
        real, fake = D(torch.cat([x, y], 1)), D(torch.cat([x, fake_y], 1))
        return 0.5 * (bce(real, torch.ones_like(real)) + bce(fake, torch.zeros_like(fake)))

    def lsgan_without_half(d_real, d_fake):
        return ((d_real - 1) ** 2).mean() + (d_fake**2).mean()

    def pool_always_new(stored, images, pool_size, generator):
        return images

    for fn, exercise in [
        (patchgan_with_biases, l03.PATCHGAN_LAYERS),
        (undetached_d_loss, l03.CONDITIONAL_D_LOSS),
        (lsgan_without_half, l04.LSGAN_D_LOSS),
        (pool_always_new, l04.QUERY_POOL),
    ]:
        assert check(fn, exercise) is exercise.reference
        out = capsys.readouterr().out
        assert "❌" in out and exercise.hint[:20] in out
    assert "gradient reaches fake_y" in grade(undetached_d_loss, l03.CONDITIONAL_D_LOSS).message
    assert "Missing key" in grade(patchgan_with_biases, l03.PATCHGAN_LAYERS).message


@pytest.mark.parametrize(
    "case", l04._step_cases() + l04._hidden_step_cases(), ids=lambda case: case.label
)
def test_cyclegan_step_reference_is_the_model_step(case):
    step_case = case.args[0]
    model = step_case.model()
    for x, y in step_case.batches:
        model.set_input({"A": x, "B": y, "A_paths": [], "B_paths": []})
        model.optimize_parameters()
    mine = l04.train_a_few_steps(l04.cyclegan_step, step_case)["weights after the steps"]
    for name, net in l04.step_parts(model)["nets"].items():
        theirs = torch.cat([p.detach().flatten() for p in net.parameters()])
        tolerance = {"rtol": l04.CYCLEGAN_STEP.rtol, "atol": l04.CYCLEGAN_STEP.atol}
        assert torch.allclose(theirs, mine[name], **tolerance), name


@pytest.mark.parametrize("description", list(l04.CYCLEGAN_STEP.mistakes))
def test_each_known_step_mistake_is_named(description):
    wrong = l04.CYCLEGAN_STEP.mistakes[description]
    outcome = grade(wrong, l04.CYCLEGAN_STEP)
    assert outcome.status == "failed"
    assert f"This is what happens when {description}." in outcome.message


def test_a_step_that_forgets_detach_fails_where_the_pool_does_not_detach():
    def undetached(x, y, nets, optimizers, pools, lambda_x=10.0, lambda_y=10.0):
        fake_x, fake_y = nets["F"](y), nets["G"](x)
        with frozen([nets["D_X"], nets["D_Y"]]):
            g_loss = l04.generators_loss(x, y, fake_x, fake_y, nets, lambda_x, lambda_y)
            l04.minimise(optimizers["G"], g_loss)
        d_y, d_x = nets["D_Y"], nets["D_X"]
        d_loss = l04.halved_lsgan_d_loss(d_y(y), d_y(pools["Y"].query(fake_y)))
        d_loss = d_loss + l04.halved_lsgan_d_loss(d_x(x), d_x(pools["X"].query(fake_x)))
        l04.minimise(optimizers["D"], d_loss)
        return g_loss, d_loss

    outcome = grade(undetached, l04.CYCLEGAN_STEP)
    assert outcome.status == "failed" and outcome.passed == 1  # the pool of 2 detaches
    assert "pool_size 0" in outcome.message
