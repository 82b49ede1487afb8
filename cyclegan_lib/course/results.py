"""Each lesson's measured numbers and samples, written where ``make course`` collects them."""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from cyclegan_lib.course.env import get_profile, results_dir


def save_results(lesson: str, numbers: dict) -> Path:
    """Write ``build/results/<lesson>.json`` with the numbers, the profile and a timestamp."""
    record = {
        "lesson": lesson,
        "profile": get_profile(),
        "written": time.strftime("%Y-%m-%d %H:%M:%S"),
    }
    record.update(numbers)
    path = results_dir() / f"{lesson}.json"
    path.write_text(json.dumps(record, indent=2, default=float))
    return path


def save_samples(lesson: str, **arrays: np.ndarray) -> Path:
    """Write ``build/results/<lesson>_samples.npz`` (e.g. ``images`` uint8 and ``labels``)."""
    path = results_dir() / f"{lesson}_samples.npz"
    np.savez_compressed(path, **arrays)
    return path
