"""Reading a Job from any file that holds one: a job JSON, a video this app made (the job is in its
metadata) or a job folder (its job.json, or the job in its newest saved section when job.json is
lost). The CLI, the window and the extension all read jobs through `read_job`; torch-free, so the
window can use it.
"""
from __future__ import annotations

import os
from pathlib import Path

from .errors import BadSettings, UserError
from .job import Job


def read_job(path: str | os.PathLike) -> Job:
    """The job a file or job folder holds; BadSettings naming the file when it holds none."""
    path = Path(path)
    if path.is_dir():
        return load_job(path)
    if not path.exists():
        raise BadSettings(f"'{path}' does not exist.")
    if path.suffix.lower() == ".json":
        return Job.from_json(path.read_text(encoding="utf-8"))
    from .video.mp4 import read_job_metadata

    text = read_job_metadata(path)
    if not text:
        raise BadSettings(f"'{path.name}' holds no FramePack Desktop job: only videos made by this app can be used.")
    return Job.from_json(text)


def load_job(job_dir: str | os.PathLike) -> Job:
    """The job of a job folder; a missing or damaged job.json is rebuilt from the saved sections.

    When the folder was moved, the output becomes the MP4 beside its new place, so the job
    keeps working in this folder.
    """
    job_dir = Path(job_dir)
    try:
        job = read_job(job_dir / "job.json")
    except (OSError, UnicodeDecodeError, UserError):
        from .jobfolder.files import SectionFiles

        job = SectionFiles(job_dir).newest_job()
        if job is None:
            raise BadSettings(
                f"'{job_dir}' is not a usable job folder: it has no readable job.json and no saved sections."
            ) from None
    if job_dir.name.endswith(".job") and job.job_dir.resolve() != job_dir.resolve():
        job = job.replace(output=str(job_dir.parent / (job_dir.name[: -len(".job")] + ".mp4")))
    return job
