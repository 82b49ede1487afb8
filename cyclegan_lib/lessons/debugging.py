"""Lesson 06's helpers: the experiments behind each debugging question.

Training reuses lesson 04's recipe (:mod:`cyclegan_lib.lessons.digit_translation`);
the measures live in :mod:`cyclegan_lib.course.metrics` (Fréchet distance, KID)
and :mod:`cyclegan_lib.course.diagnostics` (artefacts, hidden signals, collapse).
Here: FID and KID by sample size, the resize-convolution twin of a generator, the
choice of a snapshot (best on test, picked on validation, final) and the colour shift
of a translation.
"""

from __future__ import annotations

import copy
from collections.abc import Mapping

import torch
from torch import nn

from cyclegan_lib.course.metrics import classify, frechet_distance, kernel_distance
from cyclegan_lib.course.plotting import progress
from cyclegan_lib.lessons.digit_translation import TrainingRun
from cyclegan_lib.models import translate
from cyclegan_lib.networks import init_weights


def distances_by_sample_size(
    reference: torch.Tensor, pool: torch.Tensor, sizes: list[int], repeats: int = 3, seed: int = 0
) -> dict[int, dict[str, float]]:
    """FID and KID between ``reference`` features and ``n`` features drawn from ``pool``.

    Both sets come from the same distribution, so the true distance is zero:
    the Fréchet distance's mean over draws is its small-sample bias, KID's should
    be zero up to noise (Bińkowski et al. 2018, Sec. 4). Returns, per size, the
    mean and the standard deviation over ``repeats`` draws of each distance.
    """
    generator = torch.Generator().manual_seed(seed)
    table = {}
    for n in sizes:
        fids, kids = [], []
        for repeat in range(repeats):
            chosen = pool[torch.randperm(len(pool), generator=generator)[:n]]
            fids.append(frechet_distance(reference, chosen))
            kids.append(kernel_distance(reference, chosen, seed=seed + repeat)[0])
        fid, kid = torch.tensor(fids), torch.tensor(kids)
        table[n] = {
            "FID": fid.mean().item(),
            "FID sd": fid.std().item() if repeats > 1 else 0.0,
            "KID": kid.mean().item(),
            "KID sd": kid.std().item() if repeats > 1 else 0.0,
        }
    return table


class ResizeConv(nn.Sequential):
    """Odena et al. 2016's fix for checkerboards: nearest-neighbour ×2, then a 3×3 conv."""

    def __init__(self, in_channels: int, out_channels: int, bias: bool) -> None:
        super().__init__(
            nn.Upsample(scale_factor=2, mode="nearest"),
            nn.Conv2d(in_channels, out_channels, kernel_size=3, padding=1, bias=bias),
        )


def with_resize_convolutions(generator: nn.Module, seed: int = 0) -> nn.Module:
    """A copy of ``generator`` with every stride-2 ConvTranspose2d replaced by :class:`ResizeConv`.

    The new convolutions are initialised as the reference initialises every
    layer (normal, std 0.02), under ``seed``; the rest keeps its weights.
    """
    twin = copy.deepcopy(generator)
    torch.manual_seed(seed)
    for parent in list(twin.modules()):
        for name, child in parent.named_children():
            if isinstance(child, nn.ConvTranspose2d) and child.stride == (2, 2):
                bias = child.bias is not None
                replacement = ResizeConv(child.in_channels, child.out_channels, bias)
                setattr(parent, name, init_weights(replacement))
    return twin


def amplify(difference: torch.Tensor, factor: float = 10.0) -> torch.Tensor:
    """``factor`` × a difference of images in [-1, 1], clipped: faint signals made visible."""
    return (difference * factor).clamp(-1, 1)


def split_in_two(labels: torch.Tensor, seed: int = 0) -> tuple[torch.Tensor, torch.Tensor]:
    """Indices of a validation half and a test half of labelled images, stratified and disjoint.

    Each class's members are shuffled (a generator seeded with ``seed``) and split in two;
    an odd member out goes to the test half. Same labels and seed, same halves.
    """
    generator = torch.Generator().manual_seed(seed)
    validation, test = [], []
    for digit in labels.unique().tolist():
        members = torch.nonzero(labels == digit).flatten()
        members = members[torch.randperm(len(members), generator=generator)]
        validation.append(members[: len(members) // 2])
        test.append(members[len(members) // 2 :])
    return torch.cat(validation).sort().values, torch.cat(test).sort().values


def correct_labels(images: torch.Tensor, domain: str, labels: torch.Tensor) -> torch.Tensor:
    """Per image, whether ``domain``'s classifier reads its label (a bool per image)."""
    probs, _ = classify(images, domain)
    return probs.argmax(1) == labels.cpu()


def score_snapshots(
    run: TrainingRun,
    x: torch.Tensor,
    y: torch.Tensor,
    labels: torch.Tensor,
    halves: Mapping[str, torch.Tensor],
    domains: tuple[str, str] = ("color", "clean"),
) -> dict[int, dict[str, float]]:
    """Label accuracy of each kept snapshot's G(x) and F(y) on each half of a test set.

    ``x[i]`` and ``y[i]`` show digit ``labels[i]``; ``halves`` names index sets (e.g. a
    validation and a test half, :func:`split_in_two`); G(x) is read by the classifier of
    ``domains[0]`` and F(y) by that of ``domains[1]``. Returns, per step, the accuracy
    ``"G(x) <half>"`` and ``"F(y) <half>"`` and their mean, ``"<half>"``, one score per
    snapshot and half. Each snapshot translates every image once.
    """
    scores = {}
    for step in progress(sorted(run.snapshots), desc="scoring snapshots"):
        nets = run.generators_at(step)
        correct = {
            "G(x)": correct_labels(translate(nets["G"], x), domains[0], labels),
            "F(y)": correct_labels(translate(nets["F"], y), domains[1], labels),
        }
        row = {}
        for half, index in halves.items():
            for direction, right in correct.items():
                row[f"{direction} {half}"] = right[index].float().mean().item()
            row[half] = (row[f"G(x) {half}"] + row[f"F(y) {half}"]) / 2
        scores[step] = row
    return scores


def best_step(scores: Mapping[int, float]) -> int:
    """The step with the highest score (the earliest of equal ones)."""
    return max(scores, key=lambda step: (scores[step], -step))


def selection_protocols(
    validation: Mapping[int, float], test: Mapping[int, float]
) -> dict[str, dict[str, float]]:
    """Three ways to report a run that kept snapshots, each as the ``step`` chosen and its
    ``test`` score:

    * ``"best on test"``: the snapshot with the highest test score (optimistic: the test
      set chose it, so its score is the maximum of noisy numbers);
    * ``"picked on validation"``: the highest validation score, reported on test (honest:
      the test set plays no part in the choice);
    * ``"final"``: the last snapshot, no choice at all.
    """
    if set(validation) != set(test):
        raise ValueError("validation and test scores must cover the same steps")
    chosen = {
        "best on test": best_step(test),
        "picked on validation": best_step(validation),
        "final": max(test),
    }
    return {name: {"step": step, "test": test[step]} for name, step in chosen.items()}


def colour_shift(
    translated: torch.Tensor, target: torch.Tensor, where: torch.Tensor | None = None
) -> float:
    """How far the mean colour of translated RGB images is from that of their targets.

    Per image, the mean of each of R, G and B over its pixels (only those where the bool
    mask ``where``, (N, 1, H, W), is True, if given); the shift is the absolute difference
    of these means, averaged over the three channels and the images, in 8-bit levels
    (0-255: images are in [-1, 1], so 1 on their scale is 127.5 levels). Where the pixels
    sit does not count: a tint does, a misplaced stroke barely.
    """
    if translated.shape != target.shape or translated.shape[1] != 3:
        raise ValueError(
            f"need RGB images of one shape, got {tuple(translated.shape)} and {tuple(target.shape)}"
        )
    weights = torch.ones_like(translated[:, :1]) if where is None else where.float()
    pixels = weights.sum(dim=(2, 3)).clamp(min=1)
    means = [(images * weights).sum(dim=(2, 3)) / pixels for images in (translated, target)]
    return (means[0] - means[1]).abs().mean().item() * 127.5


def colour_report(
    generators: Mapping[str, nn.Module],
    x: torch.Tensor,
    y: torch.Tensor,
    background: torch.Tensor,
    labels: torch.Tensor,
    domain: str = "color",
) -> dict[str, float]:
    """How a run between two colour domains treats colours (:func:`colour_shift`, in levels).

    ``x[i]`` is a test image of X and ``y[i]`` its perfect translation into Y, both showing
    digit ``labels[i]``; ``background`` marks the pixels that a perfect translation keeps.
    Returns the shift of G(x) on the background (from x there) and over the whole image
    (from y), of F(y) (from x), of G(y) (from y: what the identity loss asks for), and the
    label accuracy of G(x) and F(y) read by ``domain``'s classifier.
    """
    G, F = generators["G"], generators["F"]
    g_x, f_y, g_y = translate(G, x), translate(F, y), translate(G, y)
    return {
        "background shift G(x)": colour_shift(g_x, x, where=background),
        "colour shift G(x)": colour_shift(g_x, y),
        "colour shift F(y)": colour_shift(f_y, x),
        "G(y) vs y": colour_shift(g_y, y),
        "G(x) accuracy": correct_labels(g_x, domain, labels).float().mean().item(),
        "F(y) accuracy": correct_labels(f_y, domain, labels).float().mean().item(),
    }
