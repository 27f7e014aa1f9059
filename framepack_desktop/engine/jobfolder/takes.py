"""Choosing among a section's takes: list them, select one (and the takes it was chained on), and
delete the ones the job does not use."""
from __future__ import annotations

import dataclasses
import os
from pathlib import Path

from ..job import Job
from ..jobfile import load_job
from ..plan import Plan, section_prompts
from .files import SectionFiles, Take
from .lock import JobBusy, FolderLock


def list_takes(job_dir: str | os.PathLike) -> dict[int, list[Take]]:
    """Every take of each section (time index) made with the job's current settings, oldest first.

    The active take of each section (the one the job in job.json selects through its seed and
    prompt overrides) has `active=True`. Takes made with other generation settings are left out:
    no override can select them.
    """
    job_dir = Path(job_dir)
    job = load_job(job_dir)
    plan = Plan.of(job)
    out: dict[int, list[Take]] = {s: [] for s in range(job.num_sections)}
    all_takes = SectionFiles(job_dir).takes()
    by_print = {t.fingerprint: t for t in all_takes}
    for take in all_takes:
        if take.section not in out or not _descends_from(take, plan.root, by_print):
            continue
        active = plan.prints.get(take.section) == take.fingerprint
        out[take.section].append(dataclasses.replace(take, active=active))
    return out


def prune_takes(job_dir: str | os.PathLike) -> tuple[int, int]:
    """Delete every take the job in job.json does not use; returns (files deleted, bytes freed).

    What the current video is made of stays, so resume, extend and the finished video are not
    touched; only the other versions of sections (redone, or made with other settings) go. The
    job folder is locked meanwhile: a job running in it makes this fail with JobBusy.
    """
    job_dir = Path(job_dir)
    job = load_job(job_dir)
    used = set(Plan.of(job).prints.values())
    try:
        lock = FolderLock(job_dir / ".lock")
    except OSError as e:
        raise JobBusy(f"The job in '{job_dir}' is being generated right now; delete its other takes when it is "
                      "done.") from e
    files = freed = 0
    try:
        for take in SectionFiles(job_dir).takes():
            if take.fingerprint in used:
                continue
            size = take.path.stat().st_size
            take.path.unlink()
            files, freed = files + 1, freed + size
    finally:
        lock.release()
    return files, freed


def _descends_from(take: Take, root: str, by_print: dict[str, Take]) -> bool:
    seen = set()
    while take.previous != root:
        if take.previous in seen or take.previous not in by_print:
            return False
        seen.add(take.previous)
        take = by_print[take.previous]
    return True


def job_with_take(job: Job, take: Take) -> Job:
    """`job` changed to use `take`: its seed and prompt, and those of the takes it was chained on.

    Overrides equal to what the job gives anyway are dropped, so keeping the original take of
    every section returns the job without overrides.
    """
    by_print = {t.fingerprint: t for t in SectionFiles(job.job_dir).takes()}
    seeds, prompts = dict(job.section_seeds), dict(job.section_prompts)
    base_prompts = section_prompts(job.replace(section_prompts={}))
    current: Take | None = take
    while current is not None:
        s = current.section
        seeds.pop(s, None)
        prompts.pop(s, None)
        if current.seed != job.seed:
            seeds[s] = current.seed
        if current.prompt != base_prompts[s]:
            prompts[s] = current.prompt
        current = by_print.get(current.previous)
    return job.replace(section_seeds=seeds, section_prompts=prompts)
