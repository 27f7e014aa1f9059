"""A job's working folder: what has been sampled and decoded, kept so that nothing is lost.

Every section's latents are saved (atomically) as soon as it is sampled, tagged with a
fingerprint of everything that section depended on: the job's generation settings, the input
images' bytes, its own seed and prompt, and the fingerprint of the section sampled before it. A
saved section is reused only when its fingerprint still matches, so one mechanism gives:
- resume after a crash or Stop: every finished section matches and is kept;
- redo of one section with another seed or prompt: that section's fingerprint changes, and so do
  those of all sections sampled after it (the chain), which are redone; earlier ones are kept;
- a changed job in the same folder: nothing matches, nothing stale is used.
"""
from __future__ import annotations

import hashlib
import json
import time
from pathlib import Path

import torch
from safetensors import SafetensorError
from safetensors.torch import load_file, save

from .atomic import atomic_write_bytes, atomic_write_text
from .job import Job

# Settings that change the sampled latents. Output-only settings (crf, output path, device,
# memory policy) are not part of it: changing them reuses the sections. The prompt is not here
# either: each section's own resolved prompt is part of its link in the chain.
GENERATION_FIELDS = (
    "negative_prompt", "seconds", "variant", "resolution", "steps", "gs", "cfg", "rescale",
    "window", "sampler", "teacache", "end_influence", "models", "precision",
)


def _file_digest(path: str | None) -> str:
    if not path:
        return ""
    return hashlib.sha256(Path(path).read_bytes()).hexdigest()


def job_fingerprint(job: Job) -> str:
    data = {name: getattr(job, name) for name in GENERATION_FIELDS}
    data["image"] = _file_digest(job.image)
    data["end_image"] = _file_digest(job.end_image)
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def section_fingerprints(job: Job, orders: list[int], prompts: list[str]) -> dict[int, str]:
    """Fingerprint per time index, chained in sampling order."""
    previous = job_fingerprint(job)
    out = {}
    for section in orders:
        item = json.dumps([previous, section, job.seed_for(section), prompts[section]])
        previous = hashlib.sha256(item.encode()).hexdigest()
        out[section] = previous
    return out


class JobFolder:
    def __init__(self, job: Job):
        self.job = job
        self.path = job.job_dir
        self.sections_dir = self.path / "sections"
        self.sections_dir.mkdir(parents=True, exist_ok=True)
        atomic_write_text(self.path / "job.json", job.to_json())
        self._log = open(self.path / "log.txt", "a", encoding="utf-8")

    def log(self, text: str) -> None:
        self._log.write(f"{time.strftime('%Y-%m-%d %H:%M:%S')} {text}\n")
        self._log.flush()

    def close(self) -> None:
        self._log.close()

    # ----- section latents -----
    def section_path(self, section: int) -> Path:
        return self.sections_dir / f"{section:04d}.safetensors"

    def save_section(self, section: int, latents: torch.Tensor, fingerprint: str) -> None:
        data = save({"latents": latents.contiguous().cpu()}, metadata={"fingerprint": fingerprint})
        atomic_write_bytes(self.section_path(section), data)

    def _saved_fingerprint(self, path: Path) -> str | None:
        with open(path, "rb") as f:
            header_len = int.from_bytes(f.read(8), "little")
            if not 0 < header_len < 1 << 20:
                raise ValueError("not a safetensors header")
            header = json.loads(f.read(header_len))
        return header.get("__metadata__", {}).get("fingerprint")

    def has_section(self, section: int, fingerprint: str) -> bool:
        path = self.section_path(section)
        try:
            return path.exists() and self._saved_fingerprint(path) == fingerprint
        except (ValueError, OSError):
            return False

    def load_section(self, section: int, fingerprint: str) -> torch.Tensor | None:
        """The saved latents of a section if they are still valid for this job, else None.

        A damaged file (truncated, not safetensors) counts as missing: the section is redone and
        the log says so.
        """
        path = self.section_path(section)
        if not path.exists():
            return None
        try:
            if self._saved_fingerprint(path) != fingerprint:
                return None
            return load_file(str(path))["latents"]
        except (SafetensorError, ValueError, KeyError, OSError) as e:
            self.log(f"section {section}: saved latents unreadable ({e}); it will be sampled again")
            return None

    def read_section(self, section: int) -> torch.Tensor:
        """A section's saved latents whatever they were made for (inspection, tests)."""
        return load_file(str(self.section_path(section)))["latents"]

    # ----- decode progress -----
    def decoded(self) -> list[str]:
        """Fingerprints of the sections decoded into the frame store, in sampling order."""
        path = self.path / "decoded.json"
        if not path.exists():
            return []
        try:
            return list(json.loads(path.read_text())["fingerprints"])
        except (ValueError, KeyError, TypeError):
            return []

    def set_decoded(self, fingerprints: list[str]) -> None:
        atomic_write_text(self.path / "decoded.json", json.dumps({"fingerprints": fingerprints}))
