"""Checkpoint files: the reference's per-network ``.pth`` files and one full training state.

Two kinds of file live in ``checkpoints/<name>/``:

* ``<label>_net_<X>.pth`` (``latest_net_G_A.pth``, ``5_net_D_B.pth`` ...): a plain CPU
  ``state_dict`` per network, named and laid out like the reference's ``save_networks``, so
  its code (and ours) can load them.
* ``latest_state.pt``: everything an *exact* resume needs (networks, optimizers, schedulers,
  image pools, the position in the run and every random number generator). The reference
  saves only the networks, so its ``--continue_train`` restarts Adam from zero.

Every file is written to a temporary name in the same folder and renamed with
``os.replace``: a crash (even ``kill -9``) leaves either the old file or the new one, never half.
The files of one save are renamed only once all are written, so a full disk leaves the previous
set whole and says which file needed how much space.
Every load is ``torch.load(..., weights_only=True)``.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import tempfile
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import torch
from torch import nn

STATE_FILE = "latest_state.pt"
STATE_FORMAT = 1


class CheckpointError(ValueError):
    """A checkpoint file that is missing, unreadable or does not fit; ``str()`` names the file
    and is the whole explanation (the CLI prints it as one line)."""


def checkpoint_label(epoch: str, load_iter: int = 0) -> str:
    """The reference's label of saved networks: ``iter_<n>`` for ``--load_iter n`` (> 0),
    else ``--epoch`` (``latest`` by default, or an epoch number)."""
    return f"iter_{load_iter}" if load_iter > 0 else epoch


def atomic_save(obj: Any, path: Path) -> None:
    """``torch.save`` to a temporary file next to ``path``, flush it to disk, then rename it."""
    atomic_save_all({Path(path): obj})


def atomic_save_all(files: Mapping[Path, Any]) -> None:
    """Save several files all or nothing: every one goes to a temporary name first and they
    are renamed only once all are written, so a full disk keeps the whole previous set.

    Raises:
        CheckpointError: a file could not be written (disk full, file-size limit ...);
            the message names it and the space it needed.
    """
    written: dict[Path, Path] = {}
    try:
        for path, obj in files.items():
            written[Path(path)] = _write_temporary(obj, Path(path))
    except BaseException:
        for temporary in written.values():
            temporary.unlink(missing_ok=True)
        raise
    for path, temporary in written.items():
        os.replace(temporary, path)


def _write_temporary(obj: Any, path: Path) -> Path:
    """``torch.save`` ``obj`` to a new hidden file next to ``path``, on disk (fsync) when it returns."""
    path.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(handle, "wb") as file:
            torch.save(obj, file)
            file.flush()
            os.fsync(file.fileno())
    except BaseException as error:
        Path(temporary).unlink(missing_ok=True)
        refused = _os_error_behind(error)
        if refused is None:
            raise
        raise CheckpointError(_cannot_write(path, obj, refused)) from None
    return Path(temporary)


def _os_error_behind(error: BaseException | None) -> OSError | None:
    """The ``OSError`` (disk full, file too large) that caused ``error``, if one did: torch's
    zip writer turns a refused write into a ``RuntimeError`` while closing the file."""
    while error is not None and not isinstance(error, OSError):
        error = error.__context__
    return error


def _cannot_write(path: Path, obj: Any, error: OSError) -> str:
    """One line: which file, why, how much space it needed and how much was free."""
    counter = _ByteCounter()
    torch.save(obj, counter)
    free = shutil.disk_usage(path.parent).free
    return (
        f"cannot write {path}: {error.strerror or error} (the file needs {_size(counter.size)}, "
        f"{_size(free)} free there); the previous {path.name} and the other files of this "
        "save are unchanged: free some space, then continue with --continue_train"
    )


class _ByteCounter(io.BytesIO):
    """A file that keeps nothing and counts what is written: the size a ``torch.save`` needs."""

    def __init__(self) -> None:
        super().__init__()
        self.size = 0

    def write(self, data: Any) -> int:
        self.size += len(data)
        return len(data)


def _size(count: int) -> str:
    return f"{count / 2**20:.1f} MiB" if count >= 2**20 else f"{count / 2**10:.1f} KiB"


def remove_stale_temporaries(folder: Path) -> None:
    """Delete temporary files left by a save that was killed half-way (they are never read)."""
    for leftover in Path(folder).glob(".*.tmp"):
        leftover.unlink(missing_ok=True)


def network_file(folder: Path, label: str, net_name: str) -> Path:
    """The reference's file name: ``<folder>/<label>_net_<net_name>.pth``."""
    return Path(folder) / f"{label}_net_{net_name}.pth"


def network_files(nets: Mapping[str, nn.Module], folder: Path, label: str) -> dict[Path, Any]:
    """``<label>_net_<name>.pth`` -> that network's ``state_dict`` on the CPU, ready for
    :func:`atomic_save_all` (the reference's ``save_networks``)."""
    return {
        network_file(folder, label, name): {
            k: v.detach().cpu() for k, v in net.state_dict().items()
        }
        for name, net in nets.items()
    }


def last_good_epoch(folder: Path, net_names: list[str]) -> int | None:
    """The highest epoch ``N`` whose ``N_net_<X>.pth`` files are all there and readable."""
    epochs = {p.name.split("_net_")[0] for p in Path(folder).glob("*_net_*.pth")}
    for epoch in sorted((int(e) for e in epochs if e.isdigit()), reverse=True):
        try:
            for name in net_names:
                load_file(network_file(folder, str(epoch), name))
        except CheckpointError:
            continue
        return epoch
    return None


def load_file(
    path: Path, map_location: str | torch.device = "cpu", what: str = "checkpoint"
) -> Any:
    """The one ``torch.load`` of the library: ``weights_only=True``, so a file cannot run code.

    Raises:
        CheckpointError: ``<path>: no such <what>``, or the file is not a readable PyTorch
            file (truncated, damaged, or pickling anything but tensors and plain values).
    """
    path = Path(path)
    if not path.is_file():
        raise CheckpointError(f"{path}: no such {what}")
    try:
        return torch.load(path, map_location=map_location, weights_only=True)
    except Exception as error:  # pickle, zip or unpickling-policy errors all mean "not loadable"
        text = str(error).strip()
        first_line = text.splitlines()[0][:200] if text else type(error).__name__
        raise CheckpointError(
            f"{path}: not a readable PyTorch weights file ({first_line}); it is truncated, "
            "damaged or not a checkpoint: copy or download it again, or check the path"
        ) from None


def capture_rng_state() -> dict[str, Any]:
    """The state of every global generator: Python, NumPy, torch CPU and all CUDA devices.

    NumPy's key array is stored as a tensor so that ``weights_only`` loading accepts it.
    """
    kind, keys, position, has_gauss, cached = np.random.get_state()
    return {
        "python": random.getstate(),
        "numpy": (
            kind,
            torch.from_numpy(np.asarray(keys, dtype=np.int64)),
            position,
            has_gauss,
            cached,
        ),
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
    }


def restore_rng_state(state: Mapping[str, Any]) -> None:
    """Undo :func:`capture_rng_state`: every global generator continues where it was."""
    random.setstate(_as_tuples(state["python"]))
    kind, keys, position, has_gauss, cached = state["numpy"]
    np.random.set_state((kind, keys.numpy().astype(np.uint32), position, has_gauss, cached))
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"][: torch.cuda.device_count()])


def _as_tuples(value: Any) -> Any:
    """``random.setstate`` wants tuples; a round trip through ``torch.save`` may give lists."""
    return tuple(_as_tuples(v) for v in value) if isinstance(value, list | tuple) else value


def training_state(**state: Any) -> dict[str, Any]:
    """The full training state to save: ``state`` plus the format and the RNG states captured now."""
    return {"format": STATE_FORMAT, "rng": capture_rng_state(), **state}


def load_training_state(path: Path) -> dict[str, Any]:
    """Read a file written by :func:`save_training_state`.

    Raises:
        CheckpointError: no such file, not readable, or not a training state.
    """
    state = load_file(path, what="training state")
    if not isinstance(state, dict) or state.get("format") != STATE_FORMAT:
        raise CheckpointError(f"{path}: not a training state written by cyclegan train")
    return state
