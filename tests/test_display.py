"""Live display of a two-iteration ``cyclegan train`` run: a visdom server started here, a
TensorBoard event file and a wandb offline run, each read back; and a missing server costs
one line, not the run."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cyclegan_lib.cli import train as train_command
from cyclegan_lib.pipeline.display import label_table, server_reachable
from cyclegan_lib.tools.fake_data import make_image_folder_dataset

TINY = ["--gpu_ids", "-1", "--ngf", "4", "--ndf", "4", "--netD", "n_layers", "--n_layers_D", "1",
        "--num_threads", "0", "--netG", "resnet_1blocks", "--load_size", "20", "--crop_size", "16",
        "--n_epochs", "1", "--n_epochs_decay", "0", "--print_freq", "1", "--display_freq", "1"]  # fmt: skip
LOSSES = ["D_A", "G_A", "cycle_A", "idt_A", "D_B", "G_B", "cycle_B", "idt_B"]
VISUALS = ["real_A", "fake_B", "rec_A", "idt_B", "real_B", "fake_A", "rec_B", "idt_A"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def train_two_iterations(root: Path, *options: str) -> Path:
    """Train cycle_gan for one epoch of two images; return the run's checkpoint folder."""
    data = make_image_folder_dataset(root / "data", n=2, size=24)
    argv = ["--dataroot", str(data), "--name", "live", "--checkpoints_dir", str(root / "ck"),
            *TINY, *options]  # fmt: skip
    assert train_command.main(argv) == 0
    return root / "ck" / "live"


def require(module: str) -> None:
    """Skip without the optional package, except in CI (the Makefile installs the display
    extra there, so a missing package fails the test)."""
    if not os.environ.get("CI"):
        pytest.importorskip(module, reason=f"{module} is not installed (pip install .[display])")


@pytest.fixture
def visdom_server(tmp_path):
    """A visdom server on a free local port (its JavaScript assets, fetched from the web by
    ``python -m visdom.server``, are not needed to store and return windows)."""
    require("visdom")
    port = free_port()
    start = "import sys; from visdom.server.run_server import main; sys.argv[0] = 'visdom'; main()"
    server = subprocess.Popen(
        [sys.executable, "-c", start, "-port", str(port), "--hostname", "127.0.0.1",
         "-env_path", str(tmp_path / "envs"), "-logging_level", "40"],
        stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while not server_reachable("http://127.0.0.1", port, timeout=0.5):
        if server.poll() is not None or time.monotonic() > deadline:
            server.kill()
            pytest.fail(f"the visdom server did not start: {server.communicate()[1][-2000:]}")
        time.sleep(0.2)
    yield port
    server.kill()
    server.wait()


@pytest.mark.slow
def test_visdom_shows_the_loss_plot_and_the_image_grid(tmp_path, visdom_server, capsys):
    import visdom

    train_two_iterations(tmp_path, "--display_id", "3", "--display_server", "http://127.0.0.1",
                         "--display_port", str(visdom_server), "--display_env", "live_env",
                         "--display_ncols", "4")  # fmt: skip
    assert f"visdom: showing the run at http://127.0.0.1:{visdom_server}" in capsys.readouterr().out
    client = visdom.Visdom(server="http://127.0.0.1", port=visdom_server, env="live_env",
                           use_incoming_socket=False, raise_exceptions=True)  # fmt: skip
    windows = json.loads(client.get_window_data(env="live_env"))
    assert set(windows) == {"3", "4", "5"}  # losses, images, labels (the reference's numbering)
    plot = windows["3"]
    assert plot["title"] == "live loss over time"
    assert [trace["name"] for trace in plot["content"]["data"]] == LOSSES
    assert [trace["x"] for trace in plot["content"]["data"]] == [[1.5, 2.0]] * len(LOSSES)
    images = windows["4"]
    assert images["type"] == "image" and images["title"] == "live images (epoch 1)"
    assert images["content"]["src"].startswith("data:image/")
    assert all(label in windows["5"]["content"] for label in VISUALS)


def test_unreachable_visdom_server_costs_one_line_and_training_goes_on(tmp_path, capsys):
    require("visdom")
    started = time.monotonic()
    folder = train_two_iterations(tmp_path, "--display_id", "1", "--display_server",
                                  "http://127.0.0.1", "--display_port", str(free_port()))  # fmt: skip
    out = capsys.readouterr().out
    hints = [line for line in out.splitlines() if "visdom server" in line]
    assert len(hints) == 1 and "start one with 'python -m visdom.server" in hints[0], out
    assert "Traceback" not in out and "Exception" not in out
    assert (folder / "web" / "index.html").is_file() and (folder / "latest_net_G_A.pth").is_file()
    assert time.monotonic() - started < 60  # no retry loop; a hang would stop the suite


def test_tensorboard_event_file_holds_losses_and_images(tmp_path):
    require("tensorboard")
    from tensorboard.backend.event_processing.event_accumulator import EventAccumulator

    folder = train_two_iterations(tmp_path, "--display_id", "-1", "--use_tensorboard")
    events = EventAccumulator(str(folder / "tensorboard"), size_guidance={"images": 0})
    events.Reload()
    tags = events.Tags()
    assert set(tags["scalars"]) == {f"loss/{name}" for name in LOSSES} | {"epoch"}
    assert [(e.step, e.value) for e in events.Scalars("epoch")] == [(1, 1.5), (2, 2.0)]
    assert set(tags["images"]) == {f"images/{label}" for label in VISUALS}
    image = events.Images("images/fake_B")[-1]
    assert (image.step, image.width, image.height) == (2, 16, 16)


def wandb_records(run_file: Path) -> list:
    """The records of a ``.wandb`` file: a 7-byte header, then LevelDB-log blocks of 32 KiB
    whose chunks (checksum, length, type) carry serialized ``Record`` messages."""
    from wandb.proto import wandb_internal_pb2

    data = run_file.read_bytes()
    assert data[:4] == b":W&B"
    records, pending, position = [], b"", 7
    while position + 7 <= len(data):
        block_left = 32768 - position % 32768
        if block_left < 7:  # the rest of a block too short for a chunk header is padding
            position += block_left
            continue
        length = int.from_bytes(data[position + 4 : position + 6], "little")
        kind = data[position + 6]
        pending += data[position + 7 : position + 7 + length]
        position += 7 + length
        if kind in (1, 4):  # a full record, or the last chunk of one
            record = wandb_internal_pb2.Record()
            record.ParseFromString(pending)
            records.append(record)
            pending = b""
    return records


def history_row(history) -> dict:
    """One step of a run's history; an item's key is ``key``, or a path in ``nested_key``."""
    row: dict = {}
    for item in history.item:
        *parents, name = [item.key] if item.key else item.nested_key
        target = row
        for parent in parents:
            target = target.setdefault(parent, {})
        target[name] = json.loads(item.value_json)
    return row


@pytest.mark.slow
def test_wandb_offline_run_holds_losses_and_images(tmp_path, monkeypatch):
    require("wandb")
    monkeypatch.setenv("WANDB_MODE", "offline")
    monkeypatch.setenv("WANDB_SILENT", "true")
    folder = train_two_iterations(
        tmp_path, "--display_id", "-1", "--use_wandb", "--wandb_project_name", "tests"
    )
    (run_file,) = (folder / "wandb").glob("offline-run-*/run-*.wandb")
    history = {}
    for record in wandb_records(run_file):
        if record.WhichOneof("record_type") == "history":
            row = history_row(record.history)
            history[row["_step"]] = row
    assert sorted(history) == [1, 2]
    for step in (1, 2):
        assert set(LOSSES) | set(VISUALS) <= set(history[step])
        assert history[step]["fake_B"]["_type"] == "image-file"
    assert [history[step]["epoch"] for step in (1, 2)] == [1.5, 2.0]
    assert len(list(run_file.parent.glob("files/media/images/*.png"))) == 2 * len(VISUALS)


def test_label_table_rows_follow_the_grid():
    table = label_table(["a", "b", "c<", "d", "e"], ncols=2)
    assert table.count("<tr>") == 3 and "<td>c&lt;</td>" in table
