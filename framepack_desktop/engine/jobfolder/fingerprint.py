"""Fingerprints: a digest of everything a section's latents depended on, chained in sampling order.

A saved section is reused only when its fingerprint still matches, so one mechanism gives resume
after a crash or Stop (every finished section matches), redo of one section with another seed or
prompt (its fingerprint and those of all sections sampled after it change), takes (switching back
to an earlier seed finds the old chain) and safety against a changed job in the same folder.
"""
from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from ..job import Job
from ..jobfile import load_job
from ..sampling.context import sampling_orders
from ..sampling.prompts import prompts_for_sections

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
LATER_GENERATION_FIELDS = {"fp8_compute": False}


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
