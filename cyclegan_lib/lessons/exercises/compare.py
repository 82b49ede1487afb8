"""Compare a learner's result with the reference's, and describe the difference in words."""

from __future__ import annotations

from typing import Any

import numpy as np
import torch


def describe_value(value: Any) -> str:
    """A short, readable description: shape and a few numbers of a tensor, repr otherwise."""
    if isinstance(value, torch.Tensor):
        flat = value.detach().flatten()
        head = ", ".join(f"{v:.4g}" for v in flat[:4].tolist())
        more = ", …" if flat.numel() > 4 else ""
        return f"tensor of shape {tuple(value.shape)} [{head}{more}]"
    if isinstance(value, (tuple, list)):
        return "(" + ", ".join(describe_value(v) for v in value) + ")"
    if isinstance(value, dict):
        return "{" + ", ".join(f"{key!r}: {describe_value(v)}" for key, v in value.items()) + "}"
    if isinstance(value, float):
        return f"{value:.6g}"
    return repr(value)


def compare_values(got: Any, expected: Any, rtol: float, atol: float) -> str | None:
    """None if ``got`` matches ``expected``, else one sentence saying how it differs."""
    if isinstance(expected, (tuple, list)):
        if not isinstance(got, (tuple, list)) or len(got) != len(expected):
            return f"expected a sequence of {len(expected)} values"
        for position, (g, e) in enumerate(zip(got, expected, strict=True)):
            problem = compare_values(g, e, rtol, atol)
            if problem:
                return f"item {position}: {problem}"
        return None
    if isinstance(expected, dict):
        if not isinstance(got, dict) or set(got) != set(expected):
            return f"expected a dict with keys {sorted(expected)}"
        for key in expected:
            problem = compare_values(got[key], expected[key], rtol, atol)
            if problem:
                return f"{key!r}: {problem}"
        return None
    if isinstance(expected, torch.Tensor):
        if not isinstance(got, torch.Tensor):
            return f"expected a tensor, got {type(got).__name__}"
        if got.shape != expected.shape:
            return f"shape {tuple(got.shape)} should be {tuple(expected.shape)}"
        if not torch.allclose(got.detach().double(), expected.detach().double(), rtol, atol):
            gap = (got.detach().double() - expected.detach().double()).abs().max().item()
            return f"values differ (largest difference {gap:.3g})"
        return None
    if isinstance(expected, (float, int, np.floating)) and not isinstance(expected, bool):
        if isinstance(got, torch.Tensor) and got.numel() == 1:
            got = got.item()
        if not isinstance(got, (float, int, np.floating)):
            return f"expected a number, got {type(got).__name__}"
        if not np.isclose(float(got), float(expected), rtol=rtol, atol=atol):
            return f"{float(got):.6g} should be {float(expected):.6g}"
        return None
    return None if got == expected else f"{got!r} should be {expected!r}"
