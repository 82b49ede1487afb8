"""Judging generated digits with the embedded classifiers (:mod:`cyclegan_lib.course.classifiers`).

* label accuracy: how often the classifier reads the digit that was asked for;
* confident fraction: how often it is at least 90% sure of *some* digit;
* class histogram: which digits appear at all (mode collapse shows here);
* Fréchet distance: the FID formula (Heusel et al. 2017) in the classifier's
  128-d feature space instead of Inception's;
* kernel distance: KID (Bińkowski et al. 2018), unbiased, in the same space.

Both distances come from torchmetrics, a maintained implementation (lesson 06
builds the Fréchet distance by hand once and checks it against this one). Any
feature space works: the functions take features, not images.
"""

from __future__ import annotations

import warnings
from functools import lru_cache

import numpy as np
import torch
from torch import nn
from torchmetrics.image.fid import FrechetInceptionDistance
from torchmetrics.image.kid import KernelInceptionDistance

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

    ``||mu_a - mu_b||^2 + Tr(S_a + S_b - 2 (S_a S_b)^(1/2))``, computed in float64 by
    torchmetrics' ``FrechetInceptionDistance`` with the features passed straight
    through (an identity "feature extractor" of the features' width).
    """
    a, b = _as_features(features_a), _as_features(features_b)
    fid = FrechetInceptionDistance(feature=nn.Identity(), input_img_size=(a.shape[1],))
    fid.set_dtype(torch.float64)
    fid.update(a, real=True)
    fid.update(b, real=False)
    return float(fid.compute())


def kernel_distance(
    features_a: torch.Tensor | np.ndarray,
    features_b: torch.Tensor | np.ndarray,
    subset_size: int = 100,
    subsets: int = 50,
    seed: int = 0,
) -> tuple[float, float]:
    """KID (Bińkowski et al. 2018, eq. 4): the unbiased squared MMD with a cubic kernel.

    ``k(u, v) = (u.v / d + 1)^3``, averaged over ``subsets`` random subsets of
    ``subset_size`` features from each set (capped at the smaller set), as
    torchmetrics' ``KernelInceptionDistance`` computes it. Returns (mean, std)
    over the subsets; the subsets are drawn under ``seed``.
    """
    a, b = _as_features(features_a), _as_features(features_b)
    size = min(subset_size, len(a), len(b))
    if size < 2:
        raise ValueError(f"KID needs at least 2 features on each side, got {len(a)} and {len(b)}")
    with warnings.catch_warnings():  # "saves all features in a buffer": ours are already in memory
        warnings.simplefilter("ignore", UserWarning)
        kid = KernelInceptionDistance(feature=nn.Identity(), subsets=subsets, subset_size=size)
    kid.update(a, real=True)
    kid.update(b, real=False)
    with torch.random.fork_rng():
        torch.manual_seed(seed)
        mean, std = kid.compute()
    return float(mean), float(std)


def _as_features(features: torch.Tensor | np.ndarray) -> torch.Tensor:
    """(N, d) float64 tensor on the CPU; a clear error for anything else."""
    tensor = torch.as_tensor(np.asarray(features, dtype=np.float64))
    if tensor.ndim != 2 or len(tensor) < 2:
        raise ValueError(f"features must be (N >= 2, d), got shape {tuple(tensor.shape)}")
    return tensor


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
