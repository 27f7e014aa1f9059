"""The optional finishing models (RIFE, Real-ESRGAN ×2/×4), fetched by `models download --finishing`.

They are never part of the main download: about 150 MB that only the Finish step uses. They come
from public Hugging Face repos through the same resumable, checksummed downloader as the other
models and land where `engine/post/files.py` looks for them, with a download record beside them
so `models verify --hashes` checks them like the rest.

Sources (mirrors of the authors' releases, which live on GitHub and Google Drive, not on a hub):
- RIFE 4.6: `Bash2X/RIFE-Models`, `RIFE_v4.6.zip`, an unmodified mirror of Practical-RIFE's
  release; its `flownet.pkl` (the v4.6 layout `engine/post/ifnet.py` implements) is unpacked to
  `<models>/rife/flownet.pkl` and the archive kept beside it, so a second run fetches nothing.
- Real-ESRGAN: `2kpr/Real-ESRGAN`, `RealESRGAN_x2plus.pth` and `RealESRGAN_x4plus.pth` (the
  xinntao release files, BSD-3) into `<models>/upscale_models/`.
The hub's SHA-256 proves the bytes arrived as the repo holds them, not who made them; the files
load with `torch.load(weights_only=True)` into a fixed architecture, so a wrong one fails as one
clear line rather than running anything.

A file the user already put at a target (no download record for it) is theirs and is left alone.
"""
from __future__ import annotations

import fnmatch
import json
import os
import threading
import zipfile
from dataclasses import dataclass, replace
from pathlib import Path

from ..atomic import atomic_write_text
from ..post.files import RIFE_FILE, UPSCALE_DIR
from .download import (
    RECORD,
    DownloadPlan,
    Progress,
    RemoteFile,
    fetch_plan,
    file_sha256,
    hub_commit,
    hub_files,
    is_complete,
    part_path,
    read_record,
)
from .errors import DownloadFailed


@dataclass(frozen=True)
class FinishingFile:
    label: str
    repo_id: str
    path: str                  # in the repo
    target: str                # in the models folder
    member: str | None = None  # for an archive: the file to unpack from it to `unpacked`
    unpacked: str | None = None

    def final(self) -> str:
        return self.unpacked or self.target


FINISHING_FILES = (
    FinishingFile("RIFE 4.6", "Bash2X/RIFE-Models", "RIFE_v4.6.zip", f"{RIFE_FILE.parent.as_posix()}/RIFE_v4.6.zip",
                  member="*flownet.pkl", unpacked=RIFE_FILE.as_posix()),
    FinishingFile("Real-ESRGAN ×2", "2kpr/Real-ESRGAN", "RealESRGAN_x2plus.pth",
                  f"{UPSCALE_DIR}/RealESRGAN_x2plus.pth"),
    FinishingFile("Real-ESRGAN ×4", "2kpr/Real-ESRGAN", "RealESRGAN_x4plus.pth",
                  f"{UPSCALE_DIR}/RealESRGAN_x4plus.pth"),
)


def plan_finishing(models_dir: Path, endpoint: str | None = None, token: str | bool | None = None,
                   files: tuple[FinishingFile, ...] = FINISHING_FILES) -> DownloadPlan:
    """What of the finishing models is still to fetch; the user's own files are skipped."""
    models_dir = Path(models_dir)
    wanted = [f for f in files if not users_own(models_dir, f)]
    skipped = tuple(f"{f.label} (your own {f.final()})" for f in files if f not in wanted)
    todo: list[RemoteFile] = []
    commits: dict[str, str] = {}
    for repo_id in dict.fromkeys(f.repo_id for f in wanted):
        mine = [f for f in wanted if f.repo_id == repo_id]
        commits[repo_id] = hub_commit(repo_id, [f.path for f in mine], endpoint, token)
        listed = {r.path: r for r in hub_files(repo_id, commits[repo_id], endpoint, token)}
        for f in mine:
            if f.path not in listed:
                raise DownloadFailed(f"{repo_id} no longer has {f.path}. Put the file at <models>/{f.final()} "
                                     "yourself (see the README, Finish the video).")
            remote = replace(listed[f.path], target=f.target)
            if not is_complete(models_dir, remote):
                todo.append(remote)
    total = sum(f.size for f in todo)
    done = sum(part_path(f.dest(models_dir)).stat().st_size for f in todo if part_path(f.dest(models_dir)).is_file())
    return DownloadPlan(tuple(todo), commits, total, done, skipped)


def download_finishing(
    models_dir: Path, progress: Progress | None = None, cancel: threading.Event | None = None,
    endpoint: str | None = None, token: str | bool | None = None,
    files: tuple[FinishingFile, ...] = FINISHING_FILES,
) -> list[Path]:
    """Fetch the finishing models into `models_dir` and unpack archives; returns the model files."""
    models_dir = Path(models_dir)
    fetch_plan(models_dir, plan_finishing(models_dir, endpoint, token, files), progress, cancel, endpoint, token)
    placed = []
    for f in files:
        if users_own(models_dir, f):
            continue
        if f.member is not None:
            _unpack(models_dir, f)
        placed.append(models_dir / f.final())
    return placed


def users_own(models_dir: Path, f: FinishingFile) -> bool:
    """A file at the final place that no download of ours recorded: the user put it there."""
    final = models_dir / f.final()
    return final.is_file() and final.name not in read_record(final.parent).get("files", {})


def _unpack(models_dir: Path, f: FinishingFile) -> Path:
    """The archive's model file to its place (again only when the archive changed), recorded."""
    archive, final = models_dir / f.target, models_dir / f.final()
    archive_sha = read_record(archive.parent).get("files", {}).get(archive.name, {}).get("sha256")
    entry = read_record(final.parent).get("files", {}).get(final.name, {})
    if final.is_file() and entry.get("archive_sha256") == archive_sha and final.stat().st_size == entry.get("size"):
        return final
    try:
        with zipfile.ZipFile(archive) as z:
            names = [n for n in z.namelist() if fnmatch.fnmatch(n, f.member)]
            if len(names) != 1:
                raise DownloadFailed(f"{archive} holds {len(names)} files named {f.member}, not one. Put the "
                                     f"model at {final} yourself (see the README, Finish the video).")
            part = part_path(final)
            with z.open(names[0]) as src, open(part, "wb") as out:
                while chunk := src.read(1024 * 1024):
                    out.write(chunk)
    except (zipfile.BadZipFile, OSError) as exc:
        raise DownloadFailed(f"{archive} cannot be unpacked ({exc}); delete it and run the download again.") from exc
    os.replace(part, final)
    _record_unpacked(final, archive, archive_sha)
    return final


def _record_unpacked(final: Path, archive: Path, archive_sha: str | None) -> None:
    data = read_record(final.parent)
    data.setdefault("files", {})[final.name] = {
        "size": final.stat().st_size, "sha256": file_sha256(final), "git_oid": None,
        "archive": archive.name, "archive_sha256": archive_sha}
    atomic_write_text(final.parent / RECORD, json.dumps(data, indent=2, sort_keys=True))
