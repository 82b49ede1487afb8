"""Small-scale pix2pix / CycleGAN training on the digits: batches, schedule, arms, evaluation."""

from dataclasses import replace

import pytest
import torch

from cyclegan_lib.course.digits import (
    PairedDigits,
    UnpairedDigits,
    UnpairedDomains,
    paired_digits,
)
from cyclegan_lib.course.env import seed_everything
from cyclegan_lib.lessons.digit_translation import (
    DigitRecipe,
    L1OnlyModel,
    batch_indices,
    cyclegan_config,
    evaluate_translation,
    linear_decay_schedulers,
    pix2pix_config,
    train_cyclegan_digits,
    train_l1_only_digits,
    train_pix2pix_digits,
)
from cyclegan_lib.models import Pix2PixModel, translate

TINY = dict(steps=3, batch_size=4, ngf=4, ndf=4)


@pytest.fixture(scope="module")
def paired() -> PairedDigits:
    data = paired_digits("test")
    return PairedDigits(data.clean[:40], data.color[:40], data.labels[:40])


@pytest.fixture(scope="module")
def unpaired(paired) -> UnpairedDigits:
    return UnpairedDigits(
        paired.clean[:20], paired.labels[:20], paired.color[20:], paired.labels[20:]
    )


@pytest.mark.parametrize(
    "kwargs, word",
    [({"steps": 0}, "steps"), ({"steps": 5, "batch_size": 0}, "batch_size"),
     ({"steps": 5, "decay_fraction": 1.5}, "decay_fraction")],
)  # fmt: skip
def test_recipe_rejects_bad_values(kwargs, word):
    with pytest.raises(ValueError, match=word):
        DigitRecipe(**kwargs)


def test_batches_cover_every_item_once_per_epoch():
    batches = list(batch_indices(10, 3, 6, torch.Generator().manual_seed(0)))
    assert len(batches) == 6 and all(len(b) == 3 for b in batches)
    first_epoch = torch.cat(batches[:3])
    assert len(set(first_epoch.tolist())) == 9  # no repeats within an epoch
    again = list(batch_indices(10, 3, 6, torch.Generator().manual_seed(0)))
    assert all(torch.equal(a, b) for a, b in zip(batches, again, strict=True))


def test_linear_decay_is_constant_then_reaches_near_zero():
    recipe = DigitRecipe(steps=10, lr=1e-3, decay_fraction=0.4)
    optimizer = torch.optim.Adam([torch.zeros(1, requires_grad=True)], lr=recipe.lr)
    (scheduler,) = linear_decay_schedulers({"G": optimizer}, recipe)
    rates = []
    for _ in range(recipe.steps):
        rates.append(optimizer.param_groups[0]["lr"])
        optimizer.step()
        scheduler.step()
    assert rates[:6] == pytest.approx([1e-3] * 6)
    assert all(a > b for a, b in zip(rates[5:], rates[6:], strict=False))
    assert rates[-1] == pytest.approx(1e-3 / 5)


def test_configs_follow_the_papers_defaults():
    recipe = DigitRecipe(steps=1)
    p2p, cyc = pix2pix_config(recipe), cyclegan_config(recipe)
    assert (p2p.input_nc, p2p.output_nc, p2p.gan_mode, p2p.norm, p2p.pool_size) == (
        3, 1, "vanilla", "batch", 0,
    )  # fmt: skip
    assert p2p.lambda_L1 == 100.0
    assert (cyc.input_nc, cyc.output_nc, cyc.gan_mode, cyc.norm, cyc.pool_size) == (
        1, 3, "lsgan", "instance", 50,
    )  # fmt: skip
    assert cyc.lambda_A == cyc.lambda_B == 10.0 and cyc.lambda_identity == 0.0


def test_l1_only_arm_starts_from_the_same_generator_as_pix2pix():
    config = pix2pix_config(DigitRecipe(**TINY))
    seed_everything(0)
    cgan = Pix2PixModel(config, generator=torch.Generator().manual_seed(0))
    seed_everything(0)
    l1_only = L1OnlyModel(config)
    for (name, a), b in zip(
        cgan.netG.state_dict().items(), l1_only.netG.state_dict().values(), strict=True
    ):
        assert torch.equal(a, b), name


def test_pix2pix_and_l1_only_train_and_are_deterministic(paired):
    recipe = DigitRecipe(**TINY)
    run = train_pix2pix_digits(paired, recipe)
    assert set(run.history) == {"G_GAN", "G_L1", "D_real", "D_fake"}
    assert all(len(v) == recipe.steps for v in run.history.values())
    assert translate(run.generators["G"], paired.color[:5]).shape == (5, 1, 32, 32)
    again = train_pix2pix_digits(paired, recipe)
    assert again.history == run.history
    l1_run = train_l1_only_digits(paired, recipe)
    assert list(l1_run.history) == ["G_L1"]
    # same initial G and same first batch: the first L1 values agree
    assert l1_run.history["G_L1"][0] == pytest.approx(run.history["G_L1"][0])


def test_l1_only_training_lowers_the_l1_loss(paired):
    run = train_l1_only_digits(paired, DigitRecipe(steps=12, batch_size=8, ngf=4, lr=2e-3))
    losses = run.history["G_L1"]
    assert sum(losses[-3:]) < sum(losses[:3])


def test_cyclegan_arms(unpaired):
    recipe = DigitRecipe(**TINY)
    run = train_cyclegan_digits(unpaired, recipe)
    G, F = run.generators["G"], run.generators["F"]
    assert translate(G, unpaired.clean[:2]).shape == (2, 3, 32, 32)
    assert translate(F, unpaired.color[:2]).shape == (2, 1, 32, 32)
    assert min(run.history["cycle_A"]) > 0
    no_cycle = train_cyclegan_digits(unpaired, recipe, lambda_cycle=0.0)
    assert no_cycle.history["cycle_A"] == [0.0] * recipe.steps
    assert no_cycle.history["cycle_B"] == [0.0] * recipe.steps
    only_x_cycle = train_cyclegan_digits(unpaired, recipe, lambda_y=0.0)
    assert only_x_cycle.history["cycle_B"] == [0.0] * recipe.steps
    assert min(only_x_cycle.history["cycle_A"]) > 0


@pytest.mark.slow
def test_arms_side_by_side_match_arms_one_after_the_other(unpaired, monkeypatch):
    from cyclegan_lib.lessons import digit_translation

    recipe = DigitRecipe(**TINY)
    flipped = UnpairedDomains(unpaired.x.flip(-1), unpaired.x_labels, unpaired.y, unpaired.y_labels)
    arms = {
        "cycle": {"lambda_cycle": 10.0, "lambda_y": 1.0, "snapshot_every": 2},
        "no cycle": {"lambda_cycle": 0.0},
        "flipped x, 2 steps": {"data": flipped, "recipe": replace(recipe, steps=2)},
    }
    side_by_side = digit_translation.train_cyclegan_arms(unpaired, recipe, arms)
    monkeypatch.setattr(digit_translation, "cpu_budget", lambda: 1)
    in_turn = digit_translation.train_cyclegan_arms(unpaired, recipe, arms)
    assert list(side_by_side) == list(in_turn) == list(arms)
    assert len(side_by_side["flipped x, 2 steps"].history["cycle_A"]) == 2
    for name in arms:
        assert side_by_side[name].history == in_turn[name].history, name
        assert side_by_side[name].model is None and in_turn[name].model is not None
        for key in ("G", "F"):
            weights = side_by_side[name].generators[key].state_dict()
            for param, value in in_turn[name].generators[key].state_dict().items():
                assert torch.equal(weights[param], value), (name, key, param)
    kept = side_by_side["cycle"].snapshots
    assert sorted(kept) == [2, 3] and side_by_side["no cycle"].snapshots == {}
    for param, value in in_turn["cycle"].snapshots[2]["G"].items():
        assert torch.equal(kept[2]["G"][param], value), param
    assert side_by_side["no cycle"].history["cycle_A"] == [0.0] * recipe.steps
    assert min(side_by_side["cycle"].history["cycle_A"]) > 0


@pytest.mark.slow
def test_evaluate_translation_on_the_true_images(paired):
    numbers = evaluate_translation(paired.clean, "clean", paired.labels, target=paired.clean)
    assert numbers["l1_to_target"] == 0.0
    assert numbers["label_accuracy"] >= 0.9
    blank = evaluate_translation(
        -torch.ones_like(paired.clean), "clean", paired.labels, paired.clean
    )
    assert blank["label_accuracy"] < 0.5 and blank["l1_to_target"] > 0.1


@pytest.mark.slow
def test_arms_script_prints_one_row_per_lambda_y(capsys):
    import runpy

    from cyclegan_lib.course.env import repo_root

    script = runpy.run_path(str(repo_root() / "bench" / "digit_cyclegan_arms.py"))
    script["main"](["--steps", "2", "--ngf", "4", "--ndf", "4", "--lambda_y", "1", "10"])
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[:2] for row in rows] == [["10.0", "1.0"], ["10.0", "10.0"]]
    for row in rows:  # two accuracies in [0, 100] %
        assert all(0.0 <= float(cell.rstrip("%")) <= 100.0 for cell in row[2:4])


def test_the_l1_only_model_trains_on_the_recipes_device():
    from cyclegan_lib.lessons.digit_translation import L1OnlyModel, pix2pix_config

    recipe = DigitRecipe(steps=1, ngf=4, ndf=4, device="meta")
    model = L1OnlyModel(pix2pix_config(recipe), recipe.device)
    model.set_input({"A": torch.zeros(1, 3, 32, 32), "B": torch.zeros(1, 1, 32, 32)})
    assert {p.device.type for p in model.netG.parameters()} == {"meta"}
    assert model.real_A.device.type == model.real_B.device.type == "meta"


def test_arms_on_a_gpu_train_one_after_the_other_in_this_process(monkeypatch):
    import cyclegan_lib.lessons.digit_translation as digit_translation

    trained = []

    def fake_train(data, recipe, **weights):
        trained.append((recipe.device, weights))
        return weights

    monkeypatch.setattr(digit_translation, "train_cyclegan_digits", fake_train)
    monkeypatch.setattr(digit_translation, "ProcessPoolExecutor", None)  # fails if used
    arms = {"cycle": {"lambda_cycle": 10.0}, "no cycle": {"lambda_cycle": 0.0}}
    runs = digit_translation.train_cyclegan_arms(None, DigitRecipe(steps=1, device="cuda"), arms)
    assert runs == arms
    assert trained == [("cuda", arms["cycle"]), ("cuda", arms["no cycle"])]


def test_an_arm_may_bring_its_own_data_and_recipe(monkeypatch):
    import cyclegan_lib.lessons.digit_translation as digit_translation

    trained = []

    def fake_train(data, recipe, **settings):
        trained.append((data, recipe.steps, settings))

    monkeypatch.setattr(digit_translation, "train_cyclegan_digits", fake_train)
    monkeypatch.setattr(digit_translation, "cpu_budget", lambda: 1)  # one after the other
    short = DigitRecipe(steps=2)
    arms = {
        "shared": {"lambda_cycle": 10.0},
        "own": {"data": "other pair", "recipe": short, "lambda_identity": 0.5},
    }
    digit_translation.train_cyclegan_arms("pair", DigitRecipe(steps=5), arms)
    assert trained == [
        ("pair", 5, {"lambda_cycle": 10.0}),
        ("other pair", 2, {"lambda_identity": 0.5}),
    ]
    assert "data" in arms["own"]  # the caller's settings are left as they were


def test_snapshots_copy_the_generators_without_changing_the_training(unpaired):
    recipe = DigitRecipe(**TINY)
    kept = train_cyclegan_digits(unpaired, recipe, snapshot_every=2, show_progress=False)
    plain = train_cyclegan_digits(unpaired, recipe, show_progress=False)
    assert kept.history == plain.history and plain.snapshots == {}
    assert sorted(kept.snapshots) == [2, 3]  # every 2 steps, and the last
    final = kept.generators_at(3)
    for key in ("G", "F"):
        for name, value in kept.generators[key].state_dict().items():
            assert torch.equal(final[key].state_dict()[name], value), (key, name)
    earlier = kept.generators_at(2)["G"].state_dict()
    assert any(not torch.equal(earlier[k], v) for k, v in final["G"].state_dict().items())
    with pytest.raises(KeyError, match="kept: \\[2, 3\\]"):
        kept.generators_at(1)


def test_config_takes_the_channels_and_the_identity_weight():
    config = cyclegan_config(DigitRecipe(steps=1), lambda_identity=0.5, input_nc=3, output_nc=3)
    assert (config.input_nc, config.output_nc, config.lambda_identity) == (3, 3, 0.5)


def test_colour_to_colour_trains_with_the_identity_loss(paired):
    colours = UnpairedDomains(paired.color[:20], paired.labels[:20],
                              paired.color[20:].flip(-1), paired.labels[20:])  # fmt: skip
    recipe = DigitRecipe(**TINY)
    run = train_cyclegan_digits(colours, recipe, lambda_identity=0.5, show_progress=False)
    assert translate(run.generators["G"], colours.x[:2]).shape == (2, 3, 32, 32)
    assert min(run.history["idt_A"]) > 0 and min(run.history["idt_B"]) > 0
    without = train_cyclegan_digits(colours, recipe, show_progress=False)
    assert without.history["idt_A"] == [0.0] * recipe.steps
