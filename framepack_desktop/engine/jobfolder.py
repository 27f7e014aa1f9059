"""A job's working folder: what has been sampled and decoded, kept so that nothing is lost.

Every section's latents are saved (atomically) as soon as it is sampled, tagged with a
fingerprint of everything that section depended on: the job's generation settings, the input
images' bytes, its own seed and prompt, and the fingerprint of the section sampled before it. A
saved section is reused only when its fingerprint still matches, so one mechanism gives:
- resume after a crash or Stop: every finished section matches and is kept;
- redo of one section with another seed or prompt: that section's fingerprint changes, and so do
  those of all sections sampled after it (the chain), which are redone; earlier ones are kept;
- takes: each sampled version is its own file (`sections/<time index>-<fingerprint[:16]>`), so
  switching a section back to an earlier seed or prompt finds the old chain and reuses it;
- a changed job in the same folder: nothing matches, nothing stale is used.

Files a crash or a bad disk damaged are found, reported (log, notes for the runner) and set
aside as `*.damaged`; what they held is made again from what is intact.
"""
from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .atomic import atomic_write_bytes, atomic_write_text
from .errors import BadSettings, OutputNotWritable, UserError
from .job import Job
from .sampling.context import sampling_orders
from .sampling.prompts import prompts_for_sections

# Settings that change the sampled latents. Output-only settings (crf, output path, device,
# memory policy) are not part of it: changing them reuses the sections. The prompt is not here
# either: each section's own resolved prompt is part of its link in the chain.
GENERATION_FIELDS = (
    "negative_prompt", "seconds", "variant", "resolution", "steps", "gs", "cfg", "rescale",
    "window", "sampler", "teacache", "end_influence", "models", "precision",
)
# Settings that change the latents but were added later: part of the fingerprint only when they
# differ from their default, so sections saved before they existed keep their fingerprints.
# (torch.compile and the attention backend are not here: they change rounding, not the method.)
LATER_GENERATION_FIELDS = {"fp8_compute": False, "step_cache": "teacache", "step_cache_threshold": None}


class JobBusy(UserError):
    """Another process (a second window, a command line) is running this job right now."""


def _file_digest(path: str | None) -> str:
    if not path:
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def job_fingerprint(job: Job) -> str:
    data = {name: getattr(job, name) for name in GENERATION_FIELDS}
    data.update({name: getattr(job, name) for name, default in LATER_GENERATION_FIELDS.items()
                 if getattr(job, name) != default})
    data["image"] = _file_digest(job.image)
    data["end_image"] = _file_digest(job.end_image)
    if job.extend_from:
        # An extension depends on every latent of the video it continues: that job's chain.
        data["extend"] = timeline_fingerprint(load_job(Path(job.extend_from)))
        data["extend_frames"] = job.extend_frames
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def _chain(root: str, job: Job, orders: list[int], prompts: list[str]) -> dict[int, str]:
    previous, out = root, {}
    for section in orders:
        item = json.dumps([previous, section, job.seed_for(section), prompts[section]])
        previous = hashlib.sha256(item.encode()).hexdigest()
        out[section] = previous
    return out


def section_fingerprints(job: Job, orders: list[int], prompts: list[str]) -> dict[int, str]:
    """Fingerprint per time index, chained in sampling order."""
    return _chain(job_fingerprint(job), job, orders, prompts)


@dataclass(frozen=True)
class SectionChain:
    """What a job's sections are: sampling order, resolved prompts and fingerprints."""
    root: str                   # the job's fingerprint (settings, images, extended video)
    orders: list[int]           # time indices in sampling order
    prompts: list[str]          # per time index
    prints: dict[int, str]      # per time index

    def previous(self, section: int) -> str:
        """The fingerprint a section's take was chained on (the root for the first sampled)."""
        order = self.orders.index(section)
        return self.root if order == 0 else self.prints[self.orders[order - 1]]


def section_prompts(job: Job) -> list[str]:
    """Each section's prompt (time index); an extension's timestamps count from its own start."""
    starts = [4 * job.window * s / job.fps for s in range(job.num_sections)]
    return prompts_for_sections(job.prompt, starts, job.section_prompts)


def job_chain(job: Job) -> SectionChain:
    orders = sampling_orders(job.variant, job.num_sections)
    prompts = section_prompts(job)
    root = job_fingerprint(job)
    return SectionChain(root, orders, prompts, _chain(root, job, orders, prompts))


def timeline_fingerprint(job: Job) -> str:
    """One digest of all of a job's latents: its last-sampled section's fingerprint."""
    chain = job_chain(job)
    return chain.prints[chain.orders[-1]]


# ----- takes -----
@dataclass(frozen=True)
class Take:
    """One sampled version of a section. `previous` is the fingerprint it was chained on: a take
    whose `previous` is not the current chain's needs the earlier sections' takes too
    (`job_with_take` selects them all)."""
    section: int
    seed: int
    prompt: str
    fingerprint: str
    previous: str
    created: float          # time.time() when it was sampled
    path: Path
    active: bool = False    # the take the job in job.json uses


def _read_header(path: Path) -> dict[str, str]:
    """The safetensors metadata of a file, reading only its header."""
    with open(path, "rb") as f:
        header_len = int.from_bytes(f.read(8), "little")
        if not 0 < header_len < 1 << 24:
            raise ValueError("not a safetensors header")
        header = json.loads(f.read(header_len))
    meta = header.get("__metadata__", {})
    if not isinstance(meta, dict):
        raise ValueError("safetensors metadata is not a mapping")
    return meta


def _is_take_file(path: Path) -> bool:
    return path.suffix == ".safetensors" and not path.name.startswith(".")


class DamagedTake(Exception):
    """A take's file exists but cannot be read back whole (truncated, overwritten, bad disk)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


class SectionFiles:
    """The `sections/` folder of a job: every take of every section, readable without a lock."""

    def __init__(self, job_dir: str | os.PathLike):
        self.dir = Path(job_dir) / "sections"

    def path(self, section: int, fingerprint: str) -> Path:
        return self.dir / f"{section:04d}-{fingerprint[:16]}.safetensors"

    def find(self, section: int, fingerprint: str) -> Path | None:
        """The file holding this take (its own name, or the one-file-per-section name of older
        versions); None if there is none. Raises DamagedTake if its own file has no readable header."""
        path = self.path(section, fingerprint)
        if path.exists():
            try:
                if _read_header(path).get("fingerprint") == fingerprint:
                    return path
            except (ValueError, OSError) as e:
                raise DamagedTake(path, str(e) or type(e).__name__) from e
        legacy = self.dir / f"{section:04d}.safetensors"
        try:
            if legacy.exists() and _read_header(legacy).get("fingerprint") == fingerprint:
                return legacy
        except (ValueError, OSError):
            return None
        return None

    def exists(self, section: int, fingerprint: str) -> bool:
        """Whether the take is on disk with a readable header (its data is checked on load)."""
        try:
            return self.find(section, fingerprint) is not None
        except DamagedTake:
            return False

    def save(self, section: int, latents: torch.Tensor, fingerprint: str, previous: str, seed: int,
             prompt: str, job: Job) -> Path:
        meta = {
            "fingerprint": fingerprint, "previous": previous, "section": str(section), "seed": str(seed),
            "prompt": prompt, "created": repr(time.time()), "job": job.to_json(),
        }
        data = save({"latents": latents.contiguous().cpu()}, metadata=meta)
        return atomic_write_bytes(self.path(section, fingerprint), data)

    def load(self, section: int, fingerprint: str) -> torch.Tensor | None:
        """The take's latents; None if there is no such take. Raises DamagedTake if unreadable."""
        path = self.find(section, fingerprint)
        if path is None:
            return None
        try:
            # A copy: safetensors maps the file, and what is mapped changes if the file is damaged.
            return load_file(str(path))["latents"].clone()
        except (SafetensorError, KeyError, OSError) as e:
            raise DamagedTake(path, str(e)) from e

    def takes(self) -> list[Take]:
        """Every readable take, oldest first."""
        out = []
        for path in sorted(self.dir.glob("*.safetensors")) if self.dir.exists() else []:
            if not _is_take_file(path):
                continue
            try:
                meta = _read_header(path)
                out.append(Take(int(meta["section"]), int(meta["seed"]), meta["prompt"], meta["fingerprint"],
                                meta.get("previous", ""), float(meta["created"]), path))
            except (ValueError, KeyError, OSError):
                continue
        return sorted(out, key=lambda t: t.created)

    def newest_job(self) -> Job | None:
        """The job that sampled the newest readable take (to rebuild a lost job.json)."""
        for take in reversed(self.takes()):
            try:
                return Job.from_json(_read_header(take.path)["job"])
            except (ValueError, KeyError, OSError, UserError):
                continue
        return None


def list_takes(job_dir: str | os.PathLike) -> dict[int, list[Take]]:
    """Every take of each section (time index) made with the job's current settings, oldest first.

    The active take of each section (the one the job in job.json selects through its seed and
    prompt overrides) has `active=True`. Takes made with other generation settings are left out:
    no override can select them.
    """
    job_dir = Path(job_dir)
    job = load_job(job_dir)
    chain = job_chain(job)
    out: dict[int, list[Take]] = {s: [] for s in range(job.num_sections)}
    all_takes = SectionFiles(job_dir).takes()
    by_print = {t.fingerprint: t for t in all_takes}
    for take in all_takes:
        if take.section not in out or not _descends_from(take, chain.root, by_print):
            continue
        active = chain.prints.get(take.section) == take.fingerprint
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
    used = set(job_chain(job).prints.values())
    try:
        lock = _FolderLock(job_dir / ".lock")
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


# ----- the job itself -----
def load_job(job_dir: str | os.PathLike) -> Job:
    """The job of a job folder; a missing or damaged job.json is rebuilt from the saved sections.

    When the folder was moved, the output becomes the MP4 beside its new place, so the job
    keeps working in this folder.
    """
    job_dir = Path(job_dir)
    try:
        job = Job.from_json((job_dir / "job.json").read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, UserError):
        job = SectionFiles(job_dir).newest_job()
        if job is None:
            raise BadSettings(
                f"'{job_dir}' is not a usable job folder: it has no readable job.json and no saved sections."
            ) from None
    if job_dir.name.endswith(".job") and job.job_dir.resolve() != job_dir.resolve():
        job = job.replace(output=str(job_dir.parent / (job_dir.name[: -len(".job")] + ".mp4")))
    return job


class _FolderLock:
    """An exclusive lock on the job folder, released by the OS even when the process is killed."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self.fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def is_running(job_dir: str | os.PathLike) -> bool:
    """Whether some process holds the job folder's lock right now."""
    path = Path(job_dir) / ".lock"
    if not path.exists():
        return False
    try:
        _FolderLock(path).release()
    except OSError:
        return True
    return False


class JobFolder:
    """The folder of the job being run: locked, its job.json current, notes on what was repaired."""

    def __init__(self, job: Job):
        self.job = job
        self.path = job.job_dir
        self.sections = SectionFiles(self.path)
        self.notes: list[str] = []
        self._log = None
        self.sections.dir.mkdir(parents=True, exist_ok=True)
        try:
            self._lock = _FolderLock(self.path / ".lock")
        except OSError as e:
            raise JobBusy(
                f"The job in '{self.path}' is already running in another window or command line. "
                "Wait for it to finish or stop it there."
            ) from e
        self._chain: SectionChain | None = None
        with contextlib.ExitStack() as undo:
            undo.callback(self._lock.release)  # a full disk here must not leave the job locked
            self._remove_temporaries()
            self._check_job_json()
            atomic_write_text(self.path / "job.json", job.to_json())
            self._log = open(self.path / "log.txt", "a", encoding="utf-8")
            undo.pop_all()

    def _remove_temporaries(self) -> None:
        """Drop the hidden half-written files a killed process left (atomic writes' temporaries)."""
        for folder in (self.path, self.sections.dir, self.path / "frames"):
            for temp in folder.glob(".*.partial*") if folder.exists() else []:
                temp.unlink(missing_ok=True)

    def _check_job_json(self) -> None:
        if not any(_is_take_file(p) for p in self.sections.dir.glob("*.safetensors")):
            return
        path = self.path / "job.json"
        try:
            Job.from_json(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, UserError) as e:
            what = "missing" if isinstance(e, FileNotFoundError) else "damaged"
            self.notes.append(f"The job file {path} was {what}; it was written again from this job's settings.")

    @property
    def chain(self) -> SectionChain:
        if self._chain is None:
            self._chain = job_chain(self.job)
        return self._chain

    # ----- log and state -----
    def log(self, text: str) -> None:
        """Append a line to log.txt. Best effort: a full disk must not hide the error being logged."""
        if self._log is None:
            return
        try:
            self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
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
        chain = self.chain if fingerprint == self.chain.prints.get(section) else None
        previous = chain.previous(section) if chain else ""
        prompt = chain.prompts[section] if chain else ""
        self.sections.save(section, latents, fingerprint, previous, self.job.seed_for(section), prompt, self.job)

    def read_section(self, section: int) -> torch.Tensor:
        """The active take's latents of a section (inspection, tests)."""
        latents = self.sections.load(section, self.chain.prints[section])
        if latents is None:
            raise FileNotFoundError(f"section {section} of {self.path} has not been sampled")
        return latents

    def finished_sections(self) -> tuple[int, ...]:
        """Time indices whose active take is on disk."""
        return tuple(s for s in self.chain.orders if self.has_section(s, self.chain.prints[s]))

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


# ----- the window's "continue unfinished jobs?" offer -----
@dataclass(frozen=True)
class UnfinishedJob:
    job_dir: Path
    job: Job
    finished_sections: int      # sections whose latents are saved (kept when it continues)
    num_sections: int
    state: str                  # "interrupted" (crash, power loss, kill), "stopped" or "failed"
    message: str                # the failure message, for "failed"
    updated: float              # when the folder last changed (time.time() scale)


def find_unfinished_jobs(outputs_dir: str | os.PathLike) -> list[UnfinishedJob]:
    """Job folders in `outputs_dir` (and one level of subfolders) whose output MP4 does not exist.

    Newest first. Left out: jobs running right now (locked by another process), jobs that
    finished (their video was moved or deleted since) and folders whose job cannot be read.
    """
    root = Path(outputs_dir)
    found = []
    for job_dir in sorted({*root.glob("*.job"), *root.glob("*/*.job")}):
        if not job_dir.is_dir() or is_running(job_dir):
            continue
        try:
            job = load_job(job_dir)
            chain = job_chain(job)
        except (UserError, OSError, ValueError):
            continue
        if Path(job.output).exists():
            continue
        files = SectionFiles(job_dir)
        done = sum(1 for s in chain.orders if files.exists(s, chain.prints[s]))
        state, message = _read_state(job_dir)
        if state == "finished":
            continue
        updated = max((p.stat().st_mtime for p in job_dir.iterdir()), default=job_dir.stat().st_mtime)
        found.append(UnfinishedJob(job_dir, job, done, job.num_sections, state, message, updated))
    return sorted(found, key=lambda u: u.updated, reverse=True)


def _read_state(job_dir: Path) -> tuple[str, str]:
    try:
        data = json.loads((job_dir / "state.json").read_text(encoding="utf-8"))
        state, message = str(data["state"]), str(data.get("message", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return "interrupted", ""
    return ("interrupted" if state == "running" else state), message
