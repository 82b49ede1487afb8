"""Building blocks of hidden cases: seeded inputs and observations that also compare dtypes.

Hidden cases (see :mod:`cyclegan_lib.tools.grading.hidden_tests`) are inputs the learner
never sees in the notebook; a lesson module lists them in ``HIDDEN_CASES``.
"""

from __future__ import annotations

import torch


def seeded(seed: int, *shape: int, scale: float = 1.0, dtype=torch.float32) -> torch.Tensor:
    """Standard normal numbers of ``shape`` from their own seed, times ``scale``."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.randn(*shape, generator=generator) * scale).to(dtype)


def seeded_images(seed: int, *shape: int, dtype=torch.float32) -> torch.Tensor:
    """Uniform pixels in [-1, 1) of ``shape`` from their own seed."""
    generator = torch.Generator().manual_seed(seed)
    return (torch.rand(*shape, generator=generator) * 2 - 1).to(dtype)


def dtype_and_values(result, _args: tuple):
    """Observe a tensor result's dtype as well as its values (a float64 input stays float64)."""
    return (str(result.dtype), result) if isinstance(result, torch.Tensor) else result


def input_after_call(_result, args: tuple):
    """Observe the first input after the call: a correct answer leaves it unchanged."""
    return args[0]
