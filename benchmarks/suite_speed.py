"""The GPU suite's sampling items: versions, the build, bf16 and its step caches, diffusers'
pipeline, attention kernels, compile, fp8 compute and fp8 storage.

Each samples through `bench_speed.sample_section` (the runner's sampler, sigmas, dtypes and step
cache) on the rig's shared transformer, or says why this machine cannot (`Unavailable`).
"""
from __future__ import annotations

import importlib.metadata
import platform
import time
from collections.abc import Callable
from types import SimpleNamespace

import torch

from framepack_desktop.engine import speed
from framepack_desktop.engine.sampling import magcache

from .bench_speed import attention_sweep, fp8_runs, pipeline_baseline
from .meter import Meter, device_label, sync
from .suite_rig import GB, Rig, Unavailable, run_figures, sample


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


def environment(rig: Rig) -> dict:
    import diffusers
    import transformers

    info = {"device": device_label(rig.device), "python": platform.python_version(), "torch": torch.__version__,
            "cuda": torch.version.cuda, "cudnn": torch.backends.cudnn.version() if torch.cuda.is_available() else None,
            "diffusers": diffusers.__version__, "transformers": transformers.__version__, "scale": rig.scale.name,
            "driver": None, "capability": None, "vram_total_gb": None,
            "packages": {name: _package_version(name) for name in
                         ("accelerate", "bitsandbytes", "torchao", "gguf", "sageattention", "flash-attn", "xformers",
                          "nvidia-ml-py", "triton")}}
    if rig.device.type == "cuda":
        props = torch.cuda.get_device_properties(rig.device)
        info.update(capability=f"{props.major}.{props.minor}", vram_total_gb=props.total_memory / GB,
                    driver=_nvml_driver())
    return info


def _nvml_driver() -> str | None:
    try:
        import pynvml
    except ImportError:
        return None
    try:
        pynvml.nvmlInit()
        driver = pynvml.nvmlSystemGetDriverVersion()
    except pynvml.NVMLError as e:
        return f"unknown (NVML: {e})"
    return driver.decode() if isinstance(driver, bytes) else driver


def build_transformer(rig: Rig) -> dict:
    start = time.perf_counter()
    model = rig.transformer()
    sync(rig.device)
    params = sum(p.numel() for p in model.parameters())
    return {"build_s": time.perf_counter() - start, "params_b": params / 1e9, "tokens": rig.tokens.joint,
            "tflop_per_call": rig.flops / 1e12, "peak_bf16_tflops": rig.peak / 1e12 if rig.peak else None}


def bf16(rig: Rig) -> dict:
    """Our sampling with the engine's speed settings (the attention kernel it picks), TeaCache off;
    as a ratio of diffusers' pipeline when that item ran first on the same weights."""
    setup = speed.prepare_transformer(rig.transformer(), rig.device, "auto")
    run = sample(rig, "bf16, TeaCache off", rig.scale.steps)
    rig.measured_s_per_it = run.s_per_it
    figures = {"attention": setup.describe(), **run_figures(run)}
    if rig.pipeline_s_per_it:
        figures["vs_pipeline"] = run.s_per_it / rig.pipeline_s_per_it
    return figures


def step_cache(kind: str, threshold: float) -> Callable[[Rig], dict]:
    def run_cache(rig: Rig) -> dict:
        ratios = rig.work / "magcache-models"
        if kind == "magcache" and not magcache.ratios_file(ratios, "original").is_file():
            raise RuntimeError("no MagCache ratios: the calibration item did not run or failed")
        run = sample(rig, f"{kind} {threshold}", rig.scale.cache_steps, (kind, threshold), models_dir=ratios)
        return {"threshold": threshold, **run_figures(run)}
    return run_cache


def magcache_calibration(rig: Rig) -> dict:
    """diffusers' calibration mode through the suite's sampling (what `models calibrate-magcache`
    does per section), stored where the MagCache item reads it."""
    start = time.perf_counter()
    with magcache.recording() as record:
        sample(rig, "MagCache calibration", rig.scale.cache_steps, ("magcache", 0.0))
    ratios = record.table()
    path = magcache.save_ratios(rig.work / "magcache-models", "original", ratios, len(record.sections),
                                rig.scale.cache_steps)
    return {"seconds": time.perf_counter() - start, "ratios": ratios, "stored": str(path)}


def magcache_command(rig: Rig) -> dict:
    """`framepack-desktop models calibrate-magcache`'s own path (engine/calibrate.py: a whole job
    through the runner) on this device, with demo weights at the job items' resolution, into a
    copy of the demo set."""
    import shutil

    from framepack_desktop.engine.calibrate import calibrate_magcache
    from framepack_desktop.engine.models.loader import resolve_models_dir

    models = rig.work / "demo-models"
    if not models.exists():
        shutil.copytree(resolve_models_dir("demo"), models)
    start = time.perf_counter()
    sections, steps = rig.scale.calibration
    result = calibrate_magcache(str(models), "original", sections=sections, steps=steps,
                                resolution=rig.scale.job_resolution, device=str(rig.device), session=rig.session())
    return {"seconds": time.perf_counter() - start, "ratios": result.ratios, "sections": result.sections,
            "stored": str(result.path)}


def diffusers_pipeline(rig: Rig) -> dict:
    """diffusers' HunyuanVideoFramepackPipeline, default settings (it runs before the engine picks an
    attention kernel), same weights and sizes: the ratio baseline of the bf16 item."""
    s = rig.scale
    run = pipeline_baseline(rig.transformer(), rig.vae(), rig.image_encoder(), rig.place, rig.inputs, s.steps,
                            s.window, rig.flops, rig.peak, height=s.height, width=s.width)
    rig.pipeline_s_per_it = run.s_per_it
    return run_figures(run)


def attention_backends(rig: Rig) -> dict:
    args = SimpleNamespace(sweep_steps=rig.scale.steps, attention="auto")
    meter = Meter(rig.device)
    try:
        rows = attention_sweep(rig.transformer(), rig.place, rig.inputs, args, rig.flops, rig.peak, meter)
    finally:
        meter.close()
    return {"backends": rows}


def compiled(rig: Rig) -> dict:
    problem = speed.compile_unavailable(rig.device)
    if problem:
        raise Unavailable(problem)
    model = rig.transformer()
    speed.compile_blocks(model, rig.device, **rig.scale.compile_options)
    try:
        run = sample(rig, "compiled", rig.scale.steps)
    finally:
        speed.set_compiled(model, rig.device, False)
    figures = run_figures(run)
    figures["compile_s"] = run.step_s[0] - run.s_per_it
    if rig.measured_s_per_it:
        figures["vs_eager"] = run.s_per_it / rig.measured_s_per_it
    return figures


def fp8_compute(rig: Rig) -> dict:
    """fp8 matmuls: the quality check against bf16 on the same inputs, then s/it. The model is
    converted in place, so the rig builds a fresh one for the items after this."""
    problem = speed.fp8_hardware(rig.device)
    if problem:
        raise Unavailable(problem)
    runs: list = []
    args = SimpleNamespace(steps=rig.scale.steps)
    meter = Meter(rig.device)
    try:
        check = fp8_runs(rig.transformer(), rig.place, rig.inputs, args, rig.flops, rig.peak, meter, runs)
    finally:
        meter.close()
        rig.drop_transformer()
    figures = {"check": check, **(run_figures(runs[0]) if runs else {})}
    if runs and rig.measured_s_per_it:
        figures["vs_bf16"] = runs[0].s_per_it / rig.measured_s_per_it
    return figures


def fp8_storage(rig: Rig) -> dict:
    """Weights stored in fp8 e4m3, each layer cast to bf16 for its forward (the engine's fp8 precision)."""
    from framepack_desktop.engine.models.quantize import fp8_skeleton

    rig.drop_transformer()
    model = rig.build_transformer(rig.scale.transformer)
    fp8_skeleton(model, rig.place.transformer_dtype)
    weights = sum(p.numel() * p.element_size() for p in model.parameters()) / GB
    run = sample(rig, "fp8 storage", rig.scale.steps, model=model)
    del model
    rig.drop_transformer()
    figures = {"weights_gb": weights, **run_figures(run)}
    if rig.measured_s_per_it:
        figures["vs_bf16"] = run.s_per_it / rig.measured_s_per_it
    return figures
