"""The `sections/` folder of a job: every sampled version (take) of every section, one file each.

A take's file name is `<time index>-<fingerprint[:16]>.safetensors`; its safetensors header holds
the fingerprint, the one it was chained on, the seed, the prompt and the job, so the folder can be
listed, and a lost job.json rebuilt, by reading headers only. torch (safetensors' torch half) is
imported only to save or load latents, so the window lists takes and scans for unfinished jobs
without it, off its GUI thread.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from safetensors import SafetensorError

from ..atomic import atomic_write_bytes
from ..errors import UserError
from ..job import Job

if TYPE_CHECKING:
    import torch


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


def read_header(path: Path) -> dict[str, str]:
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


def is_take_file(path: Path) -> bool:
    return path.suffix == ".safetensors" and not path.name.startswith(".")


class DamagedTake(Exception):
    """A take's file exists but cannot be read back whole (truncated, overwritten, bad disk)."""

    def __init__(self, path: Path, reason: str):
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def latents_checksum(latents: torch.Tensor) -> str:
    """sha256 of a tensor's dtype, shape and bytes: saved with a take, checked when it is loaded,
    so a file damaged in place (same size, readable header) is never reused."""
    import torch

    t = latents.detach().contiguous().cpu()
    digest = hashlib.sha256(f"{t.dtype}{tuple(t.shape)}".encode())
    digest.update(t.reshape(-1).view(torch.uint8).numpy().tobytes())
    return digest.hexdigest()


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
                if read_header(path).get("fingerprint") == fingerprint:
                    return path
            except (ValueError, OSError) as e:
                raise DamagedTake(path, str(e) or type(e).__name__) from e
        legacy = self.dir / f"{section:04d}.safetensors"
        try:
            if legacy.exists() and read_header(legacy).get("fingerprint") == fingerprint:
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
        from safetensors.torch import save

        latents = latents.contiguous().cpu()
        meta = {
            "fingerprint": fingerprint, "previous": previous, "section": str(section), "seed": str(seed),
            "prompt": prompt, "created": repr(time.time()), "job": job.to_json(),
            "sha256": latents_checksum(latents),
        }
        data = save({"latents": latents}, metadata=meta)
        return atomic_write_bytes(self.path(section, fingerprint), data)

    def load(self, section: int, fingerprint: str) -> torch.Tensor | None:
        """The take's latents; None if there is no such take. Raises DamagedTake if unreadable, if
        they fail the checksum saved with them (files saved before checksums have none) or if they
        are not finite."""
        import torch
        from safetensors.torch import load_file

        path = self.find(section, fingerprint)
        if path is None:
            return None
        try:
            # A copy: safetensors maps the file, and what is mapped changes if the file is damaged.
            latents = load_file(str(path))["latents"].clone()
            expected = read_header(path).get("sha256")
        except (SafetensorError, KeyError, OSError, ValueError) as e:
            raise DamagedTake(path, str(e)) from e
        if expected is not None and latents_checksum(latents) != expected:
            raise DamagedTake(path, "its checksum does not match: the file was changed or damaged on disk")
        if not torch.isfinite(latents).all():
            raise DamagedTake(path, "its latents are not finite (NaN or infinite)")
        return latents

    def takes(self) -> list[Take]:
        """Every readable take, oldest first."""
        out = []
        for path in sorted(self.dir.glob("*.safetensors")) if self.dir.exists() else []:
            if not is_take_file(path):
                continue
            try:
                meta = read_header(path)
                out.append(Take(int(meta["section"]), int(meta["seed"]), meta["prompt"], meta["fingerprint"],
                                meta.get("previous", ""), float(meta["created"]), path))
            except (ValueError, KeyError, OSError):
                continue
        return sorted(out, key=lambda t: t.created)

    def newest_job(self) -> Job | None:
        """The job that sampled the newest readable take (to rebuild a lost job.json)."""
        for take in reversed(self.takes()):
            try:
                return Job.from_json(read_header(take.path)["job"])
            except (ValueError, KeyError, OSError, UserError):
                continue
        return None
