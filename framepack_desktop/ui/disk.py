"""What a video holds on disk, deleting it with its working files, and the frame-store budget.

A video made here is its MP4, its job JSON beside it, perhaps a `-partial.mp4` from a stop, and
its job folder (`<stem>.job/`: saved sections, the frame store, the log), which is usually far
larger than the MP4. History shows the total and deletes all of it at once (after asking).

The frame store (uncompressed frames, ~2 GB a minute at 640) is needed only to scrub a video in
the player and to extend it; its MP4 plays anywhere and its sections (small latents) stay for redo
and takes. So the stores of finished videos are kept up to a budget, newest first; an older one
is dropped (a redo decodes its frames again from the latents; Extend asks for them).
Qt-free and torch-free: plain paths.
"""
from __future__ import annotations

import os
import shutil
from pathlib import Path

from ..engine.outputs import made_by

PARTIAL = "-partial"


def files_of(video: str | os.PathLike) -> tuple[list[Path], Path]:
    """The files (MP4s, JSON) and the job folder that belong to `video` (finished or partial)."""
    video = Path(video)
    stem = video.stem.removesuffix(PARTIAL)
    files = [video.with_name(f"{stem}.mp4"), video.with_name(f"{stem}{PARTIAL}.mp4"), video.with_name(f"{stem}.json")]
    return files, video.with_name(f"{stem}.job")


def disk_use(video: str | os.PathLike) -> int:
    """Bytes held by the video, its siblings and its job folder (0 for what is gone)."""
    files, job_dir = files_of(video)
    total = sum(f.stat().st_size for f in files if f.is_file())
    if job_dir.is_dir():
        total += sum(f.stat().st_size for f in job_dir.rglob("*") if f.is_file())
    return total


def delete_video(video: str | os.PathLike) -> int:
    """Delete the video, its siblings and its job folder; returns the bytes freed."""
    freed = disk_use(video)
    files, job_dir = files_of(video)
    for f in files:
        f.unlink(missing_ok=True)
    if job_dir.is_dir():
        shutil.rmtree(job_dir)
    return freed


def drop_partial(video: str | os.PathLike) -> Path | None:
    """A job that finished no longer needs the `-partial.mp4` an earlier stop left; returns it if deleted.
    A file of that name that no stop of this job wrote is left alone."""
    video = Path(video)
    partial = video.with_name(f"{video.stem}{PARTIAL}.mp4")
    if video.stem.endswith(PARTIAL) or not made_by(partial, video):
        return None
    partial.unlink()
    return partial


def frame_store_of(video: str | os.PathLike) -> Path:
    return files_of(video)[1] / "frames"


def prune_frame_stores(videos: list[str], budget_bytes: int, keep: set[str]) -> list[Path]:
    """Drop the frame stores of finished `videos` (newest first) beyond `budget_bytes`, never
    those in `keep` (on the stage) nor those of a video whose MP4 is missing (unfinished work)."""
    used, dropped = 0, []
    for video in videos:
        store = frame_store_of(video)
        if not store.is_dir():
            continue
        size = sum(f.stat().st_size for f in store.rglob("*") if f.is_file())
        if used + size <= budget_bytes or video in keep or not Path(video).is_file() or Path(video).stem.endswith(PARTIAL):
            used += size
            continue
        shutil.rmtree(store)
        (store.parent / "decoded.json").unlink(missing_ok=True)     # nothing decoded is on disk any more
        dropped.append(store)
    return dropped


def human(n: int) -> str:
    for unit, size in (("GB", 1e9), ("MB", 1e6), ("kB", 1e3)):
        if n >= size:
            return f"{n / size:.1f} {unit}"
    return f"{n} B"
