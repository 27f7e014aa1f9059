"""Downloading from a Hugging Face hub: a local fake hub on 127.0.0.1 serves the demo repos.

The fake speaks the parts of the hub protocol huggingface_hub uses here: the tree listing
(`/api/models/<repo>/tree/<rev>`, with LFS checksums), and `HEAD`/`GET` on `/<repo>/resolve/<rev>/<path>`
with the commit and checksum headers and HTTP Range. It records every request, so the tests can see
what was fetched again and what was not.
"""
import hashlib
import json
import re
import shutil
import threading
from collections import namedtuple
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from framepack_desktop.engine.models import download
from framepack_desktop.engine.models.download import RECORD, download_models, plan_download
from framepack_desktop.engine.models.errors import DownloadCancelled, DownloadFailed, NotEnoughDisk
from framepack_desktop.engine.models.layout import COMMUNITY_TRANSFORMERS, missing_components
from framepack_desktop.engine.models.verify import verify_models
from test_models_store import REPOS, make_hub_cache

COMMIT = "0123456789abcdef0123456789abcdef01234567"


class FakeHub:
    def __init__(self, repos: dict[str, dict[str, bytes]]):
        self.repos = repos
        self.requests: list[tuple[str, str, str | None]] = []
        self.cut_once: dict[str, int] = {}  # path -> bytes to send before dropping the connection, once
        hub = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"

            def log_message(self, *args):
                pass

            def do_HEAD(self):
                hub.serve(self, body=False)

            def do_GET(self):
                hub.serve(self, body=True)

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()
        self.endpoint = f"http://127.0.0.1:{self.server.server_address[1]}"

    def close(self):
        self.server.shutdown()
        self.server.server_close()

    def serve(self, h: BaseHTTPRequestHandler, body: bool):
        path = h.path.split("?")[0]
        self.requests.append((h.command, path, h.headers.get("Range")))
        tree = re.fullmatch(r"/api/models/([^/]+/[^/]+)/tree/([^/]+)", path)
        if tree:
            return self.send_tree(h, tree.group(1))
        resolve = re.fullmatch(r"/([^/]+/[^/]+)/resolve/([^/]+)/(.+)", path)
        files = self.repos.get(resolve.group(1), {}) if resolve else {}
        if not resolve or resolve.group(3) not in files:
            h.send_response(404)
            h.send_header("X-Error-Code", "EntryNotFound")
            h.send_header("Content-Length", "0")
            h.end_headers()
            return
        name = resolve.group(3)
        data = files[name]
        start = int(re.fullmatch(r"bytes=(\d+)-", h.headers.get("Range", "bytes=0-")).group(1))
        h.send_response(206 if start else 200)
        h.send_header("X-Repo-Commit", COMMIT)
        h.send_header("ETag", f'"{etag(name, data)}"')
        h.send_header("Content-Length", str(len(data) - start))
        if start:
            h.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
        h.end_headers()
        if body:
            cut = self.cut_once.pop(name, None)
            h.wfile.write(data[start:] if cut is None else data[start:cut])
            if cut is not None:
                h.close_connection = True

    def send_tree(self, h, repo):
        entries = [
            {"type": "file", "path": p, "size": len(d), "oid": git_oid(d),
             **({"lfs": {"oid": hashlib.sha256(d).hexdigest(), "size": len(d), "pointerSize": 134}} if is_lfs(p) else {})}
            for p, d in sorted(self.repos.get(repo, {}).items())
        ]
        data = json.dumps(entries).encode()
        h.send_response(200)
        h.send_header("Content-Type", "application/json")
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.write(data)

    def fetched(self, name):
        return [r for r in self.requests if r[0] == "GET" and r[1].endswith("/" + name)]


def is_lfs(path):
    return path.endswith(".safetensors")


def git_oid(data):
    return hashlib.sha1(b"blob %d\0" % len(data) + data).hexdigest()


def etag(path, data):
    return hashlib.sha256(data).hexdigest() if is_lfs(path) else git_oid(data)


def repo_files(models: Path, repo: str) -> dict[str, bytes]:
    return {p.relative_to(models / repo).as_posix(): p.read_bytes() for p in (models / repo).rglob("*") if p.is_file()}


@pytest.fixture(autouse=True)
def isolated(monkeypatch):
    monkeypatch.delenv("HF_HUB_OFFLINE", raising=False)
    monkeypatch.setenv("HF_TOKEN", "")


@pytest.fixture
def hub(demo_models):
    repos = {repo: repo_files(demo_models, repo) for repo in REPOS}
    # extras of the public repos that a download must not fetch
    repos["hunyuanvideo-community/HunyuanVideo"]["transformer/diffusion_pytorch_model.safetensors"] = b"\0" * 64
    repos["lllyasviel/flux_redux_bfl"]["image_embedder/model.safetensors"] = b"\0" * 64
    fake = FakeHub(repos)
    yield fake
    fake.close()


def test_download_fetches_what_the_models_need_and_nothing_else(hub, demo_models, tmp_path):
    target = tmp_path / "models"
    seen = []
    download_models(target, ("original", "f1"), progress=lambda d, t, text: seen.append((d, t, text)),
                    endpoint=hub.endpoint)
    assert missing_components(target, "original") == [] and missing_components(target, "f1") == []
    for repo in REPOS:
        for name, data in repo_files(demo_models, repo).items():
            assert (target / repo / name).read_bytes() == data
    assert not (target / "hunyuanvideo-community/HunyuanVideo/transformer").exists()
    assert not (target / "lllyasviel/flux_redux_bfl/image_embedder").exists()
    assert not list(target.rglob("*.part"))
    total = seen[-1][1]
    assert seen[-1][:2] == (total, total) and all(d <= t for d, t, _ in seen)
    assert total == sum(len(d) for r in REPOS for d in repo_files(demo_models, r).values())
    record = json.loads((target / "lllyasviel/FramePackI2V_HY" / RECORD).read_text())
    assert record["commit"] == COMMIT
    assert verify_models(target, hashes=True) == []


def test_a_second_run_fetches_nothing(hub, tmp_path):
    target = tmp_path / "models"
    download_models(target, ("original",), endpoint=hub.endpoint)
    hub.requests.clear()
    plan = plan_download(target, ("original",), endpoint=hub.endpoint)
    assert plan.files == () and plan.total == 0
    download_models(target, ("original",), endpoint=hub.endpoint)
    assert not [r for r in hub.requests if r[0] == "GET" and "/resolve/" in r[1]]


def test_an_interrupted_download_resumes_where_it_stopped(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants

    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 4096)
    target = tmp_path / "models"
    weights = "diffusion_pytorch_model.safetensors"
    cancel = threading.Event()

    def stop_midway(done, total, text):
        if text.endswith("FramePackI2V_HY/" + weights) and done > 100_000:
            cancel.set()

    with pytest.raises(DownloadCancelled, match="run it again to continue"):
        download_models(target, ("original",), progress=stop_midway, cancel=cancel, endpoint=hub.endpoint)
    part = target / "lllyasviel/FramePackI2V_HY" / (weights + ".part")
    kept = part.stat().st_size
    assert 100_000 <= kept < len(hub.repos["lllyasviel/FramePackI2V_HY"][weights])
    assert not (target / "lllyasviel/FramePackI2V_HY" / weights).exists()

    hub.requests.clear()
    plan = plan_download(target, ("original",), endpoint=hub.endpoint)
    assert plan.done == kept
    download_models(target, ("original",), endpoint=hub.endpoint)
    (get,) = [r for r in hub.requests if r[0] == "GET" and r[1].endswith("FramePackI2V_HY/resolve/" + COMMIT + "/" + weights)]
    assert get[2] == f"bytes={kept}-"
    assert (target / "lllyasviel/FramePackI2V_HY" / weights).read_bytes() == hub.repos["lllyasviel/FramePackI2V_HY"][weights]
    assert missing_components(target, "original") == []


def test_a_dropped_connection_is_resumed_within_the_run(hub, tmp_path, monkeypatch):
    from huggingface_hub import constants, file_download

    monkeypatch.setattr(file_download.time, "sleep", lambda s: None)
    monkeypatch.setattr(constants, "DOWNLOAD_CHUNK_SIZE", 1000)
    name = "vae/diffusion_pytorch_model.safetensors"
    hub.cut_once[name] = 5000
    target = tmp_path / "models"
    download_models(target, ("original",), endpoint=hub.endpoint)
    gets = [r for r in hub.requests if r[0] == "GET" and r[1].endswith(name)]
    assert [g[2] for g in gets] == [None, "bytes=5000-"]
    assert (target / "hunyuanvideo-community/HunyuanVideo" / name).read_bytes() == \
        hub.repos["hunyuanvideo-community/HunyuanVideo"][name]


def test_not_enough_disk_stops_before_fetching(hub, tmp_path, monkeypatch):
    usage = namedtuple("usage", "total used free")
    monkeypatch.setattr(download.shutil, "disk_usage", lambda path: usage(10**12, 10**12 - 10**6, 10**6))
    target = tmp_path / "models"
    with pytest.raises(NotEnoughDisk, match=r"needs 0\.0 GB more.*has 0\.0 GB free.*another drive"):
        download_models(target, ("original",), endpoint=hub.endpoint)
    assert not [r for r in hub.requests if r[0] == "GET" and "/resolve/" in r[1]]


def test_offline_fails_fast_with_what_to_do(tmp_path):
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        closed = f"http://127.0.0.1:{s.getsockname()[1]}"
    with pytest.raises(DownloadFailed, match="Cannot reach http://127.0.0.1.*internet connection.*--models"):
        download_models(tmp_path / "models", ("original",), endpoint=closed)
    assert not (tmp_path / "models").exists()


def test_offline_mode_variable_is_named(tmp_path, monkeypatch):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(DownloadFailed, match="HF_HUB_OFFLINE"):
        download_models(tmp_path / "models", ("original",), endpoint="http://127.0.0.1:9")


def test_a_corrupt_transfer_is_deleted_and_reported(hub, tmp_path):
    name = "text_encoder_2/model.safetensors"
    files = hub.repos["hunyuanvideo-community/HunyuanVideo"]
    good = files[name]

    def corrupt_after_listing(h, body, original=hub.serve):
        if "/resolve/" in h.path and h.path.endswith(name):
            files[name] = good[:-1] + bytes([good[-1] ^ 1])
        return original(h, body)

    hub.serve = corrupt_after_listing
    with pytest.raises(DownloadFailed, match="text_encoder_2/model.safetensors is corrupt.*deleted"):
        download_models(tmp_path / "models", ("original",), endpoint=hub.endpoint)
    assert not list((tmp_path / "models").rglob("model.safetensors.part"))


def test_components_in_the_hub_cache_are_not_downloaded_again(hub, demo_models, tmp_path, monkeypatch):
    cache = make_hub_cache(demo_models, tmp_path / "hub", repos=("hunyuanvideo-community/HunyuanVideo",))
    monkeypatch.setenv("HF_HUB_CACHE", str(cache))
    target = tmp_path / "models"
    plan = plan_download(target, ("original",), endpoint=hub.endpoint)
    assert {f.repo_id for f in plan.files} == {"lllyasviel/FramePackI2V_HY", "lllyasviel/flux_redux_bfl"}
    assert "vae" in plan.skipped and "text_encoder" in plan.skipped
    download_models(target, ("original",), endpoint=hub.endpoint)
    assert not [r for r in hub.requests if "HunyuanVideo/resolve" in r[1]]
    assert missing_components(target, "original") == []


def test_fp8_precision_fetches_the_community_export_instead_of_the_folder(hub, demo_models, tmp_path):
    repo, name = COMMUNITY_TRANSFORMERS[("original", "fp8")]
    hub.repos[repo] = {name: (demo_models / "lllyasviel/FramePackI2V_HY/diffusion_pytorch_model.safetensors").read_bytes(),
                       "other_model.safetensors": b"\0" * 32}
    target = tmp_path / "models"
    download_models(target, ("original",), precision="fp8", endpoint=hub.endpoint)
    assert (target / repo / name).is_file() and not (target / repo / "other_model.safetensors").exists()
    assert not (target / "lllyasviel/FramePackI2V_HY").exists()
    assert missing_components(target, "original") == []


def test_unknown_repo_or_gated_is_a_clear_failure(hub, tmp_path):
    del hub.repos["lllyasviel/flux_redux_bfl"]
    with pytest.raises(DownloadFailed, match="refused lllyasviel/flux_redux_bfl"):
        download_models(tmp_path / "models", ("original",), endpoint=hub.endpoint)


def test_the_window_downloader_signature(hub, tmp_path):
    """ui/models_dialog.py calls download_models(models_dir, progress=..., cancel=...)."""
    cancel = threading.Event()
    calls = []
    shutil.rmtree(tmp_path / "models", ignore_errors=True)
    download_models(tmp_path / "models", progress=lambda *a: calls.append(a), cancel=cancel, endpoint=hub.endpoint)
    assert calls and isinstance(calls[-1][2], str)
