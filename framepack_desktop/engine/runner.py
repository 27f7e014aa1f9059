"""Runs a Job: the FramePack section loop, as a generator of events.

`generate` reads top to bottom in named stages (like a diffusers pipeline's numbered steps): check
the inputs, announce what the timeline shows, encode prompts and images, load the video model, the
section loop, write the MP4. Three objects carry what varies: the job's plan (engine/plan.py:
sections in sampling and time order, prompts, seeds, noise draws, fingerprints), its variant
(sampling/variants.py: original or F1, how history is packed, grows and is decoded) and its
history seed (history_seed.py: a start image, or a video this app made that it extends).

One section at a time: build the packed history context, sample the window (section_sampler.py,
with a step cache: TeaCache, First-Block Cache or MagCache), save the section's latents, decode only
its newest latents, crossfade them into the disk frame store, report. History latents and frames live on the CPU and on disk, so nothing grows with the
video's length on the GPU or in RAM. The MP4 is encoded once at the end.

Nothing finished is ever computed twice: sections whose latents are saved are loaded instead of
sampled, decoded sections stay in the frame store (engine/jobframes.py), damaged files are
reported and rebuilt from what is intact.

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
from .conditioning import PromptEmbeds, blend_image_embeds, blend_prompt_embeds, encode_image_embeds, encode_latent
from .errors import JobCancelled, OutputNotWritable, UserError, is_out_of_ram
from .history_seed import HistorySeed, history_seed
from .images import fit_to_bucket, load_image, nearest_bucket, to_model_tensor
from .inputs import pin_inputs
from .job import Job
from .jobfolder import JobFolder
from .jobfolder.folder import remove_output_temporaries
from .jobframes import open_job_store
from .lora_set import prepare_loras
from .models.loader import require_models, resolve_models_dir
from .sampling.stepcache import require_step_cache
from .models.policy import plan_job
from .models.pretrained import VERIFY_HINT
from .models.safetensors_io import DamagedFile
from .outputs import check_not_input, partial_output
from .plan import Plan, SectionPlan, section_starts
from .section_sampler import SectionInputs, SectionSampler, StepTimer, section_noise
from .session import ModelSession
from .sampling.order import frames_of
from .sampling.prompts import unused_timestamps
from .sampling.variants import generated_count, variant_of
from .speed import compiles_at_next_call, mark_compiled_run, prepare_transformer, tune_convolutions
from .video.blend import join_chunk
from .video.framestore import FrameStore
from .video.mp4 import write_mp4


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
    except DamagedFile as e:    # a model file damaged after the check at the start
        yield run.failed(f"{e}. {VERIFY_HINT}")
    except torch.OutOfMemoryError:
        yield run.failed(
            "The GPU ran out of memory. Choose a lower resolution or a lighter precision (fp8), or raise "
            "'GPU memory to keep free' so more is offloaded. Finished sections are kept: Generate continues.",
            traceback.format_exc(),
        )
    except MemoryError:
        yield run.failed(OUT_OF_RAM, traceback.format_exc())
    except Exception as e:  # noqa: BLE001 - last line of defence: the message must reach the user
        yield run.failed(OUT_OF_RAM if is_out_of_ram(e) else f"Unexpected error: {type(e).__name__}: {e}",
                         traceback.format_exc())
    except (KeyboardInterrupt, GeneratorExit):
        # Aborted at once (a second Ctrl+C) or dropped by its reader: the job is stopped, not "running".
        run.abandoned()
        raise
    finally:
        run.close()


OUT_OF_RAM = ("The computer ran out of memory (RAM). Close other programs, or choose a lower resolution or a "
              "lighter precision (fp8); finished sections are kept: Generate (or framepack-desktop resume) continues.")


@dataclass(frozen=True)
class Conditioning:
    """What the encoders made from the prompts and images, shared by every section."""
    embeds: dict[str, PromptEmbeds]
    image_embeds: torch.Tensor
    start_latent: torch.Tensor
    end_latent: torch.Tensor | None
    keyframe_latents: dict[str, torch.Tensor]

    def prompt(self, section: SectionPlan) -> PromptEmbeds:
        """A section's prompt embeds: its own, or part way from the previous prompt (blending)."""
        if section.blend is None:
            return self.embeds[section.prompt]
        old, weight = section.blend
        return blend_prompt_embeds(self.embeds[old], self.embeds[section.prompt], weight)

    def anchor(self, section: SectionPlan) -> torch.Tensor:
        """The latent in a section's start ("pre") slot: its keyframe's, else the start image's."""
        return self.keyframe_latents[section.anchor] if section.anchor else self.start_latent


class _JobRun:
    def __init__(self, job: Job, cancel: threading.Event, session: ModelSession):
        self.job = job
        self.cancel = cancel
        self.session = session
        self.folder: JobFolder | None = None
        self.store: FrameStore | None = None
        self.started = time.monotonic()
        self.eta = StepTimer()
        self.seed: HistorySeed = HistorySeed(job)
        self.spans: list[tuple[int, int]] = []
        self.store_notes: list[str] = []
        self.finished = False       # the video is written: a reader dropping the stream now stops nothing

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

    def abandoned(self) -> None:
        if self.folder and not self.finished:
            self.log("aborted at once; every finished section is kept")
            self.folder.set_state("stopped")

    def cancelled(self) -> ev.Cancelled:
        finished = self.folder.finished_sections() if self.folder else ()
        if self.folder:
            self.folder.set_state("stopped")
        if self.store is None:
            return ev.Cancelled(None, 0, finished)
        a, b = self.store.valid_span()
        if b <= a:
            return ev.Cancelled(None, 0, finished)
        partial = partial_output(self.job)
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
            self.folder = JobFolder(self.job, self.plan)
        except OSError as e:
            raise OutputNotWritable(
                f"Cannot write to '{out.parent}' ({e.strerror}). Choose an output folder you can write to."
            ) from e

    # ----- the job -----
    def generate(self) -> Iterator[ev.Event]:
        # 1. Check the inputs: the job, its folder (locked), the models, the memory plan, the images
        self.check_inputs()
        # 2. Open the frame store; tell the window what the timeline shows and what is kept
        yield from self.announce()
        # 3. Encode the prompts, the images
        yield from self.encode_prompts()
        yield from self.encode_images()
        # 4. Load the video model
        yield from self.load_model()
        # 5. The section loop: sample (or load) each section, decode it onto the timeline
        yield from self.section_loop()
        # 6. Write the MP4 and the job beside it
        yield from self.write_video()

    def check_inputs(self) -> None:
        # Everything that can be refused is checked before the job folder is opened: a refused job
        # leaves no folder behind, and never rewrites the job.json of an unfinished job at its output.
        job = self.job = pin_inputs(self.job.validate())
        check_not_input(job)
        self.variant = variant_of(job.variant)
        self.models_dir = resolve_models_dir(job.models)
        require_models(self.models_dir, job.variant)
        require_step_cache(job.step_cache_choice[0], self.models_dir, job.variant)
        self.memory = plan_job(job)
        self.place = self.memory.placement
        self.loras = prepare_loras(job, self.models_dir, self.place)  # a missing or refused LoRA stops here
        self.plan = Plan.of(job)
        self.seed = history_seed(job, self.plan)
        start_img = self.seed.start_picture()
        self.height, self.width = nearest_bucket(start_img.shape[0], start_img.shape[1], job.resolution)
        self.start_px = self.fit(start_img)
        self.end_px = self.fit(load_image(job.end_image)) if job.end_image else None
        self.keyframe_px = {path: self.fit(load_image(path)) for path in dict.fromkeys(job.keyframes.values())}
        self.open_folder()

    def fit(self, image: np.ndarray) -> torch.Tensor:
        return to_model_tensor(fit_to_bucket(image, self.height, self.width))

    def announce(self) -> Iterator[ev.Event]:
        job, folder, plan, place = self.job, self.folder, self.plan, self.place
        self.kept = tuple(s for s in plan.orders if folder.check_section(s, plan.prints[s]))
        self.decoded = self.open_store([plan.prints[s] for s in plan.orders])
        ready = self.spans[len(self.decoded)]
        yield ev.JobStarted(str(folder.path), job.num_sections, job.num_frames, self.height, self.width, job.fps,
                            plan.sections, self.kept, ready[0], ready[1], str(self.store.folder), place.summary(),
                            place.reasons)
        for note in folder.notes + self.store_notes + self.loras.notes() + self.unused_prompt_notes():
            yield ev.Status(note, notice=True)
        if self.loras.refs:
            yield ev.Status(self.loras.summary())
            self.log(self.loras.summary())
        folder.set_state("running")
        self.log(f"started: {job.num_sections} sections, {job.num_frames} frames at {self.width}x{self.height} on "
                 f"{place.device}; {len(self.kept)} sections already done")
        self.log("memory plan: " + self.memory.report().replace("\n", "\n    "))

    def unused_prompt_notes(self) -> list[str]:
        """A timestamp no section reaches (`[99s]` in a 5 s video) is named, not silently dropped."""
        starts = section_starts(self.job)
        return [f"The prompt at [{t:g}s] is never used: the last section of this {self.job.duration:.1f} s video "
                f"starts at {starts[-1]:.1f} s. Make the video longer or move that timestamp earlier."
                for t in unused_timestamps(self.job.prompt, starts)]

    def encode_prompts(self) -> Iterator[ev.Event]:
        job = self.job
        yield ev.Status("Encoding the prompt")
        self.check()
        wanted = list(dict.fromkeys(self.plan.prompts)) + ([job.negative_prompt] if job.cfg != 1 else [])
        self.embeds = self.session.prompt_embeds(self.models_dir, wanted, self.place)
        self.check()

    def encode_images(self) -> Iterator[ev.Event]:
        yield ev.Status("Encoding the image")
        enc = self.session.image_encoder(self.models_dir, self.place)
        start_embeds = encode_image_embeds(enc.model, enc.processor, self.start_px)
        end_embeds = encode_image_embeds(enc.model, enc.processor, self.end_px) if self.end_px is not None else None
        self.vae = self.session.vae(self.models_dir, self.place)
        end_latent = encode_latent(self.vae, self.end_px) if self.end_px is not None else None
        keyframes = {path: encode_latent(self.vae, px) for path, px in self.keyframe_px.items()}
        self.cond = Conditioning(self.embeds, blend_image_embeds(start_embeds, end_embeds, self.job.end_influence),
                                 encode_latent(self.vae, self.start_px), end_latent, keyframes)
        self.check()

    def load_model(self) -> Iterator[ev.Event]:
        place = self.place
        yield ev.Status("Loading the video model")
        transformer = self.session.transformer(self.models_dir, self.job.variant, place, self.loras.refs)
        setup = prepare_transformer(transformer, place.device, attention=self.job.attention)
        self.log(f"transformer: {setup.describe()}")
        yield ev.Status(f"Video model ready: {setup.describe()}")
        self.sampler = SectionSampler(self.job, transformer, place, self.eta, self.check, self.started)
        self.compiling = compiles_at_next_call(transformer)
        if tune_convolutions(place.device):
            self.log("VAE: cuDNN picks the fastest convolution algorithms (timed at the first decode)")
        self.check()

    def section_loop(self) -> Iterator[ev.Event]:
        job = self.job
        history = self.seed.history(self.variant, self.cond.start_latent, self.vae)
        done = len(self.decoded) - len(self.seed.markers)
        steps_left = job.steps * (job.num_sections - len(self.kept))
        overlap: np.ndarray | None = None
        for section in self.plan.in_sampling_order:
            # The previous history is needed only to re-decode the last chunk's overlap after a
            # resume; holding it otherwise would keep two copies of a history that grows with length.
            before = history if overlap is None else None
            latents, skipped, sampled_at = yield from self.section_latents(section, history, steps_left)
            if sampled_at is not None:
                steps_left -= job.steps
            history = self.variant.add_to_history(history, latents, section.order, job.num_sections,
                                                  self.cond.start_latent)
            if section.order < done:
                continue
            if overlap is None:
                overlap = self.first_overlap(before, section.order, history)
            overlap = yield from self.decode_section(section, history, overlap, skipped, sampled_at)

    def write_video(self) -> Iterator[ev.Event]:
        job = self.job
        yield ev.Status("Writing the MP4")
        self.check()
        out = Path(job.output)
        first, end = job.output_frames
        write_mp4(out, self.store.iter_frames(first, end), self.width, self.height, fps=job.fps, crf=job.crf,
                  metadata=job.to_json())
        json_path = out.with_suffix(".json")
        atomic_write_text(json_path, job.to_json())
        remove_output_temporaries(job)
        self.folder.set_state("finished")
        self.finished = True
        self.log(f"finished: {out}")
        yield ev.Finished(str(out), str(json_path), end - first, time.monotonic() - self.started)

    # ----- one section -----
    def section_latents(self, section: SectionPlan, history: torch.Tensor, steps_left: int):
        """The section's latents: loaded when saved, else sampled and saved. Yields the sampling's
        events; returns (latents, steps the cache skipped, when sampling ended or None)."""
        folder, s = self.folder, section.section
        noted = len(folder.notes)
        latents = folder.load_section(s, self.plan.prints[s])
        if latents is not None:
            return latents, 0, None
        for note in folder.notes[noted:]:
            yield ev.Status(note, notice=True)
        self.log(f"section {s}: sampling (seed {section.seed}, prompt {section.prompt!r})")
        if self.compiling:
            yield ev.Status("Compiling the video model: the first step takes from seconds (kernels kept from "
                            "an earlier run) to a few minutes (first run with these settings)")
        latents, skipped = yield from self.sampler.sample(self.section_inputs(section, history, steps_left))
        sampled_at = time.monotonic()
        if self.compiling:
            mark_compiled_run(self.sampler.transformer)
            self.compiling = False
        folder.save_section(s, latents, self.plan.prints[s])
        return latents, skipped, sampled_at

    def section_inputs(self, section: SectionPlan, history: torch.Tensor, steps_left: int) -> SectionInputs:
        job, cond, n = self.job, self.cond, self.job.num_sections
        start = cond.start_latent
        shape = (1, start.shape[1], job.window, *start.shape[-2:])
        return SectionInputs(
            section,
            self.variant.context(section.order, n, job.window, history, cond.anchor(section), cond.end_latent),
            section_noise(section.seed, self.plan.noise_draw(section.section), shape),
            cond.prompt(section),
            cond.embeds[job.negative_prompt] if job.cfg != 1 else None,
            cond.image_embeds,
            steps_left,
            n - section.order,
        )

    def decode_section(self, section: SectionPlan, history: torch.Tensor, overlap: np.ndarray | None,
                       skipped: int, sampled_at: float | None) -> Iterator[ev.Event]:
        """Decode what the section adds, crossfade it into the frame store; returns the raw frames
        the next chunk crossfades with."""
        s = section.section
        self.check()
        yield ev.Status(f"Decoding section {s + 1} of {self.job.num_sections}")
        self.log(f"section {s}: decoding")
        t = time.monotonic()
        raw = self.decode(history, section.order)
        tail = self.overlap_tail(raw)            # raw frames, before place_chunk blends into them
        start, frames = self.place_chunk(raw, overlap, generated_count(history))
        self.store.write(start, frames)
        self.decoded.append(self.plan.prints[s])
        self.folder.set_decoded(self.decoded)
        self.eta.decode_s = time.monotonic() - t
        a, b = self.store.valid_span()
        latency = None if sampled_at is None else time.monotonic() - sampled_at
        after = "" if latency is None else f", on the timeline {latency:.2f} s after sampling"
        self.log(f"section {s}: frames {start}..{start + len(frames) - 1} decoded ({skipped} steps cached{after})")
        yield ev.SectionDecoded(s, section.order, start, frames, a, b, str(self.store.folder), skipped, latency)
        return tail

    # ----- decoding -----
    def first_overlap(self, before: torch.Tensor, order: int, history: torch.Tensor) -> np.ndarray | None:
        """What the first chunk decoded in this run crossfades with: after a resume, the previous
        section decoded again from the history before it; else what the history seed gives."""
        if order > 0:
            return self.overlap_tail(self.decode(before, order - 1))
        return self.seed.first_overlap(self.store, self.job.window, generated_count(history))

    def decode(self, history: torch.Tensor, order: int) -> torch.Tensor:
        """Decode what the section sampled at `order` adds: float32 frames T x H x W x 3 in [-1, 1],
        left on the VAE's device (the crossfade and the uint8 conversion run there too).

        Sections after a history seed's own decode (an extension's old video) decode like later
        ones: with the seed's newest latents as overlap.
        """
        job, vae = self.job, self.vae
        position = order + self.seed.decode_offset
        a, b = self.variant.decode_slice(position, job.num_sections, job.window, generated_count(history))
        latents = self.variant.generated_latents(history)[:, :, max(a, 0):b]
        with torch.no_grad():
            x = latents.to(device=vae.device, dtype=vae.dtype) / vae.config.scaling_factor
            pixels = vae.decode(x, return_dict=False)[0]
        return pixels[0].float().permute(1, 2, 3, 0)

    def overlap_tail(self, raw: torch.Tensor) -> np.ndarray:
        """The raw frames of a chunk that the next chunk will crossfade with (a float32 copy in RAM,
        so the GPU holds nothing between sections)."""
        return self.variant.overlap(raw, 4 * self.job.window - 3).to("cpu", copy=True).numpy()

    def place_chunk(self, raw: torch.Tensor, overlap: np.ndarray | None, generated: int) -> tuple[int, np.ndarray]:
        """Where a decoded chunk lands in the final video, crossfaded with the previous chunk, as uint8.

        The crossfade uses the previous chunk's raw float frames, as the original does, so
        re-decoding a section after a crash writes identical frames. It is done in place in `raw`.
        """
        start = self.seed.frame_offset + self.variant.chunk_start(self.job.num_frames, frames_of(generated), raw.shape[0])
        return start, join_chunk(raw, overlap, new_is_earlier=self.variant.new_chunk_earlier)

    def open_store(self, prints: list[str]) -> list[str]:
        """Open the frame store, keeping what is decoded; returns the decoded.json entries it holds.

        A history seed with frames of its own (an extension's old video) fills a new store first.
        """
        entries = list(self.seed.markers) + prints
        self.spans = self.plan.decoded_spans()
        opened = open_job_store(self.folder, entries, self.spans, self.job.num_frames, self.height, self.width)
        self.store, self.store_notes = opened.store, opened.notes
        decoded = opened.decoded
        if self.seed.markers and not decoded:
            self.seed.fill_store(self.store)
            decoded = list(self.seed.markers)
            self.folder.set_decoded(decoded)
        return decoded
