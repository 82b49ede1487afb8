"""Judging generated digits with the embedded classifiers (COURSE.md §5).

* label accuracy: how often the classifier reads the digit that was asked for;
* confident fraction: how often it is at least 90% sure of *some* digit;
* class histogram: which digits appear at all (mode collapse shows here);
* Fréchet distance: the FID formula (Heusel et al. 2017) in the classifier's
  128-d feature space instead of Inception's.
"""

from __future__ import annotations

from functools import lru_cache

import numpy as np
import torch

from cyclegan_lib.course.classifiers import load_classifier
from cyclegan_lib.course.digits import load_domain

CONFIDENCE = 0.9


@torch.no_grad()
def classify(images: torch.Tensor, domain: str) -> tuple[torch.Tensor, torch.Tensor]:
    """Class probabilities (N, 10) and features (N, 128) of images in [-1, 1]."""
    model = load_classifier(domain)
    probs, feats = [], []
    for chunk in images.detach().float().cpu().split(500):
        features = model.features(chunk)
        feats.append(features)
        probs.append(model.head(features).softmax(dim=1))
    return torch.cat(probs), torch.cat(feats)


def label_accuracy(probs: torch.Tensor, labels: torch.Tensor) -> float:
    """Fraction of samples whose most likely class is the requested label."""
    return (probs.argmax(1) == labels.cpu()).float().mean().item()


def confident_fraction(probs: torch.Tensor, threshold: float = CONFIDENCE) -> float:
    """Fraction of samples read with probability >= ``threshold`` (any class)."""
    return (probs.max(1).values >= threshold).float().mean().item()


def class_histogram(probs: torch.Tensor) -> np.ndarray:
    """Fraction of samples assigned to each digit 0-9."""
    counts = torch.bincount(probs.argmax(1), minlength=10).double()
    return (counts / counts.sum()).numpy()


def frechet_distance(
    features_a: torch.Tensor | np.ndarray, features_b: torch.Tensor | np.ndarray
) -> float:
    """Fréchet distance between Gaussians fitted to two feature sets (Heusel et al. 2017, eq. 6).

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``. The trace of the
    matrix square root is computed from the eigenvalues of the symmetric
    ``S_a^(1/2) S_b S_a^(1/2)``, which share them with ``S_a S_b``.
    """
    a = np.asarray(features_a, dtype=np.float64)
    b = np.asarray(features_b, dtype=np.float64)
    mean_gap = np.sum((a.mean(0) - b.mean(0)) ** 2)
    cov_a, cov_b = np.cov(a, rowvar=False), np.cov(b, rowvar=False)
    sqrt_a = _psd_sqrt(cov_a)
    cross = np.linalg.eigvalsh(sqrt_a @ cov_b @ sqrt_a)
    trace_sqrt = np.sqrt(np.clip(cross, 0, None)).sum()
    return float(mean_gap + np.trace(cov_a) + np.trace(cov_b) - 2 * trace_sqrt)


def _psd_sqrt(matrix: np.ndarray) -> np.ndarray:
    values, vectors = np.linalg.eigh(matrix)
    return (vectors * np.sqrt(np.clip(values, 0, None))) @ vectors.T


@lru_cache(maxsize=4)
def real_features(domain: str, split: str = "test") -> torch.Tensor:
    """Classifier features of the real digits of one split (cached)."""
    images, _ = load_domain(domain, split)
    return classify(images, domain)[1]


def evaluate_digits(
    images: torch.Tensor, domain: str = "clean", labels: torch.Tensor | None = None
) -> dict[str, object]:
    """All the course's numbers for a batch of generated or translated digits.

    Returns a dict with ``confident_fraction``, ``class_histogram`` (list of 10),
    ``min_class_fraction``, ``frechet_distance`` (to the real test digits of the
    domain) and, when ``labels`` are given, ``label_accuracy`` and
    ``per_class_accuracy``.
    """
    probs, features = classify(images, domain)
    histogram = class_histogram(probs)
    result: dict[str, object] = {
        "n": len(images),
        "confident_fraction": confident_fraction(probs),
        "class_histogram": [round(float(h), 4) for h in histogram],
        "min_class_fraction": float(histogram.min()),
        "frechet_distance": frechet_distance(features, real_features(domain)),
    }
    if labels is not None:
        labels = labels.cpu()
        correct = probs.argmax(1) == labels
        result["label_accuracy"] = correct.float().mean().item()
        result["per_class_accuracy"] = [
            round(correct[labels == d].float().mean().item(), 4) for d in range(10)
        ]
    return result
