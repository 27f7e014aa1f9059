"""Sampling one section's window: the denoising loop around the transformer, as a generator.

The runner builds a `SectionInputs` per section (from the plan, the variant's packed context and
the conditioning) and hands it to the job's one `SectionSampler`, which knows the model, where it
runs and the job's sampling settings. Each step yields a StepProgress (with a fast latent preview
and the remaining-time estimate); the generator returns the section's latents.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import torch

from . import events as ev
from .conditioning import PromptEmbeds
from .job import Job
from .models.loader import resolve_models_dir
from .models.placement import Placement
from .plan import SectionPlan
from .sampling.context import SectionContext
from .sampling.samplers import iter_sample
from .sampling.schedule import flux_mu, shifted_sigmas
from .sampling.stepcache import open_step_cache
from .video.preview import latent_preview


def section_noise(seed: int, order: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Draw number `order` of a CPU generator seeded with `seed` (docs/ARCHITECTURE.md, Noise)."""
    gen = torch.Generator("cpu").manual_seed(seed)
    for _ in range(order):
        torch.randn(shape, generator=gen, dtype=torch.float32)
    return torch.randn(shape, generator=gen, dtype=torch.float32)


def guided_velocity(v: torch.Tensor, v_neg: torch.Tensor, scale: float, rescale: float) -> torch.Tensor:
    """Real classifier-free guidance, with the original's std rescale, in the original's order of
    operations (the same bits for the same inputs)."""
    guided = v_neg + scale * (v - v_neg)
    if rescale <= 0:
        return guided
    dims = list(range(1, v.ndim))
    rescaled = guided * (v.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True))
    return rescale * rescaled + (1.0 - rescale) * guided


@dataclass
class StepTimer:
    """Seconds per computed step (smoothed) and per decode, for the remaining-time estimate.

    A job's first model call is no sample of its speed: it carries CUDA's lazy start, cuDNN's
    autotuning and, with compile on, the compilation itself (a minute or more). It stands in only
    until the second step, which replaces it instead of being averaged with it.
    """
    step_s: float | None = None
    decode_s: float = 0.0
    steps: int = 0

    def step(self, seconds: float) -> None:
        self.steps += 1
        self.step_s = seconds if self.steps <= 2 else 0.8 * self.step_s + 0.2 * seconds

    def remaining(self, steps_left: int, decodes_left: int) -> float | None:
        return None if self.step_s is None else steps_left * self.step_s + decodes_left * self.decode_s


@dataclass(frozen=True)
class SectionInputs:
    """What one section's sampling needs besides the model."""
    section: SectionPlan            # time index, sampling order, prompt, seed
    context: SectionContext         # the packed history (the variant's layout)
    noise: torch.Tensor             # the initial noise (the section's draw of its seed)
    positive: PromptEmbeds
    negative: PromptEmbeds | None   # only with real CFG
    image_embeds: torch.Tensor
    steps_left: int                 # steps still to compute in the job, this section's included
    sections_left: int              # sections still to decode, this one included


class SectionSampler:
    """The job's transformer and sampling settings; `sample` runs one section."""

    def __init__(self, job: Job, transformer, place: Placement, eta: StepTimer, check: Callable[[], None],
                 started: float):
        self.job, self.transformer, self.place = job, transformer, place
        self.eta, self.check, self.started = eta, check, started

    def sample(self, inputs: SectionInputs) -> Iterator[ev.StepProgress]:
        """Sample one section's window; yields StepProgress per step, returns (latents, skipped steps)."""
        job, transformer, section = self.job, self.transformer, inputs.section
        device, dtype = self.place.device, self.place.transformer_dtype
        history_kwargs = inputs.context.as_kwargs(dtype, device)
        noise = inputs.noise
        seq_len = noise.shape[2] * noise.shape[3] * noise.shape[4] / transformer.config.patch_size ** 2
        sigmas = shifted_sigmas(job.steps, flux_mu(seq_len))
        # The original hands timestep and guidance to the model in its dtype (10 * 1000 -> 9984 in bf16).
        guidance = torch.tensor([job.gs * 1000.0], device=device).to(dtype)
        conds = [inputs.positive.to(device, dtype)] + (
            [inputs.negative.to(device, dtype)] if inputs.negative is not None else [])
        image = inputs.image_embeds.to(device=device, dtype=dtype)

        # Step cache (sampling/stepcache.py): opened per section, so its state never crosses sections.
        kind, threshold = job.step_cache_choice
        with torch.no_grad(), open_step_cache(transformer, kind, threshold, job.steps, len(conds), job.variant,
                                              resolve_models_dir(job.models)) as cache:
            def velocity(x: torch.Tensor, sigma: float, i: int) -> torch.Tensor:
                self.check()
                t = time.monotonic()
                timestep = (torch.tensor([sigma], dtype=torch.float32, device=device) * 1000.0).to(dtype)
                v = []
                for k, cond in enumerate(conds):
                    with cache.call(k):
                        v.append(transformer(hidden_states=x.to(device=device, dtype=dtype), timestep=timestep,
                                             guidance=guidance, image_embeds=image, return_dict=False, **cond,
                                             **history_kwargs)[0].float())
                out = guided_velocity(v[0], v[1], job.cfg, job.rescale) if len(v) == 2 else v[0]
                if not cache.last_skipped:
                    self.eta.step(time.monotonic() - t)
                return out.cpu()

            steps = iter_sample(velocity, noise, sigmas, job.sampler, model_dtype=dtype)
            while True:
                try:
                    i, x0 = next(steps)
                except StopIteration as done:
                    latents = done.value
                    break
                left = inputs.steps_left - (i + 1)
                yield ev.StepProgress(
                    section.section, section.order, i + 1, job.steps, cache.last_skipped,
                    latent_preview(x0), time.monotonic() - self.started, self.eta.remaining(left, inputs.sections_left),
                )
            skipped = cache.skipped
        return latents.float().cpu(), skipped
