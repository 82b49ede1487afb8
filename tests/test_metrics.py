import numpy as np
import pytest
import torch

from cyclegan_lib.course import digits, metrics


def test_frechet_distance_of_identical_sets_is_zero():
    feats = np.random.default_rng(0).normal(size=(500, 8))
    assert metrics.frechet_distance(feats, feats) == pytest.approx(0, abs=1e-8)


def test_frechet_distance_matches_closed_form_for_gaussians():
    rng = np.random.default_rng(1)
    a = rng.normal(0, 1, size=(20000, 3))
    b = rng.normal(2, 2, size=(20000, 3))
    # per dimension: (mu_a - mu_b)^2 + s_a^2 + s_b^2 - 2 s_a s_b = 4 + 1 + 4 - 4 = 5
    assert metrics.frechet_distance(a, b) == pytest.approx(15, rel=0.05)


def test_real_digits_are_close_and_noise_is_far():
    train, _ = digits.load_domain("clean", "train")
    real = metrics.evaluate_digits(train[:1000], "clean")
    noise = metrics.evaluate_digits(torch.rand(1000, 1, 32, 32) * 2 - 1, "clean")
    assert real["frechet_distance"] * 20 < noise["frechet_distance"]
    assert real["confident_fraction"] > 0.9
    assert real["min_class_fraction"] > 0.05


def test_classifiers_meet_their_accuracy_targets():
    for domain, target in (("clean", 0.97), ("color", 0.95)):
        x, y = digits.load_domain(domain, "test")
        assert metrics.evaluate_digits(x, domain, y)["label_accuracy"] >= target, domain


def test_shuffled_labels_give_chance_accuracy():
    x, y = digits.load_domain("clean", "test")
    shuffled = y[torch.randperm(len(y), generator=torch.Generator().manual_seed(0))]
    accuracy = metrics.evaluate_digits(x, "clean", shuffled)["label_accuracy"]
    assert 0.05 < accuracy < 0.17


def test_collapsed_samples_show_in_histogram():
    x, y = digits.load_domain("clean", "test")
    ones = x[y == 1][:100]
    result = metrics.evaluate_digits(ones, "clean")
    assert result["class_histogram"][1] > 0.9 and result["min_class_fraction"] == 0


def test_per_class_accuracy_has_ten_entries():
    x, y = digits.load_domain("color", "test")
    result = metrics.evaluate_digits(x[:200], "color", y[:200])
    assert len(result["per_class_accuracy"]) == 10


def test_frechet_distance_agrees_with_a_direct_numpy_computation():
    rng = np.random.default_rng(2)
    a, b = rng.normal(size=(300, 5)), rng.normal(0.5, 1.5, size=(200, 5))
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    trace_sqrt = np.sqrt(np.linalg.eigvals(cov_a @ cov_b)).real.sum()
    expected = np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b) - 2 * trace_sqrt
    assert metrics.frechet_distance(a, b) == pytest.approx(expected, rel=1e-9)


def test_kernel_distance_is_unbiased_where_frechet_is_not():
    # small samples of one distribution: the Fréchet distance is positive on average,
    # KID averages to about zero (and can go negative)
    rng = np.random.default_rng(3)
    fids, kids = [], []
    for _ in range(10):
        a, b = rng.normal(size=(40, 8)), rng.normal(size=(40, 8))
        fids.append(metrics.frechet_distance(a, b))
        kids.append(metrics.kernel_distance(a, b, subset_size=40, subsets=10)[0])
    assert min(fids) > 0.5
    assert abs(np.mean(kids)) < 0.1 and min(kids) < 0


def test_kernel_distance_grows_with_a_shift_and_is_seeded():
    rng = np.random.default_rng(4)
    a, b = rng.normal(size=(200, 4)), rng.normal(size=(200, 4))
    near = metrics.kernel_distance(a, b)
    far = metrics.kernel_distance(a, b + 1.0)
    assert far[0] > near[0] + 10 * near[1]
    assert metrics.kernel_distance(a, b, seed=5) == metrics.kernel_distance(a, b, seed=5)


def test_distances_reject_features_that_are_not_a_matrix():
    with pytest.raises(ValueError, match=r"features must be \(N >= 2, d\)"):
        metrics.frechet_distance(np.zeros(10), np.zeros((10, 2)))
