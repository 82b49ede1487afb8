"""Shared test settings."""

import pytest
import torch


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """One intra-op thread: the tests' models are tiny, and on a busy 2-core machine two
    threads made their steps up to 50x slower (measured while writing the trainer tests)."""
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


@pytest.fixture
def record_draws(monkeypatch):
    """``calls = record_draws(module, "draw_x")`` replaces a widget's draw function by one that
    records its arguments and returns an empty figure, so a test can see when a widget redraws."""
    import matplotlib.pyplot as plt

    def replace(module, name: str) -> list:
        calls = []
        monkeypatch.setattr(module, name, lambda *args: calls.append(args) or plt.figure())
        return calls

    return replace
