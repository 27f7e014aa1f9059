"""Fingerprints: a digest of everything a section's latents depended on, chained in sampling order.

A saved section is reused only when its fingerprint still matches, so one mechanism gives resume
after a crash or Stop (every finished section matches), redo of one section with another seed or
prompt (its fingerprint and those of all sections sampled after it change), takes (switching back
to an earlier seed finds the old chain) and safety against a changed job in the same folder.

What goes in follows from the Job's own field declarations (`job.py`: each field says whether it
changes the latents, only the frames, or neither, and how it enters the digest), never from a list
kept here: a new field that changes the latents is in the fingerprint the day it is declared.
The digests are those of the hand-kept list they replace, so existing job folders keep their
sections (tests/test_fingerprint.py holds golden values).
"""
from __future__ import annotations

import dataclasses
import hashlib
import json
from pathlib import Path

from .hashing import file_sha256
from .job import CHANGES, DIGEST, FRAMES, LATENTS, NEITHER, Job
from .lora_ref import lora_fingerprint


DIGEST_KINDS = ("value", "if_changed", "file", "new_file", "section", "extension", "loras")


def unclassified_fields(cls: type = Job) -> list[str]:
    """Fields of a Job class that do not say what changing them changes (or say it wrongly)."""
    bad = []
    for f in dataclasses.fields(cls):
        changes = f.metadata.get(CHANGES)
        if changes not in (LATENTS, FRAMES, NEITHER) or (changes == LATENTS and f.metadata.get(DIGEST) not in DIGEST_KINDS):
            bad.append(f.name)
    return bad


def latent_fields(kind: str) -> tuple[dataclasses.Field, ...]:
    """The Job fields that change the latents and enter the fingerprint as `kind` ("value",
    "if_changed", "file", "section", "extension")."""
    return tuple(f for f in dataclasses.fields(Job) if f.metadata.get(CHANGES) == LATENTS and f.metadata[DIGEST] == kind)


def file_digest(path: str | None) -> str:
    if not path:
        return ""
    return file_sha256(path)


def _input_digest(job: Job, name: str) -> str:
    """An input image's digest: its bytes, or, when the file is gone, the digest the job recorded of
    them (the same sha256), so the saved sections of a job whose image moved can still be counted."""
    path, recorded = getattr(job, name), getattr(job, f"{name}_sha256", "")
    if path and recorded and not Path(path).is_file():
        return recorded
    return file_digest(path)


def settings_digest(job: Job, extended_timeline: str = "") -> str:
    """The root of a job's chain: its settings that change the latents, its images' bytes, and for
    an extension the fingerprint of every latent of the video it continues (`extended_timeline`).

    Fields declared "if_changed" were added after job folders existed: they count only when they
    differ from their default, so sections saved before they existed keep their fingerprints.
    Per-section fields (prompt, seed and their overrides) enter each section's link instead.
    """
    data = {f.name: getattr(job, f.name) for f in latent_fields("value")}
    data.update({f.name: getattr(job, f.name) for f in latent_fields("if_changed") if getattr(job, f.name) != f.default})
    data.update({f.name: _input_digest(job, f.name) for f in latent_fields("file")})
    data.update({f.name: file_digest(getattr(job, f.name)) for f in latent_fields("new_file") if getattr(job, f.name)})
    for f in latent_fields("loras"):
        if digest := lora_fingerprint(getattr(job, f.name)):
            data[f.name] = digest
    if job.extend_from:
        data["extend"] = extended_timeline
    if job.continues:
        data.update({f.name: getattr(job, f.name) for f in latent_fields("extension") if f.name != "extend_from"})
    return hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()


def link(previous: str, section: int, seed: int, prompt: str, extra: tuple = ()) -> str:
    """One section's fingerprint: the one sampled before it, its time index, seed and prompt, and
    what else steers that section alone (`extra`: its keyframe's digest, the prompt it blends from);
    empty for a plain section, so sections keep the fingerprints they always had."""
    return hashlib.sha256(json.dumps([previous, section, seed, prompt, *extra]).encode()).hexdigest()
