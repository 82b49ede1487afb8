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
