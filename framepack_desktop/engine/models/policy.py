"""Where models run and in which precision: the memory policy's single entry point.

`choose_placement(job)` measures this computer (free VRAM, RAM, the Windows commit limit, disk),
reads the sizes of the models on disk, and lets the preflight (`preflight.py`) choose precision,
memory mode and VAE decoding; it raises `NotEnoughMemory` with what to change when nothing fits.
The dtypes follow the original: bf16 transformer and fp16 encoders on CUDA, fp32 on the CPU.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ..images import buckets
from ..job import Job
from ..session import Placement
from .estimates import measure
from .loader import resolve_models_dir
from .machine import Machine, probe
from .preflight import Plan, Wishes, plan
from .sources import pick, transformer_sources
from .store import prepared_root


def choose_placement(job: Job) -> Placement:
    """The placement for `job` on this computer (see `plan_job` for the whole plan)."""
    return plan_job(job).placement


def plan_job(job: Job, machine: Machine | None = None) -> Plan:
    """The preflight's plan for `job`: placement, estimated needs and reasons."""
    device = job_device(job)
    models_dir = resolve_models_dir(job.models)
    sources = transformer_sources(models_dir, job.variant)
    source = pick(sources, job.precision if job.precision != "auto" else "bf16")
    sizes = measure(models_dir, job.variant, source)
    height, width = max(buckets(job.resolution), key=lambda hw: hw[0] * hw[1])
    wishes = Wishes(
        precision=job.precision, memory=job.memory, keep_free_gb=job.keep_free_gb, height=height, width=width,
        window=job.window, transformer_forms=tuple(s.stored for s in sources), gguf=source.kind == "gguf",
    )
    result = plan(wishes, machine or probe(device, models_dir), sizes, base_placement(device))
    return replace(result, placement=replace(result.placement, prepared_root=prepared_root(models_dir)))


def job_device(job: Job) -> torch.device:
    if job.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    return torch.device(job.device)


def base_placement(device: torch.device) -> Placement:
    """Device and plain dtypes: bf16 transformer and fp16 encoders on CUDA, as the original; fp32 on the CPU."""
    if device.type == "cpu":
        return Placement(device, torch.float32, torch.float32, torch.float32, torch.float32, memory="cpu")
    return Placement(device, torch.bfloat16, torch.float16, torch.float16, torch.float16)
