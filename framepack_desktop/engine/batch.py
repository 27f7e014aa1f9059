"""Batches: many jobs from one set of settings, for overnight runs.

Several start images (or a folder of them), a file of prompts (one per line) and N seeds multiply
into one job each, named after the output with a zero-padded number first so the files sort in
the order they were made (and the image's name, to find a picture's video). Each job is an
ordinary job with its own folder: a batch stopped half-way resumes job by job. torch-free.
"""
from __future__ import annotations

import itertools
from pathlib import Path

from .errors import BadSettings
from .job import Job

IMAGE_SUFFIXES = (".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif")


def images_of(paths: list[str]) -> list[str]:
    """The images named, a folder standing for the images in it (sorted by name)."""
    out = []
    for path in map(Path, paths):
        if path.is_dir():
            found = sorted(str(p) for p in path.iterdir() if p.is_file() and p.suffix.lower() in IMAGE_SUFFIXES)
            if not found:
                raise BadSettings(f"The folder {path} holds no images ({', '.join(IMAGE_SUFFIXES)}): choose another.")
            out += found
        else:
            out.append(str(path))
    return out


def read_prompts(path: str) -> list[str]:
    """One prompt per non-empty line of a text file."""
    try:
        lines = Path(path).read_text(encoding="utf-8").splitlines()
    except (OSError, UnicodeDecodeError) as e:
        raise BadSettings(f"Cannot read the prompts file {path} ({e}): give a UTF-8 text file, one prompt per line.") from e
    prompts = [line.strip() for line in lines if line.strip()]
    if not prompts:
        raise BadSettings(f"The prompts file {path} is empty: write one prompt per line.")
    return prompts


def batch_jobs(job: Job, images: list[str] | None = None, prompts: list[str] | None = None, seeds: int = 1) -> list[Job]:
    """One job per (image, prompt, seed), in that nesting; a single one keeps `job.output`."""
    if seeds < 1:
        raise BadSettings(f"--seeds must be 1 or more (got {seeds}).")
    combos = list(itertools.product(images or [job.image], prompts or [job.prompt], range(seeds)))
    if len(combos) == 1:
        image, prompt, _ = combos[0]
        return [job.replace(image=image, prompt=prompt)]
    out, digits = Path(job.output), len(str(len(combos)))
    jobs = []
    for k, (image, prompt, extra) in enumerate(combos, start=1):
        name = f"{out.stem}-{k:0{digits}d}" + (f"-{Path(image).stem}" if images and len(images) > 1 else "")
        jobs.append(job.replace(image=image, prompt=prompt, seed=job.seed + extra, output=str(out.with_name(name + out.suffix))))
    return jobs
