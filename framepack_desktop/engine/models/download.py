"""Downloading the models from the Hugging Face hub into the models folder, resumably.

What is fetched: for each variant its transformer (the diffusers folder in bf16, or with
`precision="fp8"` the community fp8 single file, half the bytes), the HunyuanVideo text encoders,
tokenizers and VAE (not its own 25 GB transformer), and the SigLIP image encoder of flux_redux_bfl.
Components that are already complete, here or in a Hugging Face hub cache, are skipped: nobody
downloads 40 GB twice.

How:
- The hub is asked once per repo, without retries, which commit `main` is (a quick, clear
  `DownloadFailed` when offline), then for the file list with sizes and LFS checksums.
- Before any byte is fetched, the free space of the drive is compared with what is left to fetch.
- Each file downloads into `<file>.part` with huggingface_hub's `http_get`, which continues from
  the bytes already there (HTTP Range). An interrupted run (network loss, Ctrl+C, a crash, the
  window's Cancel) leaves the `.part` file, and the next run resumes it. huggingface_hub's own
  `hf_hub_download` deletes partial files on failure, which for 25 GB is no option.
- A finished file is checked against its size and its SHA-256 (the hub's LFS checksum) and only
  then renamed into place; `<repo>/.framepack-download.json` records sizes and checksums for
  `models verify`.

Progress goes to `progress(done_bytes, total_bytes, text)`; `cancel` (a threading.Event) stops
within one network chunk.
"""
from __future__ import annotations

import fnmatch
import hashlib
import json
import os
import shutil
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..choices import VARIANTS
from ..hashing import file_sha256
from .errors import DownloadCancelled, DownloadFailed, NotEnoughDisk
from .layout import COMMUNITY_TRANSFORMERS, COMPONENT_NAMES, component, missing_files

GIB = 1024 ** 3
DISK_MARGIN = GIB
RECORD = ".framepack-download.json"
PART = ".part"
HASH_CHUNK = 16 * 1024 * 1024

Progress = Callable[[float, float, str], None]


@dataclass(frozen=True)
class RemoteFile:
    repo_id: str
    path: str                  # path inside the repo
    size: int
    sha256: str | None         # LFS checksum, None for small files kept in git
    git_oid: str | None        # git blob id (SHA-1 of "blob <size>\0" + content)
    target: str | None = None  # where it goes in the models folder, when not `<repo>/<path>`

    def dest(self, models_dir: Path) -> Path:
        return Path(models_dir) / (self.target or f"{self.repo_id}/{self.path}")

    def record_dir(self, models_dir: Path) -> Path:
        """The folder whose download record lists this file: the repo's, or the target's own."""
        return self.dest(models_dir).parent if self.target else Path(models_dir) / self.repo_id

    def record_key(self, models_dir: Path) -> str:
        return self.dest(models_dir).relative_to(self.record_dir(models_dir)).as_posix()


@dataclass(frozen=True)
class DownloadPlan:
    files: tuple[RemoteFile, ...]      # still to fetch (wholly or in part)
    commits: dict                      # repo -> commit the files come from
    total: int                         # bytes of those files
    done: int                          # bytes already in their .part files
    skipped: tuple[str, ...]           # what is already complete, in words

    @property
    def remaining(self) -> int:
        return self.total - self.done


def wanted_files(variants: tuple[str, ...], precision: str) -> dict[str, list[str]]:
    """Repo -> glob patterns of the files a download needs (before skipping what is present)."""
    wanted: dict[str, list[str]] = {}
    for variant in variants:
        community = COMMUNITY_TRANSFORMERS.get((variant, "fp8")) if precision == "fp8" else None
        if community:
            wanted.setdefault(community[0], []).append(community[1])
            continue
        part = component("transformer", variant)
        wanted.setdefault(part.repo_id, []).extend(["config.json", f"{part.weights}*.safetensors*"])
    for name in COMPONENT_NAMES:
        if name != "transformer":
            part = component(name)
            wanted.setdefault(part.repo_id, []).append(f"{part.subfolder}/*")
    return wanted


def _present(models_dir: Path, variants: tuple[str, ...], precision: str) -> tuple[set[tuple[str, str]], list[str]]:
    """((repo, pattern) pairs to skip, words) for components already complete somewhere."""
    skip: set[tuple[str, str]] = set()
    words: list[str] = []
    for variant in variants:
        for name in COMPONENT_NAMES:
            if name == "transformer" and precision == "fp8" and (variant, "fp8") in COMMUNITY_TRANSFORMERS:
                continue
            if missing_files(models_dir, name, variant):
                continue
            part = component(name, variant)
            pattern = f"{part.subfolder}/*" if part.subfolder else "*"
            if (part.repo_id, pattern) not in skip:
                skip.add((part.repo_id, pattern))
                words.append(f"{name}{' (' + variant + ')' if name == 'transformer' else ''}")
    return skip, words


def plan_download(
    models_dir: Path, variants: tuple[str, ...] = ("original",), precision: str = "bf16", endpoint: str | None = None,
    token: str | bool | None = None,
) -> DownloadPlan:
    """Ask the hub what is still to fetch (files, bytes), without fetching anything."""
    for variant in variants:
        if variant not in VARIANTS:
            raise DownloadFailed(f"Unknown variant {variant!r}: use original, f1 or all.")
    models_dir = Path(models_dir)
    skip, words = _present(models_dir, variants, precision)
    files: list[RemoteFile] = []
    commits: dict[str, str] = {}
    for repo_id, patterns in wanted_files(variants, precision).items():
        todo = [p for p in patterns if not any(r == repo_id and _covers(s, p) for r, s in skip)]
        if not todo:
            continue
        commit = hub_commit(repo_id, todo, endpoint, token)
        commits[repo_id] = commit
        for remote in hub_files(repo_id, commit, endpoint, token):
            if any(fnmatch.fnmatch(remote.path, p) for p in todo) and not is_complete(models_dir, remote):
                files.append(remote)
    total = sum(f.size for f in files)
    done = sum(part_path(f.dest(models_dir)).stat().st_size for f in files if part_path(f.dest(models_dir)).is_file())
    return DownloadPlan(tuple(files), commits, total, done, tuple(words))


def download_models(
    models_dir: Path,
    variants: tuple[str, ...] = ("original",),
    precision: str = "bf16",
    progress: Progress | None = None,
    cancel: threading.Event | None = None,
    endpoint: str | None = None,
    token: str | bool | None = None,
) -> Path:
    """Fetch what `variants` need into `models_dir`; returns the folder. See the module notes."""
    models_dir = Path(models_dir)
    return fetch_plan(models_dir, plan_download(models_dir, tuple(variants), precision, endpoint, token),
                      progress, cancel, endpoint, token)


def fetch_plan(
    models_dir: Path, plan: DownloadPlan, progress: Progress | None = None, cancel: threading.Event | None = None,
    endpoint: str | None = None, token: str | bool | None = None,
) -> Path:
    """Fetch the files of a plan, after checking the drive can take them; returns the folder."""
    check_disk(models_dir, plan.remaining)
    done = plan.done
    for remote in plan.files:
        if cancel is not None and cancel.is_set():
            raise DownloadCancelled(_cancel_text(models_dir))
        base = done - _part_size(remote.dest(models_dir))

        def report(n: int, base=base, remote=remote) -> None:
            if progress is not None:
                progress(base + n, plan.total, f"{remote.repo_id}/{remote.path}")

        fetch(remote, models_dir, plan.commits[remote.repo_id], report, cancel, endpoint, token)
        done = base + remote.size
    if progress is not None:
        progress(plan.total, plan.total, "done")
    return models_dir


def check_disk(models_dir: Path, remaining: int) -> None:
    """NotEnoughDisk, before anything is fetched, when the drive cannot take the rest."""
    probe = Path(models_dir)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    free = shutil.disk_usage(probe).free
    if remaining + DISK_MARGIN > free:
        raise NotEnoughDisk(
            f"The download needs {remaining / GIB:.1f} GB more (plus 1 GB to spare) but the drive of {models_dir} "
            f"has {free / GIB:.1f} GB free. Free some space, or choose a models folder on another drive "
            "(settings, or --models DIR)."
        )


def fetch(
    remote: RemoteFile, models_dir: Path, commit: str, report: Callable[[int], None],
    cancel: threading.Event | None, endpoint: str | None, token: str | bool | None,
) -> Path:
    """One file into `<dest>.part` (resuming), checked, then renamed to `<dest>`."""
    from huggingface_hub import hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError
    from huggingface_hub.file_download import http_get
    from huggingface_hub.utils import build_hf_headers

    dest = remote.dest(models_dir)
    part = part_path(dest)
    part.parent.mkdir(parents=True, exist_ok=True)
    url = hf_hub_url(remote.repo_id, remote.path, revision=commit, endpoint=endpoint)
    resume = part.stat().st_size if part.is_file() else 0
    if resume > remote.size:
        part.unlink()
        resume = 0
    report(resume)
    try:
        with open(part, "ab") as out:
            http_get(url, out, resume_size=resume, headers=build_hf_headers(token=token), expected_size=remote.size,
                     displayed_filename=remote.path, tqdm_class=_bar(report, cancel))
    except DownloadCancelled:
        raise DownloadCancelled(_cancel_text(models_dir)) from None
    except (HfHubHTTPError, OSError, *_network_errors()) as exc:
        raise DownloadFailed(_failure_text(remote, exc, models_dir)) from exc
    _check_file(part, remote)
    os.replace(part, dest)
    _record(models_dir, remote, commit)
    return dest


def _bar(report: Callable[[int], None], cancel: threading.Event | None):
    """A tqdm class for `http_get` that reports bytes and raises on cancel, drawing nothing."""
    from tqdm import tqdm

    class Bar(tqdm):
        def __init__(self, *args, **kwargs):
            kwargs["disable"] = True
            super().__init__(*args, **kwargs)
            self.count = int(kwargs.get("initial") or 0)

        def update(self, n=1):
            if cancel is not None and cancel.is_set():
                raise DownloadCancelled("cancelled")
            self.count += int(n)
            report(self.count)

    return Bar


def _check_file(part: Path, remote: RemoteFile) -> None:
    size = part.stat().st_size
    if size != remote.size:
        part.unlink()
        raise DownloadFailed(f"{remote.repo_id}/{remote.path} arrived with {size} bytes instead of {remote.size}. "
                             "Run the download again.")
    expected = remote.sha256 or remote.git_oid
    actual = file_sha256(part) if remote.sha256 else git_blob_oid(part)
    if expected and actual != expected:
        part.unlink()
        raise DownloadFailed(f"{remote.repo_id}/{remote.path} is corrupt (checksum {actual[:12]}… instead of "
                             f"{expected[:12]}…); it was deleted. Run the download again.")


def git_blob_oid(path: Path) -> str:
    digest = hashlib.sha1(f"blob {Path(path).stat().st_size}\0".encode())
    with open(path, "rb") as f:
        while chunk := f.read(HASH_CHUNK):
            digest.update(chunk)
    return digest.hexdigest()


def read_record(repo_folder: Path) -> dict:
    """The download record of a repo folder: {"commit": ..., "files": {path: {size, sha256, git_oid}}}."""
    path = Path(repo_folder) / RECORD
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}
    return data if isinstance(data, dict) else {}


def _record(models_dir: Path, remote: RemoteFile, commit: str) -> None:
    from ..atomic import atomic_write_text

    folder = remote.record_dir(models_dir)
    data = read_record(folder)
    data["repo"], data["commit"] = remote.repo_id, commit
    data.setdefault("files", {})[remote.record_key(models_dir)] = {
        "size": remote.size, "sha256": remote.sha256, "git_oid": remote.git_oid,
        **({"repo": remote.repo_id, "commit": commit, "path": remote.path} if remote.target else {})}
    atomic_write_text(folder / RECORD, json.dumps(data, indent=2, sort_keys=True))


def is_complete(models_dir: Path, remote: RemoteFile) -> bool:
    dest = remote.dest(models_dir)
    if not dest.is_file() or dest.stat().st_size != remote.size:
        return False
    recorded = read_record(remote.record_dir(models_dir)).get("files", {}).get(remote.record_key(models_dir), {})
    return not remote.sha256 or recorded.get("sha256") == remote.sha256


def part_path(dest: Path) -> Path:
    return dest.with_name(dest.name + PART)


def _part_size(dest: Path) -> int:
    part = part_path(dest)
    return part.stat().st_size if part.is_file() else 0


def _covers(skip_pattern: str, pattern: str) -> bool:
    return skip_pattern == "*" or pattern == skip_pattern or fnmatch.fnmatch(pattern, skip_pattern)


def hub_commit(repo_id: str, patterns: list[str], endpoint: str | None, token) -> str:
    """The commit `main` points to, asked once without retries so that offline fails fast."""
    from huggingface_hub import get_hf_file_metadata, hf_hub_url
    from huggingface_hub.errors import HfHubHTTPError

    _refuse_offline()
    url = hf_hub_url(repo_id, _probe(patterns), revision="main", endpoint=endpoint)
    try:
        meta = get_hf_file_metadata(url, token=token, timeout=15, endpoint=endpoint)
    except HfHubHTTPError as exc:
        raise DownloadFailed(f"The hub refused {repo_id} ({exc}). Check the repo name, or log in with "
                             "`hf auth login` if it needs an account.") from exc
    except _network_errors() as exc:
        raise DownloadFailed(_offline_text(endpoint, exc)) from exc
    if not meta.commit_hash:
        raise DownloadFailed(f"The server at {endpoint or 'huggingface.co'} did not say which version of {repo_id} "
                             "it serves; is it a Hugging Face hub?")
    return meta.commit_hash


def hub_files(repo_id: str, commit: str, endpoint: str | None, token) -> list[RemoteFile]:
    from huggingface_hub import HfApi
    from huggingface_hub.hf_api import RepoFile

    try:
        entries = list(HfApi(endpoint=endpoint, token=token).list_repo_tree(repo_id, recursive=True, revision=commit))
    except _network_errors() as exc:
        raise DownloadFailed(_offline_text(endpoint, exc)) from exc
    return [
        RemoteFile(repo_id, e.path, e.size, e.lfs.sha256 if e.lfs else None, None if e.lfs else e.blob_id)
        for e in entries if isinstance(e, RepoFile)
    ]


def _probe(patterns: list[str]) -> str:
    """A file the repo surely has, to ask for its commit: a named file, or a component's first file."""
    for pattern in patterns:
        if "*" not in pattern:
            return pattern
        folder = pattern.removesuffix("/*")
        for name in COMPONENT_NAMES:
            part = component(name)
            if part.subfolder == folder:
                return f"{folder}/{part.files[0]}"
    return "config.json"


def _network_errors() -> tuple[type[Exception], ...]:
    """What huggingface_hub raises when the server cannot be reached (or offline mode is on)."""
    import httpx2
    from huggingface_hub.errors import OfflineModeIsEnabled

    return (httpx2.TransportError, OfflineModeIsEnabled)


def _refuse_offline() -> None:
    if os.environ.get("HF_HUB_OFFLINE", "").strip().lower() in ("1", "true", "yes", "on"):
        raise DownloadFailed("Downloads are switched off: the environment variable HF_HUB_OFFLINE is set. "
                             "Unset it to download, or copy the models folder from a computer that has it.")


def _offline_text(endpoint: str | None, exc: Exception) -> str:
    return (f"Cannot reach {endpoint or 'https://huggingface.co'} ({type(exc).__name__}: {exc}). Check the internet "
            "connection (and HTTPS_PROXY if you are behind a proxy), then run the download again; or copy a models "
            "folder from another computer and choose it in the settings (or --models DIR).")


def _failure_text(remote: RemoteFile, exc: Exception, models_dir: Path) -> str:
    return (f"Downloading {remote.repo_id}/{remote.path} failed ({type(exc).__name__}: {exc}). What arrived is kept "
            f"in {models_dir}; run the download again to continue where it stopped.")


def _cancel_text(models_dir: Path) -> str:
    return f"Download stopped. What arrived is kept in {models_dir}; run it again to continue where it stopped."
