"""The folder of the job being run: locked, its job.json current, notes on what was repaired.

Files a crash or a bad disk damaged are found, reported (log, notes for the runner) and set aside
as `*.damaged`; what they held is made again from what is intact.
"""
from __future__ import annotations

import contextlib
import glob
import json
import os
import re
import time
from pathlib import Path
from typing import TYPE_CHECKING

from ..atomic import NO_FOLLOW, atomic_write_text
from ..errors import NonFiniteLatents, OutputNotWritable, UserError
from ..job import Job
from ..jobfile import read_job
from ..plan import Plan
from ..printable import printable
from .files import DamagedTake, SectionFiles, is_take_file
from .links import refuse_links
from .lock import FolderLock, JobBusy, read_only

if TYPE_CHECKING:
    import torch


def remove_output_temporaries(job: Job) -> None:
    """The hidden temporaries of this job's MP4 and JSON (`.<stem>.<random>.partial.mp4`), which a
    kill during the final write leaves beside the output; never another file's."""
    out = Path(job.output)
    pattern = re.compile(rf"\.{re.escape(out.stem)}\.[0-9a-f]{{8}}\.partial\.(mp4|json)")
    for temp in out.parent.glob(f".{glob.escape(out.stem)}.*.partial.*") if out.parent.is_dir() else []:
        if pattern.fullmatch(temp.name) and not temp.is_symlink():
            temp.unlink(missing_ok=True)


def _open_log(path):
    """log.txt for appending, never through a link."""
    fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT | NO_FOLLOW, 0o666)
    return os.fdopen(fd, "a", encoding="utf-8")


class JobFolder:
    """The folder of the job being run: locked, its job.json current, notes on what was repaired."""

    def __init__(self, job: Job, plan: Plan | None = None):
        """`plan`: the job's plan when the caller has made it already (making one hashes the input
        images and, for an extension, the video it continues)."""
        self.job = job
        self.path = job.job_dir
        self.sections = SectionFiles(self.path)
        self.notes: list[str] = []
        self._log = None
        refuse_links(self.path)
        try:
            self.sections.dir.mkdir(parents=True, exist_ok=True)
        except PermissionError as e:
            raise read_only(self.path) from e
        try:
            self._lock = FolderLock(self.path / ".lock")
        except OSError as e:
            raise JobBusy(
                f"The job in '{self.path}' is already running in another window or command line. "
                "Wait for it to finish or stop it there."
            ) from e
        self._plan: Plan | None = plan
        with contextlib.ExitStack() as undo:
            undo.callback(self._lock.release)  # a full disk here must not leave the job locked
            self._remove_temporaries()
            self._check_job_json()
            atomic_write_text(self.path / "job.json", job.to_json())
            self._log = _open_log(self.path / "log.txt")
            undo.pop_all()

    def _remove_temporaries(self) -> None:
        """Drop the hidden half-written files a killed process left (atomic writes' temporaries):
        in the job folder, and this job's own beside it (its MP4's and JSON's, by their name)."""
        for folder in (self.path, self.sections.dir, self.path / "frames"):
            for temp in folder.glob(".*.partial*") if folder.exists() else []:
                temp.unlink(missing_ok=True)
        remove_output_temporaries(self.job)

    def _check_job_json(self) -> None:
        if not any(is_take_file(p) for p in self.sections.dir.glob("*.safetensors")):
            return
        path = self.path / "job.json"
        try:
            read_job(path)
        except (OSError, UnicodeDecodeError, UserError):
            what = "damaged" if path.exists() else "missing"
            self.notes.append(f"The job file {path} was {what}; it was written again from this job's settings.")

    @property
    def plan(self) -> Plan:
        """The job's plan (fingerprints made on first use: they read the input images)."""
        if self._plan is None:
            self._plan = Plan.of(self.job)
        return self._plan

    # ----- log and state -----
    def log(self, text: str) -> None:
        """Append a line to log.txt. Best effort: a full disk must not hide the error being logged."""
        if self._log is None:
            return
        try:
            self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {printable(text, keep=chr(10))}\n")
            self._log.flush()
        except OSError:
            pass

    def set_state(self, state: str, message: str = "") -> None:
        """running / finished / stopped / failed, for the 'continue unfinished jobs?' offer."""
        data = json.dumps({"state": state, "message": message, "time": time.time()})
        try:
            atomic_write_text(self.path / "state.json", data)
        except OutputNotWritable as e:
            self.log(f"could not record the job state '{state}': {e}")

    def close(self) -> None:
        if self._log is not None:
            try:
                self._log.close()
            except OSError:
                pass
            self._log = None
        self._lock.release()

    # ----- section latents (the active take of each section) -----
    def check_section(self, section: int, fingerprint: str) -> bool:
        """Whether the section's take exists and reads back whole; a damaged file is set aside and noted."""
        try:
            return self.sections.load(section, fingerprint) is not None
        except DamagedTake as e:
            self._set_aside(e, section)
            return False

    def _set_aside(self, e: DamagedTake, section: int) -> None:
        e.path.replace(e.path.with_name(e.path.name + ".damaged"))
        text = (f"The saved latents of section {section + 1} were damaged ({e.reason}); "
                "that section is sampled again, every other section is kept.")
        self.notes.append(text)
        self.log(text)

    def load_section(self, section: int, fingerprint: str) -> torch.Tensor | None:
        """The saved latents of a section if they are still valid for this job, else None."""
        try:
            return self.sections.load(section, fingerprint)
        except DamagedTake as e:
            self._set_aside(e, section)
            return None

    def has_section(self, section: int, fingerprint: str) -> bool:
        return self.sections.exists(section, fingerprint)

    def save_section(self, section: int, latents: torch.Tensor, fingerprint: str) -> None:
        """Save a section's take; non-finite latents are refused (NonFiniteLatents), never saved."""
        import torch

        if not torch.isfinite(latents).all():
            job = self.job
            raise NonFiniteLatents(
                f"Sampling section {section + 1} gave NaN or infinite values, which are never saved. The likely "
                f"cause is a guidance setting (gs {job.gs:g}, cfg {job.cfg:g}, rescale {job.rescale:g}): lower "
                "it and Generate again; with usual settings, check the model files (framepack-desktop models "
                "verify). Every finished section is kept."
            )
        plan = self.plan if fingerprint == self.plan.prints.get(section) else None
        previous = plan.previous(section) if plan else ""
        prompt = plan.prompts[section] if plan else ""
        self.sections.save(section, latents, fingerprint, previous, self.job.seed_for(section), prompt, self.job)

    def read_section(self, section: int) -> torch.Tensor:
        """The active take's latents of a section (inspection, tests)."""
        latents = self.sections.load(section, self.plan.prints[section])
        if latents is None:
            raise FileNotFoundError(f"section {section} of {self.path} has not been sampled")
        return latents

    def finished_sections(self) -> tuple[int, ...]:
        """Time indices whose active take is on disk."""
        return tuple(s for s in self.plan.orders if self.has_section(s, self.plan.prints[s]))

    # ----- decode progress -----
    def decoded(self) -> list[str] | None:
        """Fingerprints of the sections decoded into the frame store, in sampling order.

        None when decoded.json is missing or unreadable (the frame store cannot be trusted then).
        """
        path = self.path / "decoded.json"
        try:
            return [str(f) for f in json.loads(path.read_text(encoding="utf-8"))["fingerprints"]]
        except (OSError, ValueError, KeyError, TypeError):
            return None

    def set_decoded(self, fingerprints: list[str]) -> None:
        atomic_write_text(self.path / "decoded.json", json.dumps({"fingerprints": fingerprints}))
