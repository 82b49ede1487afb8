"""Downloads against a local HTTP server on 127.0.0.1: success, and every way it can fail."""

from __future__ import annotations

import io
import socket
import tarfile
import threading
import zipfile
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest
import torch

from cyclegan_lib.cli.download import main
from cyclegan_lib.pipeline.datasets import DataOptions, create_dataset
from cyclegan_lib.pipeline.download import (
    BASE_URL_VARIABLE,
    DownloadError,
    OfflineError,
    Resource,
    download_dataset,
    download_model,
    find_resource,
    unsafe_name,
)
from cyclegan_lib.tools.fake_data import make_image_folder_dataset


@dataclass
class Route:
    body: bytes
    declared_length: int | None = None  # Content-Length to announce (default: the true one)
    cut_at: int | None = None  # send only this many bytes, then drop the connection


class Handler(BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)
        route = self.server.routes.get(self.path)
        if route is None:
            self.send_error(404, "Not Found")
            return
        self.send_response(200)
        length = len(route.body) if route.declared_length is None else route.declared_length
        self.send_header("Content-Length", str(length))
        self.end_headers()
        self.wfile.write(route.body[: route.cut_at])
        self.wfile.flush()
        if route.cut_at is not None or route.declared_length is not None:
            self.connection.shutdown(socket.SHUT_RDWR)

    def log_message(self, *args) -> None:
        """Keep the test output clean."""


@pytest.fixture
def server():
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    httpd.routes, httpd.hits = {}, []
    httpd.url = f"http://127.0.0.1:{httpd.server_address[1]}"
    thread = threading.Thread(target=httpd.serve_forever, daemon=True)
    thread.start()
    yield httpd
    httpd.shutdown()
    httpd.server_close()


@pytest.fixture
def root(tmp_path) -> Path:
    folder = tmp_path / "datasets"
    folder.mkdir()
    return folder


def zip_bytes(entries: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as bundle:
        for name, data in entries.items():
            bundle.writestr(name, data)
    return buffer.getvalue()


def folder_entries(folder: Path, prefix: str) -> dict[str, bytes]:
    return {
        f"{prefix}/{p.relative_to(folder).as_posix()}": p.read_bytes()
        for p in folder.rglob("*.png")
    }


@pytest.fixture(scope="module")
def horse2zebra_zip(tmp_path_factory) -> bytes:
    folder = make_image_folder_dataset(tmp_path_factory.mktemp("h2z"), n=2, size=16)
    return zip_bytes(folder_entries(folder, "horse2zebra"))


def serve_dataset(server, body: bytes, **route) -> None:
    server.routes["/cyclegan/datasets/horse2zebra.zip"] = Route(body, **route)


def leftovers(folder: Path) -> list[str]:
    return sorted(p.name for p in folder.iterdir())


def test_reference_urls(monkeypatch):
    monkeypatch.delenv(BASE_URL_VARIABLE, raising=False)
    base = "http://efrosgans.eecs.berkeley.edu"
    assert (
        find_resource("dataset", "horse2zebra").url() == f"{base}/cyclegan/datasets/horse2zebra.zip"
    )
    assert (
        find_resource("dataset", "edges2shoes").url()
        == f"{base}/pix2pix/datasets/edges2shoes.tar.gz"
    )
    assert find_resource("dataset", "facades", pix2pix=True).family == "pix2pix"
    assert find_resource("dataset", "facades").family == "cyclegan"
    assert (
        find_resource("model", "zebra2horse").url()
        == f"{base}/cyclegan/pretrained_models/zebra2horse.pth"
    )
    assert (
        find_resource("model", "day2night").url() == f"{base}/pix2pix/models-pytorch/day2night.pth"
    )
    monkeypatch.setenv(BASE_URL_VARIABLE, "http://mirror.example/")
    assert Resource("model", "cyclegan", "style_monet").url() == (
        "http://mirror.example/cyclegan/pretrained_models/style_monet.pth"
    )


@pytest.mark.parametrize(
    "kind, name, pix2pix, message",
    [
        (
            "dataset",
            "horse2giraffe",
            False,
            "unknown dataset 'horse2giraffe'; valid names: ae_photos,",
        ),
        ("dataset", "horse2zebra", True, "valid names: cityscapes, edges2handbags, edges2shoes,"),
        (
            "model",
            "giraffe",
            False,
            "unknown model 'giraffe'; valid names: apple2orange, cityscapes_label2photo,",
        ),
        ("dataset", "cityscapes", True, "not redistributed"),
    ],
)
def test_unknown_or_unavailable_names(kind, name, pix2pix, message):
    with pytest.raises(DownloadError, match=message):
        find_resource(kind, name, pix2pix)


def test_dataset_download_unpacks_a_usable_dataset(server, root, horse2zebra_zip, capsys):
    serve_dataset(server, horse2zebra_zip)
    target = download_dataset("horse2zebra", root, base_url=server.url)
    assert target == root / "horse2zebra"
    assert leftovers(root) == ["horse2zebra"]  # no archive, no temporary file or folder
    assert leftovers(target) == ["testA", "testB", "trainA", "trainB"]
    assert len(create_dataset(DataOptions(target, load_size=16, crop_size=16))) == 2
    assert "100%" in capsys.readouterr().err  # the progress bar ran to the end


def test_pix2pix_tar_download(server, root, tmp_path):
    folder = make_image_folder_dataset(tmp_path / "e2s", n=2, size=16, layout="aligned")
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        bundle.add(folder, arcname="edges2shoes")
    server.routes["/pix2pix/datasets/edges2shoes.tar.gz"] = Route(buffer.getvalue())
    target = download_dataset("edges2shoes", root, base_url=server.url, progress=False)
    assert leftovers(root) == ["edges2shoes"]
    options = DataOptions(target, "aligned", load_size=16, crop_size=16)
    assert create_dataset(options)[0]["A"].shape == (3, 16, 16)


def test_base_url_from_the_environment(server, root, horse2zebra_zip, monkeypatch):
    serve_dataset(server, horse2zebra_zip)
    monkeypatch.setenv(BASE_URL_VARIABLE, server.url)
    download_dataset("horse2zebra", root, progress=False)
    assert server.hits == ["/cyclegan/datasets/horse2zebra.zip"]


@pytest.mark.parametrize(
    "route, message",
    [
        (dict(cut_at=300), "sent 300 bytes instead of the announced"),  # server dies mid-transfer
        (dict(declared_length=10**6), "instead of the announced 1,000,000"),  # wrong size
    ],
    ids=["truncated", "wrong_size"],
)
def test_incomplete_transfer_leaves_nothing(server, root, horse2zebra_zip, route, message):
    serve_dataset(server, horse2zebra_zip, **route)
    with pytest.raises(DownloadError, match=message):
        download_dataset("horse2zebra", root, base_url=server.url, progress=False)
    assert leftovers(root) == []


def test_not_found(server, root):
    with pytest.raises(DownloadError, match="horse2zebra.zip answered 404 Not Found"):
        download_dataset("horse2zebra", root, base_url=server.url, progress=False)
    assert leftovers(root) == []


def test_an_html_page_instead_of_a_zip(server, root):
    serve_dataset(server, b"<html>please log in</html>")
    with pytest.raises(DownloadError, match="horse2zebra.zip is not a valid zip archive"):
        download_dataset("horse2zebra", root, base_url=server.url, progress=False)
    assert leftovers(root) == []


@pytest.mark.parametrize(
    "evil",
    ["../evil.txt", "horse2zebra/../../evil.txt", "/tmp/evil.txt", "C:/evil.txt", "..\\evil.txt"],
)
def test_zip_slip_is_refused_before_anything_is_unpacked(server, root, evil):
    body = zip_bytes({"horse2zebra/trainA/ok.png": b"fine", evil: b"gotcha"})
    serve_dataset(server, body)
    with pytest.raises(DownloadError, match="would escape the target folder"):
        download_dataset("horse2zebra", root, base_url=server.url, progress=False)
    assert leftovers(root) == []
    assert not (root.parent / "evil.txt").exists()


def test_tar_links_are_refused(server, root):
    buffer = io.BytesIO()
    with tarfile.open(fileobj=buffer, mode="w:gz") as bundle:
        link = tarfile.TarInfo("night2day/train/passwd.jpg")
        link.type, link.linkname = tarfile.SYMTYPE, "/etc/passwd"
        bundle.addfile(link)
    server.routes["/pix2pix/datasets/night2day.tar.gz"] = Route(buffer.getvalue())
    with pytest.raises(DownloadError, match="links or special files"):
        download_dataset("night2day", root, base_url=server.url, progress=False)
    assert leftovers(root) == []


def test_unsafe_names():
    assert not any(map(unsafe_name, ["a/b.png", "a/./b.png", "a..b/c.png", "horse2zebra/"]))
    assert all(map(unsafe_name, ["../a", "a/../../b", "/etc/x", "C:\\x", "a\\..\\..\\b"]))


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_no_network_gives_one_sentence_with_what_to_do(root):
    with pytest.raises(OfflineError) as caught:
        download_dataset(
            "horse2zebra", root, base_url=f"http://127.0.0.1:{closed_port()}", progress=False
        )
    message = str(caught.value)
    assert "you seem to be offline" in message and "\n" not in message
    assert (
        f"so that {root / 'horse2zebra'} holds the folders trainA, trainB, testA and testB"
        in message
    )
    assert leftovers(root) == []


def test_existing_dataset_is_kept_unless_forced(server, root, horse2zebra_zip):
    (root / "horse2zebra").mkdir()
    download_dataset("horse2zebra", root, base_url=server.url, progress=False)
    assert server.hits == [] and leftovers(root / "horse2zebra") == []
    serve_dataset(server, horse2zebra_zip)
    download_dataset("horse2zebra", root, base_url=server.url, progress=False, force=True)
    assert leftovers(root / "horse2zebra") == ["testA", "testB", "trainA", "trainB"]


def checkpoint_bytes() -> bytes:
    buffer = io.BytesIO()
    torch.save({"model.1.weight": torch.ones(2, 3)}, buffer)
    return buffer.getvalue()


def test_model_download(server, tmp_path):
    server.routes["/cyclegan/pretrained_models/zebra2horse.pth"] = Route(checkpoint_bytes())
    path = download_model(
        "zebra2horse", tmp_path / "checkpoints", base_url=server.url, progress=False
    )
    assert path == tmp_path / "checkpoints" / "zebra2horse_pretrained" / "latest_net_G.pth"
    assert leftovers(path.parent) == ["latest_net_G.pth"]
    state = torch.load(path, weights_only=True)
    assert torch.equal(state["model.1.weight"], torch.ones(2, 3))


def test_model_that_is_not_a_checkpoint_leaves_nothing(server, tmp_path):
    server.routes["/pix2pix/models-pytorch/day2night.pth"] = Route(b"<html>moved</html>")
    with pytest.raises(DownloadError, match="not a PyTorch checkpoint"):
        download_model("day2night", tmp_path / "checkpoints", base_url=server.url, progress=False)
    assert leftovers(tmp_path / "checkpoints") == []


def test_command_line(server, root, horse2zebra_zip, tmp_path, capsys):
    serve_dataset(server, horse2zebra_zip)
    args = ["--base_url", server.url, "--quiet"]
    assert main(["dataset", "horse2zebra", "--root", str(root), *args]) == 0
    assert (root / "horse2zebra" / "trainA").is_dir()
    server.routes["/cyclegan/pretrained_models/horse2zebra.pth"] = Route(checkpoint_bytes())
    checkpoints = tmp_path / "ckpt"
    assert main(["model", "horse2zebra", "--checkpoints_dir", str(checkpoints), *args]) == 0
    assert (checkpoints / "horse2zebra_pretrained" / "latest_net_G.pth").is_file()
    capsys.readouterr()
    assert main(["model", "zebra2giraffe", *args]) == 1
    error = capsys.readouterr().err
    assert error.startswith("cyclegan download: unknown model 'zebra2giraffe'")
    assert error.count("\n") == 1 and "Traceback" not in error
    assert main(["dataset"]) == 2  # missing NAME: argparse's usage error, no traceback
