"""The lesson 01-02 training step and loop: exact wiring, determinism, snapshots."""

import copy
import math

import pytest
import torch
import torch.nn.functional as F

from cyclegan_lib.course import env
from cyclegan_lib.lessons import gan_loop as gan_training
from cyclegan_lib.lessons.exercises.lesson01 import LinearD, LinearG
from cyclegan_lib.lessons.gan_loop import (
    GanRecipe,
    conditional_recipe,
    dcgan_recipe,
    generate,
    r1_penalty,
    refresh_batch_norm,
    train_gan,
    train_step,
    update_average,
)
from cyclegan_lib.lessons.mnist_gans import (
    DCGANGenerator,
    MLPDiscriminator,
    MLPGenerator,
    conditional_dcgan,
    sample_noise,
)


@pytest.mark.parametrize("r1_gamma", [0.0, 3.0])
def test_train_step_matches_a_hand_written_step(r1_gamma):
    real = torch.randn(3, 1, 2, 2, generator=torch.Generator().manual_seed(0))
    z = torch.randn(3, 2, generator=torch.Generator().manual_seed(1))
    G, D = LinearG(), LinearD()
    sgd = lambda net: torch.optim.SGD(net.parameters(), lr=0.1)  # noqa: E731
    numbers = train_step(G, D, sgd(G), sgd(D), real, z, r1_gamma=r1_gamma)

    G_ref, D_ref = LinearG(), LinearD()
    fake = G_ref(z)
    d_loss = -F.logsigmoid(D_ref(real)).mean() - F.logsigmoid(-D_ref(fake.detach())).mean()
    # A linear D(x) = w.x + b has grad_x D = w at every x, so R1 = |w|^2 / 2.
    d_loss = d_loss + r1_gamma * D_ref.linear.weight.pow(2).sum() / 2
    d_grads = torch.autograd.grad(d_loss, list(D_ref.parameters()))
    with torch.no_grad():
        for p, g in zip(D_ref.parameters(), d_grads, strict=True):
            p -= 0.1 * g
    g_loss = -F.logsigmoid(D_ref(fake)).mean()  # judged by the *updated* D
    g_grads = torch.autograd.grad(g_loss, list(G_ref.parameters()))
    with torch.no_grad():
        for p, g in zip(G_ref.parameters(), g_grads, strict=True):
            p -= 0.1 * g

    assert numbers["d_loss"] == pytest.approx(d_loss.item(), rel=1e-5)
    assert numbers["g_loss"] == pytest.approx(g_loss.item(), rel=1e-5)
    for mine, theirs in zip(
        [*G.parameters(), *D.parameters()], [*G_ref.parameters(), *D_ref.parameters()], strict=True
    ):
        assert torch.allclose(mine, theirs, atol=1e-6)
    assert 0 < numbers["d_fake"] < 1 and 0 < numbers["d_real"] < 1
    # G's step froze D: D holds the gradients of its own step only, and is trainable again.
    for p, g in zip(D.parameters(), d_grads, strict=True):
        assert p.requires_grad and torch.allclose(p.grad, g, atol=1e-6)


def test_train_step_leaves_a_frozen_part_of_d_frozen():
    G, D = LinearG(), LinearD()
    D.linear.bias.requires_grad_(False)
    sgd = lambda params: torch.optim.SGD(params, lr=0.1)  # noqa: E731
    train_step(
        G, D, sgd(G.parameters()), sgd([D.linear.weight]), torch.ones(2, 1, 2, 2), torch.ones(2, 2)
    )
    assert D.linear.weight.requires_grad and not D.linear.bias.requires_grad


def test_r1_penalty_is_half_the_squared_input_gradient():
    x = torch.tensor([[1.0, 2.0], [-1.0, 0.5]], requires_grad=True)
    logits = (x**2).sum(1)  # grad_x = 2x, so |grad|^2 = 4 |x|^2 per image
    expected = 0.5 * (4 * (x.detach() ** 2).sum(1)).mean()
    penalty = r1_penalty(logits, x)
    assert penalty.item() == pytest.approx(expected.item())
    assert penalty.requires_grad  # D's optimiser must be able to minimise it


def test_train_gan_applies_r1_lazily(monkeypatch):
    gammas = []

    def recording_step(*args):
        gammas.append(args[-1])
        return train_step(*args)

    monkeypatch.setattr(gan_training, "train_step", recording_step)
    tiny_run(steps=8, r1_gamma=0.5, r1_every=4)
    assert gammas == [0, 0, 0, 2.0, 0, 0, 0, 2.0]  # every 4th step, weighted 4 x 0.5


def tiny_run(steps: int = 6, snapshot_every: int = 0, **recipe):
    torch.manual_seed(0)
    G, D = MLPGenerator(z_dim=8, hidden=16), MLPDiscriminator(hidden=16)
    images = torch.rand(40, 1, 32, 32) * 2 - 1
    fixed_z = torch.randn(4, 8)
    tiny = GanRecipe(steps=steps, batch_size=8, z_dim=8, seed=2, **recipe)
    history = train_gan(G, D, images, tiny, fixed_z=fixed_z, snapshot_every=snapshot_every)
    return G, history


def test_train_gan_records_history_and_snapshots():
    _, history = tiny_run(steps=6, snapshot_every=4)
    assert history.steps == [1, 2, 3, 4, 5, 6]
    assert (
        len(history.d_loss)
        == len(history.g_loss)
        == len(history.d_real)
        == len(history.d_fake)
        == 6
    )
    assert all(math.isfinite(v) for v in history.d_loss + history.g_loss)
    assert [step for step, _ in history.snapshots] == [4, 6]
    assert history.snapshots[0][1].shape == (4, 1, 32, 32)
    assert history.seconds > 0


def test_train_gan_is_deterministic_for_a_seed():
    G_a, history_a = tiny_run()
    G_b, history_b = tiny_run()
    assert history_a.d_loss == history_b.d_loss
    assert all(torch.equal(a, b) for a, b in zip(G_a.parameters(), G_b.parameters(), strict=True))


def test_discriminator_learns_to_separate_real_from_noise():
    torch.manual_seed(0)
    G, D = MLPGenerator(z_dim=8, hidden=32), MLPDiscriminator(hidden=32)
    images = torch.ones(64, 1, 32, 32) * torch.linspace(-1, 1, 32)  # a fixed gradient image
    history = train_gan(G, D, images, GanRecipe(steps=30, batch_size=16, lr=1e-3, z_dim=8))
    assert sum(history.d_loss[-5:]) / 5 < sum(history.d_loss[:5]) / 5


def test_conditional_training_passes_labels():
    torch.manual_seed(0)
    G, D = conditional_dcgan(z_dim=8, ngf=4, ndf=4)
    images, labels = torch.rand(20, 1, 32, 32) * 2 - 1, torch.arange(20) % 10
    fixed_z, fixed_y = torch.randn(10, 8), torch.arange(10)
    tiny = GanRecipe(steps=2, batch_size=4, z_dim=8)
    history = train_gan(G, D, images, tiny, labels, fixed_z=fixed_z, fixed_labels=fixed_y)
    assert history.snapshots[-1][1].shape == (10, 1, 32, 32)


def test_generate_is_per_sample_and_restores_training_mode():
    torch.manual_seed(0)
    G, D = conditional_dcgan(z_dim=8, ngf=4, ndf=4)
    G.train()
    z, y = torch.randn(6, 8), torch.arange(6)
    batch = generate(G, z, y, batch_size=4)
    alone = generate(G, z[5:], y[5:])
    assert G.training
    assert batch.shape == (6, 1, 32, 32)
    assert torch.allclose(batch[5:], alone, atol=1e-6)  # eval-mode batch norm: no batch coupling


def test_refresh_batch_norm_measures_the_current_generator():
    torch.manual_seed(0)
    G = DCGANGenerator(z_dim=8, ngf=4)
    first_norm = G.net[1]
    first_norm.running_mean.fill_(5.0)  # stale statistics
    weights = [p.clone() for p in G.parameters()]
    G.eval()
    refresh_batch_norm(G, batches=4, batch_size=16, seed=3)
    rng = torch.Generator().manual_seed(3)
    z = torch.cat([sample_noise(16, 8, rng) for _ in range(4)])
    with torch.no_grad():
        pre_norm = G.net[0](z.view(64, 8, 1, 1))
    assert torch.allclose(first_norm.running_mean, pre_norm.mean(dim=(0, 2, 3)), atol=1e-5)
    assert first_norm.momentum == 0.1 and not G.training
    assert all(torch.equal(a, b) for a, b in zip(weights, G.parameters(), strict=True))


def test_update_average_follows_the_formula():
    G, G_avg = LinearG(), LinearG()
    with torch.no_grad():
        G_avg.linear.weight.zero_()
        G.linear.weight.fill_(1.0)
    update_average(G_avg, G, decay=0.99, step=0)  # warm-up: d = min(0.99, 1/10)
    assert torch.allclose(G_avg.linear.weight, torch.full_like(G.linear.weight, 0.9))
    update_average(G_avg, G, decay=0.5, step=1000)  # d = 0.5
    assert torch.allclose(G_avg.linear.weight, torch.full_like(G.linear.weight, 0.95))


def test_train_gan_with_an_average_shows_the_average():
    torch.manual_seed(0)
    G, D = MLPGenerator(z_dim=8, hidden=16), MLPDiscriminator(hidden=16)
    G_avg = copy.deepcopy(G)
    images = torch.rand(40, 1, 32, 32) * 2 - 1
    fixed_z = torch.randn(4, 8)
    tiny = GanRecipe(steps=5, batch_size=8, z_dim=8)
    history = train_gan(G, D, images, tiny, fixed_z=fixed_z, G_avg=G_avg)
    assert torch.equal(history.snapshots[-1][1], generate(G_avg, fixed_z))
    assert not torch.equal(G_avg.net[0].weight, G.net[0].weight)


def test_the_seeds_bench_trains_lesson01_with_and_without_r1():
    import runpy
    from dataclasses import replace

    from cyclegan_lib.course.env import repo_root

    recipe_of = runpy.run_path(str(repo_root() / "bench" / "seeds.py"))["lesson01_recipe"]
    lesson = dcgan_recipe()
    assert recipe_of(0, "lesson", {}) == lesson, "seed 0 is the lesson's own run"
    assert recipe_of(2, "no R1", {"steps": 7}) == replace(
        lesson, r1_gamma=0.0, steps=7, seed=lesson.seed + 2
    )
    assert recipe_of(0, "lesson", {"r1_gamma": 5.0}).r1_gamma == 5.0
    assert recipe_of(0, "no R1", {"r1_gamma": 5.0}).r1_gamma == 0.0, "the arm has the last word"


def test_the_seeds_bench_reports_each_column_at_its_worst_seed():
    import runpy

    from cyclegan_lib.course.env import repo_root

    worst = runpy.run_path(str(repo_root() / "bench" / "seeds.py"))["worst"]
    rows = [
        {"confident_fraction": 0.8, "frechet_distance": 6.0, "D_Y wobble": 0.1, "seconds": 90.0},
        {"confident_fraction": 0.7, "frechet_distance": 9.0, "D_Y wobble": 0.3, "seconds": 80.0},
    ]
    keys = ["confident_fraction", "frechet_distance", "D_Y wobble", "seconds"]
    assert worst(rows, keys) == {
        "confident_fraction": 0.7,
        "frechet_distance": 9.0,
        "D_Y wobble": 0.3,
        "seconds": 90.0,
    }


def test_a_recipe_refuses_what_cannot_train():
    with pytest.raises(ValueError, match="batch_size"):
        GanRecipe(steps=10, batch_size=0)
    G, D = GanRecipe(steps=1, z_dim=8, ngf=4, ndf=4).networks()
    with pytest.raises(ValueError, match="z_dim is 64"):
        train_gan(G, D, torch.zeros(4, 1, 32, 32), GanRecipe(steps=1))


def test_a_recipe_builds_its_networks_and_its_optimisers():
    recipe = GanRecipe(steps=1, z_dim=8, ngf=4, ndf=4, lr=3e-4, betas=(0.1, 0.9))
    G, D = recipe.networks()
    z = torch.randn(2, 8)
    assert G(z).shape == (2, 1, 32, 32) and D(G(z)).shape == (2,)
    cG, cD = recipe.networks(conditional=True)
    y = torch.tensor([3, 7])
    assert cG(z, y).shape == (2, 1, 32, 32) and cD(cG(z, y), y).shape == (2,)
    opt_G, opt_D = gan_training.make_optimizers(G, D, recipe.lr, recipe.betas)
    assert opt_D.param_groups[0]["lr"] == 3e-4 and opt_G.param_groups[0]["betas"] == (0.1, 0.9)


def test_the_lessons_recipes_train_longer_outside_the_smoke_profile():
    for recipe_of in (dcgan_recipe, conditional_recipe):
        smoke, cpu, gpu = (recipe_of(profile) for profile in ("smoke", "cpu", "gpu"))
        assert smoke.steps < cpu.steps <= gpu.steps
        assert smoke.lr == cpu.lr == gpu.lr, "a profile changes how long, not how"
        assert smoke.betas == cpu.betas == gpu.betas
    assert dcgan_recipe("cpu").r1_gamma > 0 and conditional_recipe("cpu").r1_gamma == 0
    assert dcgan_recipe("cpu").betas == (0.0, 0.99), "lesson 01 trains without momentum"
    assert conditional_recipe("cpu").betas == gan_training.ADAM_BETAS


def test_train_gan_decays_both_learning_rates_over_the_last_fraction(monkeypatch):
    rates = []

    def recording_step(G, D, opt_G, opt_D, *args):
        rates.append((opt_G.param_groups[0]["lr"], opt_D.param_groups[0]["lr"]))
        return train_step(G, D, opt_G, opt_D, *args)

    monkeypatch.setattr(gan_training, "train_step", recording_step)
    tiny_run(steps=8, lr=1e-3, decay_fraction=0.5)
    g_rates = [g for g, d in rates]
    assert all(g == d for g, d in rates), "G and D follow the same schedule"
    assert g_rates[:4] == [1e-3] * 4, "constant over the first half"
    assert all(a > b for a, b in zip(g_rates[3:], g_rates[4:], strict=False)), "then falling"
    assert 0 < g_rates[-1] <= 0.25e-3
    rates.clear()
    tiny_run(steps=4, lr=1e-3)
    assert [g for g, _ in rates] == [1e-3] * 4, "no decay by default"
    with pytest.raises(ValueError, match="decay_fraction"):
        GanRecipe(steps=4, decay_fraction=1.5)


def test_a_label_blind_discriminator_ignores_the_label():
    from cyclegan_lib.lessons.mnist_gans import LabelBlindDiscriminator

    torch.manual_seed(0)
    D = LabelBlindDiscriminator(channels=1, ndf=4)
    x = torch.randn(3, 1, 32, 32)
    assert torch.equal(D(x, torch.tensor([0, 1, 2])), D(x, torch.tensor([9, 9, 9])))
    assert D(x, torch.tensor([0, 1, 2])).shape == (3,)


@pytest.mark.slow
def test_the_seeds_bench_checks_each_seed_against_the_lessons_target(capsys, monkeypatch):
    import runpy

    from cyclegan_lib.course.env import repo_root

    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    script = runpy.run_path(str(repo_root() / "bench" / "seeds.py"))
    args = ["02", "--seeds", "3", "4", "--arms", "with y", "D without y", "--jobs", "1"]
    code = script["main"]([*args, "--set", "lr=0.002"])
    out = capsys.readouterr().out
    seeds = [
        line[len(arm) :].split()[0]
        for line in out.splitlines()
        for arm in ("with y", "D without y")
        if line.startswith(arm)
    ]
    assert seeds == ["3", "4", "worst"] * 2
    assert "changes {'lr': 0.002}" in out
    assert code == 1 and "target label_accuracy >= 0.95: MISSED for seeds [3, 4]" in out
    with pytest.raises(SystemExit, match="--set 'nope=1'"):
        script["main"](["01", "--set", "nope=1"])
    with pytest.raises(SystemExit, match="--arms"):
        script["main"](["01", "--arms", "no such arm"])


def test_the_seeds_bench_names_the_option_and_value_it_cannot_read():
    import runpy

    from cyclegan_lib.course.env import repo_root

    script = runpy.run_path(str(repo_root() / "bench" / "seeds.py"))
    parse, recipe = script["parse_override"], type(dcgan_recipe("cpu"))
    assert parse("steps=12", recipe) == ("steps", 12)
    assert parse("lr=2e-3", recipe) == ("lr", 0.002)
    assert parse("bf16=True", recipe) == ("bf16", True)
    assert parse("bf16=0", recipe) == ("bf16", False)
    with pytest.raises(SystemExit, match=r"--set 'bf16=ture': 'ture' is not a valid bool"):
        parse("bf16=ture", recipe)  # a typo used to mean False
    with pytest.raises(SystemExit, match=r"--set 'steps=1e3': '1e3' is not a valid int"):
        parse("steps=1e3", recipe)
    with pytest.raises(SystemExit, match=r"--set 'betas=0.5': betas is a tuple"):
        parse("betas=0.5", recipe)  # used to become the float 0.5


def test_bf16_recipe_trains_in_bf16_autocast_and_changes_the_numbers(monkeypatch):
    seen = []

    def recording_step(*args):
        seen.append(torch.is_autocast_enabled("cpu") and torch.get_autocast_dtype("cpu"))
        return train_step(*args)

    monkeypatch.setattr(gan_training, "train_step", recording_step)
    G_bf16, history_bf16 = tiny_run(steps=3, bf16=True)
    assert seen == [torch.bfloat16] * 3
    assert all(math.isfinite(v) for v in history_bf16.d_loss + history_bf16.g_loss)
    G_fp32, _ = tiny_run(steps=3)
    assert seen[3:] == [False] * 3, "fp32 recipe: no autocast"
    pairs = zip(G_bf16.parameters(), G_fp32.parameters(), strict=True)
    assert any(not torch.equal(a, b) for a, b in pairs), "bf16 must change the numbers"


@pytest.mark.parametrize("amx", [True, False])
def test_lessons_01_02_use_bf16_only_in_cpu_profile_on_amx(monkeypatch, amx):
    monkeypatch.setattr(env, "cpu_has_amx", lambda: amx)
    for recipe_of in (dcgan_recipe, conditional_recipe):
        assert recipe_of("cpu").bf16 is amx
        assert recipe_of("smoke").bf16 is False and recipe_of("gpu").bf16 is False


@pytest.mark.parametrize("amx", [True, False])
def test_the_first_cell_names_the_numerics_the_recipes_use(monkeypatch, amx):
    monkeypatch.setattr(env, "cpu_has_amx", lambda: amx)
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    said_bf16 = env.describe()["numerics"].startswith("this CPU has AMX")
    assert said_bf16 is amx is dcgan_recipe().bf16
    monkeypatch.setenv("COURSE_PROFILE", "smoke")
    assert "numerics" not in env.describe()


def test_the_seeds_bench_does_not_judge_the_target_on_another_arm(capsys):
    import runpy

    from cyclegan_lib.course.env import repo_root

    script = runpy.run_path(str(repo_root() / "bench" / "seeds.py"))
    rows = [{"seed": 1, "arm": "λ_y = 10", "G(x) accuracy": 0.5, "F(y) accuracy": 0.5}]
    assert script["print_table"](script["LESSONS"]["04"], rows)
    out = capsys.readouterr().out
    assert "targets not checked" in out and "met for every seed" not in out
