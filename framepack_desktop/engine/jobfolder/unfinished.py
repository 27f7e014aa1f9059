"""The window's "continue unfinished jobs?" offer: job folders whose video was never finished."""
from __future__ import annotations

import json
import os
from dataclasses import dataclass
from pathlib import Path

from ..errors import UserError
from ..job import Job
from ..jobfile import load_job
from ..plan import Plan
from .files import SectionFiles
from .lock import is_running


@dataclass(frozen=True)
class UnfinishedJob:
    job_dir: Path
    job: Job
    finished_sections: int      # sections whose latents are saved (kept when it continues)
    num_sections: int
    state: str                  # "interrupted" (crash, power loss, kill), "stopped" or "failed"
    message: str                # the failure message, for "failed"
    updated: float              # when the folder last changed (time.time() scale)


@dataclass(frozen=True)
class JobScan:
    unfinished: list[UnfinishedJob]           # newest first
    unreadable: list[tuple[Path, str]]        # job folders whose job could not be read, and why


def find_unfinished_jobs(outputs_dir: str | os.PathLike) -> list[UnfinishedJob]:
    """Job folders in `outputs_dir` (and one level of subfolders) whose output MP4 does not exist.

    Newest first. Left out: jobs running right now (locked by another process), jobs that
    finished (their video was moved or deleted since) and folders whose job cannot be read
    (`scan_job_folders` lists those).
    """
    return scan_job_folders(outputs_dir).unfinished


def scan_job_folders(outputs_dir: str | os.PathLike) -> JobScan:
    """The unfinished jobs of `outputs_dir`, and the job folders that could not be read (a bad
    job.json, an image gone): one folder never stops the scan."""
    root = Path(outputs_dir)
    found, unreadable = [], []
    for job_dir in sorted({*root.glob("*.job"), *root.glob("*/*.job")}):
        if not job_dir.is_dir() or is_running(job_dir):
            continue
        try:
            job = load_job(job_dir)
            plan = Plan.of(job)
        except (UserError, OSError, ValueError) as e:
            reason = f"{e.strerror}: {e.filename}" if isinstance(e, OSError) and e.strerror else str(e)
            unreadable.append((job_dir, reason))
            continue
        if Path(job.output).exists():
            continue
        files = SectionFiles(job_dir)
        done = sum(1 for s in plan.orders if files.exists(s, plan.prints[s]))
        state, message = _read_state(job_dir)
        if state == "finished":
            continue
        updated = max((p.stat().st_mtime for p in job_dir.iterdir()), default=job_dir.stat().st_mtime)
        found.append(UnfinishedJob(job_dir, job, done, job.num_sections, state, message, updated))
    return JobScan(sorted(found, key=lambda u: u.updated, reverse=True), unreadable)


def _read_state(job_dir: Path) -> tuple[str, str]:
    try:
        data = json.loads((job_dir / "state.json").read_text(encoding="utf-8"))
        state, message = str(data["state"]), str(data.get("message", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return "interrupted", ""
    return ("interrupted" if state == "running" else state), message
