"""Runs a Job: the FramePack section loop, as a generator of events.

One section at a time: build the packed history context, sample the window (UniPC or Euler, with a
step cache: TeaCache, First-Block Cache or MagCache), save the section's latents, decode only its
newest latents, crossfade them into the disk frame store, report. History latents and frames live on
the CPU and on disk, so nothing grows with the video's length on the GPU or in RAM. The MP4 is
encoded once at the end.

Nothing finished is ever computed twice: sections whose latents are saved are loaded instead of
sampled, decoded sections stay in the frame store (engine/jobframes.py), damaged files are
reported and rebuilt from what is intact. An extension (Job.extend_from) starts its F1 history
with the old video's latents and its frame store with the old video's frames.

The same generator drives the window (through ui/worker.py), the CLI and the tests. Problems a user
can fix arrive as a `Failed` event with a message; `cancel` (a threading.Event) is checked before
every model call, so Stop takes effect within one sampling step.
"""
from __future__ import annotations

import threading
import time
import traceback
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch

from . import events as ev
from .atomic import atomic_write_text
from .conditioning import PromptEmbeds, blend_image_embeds, encode_image_embeds, encode_latent
from .errors import JobCancelled, OutputNotWritable, UserError
from .extend import ExtensionBase, extension_base
from .images import fit_to_bucket, load_image, nearest_bucket, to_model_tensor
from .job import Job
from .jobframes import open_job_store
from .jobfolder import JobFolder
from .models.loader import require_models, resolve_models_dir
from .sampling import context as ctx
from .sampling.samplers import iter_sample
from .sampling.schedule import flux_mu, shifted_sigmas
from .sampling.stepcache import open_step_cache, require_step_cache
from .models.policy import plan_job
from .session import ModelSession, Placement
from .speed import compiles_at_next_call, mark_compiled_run, prepare_transformer, tune_convolutions
from .video.blend import join_chunk
from .video.framestore import FrameStore
from .video.mp4 import write_mp4
from .video.preview import latent_preview


def run_job(job: Job, cancel: threading.Event | None = None, session: ModelSession | None = None) -> Iterator[ev.Event]:
    """Generate `job`, yielding events; always ends with Finished, Cancelled or Failed."""
    run = _JobRun(job, cancel or threading.Event(), session or ModelSession())
    try:
        yield from run.generate()
    except JobCancelled:
        yield run.cancelled()
    except OutputNotWritable as e:
        kept = (f" Every finished section is kept in '{run.folder.path}': once that is fixed, Generate (or "
                f"framepack-desktop resume) continues where it stopped.") if run.folder else ""
        yield run.failed(str(e) + kept)
    except UserError as e:
        yield run.failed(str(e))
    except torch.OutOfMemoryError:
        yield run.failed(
            "The GPU ran out of memory. Choose a lower resolution or a lighter precision (fp8), or raise "
            "'GPU memory to keep free' so more is offloaded. Finished sections are kept: Generate continues.",
            traceback.format_exc(),
        )
    except Exception as e:  # noqa: BLE001 - last line of defence: the message must reach the user
        yield run.failed(f"Unexpected error: {type(e).__name__}: {e}", traceback.format_exc())
    finally:
        run.close()


def section_noise(seed: int, order: int, shape: tuple[int, ...]) -> torch.Tensor:
    """Draw number `order` of a CPU generator seeded with `seed` (docs/ARCHITECTURE.md, Noise)."""
    gen = torch.Generator("cpu").manual_seed(seed)
    for _ in range(order):
        torch.randn(shape, generator=gen, dtype=torch.float32)
    return torch.randn(shape, generator=gen, dtype=torch.float32)


def guided_velocity(v: torch.Tensor, v_neg: torch.Tensor, scale: float, rescale: float) -> torch.Tensor:
    """Real classifier-free guidance, with the original's std rescale."""
    guided = v_neg + scale * (v - v_neg)
    if rescale <= 0:
        return guided
    dims = list(range(1, v.ndim))
    factor = v.std(dim=dims, keepdim=True) / guided.std(dim=dims, keepdim=True)
    return guided * (rescale * factor + (1 - rescale))


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


class _JobRun:
    def __init__(self, job: Job, cancel: threading.Event, session: ModelSession):
        self.job = job
        self.cancel = cancel
        self.session = session
        self.folder: JobFolder | None = None
        self.store: FrameStore | None = None
        self.started = time.monotonic()
        self.eta = StepTimer()
        self.base: ExtensionBase | None = None
        self.spans: list[tuple[int, int]] = []
        self.store_notes: list[str] = []

    # ----- housekeeping -----
    def log(self, text: str) -> None:
        if self.folder:
            self.folder.log(text)

    def close(self) -> None:
        if self.store:
            self.store.close()
        if self.folder:
            self.folder.close()

    def check(self) -> None:
        if self.cancel.is_set():
            raise JobCancelled()

    def failed(self, message: str, detail: str = "") -> ev.Failed:
        self.log(f"failed: {message}" + (f"\n{detail}" if detail else ""))
        if self.folder:
            self.folder.set_state("failed", message)
        return ev.Failed(message, detail)

    def cancelled(self) -> ev.Cancelled:
        finished = self.folder.finished_sections() if self.folder else ()
        if self.folder:
            self.folder.set_state("stopped")
        if self.store is None:
            return ev.Cancelled(None, 0, finished)
        a, b = self.store.valid_span()
        if b <= a:
            return ev.Cancelled(None, 0, finished)
        out = Path(self.job.output)
        partial = out.with_name(out.stem + "-partial.mp4")
        try:
            write_mp4(partial, self.store.iter_frames(a, b), self.store.width, self.store.height,
                      fps=self.job.fps, crf=self.job.crf, metadata=self.job.to_json())
        except OutputNotWritable as e:
            self.log(f"stopped; the partial video could not be written: {e}")
            return ev.Cancelled(None, 0, finished)
        self.log(f"stopped; {b - a} frames written to {partial}")
        return ev.Cancelled(str(partial), b - a, finished)

    def open_folder(self) -> None:
        out = Path(self.job.output)
        if out.suffix.lower() != ".mp4":
            raise OutputNotWritable(f"The output '{out}' must be a file name ending in .mp4.")
        try:
            out.parent.mkdir(parents=True, exist_ok=True)
            self.folder = JobFolder(self.job)
        except OSError as e:
            raise OutputNotWritable(
                f"Cannot write to '{out.parent}' ({e.strerror}). Choose an output folder you can write to."
            ) from e

    # ----- the job -----
    def generate(self) -> Iterator[ev.Event]:
        job = self.job.validate()
        n, w = job.num_sections, job.window
        self.open_folder()
        folder = self.folder
        models_dir = resolve_models_dir(job.models)
        require_models(models_dir, job.variant)
        require_step_cache(job.step_cache_choice[0], models_dir, job.variant)
        plan = plan_job(job)
        place = plan.placement

        start_img = load_image(job.image)
        height, width = nearest_bucket(start_img.shape[0], start_img.shape[1], job.resolution)
        start_px = to_model_tensor(fit_to_bucket(start_img, height, width))
        end_px = None
        if job.end_image:
            end_px = to_model_tensor(fit_to_bucket(load_image(job.end_image), height, width))

        self.base = extension_base(job) if job.extend_from else None
        chain = folder.chain
        orders, prompts, prints = chain.orders, chain.prompts, chain.prints
        plans = tuple(
            ev.SectionPlan(s, orders.index(s), *job.section_frames(s), prompts[s], job.seed_for(s)) for s in range(n)
        )
        kept = tuple(s for s in orders if folder.check_section(s, prints[s]))
        decoded = self.open_store(height, width, [prints[s] for s in orders])
        ready = self.spans[len(decoded)]
        yield ev.JobStarted(str(folder.path), n, job.num_frames, height, width, job.fps, plans, kept,
                            ready[0], ready[1], str(self.store.folder), place.summary(), place.reasons)
        for note in folder.notes + self.store_notes:
            yield ev.Status(note, notice=True)
        folder.set_state("running")
        self.log(f"started: {n} sections, {job.num_frames} frames at {width}x{height} on {place.device}; "
                 f"{len(kept)} sections already done")
        self.log("memory plan: " + plan.report().replace("\n", "\n    "))

        yield ev.Status("Encoding the prompt")
        self.check()
        wanted = list(dict.fromkeys(prompts)) + ([job.negative_prompt] if job.cfg != 1 else [])
        embeds = self.session.prompt_embeds(models_dir, wanted, place)
        self.check()
        yield ev.Status("Encoding the image")
        enc = self.session.image_encoder(models_dir, place)
        start_embeds = encode_image_embeds(enc.model, enc.processor, start_px)
        end_embeds = encode_image_embeds(enc.model, enc.processor, end_px) if end_px is not None else None
        image_embeds = blend_image_embeds(start_embeds, end_embeds, job.end_influence)
        vae = self.session.vae(models_dir, place)
        start_latent = encode_latent(vae, start_px)
        end_latent = encode_latent(vae, end_px) if end_px is not None else None
        self.check()
        yield ev.Status("Loading the video model")
        transformer = self.session.transformer(models_dir, job.variant, place)
        setup = prepare_transformer(transformer, place.device, attention=job.attention)
        self.log(f"transformer: {setup.describe()}")
        yield ev.Status(f"Video model ready: {setup.describe()}")
        compiling = compiles_at_next_call(transformer)
        if tune_convolutions(place.device):
            self.log("VAE: cuDNN picks the fastest convolution algorithms (timed at the first decode)")
        self.check()

        history = ctx.initial_history(start_latent, job.variant)
        generated = 1 if job.variant == "f1" else 0
        if self.base:
            old = self.base.latents(start_latent)
            history = torch.cat([history[:, :, : ctx.HISTORY_LEN], old], dim=2)
            generated = old.shape[2]
        done = len(decoded) - (1 if self.base else 0)
        # An extension continues the old video's noise draws: extending an F1 video gives the
        # same latents as having made it longer in the first place.
        noise_offset = self.base.sections if self.base else 0
        steps_left = job.steps * (n - len(kept))
        prev_tail: np.ndarray | None = None
        shape = (1, start_latent.shape[1], w, *start_latent.shape[-2:])

        for order, section in enumerate(orders):
            # The previous history is needed only to re-decode the last chunk's overlap after a
            # resume; holding it otherwise would keep two copies of a history that grows with length.
            before, generated_before = (history if prev_tail is None else None), generated
            noted = len(folder.notes)
            latents = folder.load_section(section, prints[section])
            skipped, sampled_at = 0, None
            if latents is None:
                for note in folder.notes[noted:]:
                    yield ev.Status(note, notice=True)
                self.log(f"section {section}: sampling (seed {job.seed_for(section)}, prompt {prompts[section]!r})")
                if compiling:
                    yield ev.Status("Compiling the video model: the first step takes from seconds (kernels kept from "
                                    "an earlier run) to a few minutes (first run with these settings)")
                sampler = self.sample_section(
                    transformer, place, history, start_latent, end_latent, order, section,
                    section_noise(job.seed_for(section), order + noise_offset, shape),
                    embeds[prompts[section]], embeds[job.negative_prompt] if job.cfg != 1 else None,
                    image_embeds, steps_left, n - order,
                )
                latents, skipped = yield from sampler
                sampled_at = time.monotonic()
                if compiling:
                    mark_compiled_run(transformer)
                    compiling = False
                steps_left -= job.steps
                folder.save_section(section, latents, prints[section])
            history = ctx.add_to_history(job.variant, history, latents, order, n, start_latent)
            generated += latents.shape[2] + (1 if job.variant == "original" and order == n - 1 else 0)
            if order < done:
                continue
            if prev_tail is None and order > 0:
                prev_tail = self.overlap_tail(self.decode_order(vae, before, order - 1, generated_before))
            elif prev_tail is None and self.base:
                prev_tail = self.base_tail(generated)
            self.check()
            yield ev.Status(f"Decoding section {section + 1} of {n}")
            self.log(f"section {section}: decoding")
            t = time.monotonic()
            raw = self.decode_order(vae, history, order, generated)
            tail = self.overlap_tail(raw)            # raw frames, before place_chunk blends into them
            start, frames = self.place_chunk(raw, prev_tail, generated)
            self.store.write(start, frames)
            prev_tail = tail
            decoded.append(prints[section])
            folder.set_decoded(decoded)
            self.eta.decode_s = time.monotonic() - t
            a, b = self.store.valid_span()
            latency = None if sampled_at is None else time.monotonic() - sampled_at
            after = "" if latency is None else f", on the timeline {latency:.2f} s after sampling"
            self.log(f"section {section}: frames {start}..{start + len(frames) - 1} decoded ({skipped} steps cached{after})")
            yield ev.SectionDecoded(section, order, start, frames, a, b, str(self.store.folder), skipped, latency)

        yield ev.Status("Writing the MP4")
        self.check()
        out = Path(job.output)
        write_mp4(out, self.store.iter_frames(0, job.num_frames), width, height, fps=job.fps, crf=job.crf,
                  metadata=job.to_json())
        json_path = out.with_suffix(".json")
        atomic_write_text(json_path, job.to_json())
        folder.set_state("finished")
        self.log(f"finished: {out}")
        yield ev.Finished(str(out), str(json_path), job.num_frames, time.monotonic() - self.started)

    def open_store(self, height: int, width: int, prints: list[str]) -> list[str]:
        """Open the frame store, keeping what is decoded; returns the decoded.json entries it holds.

        An extension's store starts with a copy of the old video's frames.
        """
        entries = ([self.base.marker] if self.base else []) + prints
        self.spans = self.decoded_spans()
        opened = open_job_store(self.folder, entries, self.spans, self.job.num_frames, height, width)
        self.store, self.store_notes = opened.store, opened.notes
        decoded = opened.decoded
        if self.base and not decoded:
            self.base.copy_frames(self.store)
            decoded = [self.base.marker]
            self.folder.set_decoded(decoded)
        return decoded

    def decoded_spans(self) -> list[tuple[int, int]]:
        """The frame range the store holds after k entries of decoded.json, for each k."""
        job, w, n = self.job, self.job.window, self.job.num_sections
        if self.base:
            first = self.base.latent_count
            return [(0, 0)] + [(0, ctx.frames_of(first + k * w)) for k in range(n + 1)]
        if job.variant == "f1":
            return [(0, 0)] + [(0, ctx.frames_of(1 + k * w)) for k in range(1, n + 1)]
        counts = [k * w + (1 if k == n else 0) for k in range(1, n + 1)]
        return [(0, 0)] + [(job.num_frames - ctx.frames_of(c), job.num_frames) for c in counts]

    def sample_section(self, transformer, place: Placement, history, start_latent, end_latent, order: int,
                       section: int, noise: torch.Tensor, positive: PromptEmbeds, negative: PromptEmbeds | None,
                       image_embeds: torch.Tensor, steps_left: int, sections_left: int):
        """Sample one section's window; yields StepProgress per step, returns (latents, skipped steps)."""
        job = self.job
        context = ctx.build_context(job.variant, order, job.num_sections, job.window, history, start_latent, end_latent)
        device, dtype = place.device, place.transformer_dtype
        history_kwargs = context.as_kwargs(dtype, device)
        seq_len = noise.shape[2] * noise.shape[3] * noise.shape[4] / transformer.config.patch_size ** 2
        sigmas = shifted_sigmas(job.steps, flux_mu(seq_len))
        # The original hands timestep and guidance to the model in its dtype (10 * 1000 -> 9984 in bf16).
        guidance = torch.tensor([job.gs * 1000.0], device=device).to(dtype)
        conds = [positive.to(device, dtype)] + ([negative.to(device, dtype)] if negative is not None else [])
        image = image_embeds.to(device=device, dtype=dtype)

        # Step cache (sampling/stepcache.py): opened per section, so its state never crosses sections.
        kind, threshold = job.step_cache_choice
        with torch.no_grad(), open_step_cache(transformer, kind, threshold, job.steps, len(conds), job.variant,
                                              resolve_models_dir(job.models)) as cache:
            def velocity(x: torch.Tensor, sigma: float, i: int) -> torch.Tensor:
                self.check()
                t = time.monotonic()
                timestep = torch.tensor([sigma * 1000.0], device=device).to(dtype)
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

            steps = iter_sample(velocity, noise, sigmas, job.sampler)
            while True:
                try:
                    i, x0 = next(steps)
                except StopIteration as done:
                    latents = done.value
                    break
                left = steps_left - (i + 1)
                yield ev.StepProgress(
                    section, order, i + 1, job.steps, cache.last_skipped, latent_preview(x0),
                    time.monotonic() - self.started, self.eta.remaining(left, sections_left),
                )
            skipped = cache.skipped
        return latents.float().cpu(), skipped

    # ----- decoding -----
    def decode_order(self, vae, history: torch.Tensor, order: int, generated: int) -> torch.Tensor:
        """Decode what the section sampled at `order` adds: float32 frames T x H x W x 3 in [-1, 1],
        left on the VAE's device (the crossfade and the uint8 conversion run there too).

        An extension's first section decodes like any later F1 section: with the old video's
        newest latents as overlap.
        """
        position = order + (1 if self.base else 0)
        a, b = ctx.decode_slice(self.job.variant, position, self.job.num_sections, self.job.window, generated)
        latents = ctx.generated_latents(self.job.variant, history, generated)[:, :, max(a, 0):b]
        with torch.no_grad():
            x = latents.to(device=vae.device, dtype=vae.dtype) / vae.config.scaling_factor
            pixels = vae.decode(x, return_dict=False)[0]
        return pixels[0].float().permute(1, 2, 3, 0)

    def overlap_tail(self, raw: torch.Tensor) -> np.ndarray:
        """The raw frames of a chunk that the next chunk will crossfade with (a float32 copy in RAM,
        so the GPU holds nothing between sections)."""
        overlap = 4 * self.job.window - 3
        tail = raw[:overlap] if self.job.variant == "original" else raw[-overlap:]
        return tail.to("cpu", copy=True).numpy()

    def base_tail(self, generated: int) -> np.ndarray:
        """The old video's last frames, as floats in [-1, 1], for the extension's first crossfade.

        Taken from the stored frames (not decoded again) so the join starts exactly on the old video.
        As many as the first new chunk decodes beyond its new frames (`generated` counts them too):
        4w - 3, or the whole old video when it is shorter than one window.
        """
        w = self.job.window
        overlap = ctx.frames_of(min(2 * w, generated)) - 4 * w
        end = self.base.frames
        return self.store.read_range(end - overlap, end).astype(np.float32) / 127.5 - 1

    def place_chunk(self, raw: torch.Tensor, prev_tail: np.ndarray | None, generated: int) -> tuple[int, np.ndarray]:
        """Where a decoded chunk lands in the final video, crossfaded with the previous chunk, as uint8.

        The crossfade uses the previous chunk's raw float frames, as the original does, so
        re-decoding a section after a crash writes identical frames. It is done in place in `raw`.
        """
        present = ctx.frames_of(generated)
        original = self.job.variant == "original"
        start = self.job.num_frames - present if original else present - raw.shape[0]
        return start, join_chunk(raw, prev_tail, new_is_earlier=original)
