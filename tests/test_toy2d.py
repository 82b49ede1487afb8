"""The 2-D toy GAN: the mixture, the coverage count and a short, seeded training run."""

import math

import pytest
import torch

from cyclegan_lib.lessons.toy_gan import ToyGAN, coverage, mode_centers, sample_mixture, toy_losses


def test_ring_centres_lie_on_the_circle():
    centers = mode_centers("ring", modes=8, radius=2.0)
    assert centers.shape == (8, 2)
    assert torch.allclose(centers.norm(dim=1), torch.full((8,), 2.0))
    assert torch.allclose(centers[2], torch.tensor([0.0, 2.0]), atol=1e-6)


def test_grid_needs_a_square_number_of_modes():
    assert mode_centers("grid").shape == (9, 2)
    with pytest.raises(ValueError, match="square"):
        mode_centers("grid", modes=8)
    with pytest.raises(ValueError, match="dataset"):
        mode_centers("spiral")


def test_unknown_loss_is_a_clear_error():
    with pytest.raises(ValueError, match="loss='wasserstein'"):
        toy_losses("wasserstein")


def test_coverage_counts_modes_and_quality():
    centers = mode_centers("ring")
    everywhere = sample_mixture(4000, centers, std=0.05, generator=torch.Generator().manual_seed(0))
    full = coverage(everywhere, centers)
    assert full.modes_covered == 8 and full.high_quality > 0.99
    assert sum(full.share_per_mode) == pytest.approx(full.high_quality)
    collapsed = centers[3] + 0.01 * torch.randn(1000, 2)
    one = coverage(collapsed, centers)
    assert one.modes_covered == 1 and one.share_per_mode[3] == pytest.approx(1.0)
    far = coverage(torch.zeros(100, 2), centers)
    assert far.modes_covered == 0 and far.high_quality == 0


def test_toy_gan_trains_and_is_seeded():
    def run():
        gan = ToyGAN(loss="least-squares", batch_size=32, hidden=16, seed=3)
        numbers = gan.train(5)
        return gan, numbers

    (gan_a, numbers_a), (gan_b, numbers_b) = run(), run()
    assert gan_a.iterations == 5
    assert all(math.isfinite(v) for v in numbers_a.values())
    assert numbers_a == numbers_b
    assert torch.equal(gan_a.samples(), gan_b.samples())
    assert gan_a.samples().shape == (1000, 2)


def test_a_progress_bar_sees_every_round_and_changes_nothing():
    shown = []

    def progress(rounds):
        for i in rounds:
            shown.append(i)
            yield i

    watched, plain = (ToyGAN(batch_size=16, hidden=8, seed=1) for _ in range(2))
    assert watched.train(3, progress=progress) == plain.train(3)
    assert shown == [0, 1, 2] and watched.iterations == 3
    assert torch.equal(watched.samples(), plain.samples())


def test_more_d_steps_update_d_more_often():
    gan = ToyGAN(d_steps=3, g_steps=1, batch_size=16, hidden=8)
    calls = []
    gan.opt_d.register_step_post_hook(lambda *_: calls.append("D"))
    gan.opt_g.register_step_post_hook(lambda *_: calls.append("G"))
    gan.train(2)
    assert calls == ["D", "D", "D", "G"] * 2


def test_the_toy_lengths_bench_judges_the_lessons_claim(capsys):
    import runpy

    from cyclegan_lib.course.env import repo_root

    bench = runpy.run_path(str(repo_root() / "bench" / "toy_lengths.py"))
    assert bench["claim_holds"]({"balanced": [(8, 0.9), (6, 0.9)], "G rushes": [(1, 0.9), (0, 0)]})
    assert not bench["claim_holds"]({"balanced": [(8, 0.9), (2, 0.5)], "G rushes": [(2, 0.9)]})
    found = bench["measure"](3, [0, 1])
    assert sorted(found) == ["G rushes", "balanced"]
    assert all(len(runs) == 2 and all(0 <= m <= 8 for m, _ in runs) for runs in found.values())
    assert bench["main"](["--iterations", "2", "--seeds", "0"]) == 0
    rows = [line.split() for line in capsys.readouterr().out.splitlines()[2:]]
    assert [row[0] for row in rows] == ["2", "2"]
    with pytest.raises(SystemExit):
        bench["main"](["--iterations", "0"])
    assert "--iterations must be >= 1, got [0]" in capsys.readouterr().err
