"""Debugging a translation by measurement: artefacts, hidden information, collapse.

* :func:`checkerboard_energy`: the share of an image's power at the frequencies a
  stride-2 upsampler repeats with (Odena et al. 2016, *Deconvolution and
  Checkerboard Artifacts*);
* :func:`perturbation_test`: how much ``G`` depends on faint signals in ``F(y)``
  (Chu et al. 2017, *CycleGAN, a Master of Steganography*);
* :func:`duplicate_fraction` and :func:`collapse_report`: mode collapse seen in
  samples rather than in loss curves.
"""

from __future__ import annotations

import numpy as np
import torch
from torch import nn

from cyclegan_lib.course.metrics import class_histogram, classify, confident_fraction


def power_spectrum(images: torch.Tensor) -> np.ndarray:
    """Mean power ``|FFT|²`` of (N, C, H, W) images over images and channels, shape (H, W).

    Each image's mean is removed first, so the zero frequency holds no power.
    Frequencies are in numpy's order (zero at index 0); ``np.fft.fftshift`` centres them.
    """
    x = images.detach().double().cpu()
    x = x - x.mean(dim=(-2, -1), keepdim=True)
    power = torch.fft.fft2(x).abs() ** 2
    return power.mean(dim=(0, 1)).numpy()


def checkerboard_mask(height: int, width: int, period: int = 2) -> np.ndarray:
    """True at the frequencies of a pattern repeating every ``period`` pixels, except zero.

    For ``period=2`` these are the three Nyquist bins (H/2, 0), (0, W/2), (H/2, W/2):
    the checkerboard of one stride-2 upsampling. ``period=4`` adds the bins of two.
    """
    if period < 2 or height % period or width % period:
        raise ValueError(f"period must be >= 2 and divide {height}x{width}, got {period}")
    rows = np.arange(height) % (height // period) == 0
    cols = np.arange(width) % (width // period) == 0
    mask = rows[:, None] & cols[None, :]
    mask[0, 0] = False
    return mask


def checkerboard_energy(images: torch.Tensor, period: int = 2) -> float:
    """Fraction of the images' (non-constant) power at the checkerboard frequencies.

    Natural images put little power there; a transposed convolution whose kernel
    size is not divisible by its stride paints every output pixel with an uneven
    number of kernel taps, and the pattern repeats with the stride (Odena et al.
    2016). White noise would give ``mask.sum() / (H*W - 1)``.
    """
    power = power_spectrum(images)
    mask = checkerboard_mask(*power.shape, period=period)
    return float(power[mask].sum() / power.sum())


@torch.no_grad()
def perturbation_test(
    G: nn.Module, F: nn.Module, y: torch.Tensor, epsilon: float = 0.02, seed: int = 0
) -> dict[str, float]:
    """Cycle error ``|G(F(y)) - y|`` with and without Gaussian noise of std ``epsilon`` on F(y).

    Chu et al. (2017) showed that CycleGAN hides the information it needs to
    rebuild y in low-amplitude signals of F(y): a perturbation too small to see
    then ruins the reconstruction. Returns the mean absolute cycle errors
    ``clean`` and ``perturbed`` (pixels in [-1, 1]), the mean absolute change
    of the reconstruction ``change``, and ``gain`` = change / mean |noise|: how
    much G amplifies the perturbation (about 1 or less for a G that ignores it).
    """
    was_training = G.training, F.training
    G.eval(), F.eval()
    fake = F(y)
    noise = torch.randn(fake.shape, generator=torch.Generator().manual_seed(seed)) * epsilon
    rebuilt, rebuilt_noisy = G(fake), G(fake + noise.to(fake.device))
    G.train(was_training[0]), F.train(was_training[1])
    change = (rebuilt_noisy - rebuilt).abs().mean().item()
    return {
        "clean": (rebuilt - y).abs().mean().item(),
        "perturbed": (rebuilt_noisy - y).abs().mean().item(),
        "change": change,
        "gain": change / noise.abs().mean().item(),
    }


def duplicate_fraction(images: torch.Tensor, threshold: float = 0.01) -> float:
    """Fraction of images with another image within ``threshold`` mean absolute difference.

    Pixels in [-1, 1]. No two of the 1,000 real test digits are this close (the
    nearest pair of clean digits differs by 0.019, of colour digits by 0.072); a
    collapsed generator repeats itself.
    """
    flat = images.detach().float().cpu().flatten(1)
    if len(flat) < 2:
        raise ValueError(f"need at least 2 images to look for duplicates, got {len(flat)}")
    distances = torch.cdist(flat, flat, p=1) / flat.shape[1]
    distances.fill_diagonal_(float("inf"))
    return (distances.min(dim=1).values < threshold).float().mean().item()


def collapse_report(images: torch.Tensor, domain: str, min_share: float = 0.02) -> dict[str, float]:
    """Mode-collapse symptoms of a batch of digits, read by the domain's classifier.

    ``classes_present``: digits read in at least ``min_share`` of the images (10
    for a healthy generator); ``min_class_fraction``; ``confident_fraction``;
    ``duplicate_fraction``.
    """
    probs, _ = classify(images, domain)
    histogram = class_histogram(probs)
    return {
        "classes_present": int((histogram >= min_share).sum()),
        "min_class_fraction": float(histogram.min()),
        "confident_fraction": confident_fraction(probs),
        "duplicate_fraction": duplicate_fraction(images),
    }
