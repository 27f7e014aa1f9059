"""What the GPU suite's items share: the device, the sizes, and models built once and reused.

Building the full-size transformer (13B random weights, directly on the GPU) is the costliest
set-up, so the rig builds it at the first item that needs it and hands the same model to the
next; an item that changes the model in place (fp8 compute) drops it afterwards, and the next
item that needs one gets a fresh build. Random conditioning stands in for the text and image
encoders: the transformer's cost depends on the token counts, not on the values.

A `Scale` holds every size: `FULL` is issue 19's (640 bucket 544x704, window 9, batch 1, the
released configs); `DRY` is the demo set's tiny configs at a small bucket, so `--dry-run` walks
the same code on the CPU in seconds. Expected seconds of each item come from the counted FLOPs
(benchmarks/flops.py) at an assumed MFU, until the bf16 item has measured the real s/it.
"""
from __future__ import annotations

import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import torch

from framepack_desktop.engine.conditioning import PromptEmbeds
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.models import demo
from framepack_desktop.engine.models.loader import resolve_models_dir
from framepack_desktop.engine.models.policy import choose_placement
from framepack_desktop.engine.sampling.variants import variant_of
from framepack_desktop.engine.session import free_memory

from .bench_models import FULL_VAE_CONFIG, RandomModels
from .bench_speed import Inputs, sample_section
from .flops import packed_tokens, transformer_flops
from .meter import bf16_peak_flops

GB = 1e9
H100_BF16_TFLOPS = 989.0
ASSUMED_MFU = 0.40          # for estimates only, until the bf16 item measures the real speed


class Unavailable(Exception):
    """This machine cannot run an item's path (the reason is the message)."""


@dataclass(frozen=True)
class Scale:
    name: str
    transformer: dict
    quant_transformer: dict          # the int8 / nf4 / GGUF items' (smaller depth, full width)
    vae: dict
    height: int
    width: int
    window: int
    text_fed: int
    text_tokens: int
    image_tokens: int
    steps: int                       # per s/it run (the first is warm-up)
    cache_steps: int                 # per step-cache run (enough steps for skips to show)
    offload_steps: int
    offload_caps_gb: tuple[float, ...]
    job_seconds: tuple[float, float]
    calibration: tuple[int, int]     # sections, steps of the calibrate-magcache job
    job_resolution: int
    build_s: float                   # expected seconds to build the transformer
    compile_s: float                 # expected compile time
    overhead: float                  # scales the fixed costs (loads, writes, decodes) estimated at full size
    compile_options: dict = field(default_factory=dict)


FULL = Scale(
    name="full size", transformer=dict(demo.REAL_TRANSFORMER_CONFIG),
    quant_transformer={**demo.REAL_TRANSFORMER_CONFIG, "num_layers": 1, "num_single_layers": 2},
    vae=dict(FULL_VAE_CONFIG), height=544, width=704, window=9, text_fed=512, text_tokens=77, image_tokens=729,
    steps=6, cache_steps=10, offload_steps=3, offload_caps_gb=(6.0, 8.0), job_seconds=(5.0, 60.0), calibration=(3, 25),
    job_resolution=640,
    build_s=20.0, compile_s=90.0, overhead=1.0,
)
# The dry run compiles with dynamo's "eager" backend: graph capture through the same calls, no
# kernel generation (which takes minutes on a CPU).
DRY = Scale(
    name="dry run (demo sizes, CPU)", transformer=dict(demo.TRANSFORMER_CONFIG),
    quant_transformer=dict(demo.TRANSFORMER_CONFIG), vae=dict(demo.VAE_CONFIG), height=64, width=64, window=3,
    text_fed=16, text_tokens=8, image_tokens=9, steps=3, cache_steps=6, offload_steps=2, offload_caps_gb=(6.0, 8.0),
    job_seconds=(0.4, 0.8), calibration=(1, 3), job_resolution=128, build_s=0.5, compile_s=5.0, overhead=0.05,
    compile_options={"backend": "eager"},
)


class Rig:
    """The device, the scale and the shared models and inputs of one suite run."""

    def __init__(self, scale: Scale, device: torch.device, work: Path | None = None, peak_tflops: float | None = None):
        self.scale, self.device = scale, device
        self.work = Path(work or tempfile.mkdtemp(prefix="fpd-gpu-suite-"))
        self.place = choose_placement(Job(image="-", prompt="-", output="-.mp4", device=str(device), models="demo"))
        self.peak = bf16_peak_flops(device, peak_tflops)
        self.measured_s_per_it: float | None = None     # the bf16 item's
        self.pipeline_s_per_it: float | None = None     # diffusers' pipeline's
        self._transformer = None
        self._vae = None
        self._image_encoder = None
        self._session = None
        h, w = scale.height // 8, scale.width // 8
        tokens = packed_tokens(scale.transformer, h, w, window=scale.window, image_tokens=scale.image_tokens,
                               text_fed=scale.text_fed, text=scale.text_tokens)
        self.tokens = tokens
        self.flops = transformer_flops(scale.transformer, tokens)
        self.inputs = random_inputs(scale, h, w)

    # ----- estimates -----
    def step_s(self, flops: float | None = None) -> float:
        """Expected seconds of one transformer call: measured when the bf16 item has run, else
        counted FLOPs over this device's bf16 peak (an H100's when unknown) at ASSUMED_MFU."""
        if self.measured_s_per_it is not None and flops is None:
            return self.measured_s_per_it
        peak = self.peak or H100_BF16_TFLOPS * 1e12
        return (flops or self.flops) / (peak * ASSUMED_MFU)

    def weights_gb(self, config: dict) -> float:
        """bf16 size of a transformer with `config` (counted on the meta device, nothing allocated)."""
        from accelerate import init_empty_weights
        from diffusers import HunyuanVideoFramepackTransformer3DModel

        with init_empty_weights():
            model = HunyuanVideoFramepackTransformer3DModel(**config)
        return 2 * sum(p.numel() for p in model.parameters()) / 1e9

    # ----- shared models -----
    @property
    def sources(self) -> RandomModels:
        full = self.scale is FULL
        return RandomModels(full, self.place, resolve_models_dir("demo"))

    def transformer(self):
        """The bf16 transformer at this scale with random weights, built on the device once."""
        if self._transformer is None:
            self._transformer = self.build_transformer(self.scale.transformer)
        return self._transformer

    def build_transformer(self, config: dict, device: torch.device | None = None):
        from diffusers import HunyuanVideoFramepackTransformer3DModel

        from framepack_desktop.engine import speed
        from framepack_desktop.engine.models.loader import keep_proj_out_float32

        model = speed.build_random(lambda: HunyuanVideoFramepackTransformer3DModel(**config),
                                   device or self.device, self.place.transformer_dtype)
        keep_proj_out_float32(model)
        return model

    def drop_transformer(self) -> None:
        """Forget the shared transformer (an item changed it in place, or memory is needed)."""
        self._transformer = None
        free_memory()

    def session(self):
        """One model session for the whole-job items, as the window keeps one between jobs."""
        if self._session is None:
            from framepack_desktop.engine.session import ModelSession

            self._session = ModelSession(prompt_cache_dir=None)
        return self._session

    def drop_all(self) -> None:
        """Free every shared model (before an item that measures memory under a cap)."""
        self._vae = self._image_encoder = None
        if self._session is not None:
            self._session.release()
        self.drop_transformer()

    def vae(self):
        if self._vae is None:
            from diffusers import AutoencoderKLHunyuanVideo

            from framepack_desktop.engine import speed

            self._vae = speed.build_random(lambda: AutoencoderKLHunyuanVideo(**self.scale.vae), self.device,
                                           self.place.vae_dtype)
        return self._vae

    def image_encoder(self):
        if self._image_encoder is None:
            self._image_encoder = self.sources.image_encoder()
        return self._image_encoder


def random_inputs(scale: Scale, latent_height: int, latent_width: int) -> Inputs:
    """Conditioning of the right shapes with random values, and the original model's first section."""
    gen = torch.Generator("cpu").manual_seed(0)
    cfg = scale.transformer
    c = cfg["in_channels"]
    mask = torch.zeros(1, scale.text_fed)
    mask[:, :scale.text_tokens] = 1
    prompt = PromptEmbeds(torch.randn(1, scale.text_fed, cfg["text_embed_dim"], generator=gen), mask,
                          torch.randn(1, cfg["pooled_projection_dim"], generator=gen))
    image = torch.randn(1, scale.image_tokens, cfg["image_proj_dim"], generator=gen)
    start = torch.randn(1, c, 1, latent_height, latent_width, generator=gen)
    noise = torch.randn(1, c, scale.window, latent_height, latent_width, generator=gen)
    original = variant_of("original")
    history = original.initial_history(start)
    return Inputs(prompt, image, start, noise, original.context(0, 4, scale.window, history, start))


def sample(rig: Rig, label: str, steps: int, cache: tuple[str, float] = ("off", 0.0), model=None, place=None,
           models_dir: Path | None = None):
    """One section sampled as the runner samples it, on the rig's inputs (its transformer by default)."""
    return sample_section(model or rig.transformer(), place or rig.place, rig.inputs, steps, None, label, rig.flops,
                          rig.peak, step_cache=cache, models_dir=models_dir)


def run_figures(run) -> dict:
    s = run.summary()
    return {k: s[k] for k in ("s_per_it", "best_s_per_it", "effective_s_per_it", "first_step_s", "skipped_steps",
                              "steps", "mfu", "wall_s")}
