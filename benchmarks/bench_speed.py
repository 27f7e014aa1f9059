"""Issue 7's speed harness: one command measures a FramePack section on whatever device is present.

    python -m benchmarks.bench_speed                          # demo models on this device
    python -m benchmarks.bench_speed --random-weights --full-size --attention all --compile --fp8
    python -m benchmarks.bench_speed --models /path/to/models --json out.json

Measured, in the order a job does it: model load (or random build) time per part, prompt encode,
image encode (SigLIP + VAE), then one section of the original model at the 640 class's 544x704
bucket (68 x 88 latents, window 9, batch 1, `--steps` UniPC steps, the engine's sampler and
TeaCache, called as the runner calls the transformer) with TeaCache off and on, and the VAE decode
of a section (the newest 2w latents -> 69 frames). Every phase records its time, peak VRAM and
peak RSS. MFU is the counted FLOPs of one transformer call (benchmarks/flops.py) over the median
computed step's time and the device's dense bf16 peak.

The baseline runs first, on the same weights and inputs: diffusers' HunyuanVideoFramepackPipeline
with its default settings (its scheduler, default attention, eager), one section of the same
size and step count, so ours is reported as a ratio of its seconds per step. Then the speed
settings go on (`speed.set_compiled` for the optional regional compile, whose time is the first
step's excess over a steady one; `speed.prepare_transformer` for the attention kernel, as the
runner does), optionally every installed attention backend
is timed (`--attention all`), and with `--fp8` the fp8 path is checked against bf16 on the same
weights and inputs at full size and timed.
"""
from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from dataclasses import asdict, dataclass, replace
from pathlib import Path

import numpy as np
import torch

from framepack_desktop.engine import speed
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.conditioning import PromptEmbeds, encode_image_embeds, encode_latent, encode_prompt
from framepack_desktop.engine.images import to_model_tensor
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.models.loader import resolve_models_dir
from framepack_desktop.engine.models.policy import choose_placement
from framepack_desktop.engine.sampling import context as ctx
from framepack_desktop.engine.sampling.variants import variant_of
from framepack_desktop.engine.sampling.samplers import iter_sample
from framepack_desktop.engine.sampling.schedule import flux_mu, shifted_sigmas
from framepack_desktop.engine.sampling.stepcache import open_step_cache
from framepack_desktop.engine.session import Placement, free_memory

from .bench_models import FolderModels, RandomModels
from .flops import packed_tokens, transformer_flops, vae_decode_flops
from .meter import Meter, bf16_peak_flops, device_label, sync

HEIGHT, WIDTH = 544, 704          # the 640 class's bucket nearest a 4:3 landscape picture
PROMPT = "A woman turns towards the camera and smiles, soft window light, the curtains move in the wind."
GS = 10.0


@dataclass
class SectionRun:
    """One section's sampling: per-step wall times and which steps TeaCache skipped."""

    label: str
    step_s: list[float]
    skipped: list[bool]
    flops_per_call: float
    peak_flops: float | None
    wall_s: float = 0.0

    @property
    def computed(self) -> list[float]:
        """Times of steps that ran the model, without the first (warm-up, compile)."""
        return [t for t, s in zip(self.step_s[1:], self.skipped[1:]) if not s]

    @property
    def s_per_it(self) -> float:
        """Median seconds of a computed step: the model's speed."""
        return statistics.median(self.computed) if self.computed else float("nan")

    @property
    def best_s_per_it(self) -> float:
        """Fastest computed step: on a shared machine, the one least slowed by other processes."""
        return min(self.computed) if self.computed else float("nan")

    @property
    def effective_s_per_it(self) -> float:
        """Section seconds over steps, skipped steps included: what a user waits per step."""
        return sum(self.step_s) / len(self.step_s)

    @property
    def mfu(self) -> float | None:
        return None if not self.peak_flops else self.flops_per_call / self.s_per_it / self.peak_flops

    def summary(self) -> dict:
        return {"label": self.label, "s_per_it": self.s_per_it, "best_s_per_it": self.best_s_per_it,
                "effective_s_per_it": self.effective_s_per_it,
                "first_step_s": self.step_s[0], "skipped_steps": sum(self.skipped), "steps": len(self.step_s),
                "mfu": self.mfu, "wall_s": self.wall_s, "step_s": self.step_s}


@dataclass
class Inputs:
    """What every sampling run shares: conditioning, first-section context, noise."""

    prompt: PromptEmbeds
    image_embeds: torch.Tensor
    start_latent: torch.Tensor
    noise: torch.Tensor
    context: ctx.SectionContext


def sample_section(transformer, place: Placement, inputs: Inputs, steps: int, teacache: float | None,
                   label: str, flops: float, peak: float | None, step_cache: tuple[str, float] | None = None,
                   models_dir: Path | None = None) -> SectionRun:
    """Sample one section exactly as the runner does (same sigmas, sampler, step cache, dtypes, transfers).

    `step_cache` (cache, threshold) picks another cache than TeaCache at `teacache` (None: off);
    MagCache reads its ratios from `models_dir` (sampling/magcache.py)."""
    device, dtype = place.device, place.transformer_dtype
    history = inputs.context.as_kwargs(dtype, device)
    seq_len = inputs.noise.shape[2] * inputs.noise.shape[3] * inputs.noise.shape[4] / transformer.config.patch_size ** 2
    sigmas = shifted_sigmas(steps, flux_mu(seq_len))
    guidance = torch.tensor([GS * 1000.0], device=device).to(dtype)
    cond = inputs.prompt.to(device, dtype)
    image = inputs.image_embeds.to(device=device, dtype=dtype)
    run = SectionRun(label, [], [], flops, peak)
    start = time.perf_counter()
    kind, threshold = step_cache or (("teacache", teacache) if teacache is not None else ("off", 0.0))
    with torch.no_grad(), open_step_cache(transformer, kind, threshold, steps, 1, "original", models_dir) as cache:
        def velocity(x: torch.Tensor, sigma: float, i: int) -> torch.Tensor:
            sync(device)
            t = time.perf_counter()
            timestep = torch.tensor([sigma * 1000.0], device=device).to(dtype)
            with cache.call(0):
                v = transformer(hidden_states=x.to(device=device, dtype=dtype), timestep=timestep, guidance=guidance,
                                image_embeds=image, return_dict=False, **cond, **history)[0].float().cpu()
            run.step_s.append(time.perf_counter() - t)
            run.skipped.append(cache.last_skipped)
            return v

        for _ in iter_sample(velocity, inputs.noise, sigmas, "unipc"):
            pass
    run.wall_s = time.perf_counter() - start
    return run


def pipeline_baseline(transformer, vae, image_encoder, place: Placement, inputs: Inputs, steps: int, window: int,
                      flops: float, peak: float | None, height: int = HEIGHT, width: int = WIDTH) -> SectionRun:
    """diffusers' own pipeline, default settings, one section of the same size and steps; per-step times
    come from its step-end callback (the first interval includes its set-up, as our first step does)."""
    from diffusers import FlowMatchEulerDiscreteScheduler, HunyuanVideoFramepackPipeline
    from PIL import Image

    pipe = HunyuanVideoFramepackPipeline(
        text_encoder=None, tokenizer=None, text_encoder_2=None, tokenizer_2=None,
        transformer=transformer, vae=vae, image_encoder=image_encoder.model, feature_extractor=image_encoder.processor,
        scheduler=FlowMatchEulerDiscreteScheduler(use_dynamic_shifting=True, time_shift_type="exponential"),
    )
    pipe.set_progress_bar_config(disable=True)
    device = place.device
    marks: list[float] = []

    def on_step(pipeline, i, t, kwargs):
        sync(device)
        marks.append(time.perf_counter())
        return kwargs

    picture = Image.fromarray(np.random.default_rng(0).integers(0, 255, (height, width, 3), dtype=np.uint8))
    cond = inputs.prompt.to(device, place.transformer_dtype)
    sync(device)
    start = time.perf_counter()
    with torch.no_grad():
        pipe(image=picture, prompt_embeds=cond["encoder_hidden_states"], pooled_prompt_embeds=cond["pooled_projections"],
             prompt_attention_mask=cond["encoder_attention_mask"],
             height=height, width=width, num_frames=4 * (window - 1) + 1, latent_window_size=window,
             num_inference_steps=steps, generator=torch.Generator("cpu").manual_seed(0), output_type="latent",
             callback_on_step_end=on_step)
    steps_s = list(np.diff([start, *marks]))
    run = SectionRun("diffusers pipeline (default settings)", steps_s, [False] * len(steps_s), flops, peak)
    run.wall_s = marks[-1] - start
    return run


def decode_timings(vae, place: Placement, window: int, peak: float | None, meter: Meter) -> list[dict]:
    """A section's decode (2w latents -> 4(2w-1)+1 frames): the engine's choice, and on a GPU the
    other tiling, cuDNN's autotuner off/on and channels-last 3D weights. Each variant decodes
    twice; the second (warm) time is what a section after the first waits for. Issue 7's target:
    a section's frames on the timeline within 1 s of its sampling finishing at the 640 bucket."""
    h, w = HEIGHT // 8, WIDTH // 8
    variants = [(place.vae_tiling, place.vae_framewise, False, False)]
    if place.device.type == "cuda":
        variants = [(t, place.vae_framewise, bench, False) for t in (place.vae_tiling, not place.vae_tiling)
                    for bench in (False, True)] + [(place.vae_tiling, place.vae_framewise, True, True)]
    rows = []
    for tiled, framewise, autotune, channels_last in variants:
        torch.backends.cudnn.benchmark = autotune
        if channels_last:
            vae.to(memory_format=torch.channels_last_3d)
        name = (f"{'tiled' if tiled else 'untiled'}, {'by frames' if framewise else 'one pass'}"
                + (", cuDNN autotune" if autotune else "") + (", channels-last" if channels_last else ""))
        flops = vae_decode_flops(vae.config, 2 * window, h, w, framewise, tiled)
        times = []
        for attempt in ("first", "warm"):
            with meter.phase(f"VAE decode ({name}), {attempt}"):
                frames = decode_section(vae, place, window, tiled, framewise)
            times.append(meter.phases[-1].seconds)
        rows.append({"variant": name, "frames": frames, "first_s": times[0], "warm_s": times[1],
                     "tflop": flops / 1e12, "mfu": flops / times[1] / peak if peak else None,
                     "peak_vram_gb": meter.phases[-1].peak_vram_gb})
    if any(r["variant"].endswith("channels-last") for r in rows):
        vae.to(memory_format=torch.contiguous_format)
    speed.tune_convolutions(place.device)
    return rows


def decode_section(vae, place: Placement, window: int, tiled: bool, framewise: bool) -> int:
    """Decode one section's newest 2w latents (random values: the cost does not depend on them)."""
    from framepack_desktop.engine.models.offload import set_vae_decoding

    gen = torch.Generator("cpu").manual_seed(0)
    latents = torch.randn(1, vae.config.latent_channels, 2 * window, HEIGHT // 8, WIDTH // 8, generator=gen)
    set_vae_decoding(vae, tiled, framewise)
    with torch.no_grad():
        frames = vae.decode(latents.to(place.device, place.vae_dtype) / vae.config.scaling_factor, return_dict=False)[0]
    return frames.shape[2]


def measure(args: argparse.Namespace) -> dict:
    device = torch.device(args.device if args.device != "auto" else ("cuda" if torch.cuda.is_available() else "cpu"))
    if args.full_size and device.type != "cuda":
        raise SystemExit("--full-size builds a 13B transformer and needs a GPU (about 50 GB for all parts); "
                         "on the CPU use --random-weights alone or --models demo.")
    if args.vram_cap_gb:
        cap_vram(device, args.vram_cap_gb)
    place = choose_placement(Job(
        image="-", prompt="-", output="-.mp4", device=str(device), models="demo" if args.random_weights else args.models,
        precision=args.precision, memory=args.memory, keep_free_gb=args.keep_free_gb,
    ))
    source = (RandomModels(args.full_size, place, resolve_models_dir("demo")) if args.random_weights
              else FolderModels(resolve_models_dir(args.models), "original", place))
    # Import the model classes up front, so the first load phase does not include Python imports.
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoFramepackTransformer3DModel  # noqa: F401
    from transformers import CLIPTextModel, LlamaModel, SiglipVisionModel  # noqa: F401

    meter = Meter(device)
    peak = bf16_peak_flops(device, args.peak_tflops)
    result: dict = {"date": time.strftime("%Y-%m-%d %H:%M"), "device": device_label(device), "models": source.label,
                    "vram_cap_gb": args.vram_cap_gb,
                    "torch": torch.__version__, "bucket": [HEIGHT, WIDTH], "window": args.window, "steps": args.steps,
                    "peak_bf16_tflops": peak / 1e12 if peak else None}

    with meter.phase("load text encoders"):
        text = source.text_encoders()
    with meter.phase("text encode"):
        prompt = encode_prompt(text.llama, text.llama_tokenizer, text.clip, text.clip_tokenizer, PROMPT)
    text = None
    free_memory()
    with meter.phase("load image encoder"):
        image_encoder = source.image_encoder()
    with meter.phase("load VAE"):
        vae = source.vae()
    picture = np.random.default_rng(0).integers(0, 255, (HEIGHT, WIDTH, 3), dtype=np.uint8)
    with meter.phase("image encode (SigLIP + VAE)"):
        pixels = to_model_tensor(picture)
        image_embeds = encode_image_embeds(image_encoder.model, image_encoder.processor, pixels)
        start_latent = encode_latent(vae, pixels)
    with meter.phase("load transformer"):
        transformer = source.transformer()

    config = dict(transformer.config)
    h, w = start_latent.shape[-2:]
    tokens = packed_tokens(config, h, w, window=args.window, image_tokens=image_embeds.shape[1],
                           text_fed=prompt.llama.shape[1], text=int(prompt.mask.sum()))
    flops = transformer_flops(config, tokens)
    result["tokens"] = {**asdict(tokens), "latent": tokens.latent, "joint": tokens.joint}
    result["flops_per_call"] = flops
    noise = torch.randn(1, start_latent.shape[1], args.window, h, w, generator=torch.Generator("cpu").manual_seed(31337))
    history = variant_of("original").initial_history(start_latent)
    inputs = Inputs(prompt, image_embeds, start_latent, noise,
                    variant_of("original").context(0, 4, args.window, history, start_latent))
    runs: list[SectionRun] = []

    if not args.no_baseline:
        with meter.phase("baseline: diffusers pipeline"):
            runs.append(pipeline_baseline(transformer, vae, image_encoder, place, inputs, args.steps, args.window, flops, peak))
    image_encoder = None
    free_memory()

    if args.attention == "all":
        result["attention_sweep"] = attention_sweep(transformer, place, inputs, args, flops, peak, meter)
    with meter.phase("speed settings"):
        speed.set_compiled(transformer, device, args.compile)
        setup = speed.prepare_transformer(transformer, device, "auto" if args.attention == "all" else args.attention)
    result["speed_setup"] = setup.describe()
    with meter.phase("sampling, TeaCache off"):
        runs.append(sample_section(transformer, place, inputs, args.steps, None, f"ours ({setup.describe()})", flops, peak))
    if args.compile:
        off = runs[-1]
        result["compile_s"] = off.step_s[0] - off.s_per_it
    with meter.phase(f"sampling, TeaCache {args.teacache}"):
        runs.append(sample_section(transformer, place, inputs, args.steps, args.teacache,
                                   f"ours, TeaCache {args.teacache}", flops, peak))
    if args.fp8:
        result["fp8"] = fp8_runs(transformer, place, inputs, args, flops, peak, meter, runs)

    if args.offload_sweep:
        transformer = None
        free_memory()
        result["offload_sweep"] = offload_sweep(source, place, inputs, args, flops, peak, meter)

    if not args.no_decode:
        transformer = None
        free_memory()
        result["decode"] = decode_timings(vae, place, args.window, peak, meter)

    result["runs"] = [r.summary() for r in runs]
    baseline = next((r for r in runs if r.label.startswith("diffusers")), None)
    if baseline:
        for r in result["runs"]:
            r["vs_baseline"] = r["s_per_it"] / baseline.s_per_it
            r["effective_vs_baseline"] = r["effective_s_per_it"] / baseline.effective_s_per_it
    result["phases"] = [asdict(p) for p in meter.phases]
    result.update(meter.close())
    return result


def cap_vram(device: torch.device, gigabytes: float) -> None:
    """Make this process see a smaller GPU (a 6 GB or 8 GB budget on a big card): torch's allocator
    refuses to hold more, and the memory policy, probing free memory, plans for that budget."""
    if device.type != "cuda":
        raise SystemExit("--vram-cap-gb needs a GPU")
    total = torch.cuda.get_device_properties(device).total_memory
    torch.cuda.set_per_process_memory_fraction(min(1.0, gigabytes * 1e9 / total), device)


OFFLOAD_SWEEP = ((1, False), (1, True), (2, False), (2, True), (4, False))


def offload_sweep(source, place, inputs, args, flops, peak, meter) -> list[dict]:
    """s/it and peak VRAM of group offloading per (blocks per group, record_stream), through the
    engine's session (weights pinned or not as the policy chose), `--sweep-steps` steps each."""
    if not isinstance(source, FolderModels) or place.device.type != "cuda":
        raise SystemExit("--offload-sweep needs a GPU and a models folder (--models; see benchmarks.random_models_dir)")
    rows = []
    for blocks, record in OFFLOAD_SWEEP:
        offload = replace(place.offload, use_stream=True, blocks_per_group=blocks, record_stream=record)
        trial = replace(place, memory="group_offload", offload=offload)
        torch.cuda.reset_peak_memory_stats(place.device)
        row = {"offload": offload.describe(), "blocks_per_group": blocks, "record_stream": record}
        try:
            with meter.phase(f"group offload: {offload.describe()}"):
                model = source.session.transformer(source.models_dir, source.variant, trial)
                speed.choose_attention(model, place.device, args.attention if args.attention != "all" else "auto")
                run = sample_section(model, trial, inputs, args.sweep_steps, None, offload.describe(), flops, peak)
            row.update(s_per_it=run.s_per_it, peak_vram_gb=torch.cuda.max_memory_allocated(place.device) / 1e9)
        except torch.OutOfMemoryError as e:
            row.update(s_per_it=None, error=f"out of memory: {str(e).splitlines()[0]}")
        model = None
        source.session.release()
        rows.append(row)
    return rows


def attention_sweep(transformer, place, inputs, args, flops, peak, meter) -> list[dict]:
    """s/it of every attention backend that works here (TeaCache off, `--sweep-steps` steps)."""
    rows = []
    for name in speed.attention_names():
        try:
            speed.choose_attention(transformer, place.device, name)
        except BadSettings as e:
            rows.append({"backend": name, "usable": False, "why": str(e)})
            continue
        with meter.phase(f"attention {name}"):
            run = sample_section(transformer, place, inputs, args.sweep_steps, None, name, flops, peak)
        rows.append({"backend": name, "usable": True, "s_per_it": run.s_per_it, "mfu": run.mfu})
    speed.choose_attention(transformer, place.device, "auto")
    return rows


def fp8_runs(transformer, place, inputs, args, flops, peak, meter, runs) -> dict:
    """The fp8 check at full size on the benchmark's own inputs, then its speed (the model stays fp8)."""
    problem = speed.fp8_hardware(place.device)
    if problem:
        return {"offered": False, "why": problem}
    kwargs = {"hidden_states": inputs.noise.to(place.device, place.transformer_dtype),
              "timestep": torch.tensor([900.0], device=place.device).to(place.transformer_dtype),
              "guidance": torch.tensor([GS * 1000.0], device=place.device).to(place.transformer_dtype),
              "image_embeds": inputs.image_embeds.to(place.device, place.transformer_dtype),
              **inputs.prompt.to(place.device, place.transformer_dtype),
              **inputs.context.as_kwargs(place.transformer_dtype, place.device)}
    with meter.phase("fp8 check (converts the model)"):
        check = speed.fp8_check(transformer, kwargs, speed.fp8_rowwise_works(place.device))
    with meter.phase("sampling fp8, TeaCache off"):
        runs.append(sample_section(transformer, place, inputs, args.steps, None, "ours, fp8 compute", flops, peak))
    return {"offered": check.passed, **asdict(check)}


def table(result: dict) -> str:
    def gb(x):
        return "-" if x is None else f"{x:.2f}"

    lines = [f"{result['date']}  {result['device']}  torch {result['torch']}  models: {result['models']}",
             f"bucket {result['bucket'][0]}x{result['bucket'][1]}, window {result['window']}, {result['steps']} steps, "
             f"{result['tokens']['joint']} tokens ({result['tokens']['latent']} latent), "
             f"{result['flops_per_call'] / 1e12:.3f} TFLOP per model call",
             "", f"{'phase':44} {'seconds':>9} {'peak RSS GB':>12} {'peak VRAM GB':>13}"]
    for p in result["phases"]:
        lines.append(f"{p['name']:44} {p['seconds']:9.2f} {p['peak_rss_gb']:12.2f} {gb(p['peak_vram_gb']):>13}")
    lines += ["", f"{'sampling':50} {'s/it':>7} {'best':>7} {'eff s/it':>9} {'skipped':>8} {'MFU':>7} {'vs diffusers':>13}"]
    for r in result["runs"]:
        mfu = "-" if r["mfu"] is None else f"{r['mfu'] * 100:.1f}%"
        ratio = f"{r['vs_baseline']:.2f}x" if "vs_baseline" in r else "-"
        lines.append(f"{r['label'][:50]:50} {r['s_per_it']:7.3f} {r['best_s_per_it']:7.3f} {r['effective_s_per_it']:9.3f} "
                     f"{r['skipped_steps']:>8} {mfu:>7} {ratio:>13}")
    if "compile_s" in result:
        lines.append(f"compile time (first step minus a steady step): {result['compile_s']:.1f} s")
    for row in result.get("attention_sweep", []):
        lines.append(f"attention {row['backend']:28} " + (f"{row['s_per_it']:.3f} s/it" if row["usable"] else "not usable"))
    if "fp8" in result:
        lines.append(f"fp8: {result['fp8']}")
    for row in result.get("offload_sweep", []):
        lines.append(f"group offload {row['offload']:58} " + (
            f"{row['s_per_it']:.3f} s/it, peak VRAM {row['peak_vram_gb']:.2f} GB" if row["s_per_it"] else row["error"]))
    for row in result.get("decode", []):
        mfu = "" if row["mfu"] is None else f", MFU {row['mfu'] * 100:.0f}%"
        lines.append(f"VAE decode of a section ({row['frames']} frames, {row['variant']}): first {row['first_s']:.2f} s, "
                     f"warm {row['warm_s']:.2f} s ({row['tflop']:.3g} TFLOP{mfu})")
    lines.append(f"process peaks: RSS {result['max_rss_gb']:.2f} GB, VRAM {gb(result['max_vram_gb'])} GB allocated, "
                 f"{gb(result['max_vram_reserved_gb'])} GB reserved")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--models", default="demo", help="'demo' or a models folder (ignored with --random-weights)")
    p.add_argument("--random-weights", action="store_true", help="build every part with random weights on the device")
    p.add_argument("--full-size", action="store_true", help="with --random-weights: the real sizes (13B transformer)")
    p.add_argument("--device", default="auto")
    p.add_argument("--steps", type=int, default=25)
    p.add_argument("--window", type=int, default=9)
    p.add_argument("--teacache", type=float, default=0.15)
    p.add_argument("--attention", default="auto", help="auto, a backend name, or 'all' to time every usable one")
    p.add_argument("--sweep-steps", type=int, default=6, help="steps per backend with --attention all")
    p.add_argument("--compile", action="store_true", help="regional torch.compile of the transformer blocks")
    p.add_argument("--fp8", action="store_true", help="check and time fp8 compute (Ada/Hopper/Blackwell)")
    p.add_argument("--offload-sweep", action="store_true",
                   help="time group offloading per blocks-per-group and record_stream (GPU, --models folder)")
    p.add_argument("--no-baseline", action="store_true", help="skip diffusers' pipeline")
    p.add_argument("--no-decode", action="store_true", help="skip the VAE decode")
    p.add_argument("--precision", default="auto", help="the job's precision (models folder only): auto, bf16, fp8, ...")
    p.add_argument("--memory", default="auto", help="the job's memory mode: auto, gpu, model_offload, group_offload")
    p.add_argument("--keep-free-gb", type=float, default=6.0, help="the job's 'GPU memory to keep free'")
    p.add_argument("--vram-cap-gb", type=float, help="limit this process to a GPU budget (6, 8 ...), as a small card")
    p.add_argument("--peak-tflops", type=float, help="the device's dense bf16 peak, when the table does not know it")
    p.add_argument("--json", help="write the results here")
    args = p.parse_args(argv)
    if args.full_size:
        args.random_weights = True
    result = measure(args)
    print(table(result))
    if args.json:
        Path(args.json).write_text(json.dumps(result, indent=1, default=str) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
