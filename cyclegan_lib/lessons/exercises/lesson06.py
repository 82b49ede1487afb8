"""Lesson 06's exercises: the Fréchet distance by hand, the checkerboard measure,
the perturbed cycle, class coverage."""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cyclegan_lib.course.diagnostics import checkerboard_energy as library_checkerboard
from cyclegan_lib.course.metrics import class_histogram
from cyclegan_lib.course.metrics import frechet_distance as library_frechet
from cyclegan_lib.lessons.exercises import Case, Exercise
from cyclegan_lib.lessons.exercises.hidden import seeded, seeded_images


def frechet_distance(features_a: np.ndarray, features_b: np.ndarray) -> float:
    """Heusel et al. 2017, eq. 6: ||mu_a - mu_b||² + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))."""
    return library_frechet(features_a, features_b)


def _feature_cases() -> list[Case]:
    rng = np.random.default_rng(60)
    a, b = rng.normal(size=(50, 4)), rng.normal(size=(60, 4))
    tilted = b @ np.array([[2.0, 0.5, 0, 0], [0, 1, 0, 0], [0, 0, 0.5, 0], [0, 0, 0, 1]])
    return [
        Case((a, a.copy()), label="a set against itself (0)"),
        Case((a, b), label="two samples of one Gaussian"),
        Case((a, tilted + 1.0), label="shifted and stretched"),
    ]


FRECHET_DISTANCE = Exercise(
    name="frechet_distance",
    reference=frechet_distance,
    make_cases=_feature_cases,
    hint="means with .mean(0); covariances with np.cov(a, rowvar=False) (divides by N - 1); "
    "Tr((S_a S_b)^(1/2)) is the sum of the square roots of the eigenvalues of S_a @ S_b "
    "(np.linalg.eigvals, keep the real part).",
    rtol=1e-6,
)


def checkerboard_energy(images: torch.Tensor) -> float:
    """Share of the power of (N, C, H, W) images at the three period-2 frequencies."""
    return library_checkerboard(images, period=2)


def _image_cases() -> list[Case]:
    generator = torch.Generator().manual_seed(61)
    rows, cols = torch.meshgrid(torch.arange(8), torch.arange(8), indexing="ij")
    stripes = (cols % 2 * 2 - 1).float().expand(2, 1, 8, 8)
    noise = torch.randn(3, 3, 8, 8, generator=generator)
    return [
        Case((stripes + 0.3 * (rows / 8.0),), label="vertical stripes on a ramp"),
        Case((noise,), label="white noise, 3 images of 3 channels"),
        Case((noise + 5.0,), label="the same noise with a large mean (remove it first)"),
    ]


CHECKERBOARD_ENERGY = Exercise(
    name="checkerboard_energy",
    reference=checkerboard_energy,
    make_cases=_image_cases,
    hint="subtract each image's mean over (H, W); power = torch.fft.fft2(x).abs() ** 2, "
    "averaged over images and channels; the period-2 bins are [H//2, 0], [0, W//2] and "
    "[H//2, W//2]; divide their sum by the total power.",
)


def perturbed_cycle_error(
    G: nn.Module, F: nn.Module, y: torch.Tensor, noise: torch.Tensor
) -> torch.Tensor:
    """mean |G(F(y) + noise) - y|: the y-cycle when F(y) is disturbed (Chu et al. 2017)."""
    return (G(F(y) + noise) - y).abs().mean()


def _cycle_cases() -> list[Case]:
    torch.manual_seed(62)
    G = nn.Sequential(nn.Conv2d(1, 3, 3, padding=1), nn.Tanh())
    F = nn.Sequential(nn.Conv2d(3, 1, 3, padding=1), nn.Tanh())
    y = torch.rand(2, 3, 6, 6) * 2 - 1
    noise = 0.05 * torch.randn(2, 1, 6, 6)
    return [
        Case((G, F, y, torch.zeros_like(noise)), label="no noise: the plain y-cycle error"),
        Case((G, F, y, noise), label="Gaussian noise of std 0.05 on F(y)"),
    ]


PERTURBED_CYCLE_ERROR = Exercise(
    name="perturbed_cycle_error",
    reference=perturbed_cycle_error,
    make_cases=_cycle_cases,
    hint="add the noise to F(y) (not to y), translate back with G, then the mean absolute "
    "difference to y.",
)


def classes_present(probs: torch.Tensor, min_share: float = 0.02) -> int:
    """How many digits are the classifier's top answer for at least ``min_share`` of samples."""
    return int((class_histogram(probs) >= min_share).sum())


def _probability_cases() -> list[Case]:
    generator = torch.Generator().manual_seed(63)
    spread = torch.randn(200, 10, generator=generator).softmax(1)
    ones = torch.zeros(50, 10)
    ones[:, 1] = 1.0
    mostly_ones = torch.cat([ones, spread[:1]])
    return [
        Case((spread,), label="random probabilities over all digits"),
        Case((ones,), label="every sample a 1"),
        Case((mostly_ones, 0.02), label="fifty 1s and one other digit (under 2%)"),
        Case((mostly_ones, 0.01), label="the same with min_share 0.01"),
    ]


CLASSES_PRESENT = Exercise(
    name="classes_present",
    reference=classes_present,
    make_cases=_probability_cases,
    hint="the top answer is probs.argmax(1); count each digit with torch.bincount(..., "
    "minlength=10), divide by the number of samples, and count the shares >= min_share.",
)


# --- hidden cases: what the grader adds to the notebook's (see tools/grading/hidden_tests) ---


def _hidden_feature_cases() -> list[Case]:
    rng = np.random.default_rng(64)
    a, b = rng.normal(size=(40, 8)), rng.normal(size=(100, 8))
    stretched = a * np.linspace(0.5, 2.0, 8)
    return [
        Case((a, b + 0.5), label="hidden: 8 features, 40 against 100 samples"),
        Case((b + 0.5, a), label="hidden: the same, arguments swapped"),
        Case((a, stretched), label="hidden: equal means, different covariances"),
        Case((1000 * a, 1000 * b), label="hidden: features in the thousands"),
        Case(
            (a.astype(np.float32), b.astype(np.float32)),
            label="hidden: float32 features (compute in float64)",
        ),
    ]


def _hidden_image_cases() -> list[Case]:
    rows, cols = torch.meshgrid(torch.arange(6), torch.arange(10), indexing="ij")
    checkerboard = ((rows + cols) % 2 * 2 - 1).float().expand(1, 3, 6, 10)
    horizontal = (rows % 2 * 2 - 1).float().expand(2, 1, 6, 10)
    return [
        Case((seeded(65, 2, 2, 6, 10),), label="hidden: non-square 6x10 noise"),
        Case((checkerboard,), label="hidden: a pure checkerboard (all its power at (H/2, W/2))"),
        Case(
            (horizontal + 0.1 * seeded(66, 2, 1, 6, 10),), label="hidden: noisy horizontal stripes"
        ),
        Case((seeded(67, 1, 1, 2, 2),), label="hidden: 2x2 images (every frequency is period 2)"),
        Case(
            (seeded(68, 2, 3, 8, 8, dtype=torch.float64),),
            label="hidden: float64 images of 8x8",
        ),
    ]


def _hidden_cycle_cases() -> list[Case]:
    def setting(seed: int, batch: int, x_nc: int, y_nc: int, std: float, dtype=torch.float32):
        torch.manual_seed(seed)
        G = nn.Sequential(nn.Conv2d(x_nc, y_nc, 3, padding=1), nn.Tanh()).to(dtype)
        F = nn.Sequential(nn.Conv2d(y_nc, x_nc, 3, padding=1), nn.Tanh()).to(dtype)
        y = seeded_images(seed + 1, batch, y_nc, 5, 9, dtype=dtype)
        return G, F, y, seeded(seed + 2, batch, x_nc, 5, 9, scale=std, dtype=dtype)

    return [
        Case(setting(69, 1, 2, 4, 0.1), label="hidden: one 4-channel 5x9 image, noise std 0.1"),
        Case(setting(72, 3, 1, 3, 1.0), label="hidden: 3 images, noise std 1"),
        Case(setting(75, 2, 3, 3, 0.05, torch.float64), label="hidden: float64 nets and images"),
    ]


def _hidden_probability_cases() -> list[Case]:
    generator = torch.Generator().manual_seed(78)
    skewed = torch.randn(1000, 10, generator=generator) + torch.linspace(0, 3, 10)
    fifty = torch.zeros(50, 10)
    fifty[:, 7] = 1.0
    fifty[0] = torch.full((10,), 0.05)
    fifty[0, 3] = 0.55  # one sample in 50 (exactly 2%) is a 3
    return [
        Case((torch.softmax(seeded(79, 1, 10), 1),), label="hidden: a single sample"),
        Case((fifty,), label="hidden: one digit at exactly 2% (counts: >=)"),
        Case((fifty, 0.0), label="hidden: min_share 0 counts every digit"),
        Case((fifty, 1.0), label="hidden: min_share 1 with two digits present"),
        Case((skewed.softmax(1), 0.05), label="hidden: 1000 skewed samples, min_share 0.05"),
        Case((skewed.double().softmax(1)[:300],), label="hidden: float64 probabilities"),
    ]


HIDDEN_CASES = {
    "frechet_distance": _hidden_feature_cases,
    "checkerboard_energy": _hidden_image_cases,
    "perturbed_cycle_error": _hidden_cycle_cases,
    "classes_present": _hidden_probability_cases,
}
"""Cases the grader adds to the notebook's (see :mod:`cyclegan_lib.tools.grading.hidden_tests`)."""
