"""Typed events the runner yields: the one stream the window, the CLI and the tests consume.

Conventions:
- `section` is always the section's index in TIME (0 = the start of the video). The original
  model samples from the end towards the start, so `order` (0 = sampled first) differs from it.
- Frame indices are positions in the final video (0 .. num_frames-1).
- Images are numpy uint8 arrays, H x W x 3 (frames: N x H x W x 3). The engine never touches an
  array again after yielding it, so a consumer may keep it without copying.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .plan import SectionPlan


@dataclass(frozen=True)
class JobStarted:
    job_dir: str
    num_sections: int
    num_frames: int
    height: int
    width: int
    fps: int
    sections: tuple[SectionPlan, ...]   # in time order
    resumed_sections: tuple[int, ...] = ()  # time indices already finished on disk (resume)
    # Frames [ready_start, ready_end) are in the frame store from the start: a resumed job's
    # decoded sections, or the old video an extension continues.
    ready_start: int = 0
    ready_end: int = 0
    frame_store: str = ""
    # The memory plan in one line (precision, memory mode, VAE decoding) and why it was chosen.
    plan: str = ""
    plan_reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class Status:
    """A phase that has no step count: loading models, encoding the prompt, writing the MP4.

    `notice` marks a report to keep in view rather than a passing phase: a damaged or missing
    file in the job folder was found and what could be recovered was recovered.
    """
    text: str
    notice: bool = False


@dataclass(frozen=True)
class StepProgress:
    section: int
    order: int
    step: int                  # 1-based: steps done in this section
    steps: int
    cached: bool               # True when the step cache skipped the transformer this step
    preview: np.ndarray | None  # small latent preview, h x w x 3 uint8 (frames side by side)
    elapsed_s: float           # since sampling started (excludes model loading)
    eta_s: float | None        # whole remaining job, None until it can be estimated


@dataclass(frozen=True)
class SectionDecoded:
    section: int
    order: int
    start_frame: int           # frames[i] is final-video frame start_frame + i
    frames: np.ndarray         # replaces whatever was shown at those positions (blended overlap)
    ready_start: int           # frames [ready_start, ready_end) of the final video now exist
    ready_end: int
    frame_store: str           # path of the disk frame store holding every decoded frame
    skipped_steps: int = 0     # steps the step cache skipped in this section
    # Seconds from the section's last sampling step to its frames being in the store (saving the
    # latents, decoding, blending, writing); None for a section taken from disk.
    latency_s: float | None = None


@dataclass(frozen=True)
class Finished:
    video: str
    job_json: str
    num_frames: int
    seconds: float             # wall time of the whole run


@dataclass(frozen=True)
class Cancelled:
    video: str | None          # a playable MP4 of what exists, None if nothing was decoded
    num_frames: int
    finished_sections: tuple[int, ...] = field(default_factory=tuple)


@dataclass(frozen=True)
class Failed:
    message: str               # one or two sentences a user can act on
    detail: str = ""           # traceback or technical detail, for the log


Event = JobStarted | Status | StepProgress | SectionDecoded | Finished | Cancelled | Failed
