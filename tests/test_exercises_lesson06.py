"""Lesson 06 exercises: the references pass, placeholders are 'not done', wrong answers fail."""

import numpy as np
import torch

from cyclegan_lib.lessons.exercises import grade
from cyclegan_lib.lessons.exercises import lesson06 as l06

EXERCISES = [
    l06.FRECHET_DISTANCE,
    l06.CHECKERBOARD_ENERGY,
    l06.PERTURBED_CYCLE_ERROR,
    l06.CLASSES_PRESENT,
]


def test_a_hand_written_frechet_distance_passes():
    def by_hand(a, b):
        cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
        root = np.sqrt(np.linalg.eigvals(cov_a @ cov_b)).real.sum()
        return np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(cov_a + cov_b) - 2 * root

    assert grade(by_hand, l06.FRECHET_DISTANCE).status == "passed"


def test_frechet_without_the_cross_term_fails():
    def no_cross_term(a, b):
        return np.sum((a.mean(0) - b.mean(0)) ** 2) + np.trace(
            np.cov(a, rowvar=False) + np.cov(b, rowvar=False)
        )

    assert grade(no_cross_term, l06.FRECHET_DISTANCE).status == "failed"


def test_checkerboard_energy_that_keeps_the_mean_fails():
    def with_mean(images):
        power = torch.fft.fft2(images.double()).abs() ** 2
        power = power.mean(dim=(0, 1))
        h, w = power.shape
        return float((power[h // 2, 0] + power[0, w // 2] + power[h // 2, w // 2]) / power.sum())

    assert grade(with_mean, l06.CHECKERBOARD_ENERGY).status == "failed"


def test_noise_on_y_instead_of_f_y_fails():
    def wrong_place(G, F, y, noise):
        return (G(F(y)) - y).abs().mean() + 0 * noise.sum()

    assert grade(wrong_place, l06.PERTURBED_CYCLE_ERROR).status == "failed"


def test_coverage_that_counts_any_digit_seen_fails():
    def any_seen(probs, min_share=0.02):
        return int(probs.argmax(1).unique().numel())

    outcome = grade(any_seen, l06.CLASSES_PRESENT)
    assert outcome.status == "failed" and "one other digit" in outcome.message
