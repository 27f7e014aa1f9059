"""The jobs behind the window's "never lose work" commands: continue, redo, takes, extend, branch.

Each function turns what the user picked into a Job for the queue (or fails with a UserError the
window shows). The engine modules they need import torch, so they are imported on first use:
the window module itself stays free of it and opens fast in tests and tools.
"""
from __future__ import annotations

import random
import time
from pathlib import Path

from ..engine.choices import SEED_MAX, SEED_MIN
from ..engine.job import Job
from ..engine.outputs import fresh_output


def unfinished_jobs(outputs_dir: str | Path, queued: list[Job]) -> tuple[list, list]:
    """Unfinished job folders to offer at start, minus those the queue will run anyway; and the job
    folders that could not be read, with why."""
    from ..engine.jobfolder import scan_job_folders

    if not Path(outputs_dir).is_dir():
        return [], []
    waiting = {Path(j.output).resolve() for j in queued}
    scan = scan_job_folders(outputs_dir)
    return [u for u in scan.unfinished if Path(u.job.output).resolve() not in waiting], scan.unreadable


def redo_job(job: Job, section: int, seed: int | None = None, prompt: str | None = None) -> Job:
    """`job` with section `section` redone: a new random seed unless given, and/or a new prompt.

    The output stays the same, so the job folder (and every earlier take) is the same one.
    """
    seeds, prompts = dict(job.section_seeds), dict(job.section_prompts)
    if seed is None and prompt is None:
        seed = random.randint(SEED_MIN, SEED_MAX)
        while seed == job.seed_for(section):
            seed = random.randint(SEED_MIN, SEED_MAX)
    if seed is not None:
        seeds[section] = seed
    if prompt is not None:
        prompts[section] = prompt
    return job.replace(section_seeds=seeds, section_prompts=prompts).validate()


def prune(job: Job) -> tuple[int, int]:
    """Delete the takes the job's video does not use: (files deleted, bytes freed)."""
    from ..engine.jobfolder import prune_takes

    return prune_takes(job.job_dir)


def takes(job: Job) -> dict[int, list]:
    """The takes of each section in the job's folder ({} when it has no folder yet)."""
    from ..engine.jobfolder import list_takes

    if not (job.job_dir / "job.json").is_file():
        return {}
    return list_takes(job.job_dir)


def job_keeping(job: Job, take) -> Job:
    """The job that uses `take` for its section (runs without sampling: every take is on disk)."""
    from ..engine.jobfolder import job_with_take

    return job_with_take(job, take)


def extension(job: Job, seconds: float, prompt: str | None, taken: set[str] = frozenset()) -> Job:
    """A job that adds `seconds` to `job`'s finished video, beside it as `<name>-ext.mp4`."""
    from ..engine.extend import extend_job, extension_base

    source = job.job_dir if job.job_dir.is_dir() else Path(job.output)
    out = Path(job.output)
    new = extend_job(source, seconds, fresh_output(out.parent, f"{out.stem}-ext", taken),
                     prompt=prompt or None)
    extension_base(new)       # fails now, in words, when the old video's latents are gone
    return new


def clip_continuation(settings: Job, clip: Path, seconds: float, prompt: str, folder: Path,
                      taken: set[str] = frozenset()) -> Job:
    """A job that continues any video `clip` by `seconds` with the form's settings (F1), written to
    `folder` as `<clip>-more.mp4`; the prompt defaults to the form's."""
    from ..engine.any_video import video_job

    out = fresh_output(folder, f"{clip.stem}-more", taken)
    return video_job(settings.replace(
        video=str(clip), image="", end_image=None, seconds=float(seconds), prompt=prompt or settings.prompt,
        output=str(out), section_seeds={}, section_prompts={}, keyframes={}))


def from_frame(job: Job, frame: int, inputs_dir: Path) -> Job:
    """A new job starting at `frame` of `job`'s video; its start image is saved in `inputs_dir`."""
    from ..engine.extend import job_from_frame

    source = job.job_dir if job.job_dir.is_dir() else Path(job.output)
    stem = f"{Path(job.output).stem}-frame{frame:05d}-{time.strftime('%H%M%S')}"
    return job_from_frame(source, frame, inputs_dir / f"{stem}.mp4")
