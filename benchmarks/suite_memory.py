"""The GPU suite's memory items: group offloading under VRAM caps, whole jobs of two lengths,
a section's decode to frames in the store, and the VRAM meter against torch and NVML."""
from __future__ import annotations

import time
from pathlib import Path

import numpy as np
import torch

from framepack_desktop.engine import speed

from .bench_speed import cap_vram
from .meter import sync
from .suite_rig import GB, Rig, Unavailable, run_figures, sample


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
                run = sample(rig, f"group offload, {cap:g} GB", rig.scale.offload_steps, model=model, place=place)
                row.update(run_figures(run))
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
    """Whole jobs through the runner (demo models, 640 class, one step per section, one session):
    peak VRAM of the long job against the short one's, and the latency from a section's last step
    to its frames in the store. The demo weights keep it short; the latents, the decoded frames and
    the history (what could grow with length) have the full job's sizes."""
    from framepack_desktop.engine import events as ev
    from PIL import Image

    from framepack_desktop.engine.job import Job
    from framepack_desktop.engine.runner import run_job

    image = rig.work / "start.png"
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (rig.scale.height, rig.scale.width, 3),
                                                      dtype=np.uint8)).save(image)
    rows = []
    session = rig.session()         # as in the window: models stay loaded from one job to the next
    for seconds in rig.scale.job_seconds:
        job = Job(image=str(image), prompt="a fox walks through snow", output=str(rig.work / f"job{seconds:g}.mp4"),
                  seconds=seconds, steps=1, step_cache="off", resolution=rig.scale.job_resolution,
                  window=rig.scale.window,
                  device=str(rig.device), models="demo")
        if rig.device.type == "cuda":
            torch.cuda.reset_peak_memory_stats(rig.device)
        start = time.perf_counter()
        latencies, last = [], None
        for last in run_job(job, session=session):   # not kept: a 60 s job's events carry 2 GB of frames
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

    from framepack_desktop.engine.models.offload import set_vae_decoding

    s, vae = rig.scale, rig.vae()
    set_vae_decoding(vae, rig.place.vae_tiling, rig.place.vae_framewise)
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
               "meter_app_reserved_gb": meter.app_reserved / GB,
               "torch_reserved_gb": torch.cuda.memory_reserved(rig.device) / GB,
               "torch_device_used_gb": (total - free) / GB, "nvml_used_gb": None}
        try:
            import pynvml

            pynvml.nvmlInit()
            handle = pynvml.nvmlDeviceGetHandleByIndex(rig.device.index or 0)
            row["nvml_used_gb"] = pynvml.nvmlDeviceGetMemoryInfo(handle).used / GB
        except ImportError:
            pass
        return row

    torch.cuda.empty_cache()        # so the 1 GB below cannot come from memory torch already holds
    before = reading()
    held = torch.empty(int(GB), dtype=torch.uint8, device=rig.device)
    after = reading()
    del held
    return {"before": before, "holding_1gb": after,
            "meter_rise_gb": after["meter_used_gb"] - before["meter_used_gb"]}
