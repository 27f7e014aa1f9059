"""The GPU suite's items in the order they run, each with its expected seconds.

An item is a function of the rig (suite_rig.py) returning a dict of figures; it raises
`Unavailable` when this machine cannot run the path at all (no fp8 tensor cores, a package not
installed, the CPU of a dry run): a finding, not a failure. Anything else it raises is a failure,
recorded with its traceback by the suite, which goes on. The order puts the shared bf16
transformer's items first, then those that change it in place (fp8 compute) or need memory of
their own (offloading under a cap, fresh fp8 and quantized models). Expected seconds come from the
counted FLOPs per call (`Rig.step_s`, replaced by the measured s/it once the bf16 item ran) and
fixed costs measured at full size (`Scale.overhead` scales them for the dry run).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from .suite_memory import group_offload, jobs_vram, vae_decode, vram_meter
from .suite_quant import quantized
from .suite_rig import Rig, Unavailable
from .suite_speed import (
    attention_backends, bf16, build_transformer, compiled, diffusers_pipeline, environment, fp8_compute, fp8_storage,
    magcache_calibration, magcache_command, step_cache,
)

__all__ = ["Item", "Unavailable", "items"]


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    run: Callable[[Rig], dict]
    cost: Callable[[Rig], float]


def _steps(n: int, factor: float = 1.0) -> Callable[[Rig], float]:
    return lambda rig: n * rig.step_s() * factor


def items(rig: Rig) -> list[Item]:
    s = rig.scale
    quant_flops = rig.flops * (s.quant_transformer["num_layers"] + s.quant_transformer["num_single_layers"]) / (
        s.transformer["num_layers"] + s.transformer["num_single_layers"])
    pcie_s = rig.weights_gb(s.transformer) / 25.0   # the weights once over PCIe from pinned RAM (~25 GB/s)
    o = s.overhead
    return [
        Item("environment", "device, driver, torch, diffusers", environment, lambda r: 1.0),
        Item("build", "full-size transformer, random weights built on the GPU", build_transformer,
             lambda r: s.build_s),
        Item("pipeline", "diffusers' own pipeline, same weights and sizes (ratio baseline)", diffusers_pipeline,
             lambda r: (s.steps + 2) * r.step_s() + 10 * o),
        Item("bf16", "bf16, TeaCache off: s/it and MFU", bf16, lambda r: (s.steps + 1) * r.step_s()),
        Item("teacache", "bf16, TeaCache 0.15", step_cache("teacache", 0.15), _steps(s.cache_steps)),
        Item("fbcache", "bf16, First-Block Cache 0.05", step_cache("fbcache", 0.05), _steps(s.cache_steps)),
        Item("magcache_calibration", "MagCache calibration (diffusers' calibration mode)", magcache_calibration,
             _steps(s.cache_steps)),
        Item("magcache_command", "models calibrate-magcache's path (demo weights, whole job)", magcache_command,
             lambda r: 20 * o),
        Item("magcache", "bf16, MagCache 0.06 with the calibrated ratios", step_cache("magcache", 0.06),
             _steps(s.cache_steps)),
        Item("attention", "every installed attention backend", attention_backends,
             lambda r: 4 * (s.steps + 1) * r.step_s()),
        Item("compile", "regional torch.compile: compile time and s/it", compiled,
             lambda r: s.compile_s + s.steps * r.step_s()),
        Item("fp8_compute", "fp8 compute: quality check against bf16, s/it", fp8_compute,
             lambda r: 10 * o + (s.steps + 2) * r.step_s()),
        Item("vae_decode", "one section's VAE decode, latency to frames in the store", vae_decode,
             lambda r: 5 * o),
        Item("vram_meter", "VRAM meter against torch.cuda and NVML", vram_meter, lambda r: 2.0),
        Item("jobs", "peak VRAM of a 60 s job against a 5 s job (one step per section)", jobs_vram,
             lambda r: 50 * o),
        Item("group_offload", "group offloading under 6 GB and 8 GB caps", group_offload,
             lambda r: s.build_s + 30 * o + len(s.offload_caps_gb) * s.offload_steps * (r.step_s() + pcie_s)),
        Item("fp8_storage", "fp8 storage (weights e4m3, compute bf16)", fp8_storage,
             lambda r: s.build_s + (s.steps + 1) * r.step_s()),
        Item("int8", "int8 transformer (smaller depth): load and one step", quantized("int8"),
             lambda r: 15 * o + 3 * r.step_s(quant_flops)),
        Item("nf4", "nf4 transformer (smaller depth): load and one step", quantized("nf4"),
             lambda r: 15 * o + 3 * r.step_s(quant_flops)),
        Item("gguf", "GGUF Q8_0 transformer (smaller depth): load and one step", quantized("gguf"),
             lambda r: 30 * o + 3 * r.step_s(quant_flops)),
    ]
