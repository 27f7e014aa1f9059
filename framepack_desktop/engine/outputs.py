"""Where a job may write: only where the user chose, never over what exists unless told to.

A job writes its MP4, the job JSON beside it and its `.job` folder. Before any of them is touched
(and before a model loads), `check_output` refuses an output that is a folder, that is also one
of the job's inputs (its images, the file its settings were read from) or, unless the user said
`overwrite`, that already exists or whose `.job` folder holds another job's work. A job read from
a shared file never chooses where it writes: `fresh_output` names a new file instead.
"""
from __future__ import annotations

import os
from collections.abc import Collection
from pathlib import Path

from .errors import BadSettings, UserError
from .job import Job
from .jobfile import read_job


def written_files(job: Job) -> tuple[Path, Path]:
    """The two files a finished job leaves beside each other: its MP4 and its job JSON."""
    out = Path(job.output)
    return out, out.with_suffix(".json")


def _same_file(a: Path, b: Path) -> bool:
    if a.exists() and b.exists():
        return os.path.samefile(a, b)
    return a.absolute() == b.absolute()


def check_not_input(job: Job, sources: tuple[str | os.PathLike, ...] = ()) -> None:
    """Refuse a job whose MP4 or JSON would replace one of its own inputs (always: even with overwrite)."""
    inputs = [Path(p) for p in (job.image, job.end_image, job.video, *job.keyframes.values(), *sources) if p]
    for written in written_files(job):
        for source in inputs:
            if _same_file(written, source):
                raise BadSettings(f"The output '{written}' is also an input ('{source}'): choose another output "
                                  "file, the input is never overwritten.")


def check_output(job: Job, overwrite: bool = False, sources: tuple[str | os.PathLike, ...] = ()) -> None:
    """Refuse an output the user did not choose to replace; `sources` are files the job was read from."""
    out, beside = written_files(job)
    if out.is_dir():
        raise BadSettings(f"'{out}' is a folder: the output must be a file name ending in .mp4 "
                          f"(for example '{out / 'video.mp4'}').")
    if out.suffix.lower() != ".mp4":
        raise BadSettings(f"The output '{out}' must be a file name ending in .mp4.")
    check_not_input(job, sources)
    if overwrite:
        return
    for path in (out, beside):
        if path.exists():
            raise BadSettings(f"'{path}' already exists: choose another output, or add --overwrite to replace it.")
    _check_job_folder(job)


def _check_job_folder(job: Job) -> None:
    """The `.job` folder beside the output may hold only this job's earlier work (then it continues)."""
    folder = job.job_dir
    if not folder.exists() and not folder.is_symlink():
        return
    if not folder.is_dir() or folder.is_symlink():
        raise BadSettings(f"'{folder}' (where this job keeps its work) exists and is not a job folder: choose "
                          "another output, or move it away.")
    if not any(folder.iterdir()):
        return
    try:
        other = read_job(folder / "job.json")
    except (OSError, UnicodeDecodeError, UserError):
        raise BadSettings(f"'{folder}' exists and holds no job of this app: choose another output, or add "
                          "--overwrite to use that folder.") from None
    if other.replace(output=job.output) != job:
        raise BadSettings(f"'{folder}' holds another job's work: continue it with framepack-desktop resume "
                          f"\"{folder}\", choose another output, or add --overwrite (its saved sections stay "
                          "as takes).")


def fresh_output(folder: str | os.PathLike, stem: str, taken: Collection[str] = ()) -> Path:
    """`<folder>/<stem>.mp4`, or `<stem>-2.mp4`, `-3`...: the first whose MP4, JSON and job folder
    are all free and that is not in `taken` (outputs that queued jobs will write)."""
    folder = Path(folder)
    n = 1
    while True:
        out = folder / (f"{stem}.mp4" if n == 1 else f"{stem}-{n}.mp4")
        if str(out) not in taken and not any(
                p.exists() or p.is_symlink() for p in (out, out.with_suffix(".json"), out.with_suffix(".job"))):
            return out
        n += 1


def partial_output(job: Job) -> Path:
    """Where Stop writes the frames made so far: `<out>-partial.mp4` when it is free or an earlier
    stop of this same job wrote it; otherwise `<out>-partial-2.mp4`, `-3`... A file the user made
    some other way that happens to have the name is never replaced."""
    out = Path(job.output)
    n = 1
    while True:
        path = out.with_name(f"{out.stem}-partial.mp4" if n == 1 else f"{out.stem}-partial-{n}.mp4")
        if not (path.exists() or path.is_symlink()) or made_by(path, job.output):
            return path
        n += 1


def made_by(video: Path, output: str | os.PathLike) -> bool:
    """Whether `video` is a plain file written by a run of the job that writes `output` (its embedded
    job names that output)."""
    if video.is_symlink() or not video.is_file():
        return False
    try:
        other = read_job(video)
    except (OSError, UserError):
        return False
    return Path(other.output).absolute() == Path(output).absolute()


def fresh_file(path: str | os.PathLike) -> Path:
    """`path` when nothing is there, else `<stem>-2<suffix>`, `-3`...: the first name that is free."""
    path = Path(path)
    n = 1
    while True:
        candidate = path if n == 1 else path.with_name(f"{path.stem}-{n}{path.suffix}")
        if not (candidate.exists() or candidate.is_symlink()):
            return candidate
        n += 1
