"""Live views of a training run: visdom, Weights & Biases and TensorBoard (the reference's
``util/visualizer.py``, ``display_current_results`` and ``plot_current_losses``).

Each is optional: the trainer asks :func:`open_display` for the ones the options name, and
a missing package or an unreachable server costs one printed line, never the run. The
HTML page (:mod:`.pages`) is written either way.

* ``--display_id N`` (N > 0, the reference's default 1) with ``visdom`` installed: the
  current visuals as one grid of ``--display_ncols`` images per row (window N+1, their
  labels in window N+2; ``--display_ncols 0`` gives each image its own window) and the
  losses against the fractional epoch (window N), on ``--display_server``:
  ``--display_port``, environment ``--display_env``.
* ``--use_wandb``: the same to project ``--wandb_project_name``, the run named ``--name``,
  its files under ``checkpoints/<name>/wandb/`` (``WANDB_MODE=offline`` works without an
  account or network; ``wandb sync`` uploads later).
* ``--use_tensorboard``: event files under ``checkpoints/<name>/tensorboard/``, viewed with
  ``tensorboard --logdir checkpoints``.
"""

from __future__ import annotations

import html
import logging
import socket
import sys
from collections.abc import Callable, Mapping
from dataclasses import asdict
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlparse

import numpy as np
import torch

from cyclegan_lib.pipeline.options import TrainOptions
from cyclegan_lib.pipeline.pages import tensor_to_image

CONNECT_TIMEOUT = 2.0
"""Seconds to wait for the visdom server before training goes on without it."""

Say = Callable[[str], None]


class Sink(Protocol):
    """One live view: shows images and plots losses; ``step`` counts images (total_iters)."""

    def images(self, epoch: int, step: int, visuals: Mapping[str, np.ndarray]) -> None: ...

    def losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None: ...

    def close(self) -> None: ...


class VisdomSink:
    """The reference's visdom windows: losses in window ``display_id``, images in the next."""

    def __init__(self, client: Any, opt: TrainOptions) -> None:
        self.client = client
        self.win = opt.display_id
        self.ncols = opt.display_ncols
        self.title = opt.name
        self.curve: dict[str, list] = {"X": [], "Y": []}

    def images(self, epoch: int, step: int, visuals: Mapping[str, np.ndarray]) -> None:
        """A grid of ``ncols`` per row and a table of their labels (window +1 and +2), or one
        window per image when ``ncols`` is 0."""
        pictures = np.stack([image.transpose(2, 0, 1) for image in visuals.values()])
        if self.ncols > 0:
            title = f"{self.title} images (epoch {epoch})"
            opts = {"title": title, "caption": " ".join(visuals)}
            self.client.images(pictures, nrow=self.ncols, win=self.win + 1, padding=2, opts=opts)
            self.client.text(
                label_table(list(visuals), self.ncols),
                win=self.win + 2,
                opts={"title": f"{self.title} labels"},
            )
            return
        for index, (label, picture) in enumerate(zip(visuals, pictures, strict=True)):
            self.client.image(picture, win=self.win + 3 + index, opts={"title": label})

    def losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None:
        """One line per loss against the fractional epoch, redrawn whole (as the reference)."""
        self.curve["X"].append(epoch)
        self.curve["Y"].append(list(losses.values()))
        names = list(losses)
        self.client.line(
            X=np.stack([np.array(self.curve["X"])] * len(names), 1),
            Y=np.array(self.curve["Y"]),
            win=self.win,
            opts={
                "title": f"{self.title} loss over time",
                "legend": names,
                "xlabel": "epoch",
                "ylabel": "loss",
            },
        )

    def close(self) -> None:
        pass


def label_table(labels: list[str], ncols: int) -> str:
    """The image labels as an HTML table, ``ncols`` per row, like the grid beside it."""
    rows = [labels[i : i + ncols] for i in range(0, len(labels), ncols)]
    cells = ("".join(f"<td>{html.escape(label)}</td>" for label in row) for row in rows)
    return "<table>" + "".join(f"<tr>{row}</tr>" for row in cells) + "</table>"


class WandbSink:
    """A wandb run: losses with the fractional ``epoch``, and each visual as an image, at
    step total_iters."""

    def __init__(self, wandb: Any, run: Any) -> None:
        self.wandb = wandb
        self.run = run

    def images(self, epoch: int, step: int, visuals: Mapping[str, np.ndarray]) -> None:
        pictures = {label: self.wandb.Image(image) for label, image in visuals.items()}
        self.run.log(pictures, step=step)

    def losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None:
        self.run.log({"epoch": epoch, **losses}, step=step)

    def close(self) -> None:
        """Finish the run and wait until wandb has written all of it (``finish`` alone returns
        before the offline run file is complete)."""
        self.run.finish()
        self.wandb.teardown()


class TensorBoardSink:
    """``loss/<name>`` scalars and ``images/<label>`` images at step total_iters."""

    def __init__(self, writer: Any) -> None:
        self.writer = writer

    def images(self, epoch: int, step: int, visuals: Mapping[str, np.ndarray]) -> None:
        for label, image in visuals.items():
            self.writer.add_image(f"images/{label}", image, step, dataformats="HWC")
        self.writer.flush()

    def losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None:
        for name, value in losses.items():
            self.writer.add_scalar(f"loss/{name}", value, step)
        self.writer.add_scalar("epoch", epoch, step)
        self.writer.flush()

    def close(self) -> None:
        self.writer.close()


def in_notebook() -> bool:
    """True inside a notebook kernel (JupyterLab, classic Notebook, Colab, nbconvert), where
    outputs are drawn in the notebook rather than printed to a terminal."""
    ipython = sys.modules.get("IPython")
    shell = ipython.get_ipython() if ipython is not None else None
    return getattr(shell, "kernel", None) is not None


class Display:
    """Every live view the options asked for; a view that fails is dropped with one line."""

    def __init__(self, sinks: dict[str, Sink], say: Say) -> None:
        self.sinks = sinks
        self.say = say

    def show_images(self, epoch: int, step: int, visuals: Mapping[str, torch.Tensor]) -> None:
        """The first image of each visual (the reference's ``display_current_results``)."""
        if self.sinks:
            pictures = {label: tensor_to_image(images) for label, images in visuals.items()}
            self.each(lambda sink: sink.images(epoch, step, pictures))

    def plot_losses(self, epoch: float, step: int, losses: Mapping[str, float]) -> None:
        """The losses at ``epoch`` (fractional, the reference's ``plot_current_losses``)."""
        self.each(lambda sink: sink.losses(epoch, step, losses))

    def add(self, name: str, sink: Sink) -> None:
        """One more live view, e.g. a notebook's live figure."""
        self.sinks[name] = sink

    def close(self) -> None:
        self.each(lambda sink: sink.close())

    def each(self, call: Callable[[Sink], None]) -> None:
        for name, sink in list(self.sinks.items()):
            try:
                call(sink)
            except Exception as error:  # a live view is never worth the training run
                self.say(f"{name}: {type(error).__name__}: {error}; continuing without it")
                del self.sinks[name]


def open_display(opt: TrainOptions, folder: Path, say: Say, enabled: bool = True) -> Display:
    """The views ``opt`` names (none unless ``enabled``: rank 0 of a multi-GPU run shows them),
    each one that can't start reported in one line."""
    openers = {
        "visdom": (opt.display_id > 0, open_visdom),
        "wandb": (opt.use_wandb, open_wandb),
        "tensorboard": (opt.use_tensorboard, open_tensorboard),
    }
    sinks = {}
    for name, (wanted, opener) in openers.items():
        if wanted and enabled:
            sink = opener(opt, Path(folder), say)
            if sink is not None:
                sinks[name] = sink
    return Display(sinks, say)


def server_reachable(server: str, port: int, timeout: float = CONNECT_TIMEOUT) -> bool:
    """Whether a TCP connection to ``server:port`` opens within ``timeout`` seconds."""
    host = urlparse(server if "://" in server else f"http://{server}").hostname or "localhost"
    try:
        with socket.create_connection((host, port), timeout=timeout):
            return True
    except OSError:
        return False


def open_visdom(opt: TrainOptions, folder: Path, say: Say) -> Sink | None:
    """A visdom client, or None with one line: visdom missing, or no server to talk to."""
    try:
        import visdom
    except ImportError:
        return None  # the reference's default --display_id 1: quietly HTML-only without it
    where = f"{opt.display_server}:{opt.display_port}"
    if not server_reachable(opt.display_server, opt.display_port):
        say(
            f"no visdom server at {where}: start one with 'python -m visdom.server -port "
            f"{opt.display_port}' to watch live (--display_id -1 turns this off); "
            "continuing with the HTML page"
        )
        return None
    logging.getLogger("visdom").setLevel(logging.ERROR)  # its notes about sockets we don't use
    client = visdom.Visdom(
        server=opt.display_server,
        port=opt.display_port,
        env=opt.display_env,
        raise_exceptions=True,
        use_incoming_socket=False,
    )
    say(f"visdom: showing the run at {where}, environment {opt.display_env}")
    return VisdomSink(client, opt)


def open_wandb(opt: TrainOptions, folder: Path, say: Say) -> Sink | None:
    """A wandb run in ``folder/wandb``, or None with one line when wandb is missing or fails."""
    try:
        import wandb
    except ImportError:
        say("--use_wandb: wandb is not installed (pip install wandb); continuing without it")
        return None
    folder.mkdir(parents=True, exist_ok=True)
    try:
        run = wandb.init(
            project=opt.wandb_project_name,
            name=opt.name,
            dir=str(folder),
            config=asdict(opt),
            reinit="create_new",
        )
    except Exception as error:  # no account, no network: the run goes on
        first = str(error).splitlines()[0] if str(error) else ""
        say(
            f"--use_wandb: {type(error).__name__}: {first} (WANDB_MODE=offline logs "
            "without an account); continuing without it"
        )
        return None
    return WandbSink(wandb, run)


def open_tensorboard(opt: TrainOptions, folder: Path, say: Say) -> Sink | None:
    """A SummaryWriter on ``folder/tensorboard``, or None with one line without tensorboard."""
    try:
        from torch.utils.tensorboard import SummaryWriter
    except ImportError:
        say(
            "--use_tensorboard: tensorboard is not installed (pip install tensorboard); "
            "continuing without it"
        )
        return None
    log_dir = folder / "tensorboard"
    say(f"tensorboard: logging to {log_dir} (view with 'tensorboard --logdir {log_dir}')")
    return TensorBoardSink(SummaryWriter(log_dir=str(log_dir)))
