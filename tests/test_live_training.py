"""The live view of long training cells: it draws in place in a notebook, stays silent in a
terminal and in ``smoke``, and lesson 04's arms feed it from their worker processes."""

import threading
from concurrent.futures import Future
from types import SimpleNamespace

import numpy as np
import pytest
import torch

from cyclegan_lib.lessons import digit_translation as dt
from cyclegan_lib.lessons.widgets import live_training
from cyclegan_lib.lessons.widgets.live_training import LiveTraining, LiveTrainingSink


class Handle:
    def __init__(self, shown):
        self.shown = shown

    def update(self, picture):
        self.shown.append(("update", picture.data))


@pytest.fixture
def shown(monkeypatch):
    """What reached IPython's display: ("display", png) then ("update", png) for each redraw."""
    import IPython.display

    outputs = []

    def display(picture, display_id=None):
        assert display_id is True, "a live view needs a handle to update"
        outputs.append(("display", picture.data))
        return Handle(outputs)

    monkeypatch.setattr(IPython.display, "display", display)
    return outputs


def digits(n=4):
    return torch.rand(n, 1, 8, 8) * 2 - 1


def test_the_view_draws_once_then_updates_the_same_output(shown):
    view = LiveTraining(every=2, title="test", enabled=True)
    calls = []
    for step in range(1, 6):
        view.update(
            step, {"D": 1.0 / step, "G": 2.0}, lambda: calls.append(1) or {"G(z)": digits()}
        )
    view.update(6, {"D": 0.1, "G": 2.0}, lambda: {"G(z)": digits()}, last=True)
    assert [kind for kind, _ in shown] == ["display", "update", "update", "update"]  # 1 2 4 6
    assert all(png.startswith(b"\x89PNG") for _, png in shown)
    assert len(calls) == 3, "samples are made only when drawn"
    assert view.curves["D"] == ([1, 2, 3, 4, 5, 6], [1.0, 0.5, 1 / 3, 0.25, 0.2, 0.1])


def test_the_view_takes_pictures_and_long_histories(shown):
    view = LiveTraining(every=1000, enabled=True)
    for step in range(1, 2001):
        view.add_losses(step, {"loss": float(step % 7) + 1.0})
    picture = np.zeros((10, 40, 3), np.uint8)
    view.show(2000, {"a picture": picture, "images": digits(3)})
    assert shown[0][1].startswith(b"\x89PNG") and view.draws == 1


@pytest.mark.parametrize("profile, notebook", [("smoke", True), ("cpu", False), ("gpu", False)])
def test_silent_in_smoke_and_in_a_terminal(shown, monkeypatch, profile, notebook):
    monkeypatch.setenv("COURSE_PROFILE", profile)
    monkeypatch.setattr(live_training, "in_notebook", lambda: notebook)
    view = LiveTraining(every=1)
    view.update(1, {"D": 1.0}, lambda: pytest.fail("no samples when nobody looks"), last=True)
    view.show(1, {"x": digits()})
    assert not view.enabled and shown == [] and view.curves == {}


def test_on_in_a_notebook_kernel_outside_smoke(monkeypatch):
    monkeypatch.setenv("COURSE_PROFILE", "cpu")
    monkeypatch.setattr(live_training, "in_notebook", lambda: True)
    assert LiveTraining(every=5).enabled


def test_every_must_be_positive():
    with pytest.raises(ValueError, match="every must be >= 1"):
        LiveTraining(every=0)


def test_the_trainers_sink_shows_its_visuals_in_one_row(shown):
    view = LiveTraining(every=1, enabled=True)
    sink = LiveTrainingSink(view)
    sink.losses(1.5, 4, {"D_A": 0.3, "G_A": 0.9})
    visuals = {"real_A": np.zeros((8, 8, 3), np.uint8), "fake_B": np.ones((8, 8, 3), np.uint8)}
    sink.images(2, 8, visuals)
    sink.close()
    assert view.curves["G_A"] == ([4], [0.9]) and [kind for kind, _ in shown] == ["display"]


# ----- lesson 04's arms: worker side and parent side ------------------------------------------
def test_a_worker_reports_every_step_and_a_small_preview_every_so_often():
    sent = []
    reporter = dt.ArmReporter(sent.append, "cycle", every=3, last=7)
    x = digits()
    for step in range(1, 8):
        reporter(step, {"D_Y": float(step)}, lambda: {"x": x, "G(x)": x})
    previews = [m for m in sent if isinstance(m, dt.ArmPreview)]
    assert sent.count(1) == 7
    assert [(p.step, p.losses["D_Y"]) for p in previews] == [(1, 1.0), (3, 2.5), (6, 5.0), (7, 7.0)]
    picture = previews[0].pictures["G(x)"]
    assert picture.dtype == np.uint8 and picture.ndim == 3 and picture.nbytes < 20_000


def test_a_worker_without_a_view_sends_only_steps():
    sent = []
    reporter = dt.ArmReporter(sent.append, "cycle", every=0, last=4)
    for step in range(1, 5):
        reporter(step, {"D_Y": 1.0}, lambda: pytest.fail("no samples without a view"))
    assert sent == [1, 1, 1, 1]


def test_the_parent_counts_steps_and_draws_each_arms_latest_samples(shown, monkeypatch):
    queue = __import__("multiprocessing").get_context("spawn").SimpleQueue()
    arms = [Future(), Future()]
    counted = []
    monkeypatch.setattr(dt, "progress", lambda _, **kw: Bar(counted))
    x = digits()

    def workers():
        for arm in ("cycle", "no cycle"):
            reporter = dt.ArmReporter(queue.put, arm, every=2, last=4)
            for step in range(1, 5):
                reporter(step, {"D_Y": 0.5}, lambda: {"x": x, "G(x)": x})
        for arm in arms:
            arm.set_result(None)

    thread = threading.Thread(target=workers)
    thread.start()
    view = LiveTraining(every=2, enabled=True)
    dt._follow(queue, arms, total=8, desc="cycle | no cycle", view=view)
    thread.join()
    assert sum(counted) == 8 and queue.empty()
    assert shown and set(view.curves) == {"cycle: D_Y", "no cycle: D_Y"}
    assert view.curves["cycle: D_Y"] == ([1, 2, 4], [0.5, 0.5, 0.5])


def test_arms_with_the_same_inputs_share_one_x_row():
    view = dt.ArmsView(Bar([]), LiveTraining(every=1, enabled=False))
    clean, colour = np.zeros((4, 4, 3), np.uint8), np.full((4, 4, 3), 9, np.uint8)
    for arm, x in (("cycle", clean), ("no cycle", clean), ("bold", colour), ("bold 2", colour)):
        view.receive(dt.ArmPreview(arm, 1, {}, {"x": x, "G(x)": x}))
    assert list(view.rows) == ["x", "cycle: G(x)", "no cycle: G(x)", "bold: x", "bold: G(x)",
                               "bold 2: G(x)"]  # fmt: skip


def test_watching_a_run_does_not_change_its_training():
    from cyclegan_lib.course.digits import UnpairedDigits, paired_digits

    data = paired_digits("test")
    unpaired = UnpairedDigits(data.clean[:20], data.labels[:20], data.color[20:40],
                                 data.labels[20:40])  # fmt: skip
    recipe = dt.DigitRecipe(steps=3, batch_size=4, ngf=4, ndf=4, netG="resnet_1blocks")
    seen = []

    def watch(step, losses, samples):
        seen.append((step, sorted(losses), {k: tuple(v.shape) for k, v in samples().items()}))

    watched = dt.train_cyclegan_digits(unpaired, recipe, show_progress=False, watch=watch)
    alone = dt.train_cyclegan_digits(unpaired, recipe, show_progress=False)
    assert watched.history == alone.history
    assert seen[-1] == (3, sorted(dt.CYCLEGAN_PLOTTED.values()),
                        {"x": (8, 1, 32, 32), "G(x)": (8, 3, 32, 32)})  # fmt: skip


class Bar:
    def __init__(self, counted):
        self.counted = counted

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        return False

    def update(self, n=1):
        self.counted.append(n)


def test_watching_a_gan_does_not_change_its_training(shown):
    import copy

    from cyclegan_lib.lessons.gan_loop import GanRecipe, train_gan

    recipe = GanRecipe(steps=4, batch_size=8, ngf=4, ndf=4, z_dim=8, r1_gamma=1.0, r1_every=2)
    images, z = torch.rand(32, 1, 32, 32) * 2 - 1, torch.randn(20, 8)

    def run(live):
        torch.manual_seed(0)
        G, D = recipe.networks()
        history = train_gan(G, D, images, recipe, fixed_z=z, G_avg=copy.deepcopy(G), live=live)
        return history, G

    view = LiveTraining(every=2, enabled=True)
    (watched, G_watched), (alone, G_alone) = run(view), run(None)
    assert watched.d_loss == alone.d_loss and watched.g_loss == alone.g_loss
    for a, b in zip(G_watched.state_dict().values(), G_alone.state_dict().values(), strict=True):
        assert torch.equal(a, b)
    assert [kind for kind, _ in shown] == ["display", "update", "update"]  # steps 1, 2, 4
    assert set(view.curves) == {"D", "G"} and len(view.curves["D"][0]) == 4


@pytest.mark.parametrize("enabled", [True, False])
def test_lesson_05_adds_a_notebook_view_to_the_trainer_only_where_seen(monkeypatch, enabled):
    from types import SimpleNamespace

    from cyclegan_lib.lessons import full_scale
    from cyclegan_lib.pipeline.display import Display

    monkeypatch.setattr(live_training, "live_view_wanted", lambda: enabled)
    trainer = SimpleNamespace(opt=SimpleNamespace(name="run"), display=Display({}, print))
    full_scale.watch_live(trainer)
    assert list(trainer.display.sinks) == (["notebook"] if enabled else [])


@pytest.mark.parametrize(
    "shell, tty, watched",
    [(SimpleNamespace(kernel=object()), False, True),  # a notebook kernel
     (SimpleNamespace(), False, False),  # IPython in a terminal, output piped
     (None, True, True),  # a terminal
     (None, False, False)],  # a log file
)  # fmt: skip
def test_the_trainer_shows_its_bar_in_a_notebook_or_a_terminal(monkeypatch, shell, tty, watched):
    import sys

    from cyclegan_lib.pipeline import trainer

    monkeypatch.setitem(sys.modules, "IPython", SimpleNamespace(get_ipython=lambda: shell))
    monkeypatch.setattr(sys, "stderr", SimpleNamespace(isatty=lambda: tty))
    assert trainer.someone_is_watching() is watched
