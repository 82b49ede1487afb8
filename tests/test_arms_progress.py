"""Lesson 04's ablation arms report their steps to the parent, which draws one bar."""

import multiprocessing
import threading
from concurrent.futures import Future

from cyclegan_lib.lessons import digit_translation as dt


def test_follow_drains_every_reported_step_and_returns_when_all_arms_are_done(monkeypatch):
    queue = multiprocessing.get_context("spawn").SimpleQueue()
    arms = [Future(), Future()]
    counted = []
    monkeypatch.setattr(dt, "progress", lambda _, **kw: _Bar(counted))

    def worker():
        monkeypatch.setattr(dt, "_steps_done", queue)
        for _ in range(7):
            dt._report_step()
        for arm in arms:
            arm.set_result(None)

    thread = threading.Thread(target=worker)
    thread.start()
    dt._follow(queue, arms, total=7, desc="a | b")
    thread.join()
    assert sum(counted) == 7 and queue.empty()


class _Bar:
    def __init__(self, counted):
        self.counted = counted

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        self.counted.append(n)
