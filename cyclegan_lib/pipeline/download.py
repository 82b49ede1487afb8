"""Download the reference's datasets and pretrained generators, and never leave half a file.

The names and URLs are those of the reference's ``datasets/download_cyclegan_dataset.sh``,
``datasets/download_pix2pix_dataset.sh``, ``scripts/download_cyclegan_model.sh`` and
``scripts/download_pix2pix_model.sh``:

* CycleGAN datasets: ``<base>/cyclegan/datasets/NAME.zip``, unpacked to ``datasets/NAME``
  (``trainA``, ``trainB``, ``testA``, ``testB``);
* pix2pix datasets: ``<base>/pix2pix/datasets/NAME.tar.gz``, unpacked to ``datasets/NAME``
  (``train``, ``val``, ``test`` of A|B images);
* generators: ``<base>/cyclegan/pretrained_models/NAME.pth`` or
  ``<base>/pix2pix/models-pytorch/NAME.pth``, saved as
  ``checkpoints/NAME_pretrained/latest_net_G.pth`` for ``--model test``.

``<base>`` is :data:`DEFAULT_BASE_URL`, or ``$CYCLEGAN_BASE_URL``, or the ``base_url``
argument (a mirror, or a local server in the tests). Where the reference pipes
``wget`` into ``unzip``, here the file streams into a temporary file next to its
destination and is renamed only once its size matches ``Content-Length``;
archive entries that would land outside the target folder are refused before
anything is unpacked; the archive is unpacked into a temporary folder that is
renamed into place at the end. A failure leaves nothing behind.
"""

from __future__ import annotations

import http.client
import os
import shutil
import tarfile
import tempfile
import urllib.error
import urllib.request
import zipfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any
from urllib.parse import urlsplit

from tqdm.auto import tqdm

from cyclegan_lib.pipeline.checkpoints import CheckpointError, load_file

DEFAULT_BASE_URL = "http://efrosgans.eecs.berkeley.edu"
BASE_URL_VARIABLE = "CYCLEGAN_BASE_URL"
CHUNK_BYTES = 1 << 16
TIMEOUT_S = 30.0

CYCLEGAN_DATASETS = (
    "apple2orange", "summer2winter_yosemite", "horse2zebra", "monet2photo", "cezanne2photo",
    "ukiyoe2photo", "vangogh2photo", "maps", "cityscapes", "facades", "iphone2dslr_flower",
    "ae_photos",
)  # fmt: skip
PIX2PIX_DATASETS = ("facades", "cityscapes", "maps", "edges2shoes", "edges2handbags", "night2day")
CYCLEGAN_MODELS = (
    "apple2orange", "orange2apple", "summer2winter_yosemite", "winter2summer_yosemite",
    "horse2zebra", "zebra2horse", "monet2photo", "style_monet", "style_cezanne", "style_ukiyoe",
    "style_vangogh", "sat2map", "map2sat", "cityscapes_photo2label", "cityscapes_label2photo",
    "facades_photo2label", "facades_label2photo", "iphone2dslr_flower",
)  # fmt: skip
PIX2PIX_MODELS = ("edges2shoes", "sat2map", "map2sat", "facades_label2photo", "day2night")

CATALOGUE = {
    ("dataset", "cyclegan"): (CYCLEGAN_DATASETS, "cyclegan/datasets/{}.zip"),
    ("dataset", "pix2pix"): (PIX2PIX_DATASETS, "pix2pix/datasets/{}.tar.gz"),
    ("model", "cyclegan"): (CYCLEGAN_MODELS, "cyclegan/pretrained_models/{}.pth"),
    ("model", "pix2pix"): (PIX2PIX_MODELS, "pix2pix/models-pytorch/{}.pth"),
}
NOT_DISTRIBUTED = {
    ("dataset", "pix2pix", "cityscapes"): (
        "the pix2pix cityscapes dataset is not redistributed (licence): download "
        "gtFine_trainvaltest.zip and leftImg8bit_trainvaltest.zip from https://cityscapes-dataset.com "
        "and combine them with the reference's datasets/prepare_cityscapes_dataset.py"
    ),
}


class DownloadError(RuntimeError):
    """A download that could not complete; the message says why in one sentence."""


class OfflineError(DownloadError):
    """The server could not be reached at all (no network, wrong host, refused)."""


@dataclass(frozen=True)
class Resource:
    """One downloadable file of the reference: a dataset archive or a generator."""

    kind: str  # "dataset" or "model"
    family: str  # "cyclegan" or "pix2pix"
    name: str

    def url(self, base_url: str | None = None) -> str:
        """The file's address under ``base_url`` (default: ``$CYCLEGAN_BASE_URL`` or the reference's)."""
        base = base_url or os.environ.get(BASE_URL_VARIABLE) or DEFAULT_BASE_URL
        return f"{base.rstrip('/')}/{CATALOGUE[self.kind, self.family][1].format(self.name)}"


def find_resource(kind: str, name: str, pix2pix: bool = False) -> Resource:
    """The CycleGAN resource called ``name`` (pix2pix's with ``pix2pix``, or if only pix2pix has it).

    Raises:
        DownloadError: no such name (the message lists the valid ones), or not downloadable.
    """
    cyclegan_names = CATALOGUE[kind, "cyclegan"][0]
    pix2pix_names = CATALOGUE[kind, "pix2pix"][0]
    family = "pix2pix" if pix2pix or name not in cyclegan_names else "cyclegan"
    if name not in CATALOGUE[kind, family][0]:
        valid = sorted(pix2pix_names if pix2pix else set(cyclegan_names) | set(pix2pix_names))
        raise DownloadError(f"unknown {kind} {name!r}; valid names: {', '.join(valid)}")
    if (kind, family, name) in NOT_DISTRIBUTED:
        raise DownloadError(NOT_DISTRIBUTED[kind, family, name])
    return Resource(kind, family, name)


@contextmanager
def _open_url(url: str, offline_hint: str) -> Iterator:
    """``urlopen`` whose failures become one-sentence :class:`DownloadError` messages."""
    request = urllib.request.Request(url, headers={"User-Agent": "cyclegan-from-scratch"})
    try:
        response = urllib.request.urlopen(request, timeout=TIMEOUT_S)
    except urllib.error.HTTPError as error:
        raise DownloadError(f"{url} answered {error.code} {error.reason}") from None
    except (urllib.error.URLError, TimeoutError, ConnectionError) as error:
        reason = getattr(error, "reason", error)
        host = urlsplit(url).netloc
        raise OfflineError(
            f"cannot reach {host} ({reason}), so nothing was downloaded: you seem to be offline "
            f"(or --base_url is wrong); {offline_hint}"
        ) from None
    except ValueError as error:
        raise DownloadError(f"bad URL {url!r}: {error}") from None
    with response:
        yield response


def _stream(response, out, expected: int | None, label: str, progress: bool) -> int:
    """Copy the body in chunks under a progress bar; return the number of bytes received."""
    received = 0
    with tqdm(
        total=expected,
        unit="B",
        unit_scale=True,
        unit_divisor=1024,
        desc=label,
        disable=not progress,
    ) as bar:
        while chunk := response.read(CHUNK_BYTES):
            out.write(chunk)
            received += len(chunk)
            bar.update(len(chunk))
    return received


def fetch(
    url: str,
    destination: str | Path,
    *,
    progress: bool = True,
    offline_hint: str = "run the command again once you are online",
    validate: Callable[[Path], None] | None = None,
) -> Path:
    """Download ``url`` to ``destination`` atomically and return ``destination``.

    The body goes to a hidden temporary file in the destination's folder; the
    file is renamed to ``destination`` only when its size equals the server's
    ``Content-Length`` and ``validate`` (if given) accepts it. Otherwise the
    temporary file is deleted and :class:`DownloadError` says what went wrong.
    """
    destination = Path(destination)
    destination.parent.mkdir(parents=True, exist_ok=True)
    handle, temporary = tempfile.mkstemp(
        prefix=f".{destination.name}.", suffix=".part", dir=destination.parent
    )
    try:
        with os.fdopen(handle, "wb") as out, _open_url(url, offline_hint) as response:
            length = response.headers.get("Content-Length")
            expected = int(length) if length and length.isdigit() else None
            try:
                received = _stream(response, out, expected, destination.name, progress)
            except (
                OSError,
                http.client.HTTPException,
            ) as error:  # resets, timeouts, IncompleteRead
                raise DownloadError(
                    f"the transfer of {url} broke ({error}); run it again"
                ) from None
        if expected is not None and received != expected:
            raise DownloadError(
                f"{url} sent {received:,} bytes instead of the announced {expected:,}: "
                "the transfer was cut short; nothing was kept, run it again"
            )
        if validate is not None:
            validate(Path(temporary))
        os.replace(temporary, destination)
    finally:
        Path(temporary).unlink(missing_ok=True)
    return destination


def unsafe_name(name: str) -> bool:
    """True for an archive entry that would be written outside the folder it is unpacked in."""
    path = PurePosixPath(name.replace("\\", "/"))
    has_drive = len(name) > 1 and name[1] == ":"
    return path.is_absolute() or has_drive or ".." in path.parts


def _check_names(names: list[str], archive: Path) -> None:
    bad = [name for name in names if unsafe_name(name)]
    if bad:
        raise DownloadError(
            f"{archive.name} holds {len(bad)} entries that would escape the target folder "
            f"(first: {bad[0]!r}); refusing to unpack it"
        )


def _extract_zip(archive: Path, folder: Path) -> None:
    try:
        with zipfile.ZipFile(archive) as bundle:
            _check_names(bundle.namelist(), archive)
            bundle.extractall(folder)
    except zipfile.BadZipFile as error:
        raise DownloadError(f"{archive.name} is not a valid zip archive ({error})") from None


def _extract_tar(archive: Path, folder: Path) -> None:
    try:
        with tarfile.open(archive) as bundle:
            members = bundle.getmembers()
            _check_names([member.name for member in members], archive)
            special = [m.name for m in members if not (m.isfile() or m.isdir())]
            if special:
                raise DownloadError(
                    f"{archive.name} holds links or special files (first: {special[0]!r}); "
                    "refusing to unpack it"
                )
            safe_mode: dict[str, Any] = (
                {"filter": "data"} if hasattr(tarfile, "data_filter") else {}
            )
            bundle.extractall(folder, **safe_mode)
    except tarfile.TarError as error:
        raise DownloadError(f"{archive.name} is not a valid tar archive ({error})") from None


def extract_archive(archive: str | Path, target: str | Path) -> Path:
    """Unpack a ``.zip`` or ``.tar.gz`` so that its folder ``<target.name>/`` becomes ``target``.

    Everything is unpacked into a temporary sibling folder, which is renamed to
    ``target`` only at the end (an archive without a top folder of that name is
    taken whole). ``target`` must not exist yet.
    """
    archive, target = Path(archive), Path(target)
    staging = Path(tempfile.mkdtemp(prefix=f".{target.name}.", suffix=".unpack", dir=target.parent))
    try:
        if archive.name.endswith(".zip"):
            _extract_zip(archive, staging)
        else:
            _extract_tar(archive, staging)
        top = staging / target.name
        os.replace(top if top.is_dir() else staging, target)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return target


def _layout_hint(resource: Resource, target: Path, url: str) -> str:
    if resource.kind == "model":
        return f"save {url} by hand as {target}"
    folders = (
        "trainA, trainB, testA and testB" if resource.family == "cyclegan" else "train and test"
    )
    return f"unpack {url} by hand so that {target} holds the folders {folders}"


def _replace_existing(target: Path, force: bool, say: Callable[[str], None]) -> bool:
    """True if there is nothing to do (``target`` exists, no ``force``); else clear the way."""
    if not target.exists():
        return False
    if not force:
        say(f"{target} already exists; nothing to do (use --force to download it again)")
        return True
    if target.is_dir():
        shutil.rmtree(target)
    else:
        target.unlink()
    return False


def _quiet(_: str) -> None:
    """A ``say`` that says nothing."""


def download_dataset(
    name: str,
    root: str | Path = "datasets",
    *,
    pix2pix: bool = False,
    base_url: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Download and unpack dataset ``name`` into ``<root>/<name>``; return that folder.

    CycleGAN's unaligned version by default, pix2pix's aligned one with
    ``pix2pix=True`` (or automatically for the pix2pix-only names).
    """
    resource = find_resource("dataset", name, pix2pix)
    root = Path(root)
    target = root / name
    say = print if progress else _quiet
    if _replace_existing(target, force, say):
        return target
    url = resource.url(base_url)
    archive = root / Path(urlsplit(url).path).name
    hint = _layout_hint(resource, target, url)
    try:
        fetch(url, archive, progress=progress, offline_hint=hint)
        extract_archive(archive, target)
    finally:
        archive.unlink(missing_ok=True)
    say(f"{resource.family} dataset {name} is in {target}")
    return target


def _check_checkpoint(path: Path) -> None:
    """Refuse a file that is not a PyTorch state dict (an HTML error page served as 200, say)."""
    try:
        state = load_file(path)
    except CheckpointError as error:
        raise DownloadError(f"the downloaded file is not a PyTorch checkpoint ({error})") from None
    if not isinstance(state, dict):
        raise DownloadError(f"the downloaded file holds a {type(state).__name__}, not a state dict")


def download_model(
    name: str,
    checkpoints_dir: str | Path = "checkpoints",
    *,
    pix2pix: bool = False,
    base_url: str | None = None,
    force: bool = False,
    progress: bool = True,
) -> Path:
    """Download pretrained generator ``name`` to ``<checkpoints_dir>/<name>_pretrained/latest_net_G.pth``.

    Then ``cyclegan test --model test --name <name>_pretrained --no_dropout`` runs it,
    as in the reference's README.
    """
    resource = find_resource("model", name, pix2pix)
    folder = Path(checkpoints_dir) / f"{name}_pretrained"
    target = folder / "latest_net_G.pth"
    say = print if progress else _quiet
    if _replace_existing(target, force, say):
        return target
    url = resource.url(base_url)
    created = not folder.exists()
    try:
        hint = _layout_hint(resource, target, url)
        fetch(url, target, progress=progress, offline_hint=hint, validate=_check_checkpoint)
    except DownloadError:
        if created and not any(folder.iterdir()):
            folder.rmdir()
        raise
    say(f"{resource.family} generator {name} is in {target}")
    return target
