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
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise BadSettings(f"'{path}' is not a job file (it is not text).") from None
    else:
        from .video.mp4 import read_job_metadata

        text = read_job_metadata(path)
        if not text:
            raise BadSettings(f"'{path.name}' holds no FramePack Desktop job: only videos made by this app can be "
                              "used.")
    return _anchored(_strict(text, path), path.parent)


def _strict(text: str, path: Path) -> Job:
    """The job in `text`, its types and ranges checked; BadSettings naming the file otherwise."""
    try:
        return Job.from_json(text).validate()
    except BadSettings as e:
        raise BadSettings(f"{path}: {e}") from None


def _anchored(job: Job, folder: Path) -> Job:
    """The job with relative image paths (written before jobs stored them absolute) read relative to
    the folder of the file that holds them, never to whichever folder the app runs in."""
    changes = {name: str(folder.absolute() / value) for name in ("image", "end_image")
               if (value := getattr(job, name)) and not Path(value).is_absolute()}
    return job.replace(**changes) if changes else job


def load_job(job_dir: str | os.PathLike) -> Job:
    """The job of a job folder; a missing or damaged job.json is rebuilt from the saved sections.

    The output is always the MP4 beside the folder (whatever job.json says, and wherever the folder
    was moved): a job folder writes only inside itself and beside itself.
    """
    job_dir = Path(job_dir)
    if not job_dir.name.endswith(".job"):
        raise BadSettings(f"'{job_dir}' is not a job folder: job folders are named <video>.job (the folder this "
                          "app makes beside each video), and only those are read or written as jobs.")
    try:
        job = _strict((job_dir / "job.json").read_text(encoding="utf-8"), job_dir / "job.json")
    except (OSError, UnicodeDecodeError, UserError) as e:
        from .jobfolder.files import SectionFiles

        job = SectionFiles(job_dir).newest_job()
        if job is None:
            why = f"it has no saved sections, and {e}" if isinstance(e, UserError) else \
                "it has no readable job.json and no saved sections."
            raise BadSettings(f"'{job_dir}' is not a usable job folder: {why}") from None
    job = _anchored(job, job_dir.parent)
    beside = job_dir.parent.absolute() / (job_dir.name[: -len(".job")] + ".mp4")
    return job if Path(job.output) == beside else job.replace(output=str(beside))
