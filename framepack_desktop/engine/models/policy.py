"""Where models run and in which precision: the memory policy's single entry point.

`choose_placement(job)` measures this computer (free VRAM, RAM, the Windows commit limit, disk),
reads the sizes of the models on disk, and lets the preflight (`preflight.py`) choose precision,
memory mode and VAE decoding; it raises `NotEnoughMemory` with what to change when nothing fits.
The dtypes follow the original: bf16 transformer and fp16 encoders on CUDA, fp32 on the CPU.
"""
from __future__ import annotations

from dataclasses import replace

import torch

from ..errors import BadSettings
from ..images import buckets
from ..job import Job
from .estimates import measure
from .loader import resolve_models_dir
from .machine import Machine, probe
from .placement import Placement
from .preflight import Plan, Wishes, plan
from .sources import pick, transformer_sources
from .store import prepared_root


def choose_placement(job: Job) -> Placement:
    """The placement for `job` on this computer (see `plan_job` for the whole plan)."""
    return plan_job(job).placement


def plan_job(job: Job, machine: Machine | None = None) -> Plan:
    """The preflight's plan for `job`: placement, estimated needs and reasons."""
    device = job_device(job, usable=machine is None)
    check_speed_settings(job, device)
    models_dir = resolve_models_dir(job.models)
    sources = transformer_sources(models_dir, job.variant)
    source = pick(sources, job.precision if job.precision != "auto" else "bf16")
    sizes = measure(models_dir, job.variant, source)
    height, width = max(buckets(job.resolution), key=lambda hw: hw[0] * hw[1])
    wishes = Wishes(
        precision=job.precision, memory=job.memory, keep_free_gb=job.keep_free_gb, height=height, width=width,
        window=job.window, transformer_forms=tuple(s.stored for s in sources), gguf=source.kind == "gguf",
    )
    if job.fp8_compute:
        # Float8Linear holds the block matmuls' weights in e4m3, so the memory plan is fp8's.
        wishes = replace(wishes, precision="fp8")
    result = plan(wishes, machine or probe(device, models_dir), sizes, base_placement(device))
    result = replace(result, placement=replace(result.placement, prepared_root=prepared_root(models_dir),
                                               compile=job.compile))
    if not job.fp8_compute:
        return result
    result = with_fp8_compute(result)
    loaded_from = pick(sources, "bf16")   # fp8 compute loads the transformer as bf16, then quantises
    if loaded_from.stored == "fp8":
        place = result.placement
        note = (f"fp8 compute is made from an fp8 checkpoint ({loaded_from.path.name}), so its weights are "
                "rounded twice: the bf16 weights (`framepack-desktop models download --precision bf16`, and no "
                "fp8 file in checkpoints/) give the better source")
        result = replace(result, placement=replace(place, reasons=(*place.reasons, note)))
    return result


def check_speed_settings(job: Job, device: torch.device) -> None:
    """Refuse, before anything loads, speed settings this computer cannot run."""
    from ..speed import compiling, fp8

    if job.fp8_compute:
        problem = fp8.fp8_hardware(device)
        if problem:
            raise BadSettings(f"fp8 compute is not available: {problem}. Turn fp8 compute off.")
    if job.compile:
        problem = compiling.compile_unavailable(device)
        if problem:
            raise BadSettings(f"Cannot compile the model: {problem}. Turn compilation off.")


def with_fp8_compute(result: Plan) -> Plan:
    """The fp8-sized plan, loading the transformer from its bf16 weights (quantised once, per row)
    instead of a saved fp8 form (which would round every weight twice)."""
    place = result.placement
    if place.transformer_precision != "fp8":
        raise BadSettings(f"fp8 compute needs the transformer's fp8 weights to fit, and they do not here "
                          f"(the plan is {place.summary()}). Turn fp8 compute off.")
    reasons = (*place.reasons, "fp8 compute: the blocks' matmuls run on fp8 tensor cores (e4m3, scaled per "
               "weight row and per token), made from the bf16 weights while loading")
    place = replace(place, transformer_precision=None, transformer_dtype=torch.bfloat16, fp8_compute=True,
                    reasons=reasons)
    return replace(result, placement=place, needs=replace(result.needs, disk=0))


def job_device(job: Job, usable: bool = True) -> torch.device:
    """The device the job asked for (BadSettings for a name torch does not know) and, when `usable`,
    checked against what this torch on this machine can use (a plan for another machine is not)."""
    if job.device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(job.device)
    except RuntimeError:
        raise BadSettings(f"Unknown device '{job.device}': use auto, cpu, cuda or cuda:N (N: the GPU's number, "
                          "from 0).") from None
    if not usable:
        return device
    if device.type == "cuda":
        if not torch.cuda.is_available():
            why = ("this PyTorch is a CPU build, without CUDA" if torch.version.cuda is None else
                   "no CUDA GPU is visible (check the NVIDIA driver, or CUDA_VISIBLE_DEVICES)")
            raise BadSettings(f"Device '{job.device}' cannot be used: {why}. Choose device auto or cpu.")
        count = torch.cuda.device_count()
        if device.index is not None and device.index >= count:
            raise BadSettings(f"Device '{job.device}' does not exist: this machine has {count} CUDA GPU"
                              f"{'s' * (count != 1)}, numbered from 0.")
    elif device.type != "cpu":
        backend = getattr(torch, device.type, None)
        if backend is None or not hasattr(backend, "is_available") or not backend.is_available():
            raise BadSettings(f"Device '{job.device}' is not available in this PyTorch: choose auto, cpu or cuda.")
    return device


def base_placement(device: torch.device) -> Placement:
    """Device and plain dtypes: bf16 transformer and fp16 encoders on CUDA, as the original; fp32 on the CPU."""
    if device.type == "cpu":
        return Placement(device, torch.float32, torch.float32, torch.float32, torch.float32, memory="cpu")
    return Placement(device, torch.bfloat16, torch.float16, torch.float16, torch.float16)
