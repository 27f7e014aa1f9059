"""The GPU suite's items: each checks and times one CUDA path of the app, on its own.

Every item is a function of the rig (suite_rig.py) returning a dict of figures, with an expected
cost in seconds (`cost`), used by the suite to skip what would not fit the budget. An item raises
`Unavailable` when this machine cannot run the path at all (no fp8 tensor cores, a package not
installed, the CPU of a dry run): that is a finding, not a failure. Anything else it raises is a
failure, recorded with its traceback by the suite, which goes on with the next item.

The sampling items call `bench_speed.sample_section` (the runner's sampler, sigmas, dtypes and
step cache); the pipeline baseline, attention sweep, fp8 check and VRAM cap are bench_speed's too.
"""
from __future__ import annotations

import importlib.metadata
import platform
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import torch

from framepack_desktop.engine import speed
from framepack_desktop.engine.sampling import magcache

from .bench_speed import attention_sweep, cap_vram, fp8_runs, pipeline_baseline, sample_section
from .meter import Meter, device_label, sync
from .suite_rig import FULL, Rig

GB = 1e9


class Unavailable(Exception):
    """This machine cannot run the item's path (the reason is the message)."""


@dataclass(frozen=True)
class Item:
    key: str
    title: str
    run: Callable[[Rig], dict]
    cost: Callable[[Rig], float]


def _run_figures(run) -> dict:
    s = run.summary()
    return {k: s[k] for k in ("s_per_it", "best_s_per_it", "effective_s_per_it", "first_step_s", "skipped_steps",
                              "steps", "mfu", "wall_s")}


def _sample(rig: Rig, label: str, steps: int, cache: tuple[str, float] = ("off", 0.0), model=None, place=None,
            models_dir: Path | None = None):
    return sample_section(model or rig.transformer(), place or rig.place, rig.inputs, steps, None, label, rig.flops,
                          rig.peak, step_cache=cache, models_dir=models_dir)


def _package_version(name: str) -> str | None:
    try:
        return importlib.metadata.version(name)
    except importlib.metadata.PackageNotFoundError:
        return None


# ----- the items -----

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
    pynvml.nvmlInit()
    driver = pynvml.nvmlSystemGetDriverVersion()
    return driver.decode() if isinstance(driver, bytes) else driver


def build_transformer(rig: Rig) -> dict:
    start = time.perf_counter()
    model = rig.transformer()
    sync(rig.device)
    params = sum(p.numel() for p in model.parameters())
    return {"build_s": time.perf_counter() - start, "params_b": params / 1e9, "tokens": rig.tokens.joint,
            "tflop_per_call": rig.flops / 1e12, "peak_bf16_tflops": rig.peak / 1e12 if rig.peak else None}


def bf16(rig: Rig) -> dict:
    setup = speed.prepare_transformer(rig.transformer(), rig.device, "auto")
    run = _sample(rig, "bf16, TeaCache off", rig.scale.steps)
    rig.measured_s_per_it = run.s_per_it
    return {"attention": setup.describe(), **_run_figures(run)}


def step_cache(kind: str, threshold: float) -> Callable[[Rig], dict]:
    def run_cache(rig: Rig) -> dict:
        ratios = rig.work / "magcache-models"
        if kind == "magcache" and not magcache.ratios_file(ratios, "original").is_file():
            raise RuntimeError("no MagCache ratios: the calibration item did not run or failed")
        run = _sample(rig, f"{kind} {threshold}", rig.scale.cache_steps, (kind, threshold), models_dir=ratios)
        return {"threshold": threshold, **_run_figures(run)}
    return run_cache


def magcache_calibration(rig: Rig) -> dict:
    """diffusers' calibration mode through the suite's sampling (what `models calibrate-magcache`
    does per section), stored where the MagCache item reads it."""
    start = time.perf_counter()
    with magcache.recording() as record:
        _sample(rig, "MagCache calibration", rig.scale.cache_steps, ("magcache", 0.0))
    ratios = record.table()
    path = magcache.save_ratios(rig.work / "magcache-models", "original", ratios, len(record.sections),
                                rig.scale.cache_steps)
    return {"seconds": time.perf_counter() - start, "ratios": ratios, "stored": str(path)}


def diffusers_pipeline(rig: Rig) -> dict:
    """diffusers' HunyuanVideoFramepackPipeline, default settings, same weights and sizes: the ratio baseline."""
    s = rig.scale
    run = pipeline_baseline(rig.transformer(), rig.vae(), rig.image_encoder(), rig.place, rig.inputs, s.steps,
                            s.window, rig.flops, rig.peak, height=s.height, width=s.width)
    figures = _run_figures(run)
    if rig.measured_s_per_it:
        figures["ours_vs_pipeline"] = rig.measured_s_per_it / run.s_per_it
    return figures


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
        run = _sample(rig, "compiled", rig.scale.steps)
    finally:
        speed.set_compiled(model, rig.device, False)
    figures = _run_figures(run)
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
    figures = {"check": check, **(_run_figures(runs[0]) if runs else {})}
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
    run = _sample(rig, "fp8 storage", rig.scale.steps, model=model)
    del model
    rig.drop_transformer()
    figures = {"weights_gb": weights, **_run_figures(run)}
    if rig.measured_s_per_it:
        figures["vs_bf16"] = run.s_per_it / rig.measured_s_per_it
    return figures


def group_offload(rig: Rig) -> dict:
    """The engine's group offloading (blocks streamed from pinned RAM) under each VRAM cap."""
    from dataclasses import replace

    from framepack_desktop.engine.models.offload import Offload, group_offload as apply_offload

    cuda = rig.device.type == "cuda"
    rig.drop_all()
    model = rig.build_transformer(rig.scale.transformer).to("cpu")
    settings = Offload() if cuda else Offload(use_stream=False, pinned=False)
    apply_offload(model, rig.device, settings, keep_first_block=True)
    place = replace(rig.place, memory="group_offload", offload=settings)
    rows = []
    try:
        for cap in rig.scale.offload_caps_gb:
            if cuda:
                cap_vram(rig.device, cap)
                torch.cuda.reset_peak_memory_stats(rig.device)
            row = {"cap_gb": cap if cuda else None, "offload": settings.describe()}
            try:
                run = _sample(rig, f"group offload, {cap:g} GB", rig.scale.offload_steps, model=model, place=place)
                row.update(_run_figures(run))
                if cuda:
                    row["peak_vram_gb"] = torch.cuda.max_memory_allocated(rig.device) / GB
                    row["peak_reserved_gb"] = torch.cuda.max_memory_reserved(rig.device) / GB
            except torch.OutOfMemoryError as e:
                row["error"] = f"out of memory: {str(e).splitlines()[0]}"
            rows.append(row)
    finally:
        if cuda:
            torch.cuda.set_per_process_memory_fraction(1.0, rig.device)
        del model
        rig.drop_transformer()
    return {"caps": rows}


def jobs_vram(rig: Rig) -> dict:
    """Whole jobs through the runner (demo models, 640 class, one step per section): peak VRAM of
    the long job against the short one's, and the latency from a section's last step to its frames
    in the store."""
    from framepack_desktop.engine import events as ev
    from framepack_desktop.engine.runner import run_job
    from framepack_desktop.engine.job import Job
    from PIL import Image

    image = rig.work / "start.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (rig.scale.height, rig.scale.width, 3),
                                                      dtype=np.uint8)).save(image)
    rows = []
    for seconds in rig.scale.job_seconds:
        job = Job(image=str(image), prompt="a fox walks through snow", output=str(rig.work / f"job{seconds:g}.mp4"),
                  seconds=seconds, steps=1, step_cache="off", resolution=rig.scale.job_resolution, window=rig.scale.window,
                  device=str(rig.device), models="demo")
        if rig.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(rig.device)
        start = time.perf_counter()
        latencies, last = [], None
        for last in run_job(job):      # events are not kept: a 60 s job's carry 2 GB of frames
            if isinstance(last, ev.SectionDecoded) and last.latency_s is not None:
                latencies.append(last.latency_s)
        if not isinstance(last, ev.Finished):
            raise RuntimeError(f"the {seconds:g} s job did not finish: {last}")
        row = {"seconds": seconds, "sections": job.num_sections, "frames": job.num_frames,
               "wall_s": time.perf_counter() - start,
               "median_latency_s": float(np.median(latencies)) if latencies else None}
        if rig.device.type == "cuda":
            row["peak_vram_gb"] = torch.cuda.max_memory_allocated(rig.device) / GB
            row["peak_reserved_gb"] = torch.cuda.max_memory_reserved(rig.device) / GB
        rows.append(row)
    short, long = rows
    change = (long["peak_vram_gb"] / short["peak_vram_gb"] - 1) if "peak_vram_gb" in short else None
    return {"jobs": rows, "vram_change": change}


def vae_decode(rig: Rig) -> dict:
    """One section's decode with the released VAE's size (the newest 2w latents), first and warm,
    and the engine's way from decoded pixels to frames in the store (join_chunk, store write)."""
    import tempfile

    from framepack_desktop.engine.video.blend import join_chunk
    from framepack_desktop.engine.video.framestore import FrameStore

    s, vae = rig.scale, rig.vae()
    speed.tune_convolutions(rig.device)
    latents = torch.randn(1, vae.config.latent_channels, 2 * s.window, s.height // 8, s.width // 8,
                          generator=torch.Generator("cpu").manual_seed(0))
    times, frames = [], None
    for _ in ("first", "warm"):
        sync(rig.device)
        start = time.perf_counter()
        with torch.no_grad():
            pixels = vae.decode(latents.to(rig.device, rig.place.vae_dtype) / vae.config.scaling_factor,
                                return_dict=False)[0]
        raw = pixels[0].float().permute(1, 2, 3, 0)
        sync(rig.device)
        decoded = time.perf_counter()
        previous = np.zeros((4 * s.window - 3, *raw.shape[1:]), np.float32)
        frames = join_chunk(raw, previous, new_is_earlier=True)
        with tempfile.TemporaryDirectory(dir=rig.work) as folder:
            store = FrameStore.create(Path(folder), frames.shape[0], frames.shape[1], frames.shape[2])
            store.write(0, frames)
        times.append({"decode_s": decoded - start, "to_store_s": time.perf_counter() - decoded,
                      "latency_s": time.perf_counter() - start})
    return {"frames": int(frames.shape[0]), "first": times[0], "warm": times[1]}


def vram_meter(rig: Rig) -> dict:
    """The window's VRAM meter (engine/telemetry.py) against torch.cuda and NVML, before and after
    holding 1 GB more."""
    from framepack_desktop.engine.telemetry import TelemetrySampler

    if rig.device.type != "cuda":
        sample = TelemetrySampler(import_torch=True).sample()
        if sample.has_gpu:
            raise RuntimeError("the meter reports a GPU on a run without one")
        raise Unavailable("no GPU: the meter shows RAM only (checked)")
    sampler = TelemetrySampler(rig.device.index or 0, import_torch=True)

    def reading() -> dict:
        torch.cuda.synchronize(rig.device)
        meter = sampler.sample()
        free, total = torch.cuda.mem_get_info(rig.device)
        row = {"meter_source": meter.source, "meter_used_gb": meter.vram_used / GB,
               "meter_app_reserved_gb": meter.app_reserved / GB, "torch_reserved_gb": torch.cuda.memory_reserved(rig.device) / GB,
               "torch_device_used_gb": (total - free) / GB, "nvml_used_gb": None}
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(rig.device.index or 0)
            row["nvml_used_gb"] = pynvml.nvmlDeviceGetMemoryInfo(handle).used / GB
        except ImportError:
            pass
        return row

    before = reading()
    held = torch.empty(int(GB), dtype=torch.uint8, device=rig.device)
    after = reading()
    del held
    return {"before": before, "holding_1gb": after,
            "meter_rise_gb": after["meter_used_gb"] - before["meter_used_gb"]}


# ----- quantized transformers (smaller depth, full width) -----

def _quant_models(rig: Rig) -> Path:
    """A models folder holding a reduced-depth transformer in the diffusers layout (written once)."""
    from framepack_desktop.engine.models.layout import component_dir

    root = rig.work / "quant-models"
    folder = component_dir(root, "transformer")
    if not (folder / "config.json").is_file():
        model = rig.build_transformer(rig.scale.quant_transformer)
        model.save_pretrained(folder, safe_serialization=True)
        del model
    return root


def _quant_inputs(rig: Rig, model) -> dict:
    s, dtype = rig.scale, rig.place.transformer_dtype
    return speed.random_inputs(model.config, rig.device, dtype, s.height // 8, s.width // 8, s.window,
                               text_tokens=s.text_tokens, image_tokens=s.image_tokens)


def quantized(precision: str) -> Callable[[Rig], dict]:
    def run_quantized(rig: Rig) -> dict:
        from framepack_desktop.engine.models import loader
        from framepack_desktop.engine.models.errors import QuantizationUnavailable
        from framepack_desktop.engine.models.quantize import Precision, require_backend

        root = _quant_models(rig)
        if precision == "gguf":
            root = _gguf_models(rig, root)
        else:
            try:
                require_backend(Precision(precision), rig.device)
            except QuantizationUnavailable as e:
                raise Unavailable(str(e)) from e
        dtype = rig.place.transformer_dtype
        reference = loader.load_transformer(rig.work / "quant-models", "original", rig.device, dtype)
        inputs = _quant_inputs(rig, reference)
        with torch.no_grad():
            expected = reference(**inputs, return_dict=False)[0].float()
        del reference
        start = time.perf_counter()
        model = loader.load_transformer(root, "original", rig.device, dtype,
                                        precision=None if precision == "gguf" else precision)
        sync(rig.device)
        load_s = time.perf_counter() - start
        times = []
        with torch.no_grad():
            for _ in range(2):
                sync(rig.device)
                t = time.perf_counter()
                value = model(**inputs, return_dict=False)[0].float()
                sync(rig.device)
                times.append(time.perf_counter() - t)
        error = float((value - expected).norm() / expected.norm())
        return {"blocks": rig.scale.quant_transformer["num_layers"] + rig.scale.quant_transformer["num_single_layers"],
                "load_s": load_s, "first_call_s": times[0], "call_s": times[1], "relative_error_vs_bf16": error}
    return run_quantized


def _gguf_models(rig: Rig, source: Path) -> Path:
    """A models folder with only the transformer's config and a Q8_0 GGUF of the reduced model."""
    import shutil

    import gguf
    from safetensors.torch import load_file

    from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR, component_dir

    root = rig.work / "gguf-models"
    path = root / CHECKPOINTS_DIR / "original" / "suite-Q8_0.gguf"
    if path.is_file():
        return root
    folder = component_dir(root, "transformer")
    folder.mkdir(parents=True, exist_ok=True)
    shutil.copy(component_dir(source, "transformer") / "config.json", folder / "config.json")
    path.parent.mkdir(parents=True, exist_ok=True)
    writer = gguf.GGUFWriter(str(path), arch="framepack")
    for file in sorted(component_dir(source, "transformer").glob("*.safetensors")):
        for name, tensor in load_file(file).items():
            array = tensor.float().numpy()
            if tensor.ndim == 2 and tensor.shape[1] % 32 == 0:
                blocks = gguf.quants.quantize(array, gguf.GGMLQuantizationType.Q8_0)
                writer.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            else:
                writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    return root


# ----- the plan: order, and expected seconds -----

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
        Item("bf16", "bf16, TeaCache off: s/it and MFU", bf16, lambda r: (s.steps + 1) * r.step_s()),
        Item("teacache", "bf16, TeaCache 0.15", step_cache("teacache", 0.15), _steps(s.cache_steps)),
        Item("fbcache", "bf16, First-Block Cache 0.05", step_cache("fbcache", 0.05), _steps(s.cache_steps)),
        Item("magcache_calibration", "MagCache calibration (diffusers' calibration mode)", magcache_calibration,
             _steps(s.cache_steps)),
        Item("magcache", "bf16, MagCache 0.06 with the calibrated ratios", step_cache("magcache", 0.06),
             _steps(s.cache_steps)),
        Item("pipeline", "diffusers' own pipeline, same weights and sizes (ratio baseline)", diffusers_pipeline,
             lambda r: (s.steps + 2) * r.step_s() + 10 * o),
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
