"""What the timeline shows, as plain data: the planned sections, their state, which frames exist.

The model is fed engine events (`apply`) and, before a job runs, a plan made from the form
(`show_plan`), so the user sees which prompt covers which part of the video and in which order
the sections will be sampled. Widgets only read it and paint; tests read it directly.
No Qt here (napari's split of components and views).
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import ClassVar

import numpy as np

from ..engine.events import (
    Cancelled, Event, Failed, Finished, JobStarted, SectionDecoded, SectionPlan, Status, StepProgress,
)
from ..engine.job import Job
from ..engine.plan import Plan

THUMB_HEIGHT = 72
MAX_THUMBS = 240            # film-strip pictures kept per video, whatever its length

PLANNED, PENDING, SAMPLING, DONE, STOPPED, FAILED = "planned", "pending", "sampling", "done", "stopped", "failed"
IDLE, RUNNING, FINISHED, CANCELLED = "idle", "running", "finished", "cancelled"


@dataclass
class SectionView:
    """One section as the timeline draws it (time order; `order` is when it is sampled)."""
    section: int
    order: int
    start_frame: int
    end_frame: int
    prompt: str
    seed: int
    state: str = PLANNED
    step: int = 0
    steps: int = 0
    cached_steps: int = 0
    takes: int = 0             # sampled versions kept in the job folder (a takes menu when > 1)
    anchor: str | None = None  # the keyframe image anchoring it (original model); None: the start image
    preview: np.ndarray | None = field(default=None, repr=False)

    @property
    def progress(self) -> float:
        if self.state == DONE:
            return 1.0
        return self.step / self.steps if self.steps else 0.0

    def covers(self, frame: int) -> bool:
        return self.start_frame <= frame < self.end_frame


def plan_sections(plan: Plan) -> list[SectionView]:
    """The sections of a job's plan as the timeline draws them, in time order (the engine's own
    plan: frame spans, sampling order, prompts and seeds are computed once, in engine/plan.py)."""
    return [section_view(p) for p in plan.sections]


def section_view(p: SectionPlan) -> SectionView:
    return SectionView(p.section, p.order, p.start_frame, p.end_frame, p.prompt, p.seed, anchor=p.anchor)


def thumbnail(rgb: np.ndarray, height: int = THUMB_HEIGHT) -> np.ndarray:
    """A cheap small copy by striding (no filtering): plenty for a strip of previews."""
    step = max(1, -(-rgb.shape[0] // height))
    return np.ascontiguousarray(rgb[::step, ::step])


class TimelineModel:
    """State of the job on the timeline. `revision` grows on every change so views repaint lazily."""

    def __init__(self) -> None:
        self.random_seed = False     # the form draws a new seed at Generate: a planned seed is not final
        self.revision = 0
        self.thumbs_revision = 0     # grows whenever the film strip's pictures change
        self._reset()

    def _reset(self) -> None:
        self.prompt_marks: list[tuple[float, float]] = []   # (asked, applied) s of timed lines moved to a boundary
        self.phase = IDLE
        self.job: Job | None = None
        self.sections: list[SectionView] = []
        self.num_frames = 0
        self.fps = 30
        self.height = self.width = 0
        self.ready_start = self.ready_end = 0
        self.frame_store: str | None = None
        self.job_dir: str | None = None
        self.video: str | None = None
        self.status = ""
        self.eta_s: float | None = None
        self.elapsed_s = 0.0
        self.error: Failed | None = None
        self.notices: list[str] = []      # repair reports of this run (kept in view, not errors)
        self.demo = False
        self.thumbnails: dict[int, np.ndarray] = {}   # frame (a multiple of thumb_stride) -> small RGB
        self.thumbs_revision += 1

    def _changed(self) -> None:
        self.revision += 1

    @property
    def keyframes(self) -> dict[float, str]:
        """The shown job's keyframes (seconds -> image), drawn on their sections."""
        return dict(self.job.keyframes) if self.job is not None else {}

    @property
    def origin(self) -> str:
        """What the video starts from, when it is not a start image (shown on the timeline)."""
        job = self.job
        if job is None or job.image or job.extend_from:
            return ""
        if job.video:
            return f"Continues {Path(job.video).name}"
        return f"Text only: starts from a {job.background} background"

    # ----- before a job: the plan from the form -----
    def show_plan(self, plan: Plan, demo: bool) -> None:
        """Show what a job would generate; ignored while a job runs (the run owns the timeline)."""
        if self.phase == RUNNING:
            return
        self._reset()
        job = plan.job
        self.job, self.demo = job, demo
        self.sections = plan_sections(plan)
        self.num_frames, self.fps = job.num_frames, job.fps
        self._changed()

    def show_video(self, plan: Plan, frame_store: str, span: tuple[int, int], size: tuple[int, int], video: str,
                   demo: bool) -> None:
        """A finished video from the history, played from its job's frame store."""
        self._reset()
        job = plan.job
        self.job, self.demo, self.phase, self.video = job, demo, FINISHED, video
        self.sections = plan_sections(plan)
        for s in self.sections:
            s.state = DONE
        self.num_frames, self.fps = job.num_frames, job.fps
        self.ready_start, self.ready_end = span
        self.height, self.width = size
        self.frame_store = frame_store
        self.status = f"Showing {video}"
        self._changed()

    def replan(self, plan: Plan, kept: set[int]) -> None:
        """The shown video's job changed where a keyframe moved: sections in `kept` stay made,
        the others are planned again (what a new run of the plan would sample)."""
        states = {s.section: s.state for s in self.sections}
        self.job = plan.job
        self.sections = plan_sections(plan)
        for s in self.sections:
            s.state = states.get(s.section, PLANNED) if s.section in kept else PLANNED
        self._changed()

    def has_changed_sections(self) -> bool:
        """A finished video whose job was changed on the stage (a keyframe moved): some of its
        sections are planned again, and continuing makes only those."""
        return self.phase == FINISHED and any(s.state == PLANNED for s in self.sections)

    def show_file(self, video: str, num_frames: int, fps: float, size: tuple[int, int]) -> None:
        """A video with no job or frame store (a finished copy, any MP4): one span, no sections."""
        self._reset()
        self.phase, self.video = FINISHED, video
        self.num_frames, self.fps = num_frames, fps
        self.ready_start, self.ready_end = 0, num_frames
        self.height, self.width = size
        self.status = f"Showing {video}"
        self._changed()

    def begin(self, job: Job, demo: bool) -> None:
        """A job was handed to the worker; its JobStarted will follow."""
        prompts = [s.prompt for s in self.sections] if self.job == job and self.sections else [job.prompt] * job.num_sections
        self._reset()
        self.job, self.demo, self.phase = job, demo, RUNNING
        self.sections = plan_sections(Plan(job, tuple(prompts)))
        for s in self.sections:
            s.state = PENDING
        self.num_frames, self.fps = job.num_frames, job.fps
        self.status = "Starting…"
        self._changed()

    # ----- engine events -----
    def apply(self, event: Event) -> None:
        """Update from one engine event; a type without a handler is a programming error (KeyError)."""
        self._handlers[type(event)](self, event)
        self._changed()

    def _on_job_started(self, e: JobStarted) -> None:
        self.phase = RUNNING
        self.num_frames, self.fps, self.height, self.width = e.num_frames, e.fps, e.height, e.width
        self.job_dir = e.job_dir
        self.sections = [section_view(p) for p in e.sections]
        for s in self.sections:
            s.state = DONE if s.section in e.resumed_sections else PENDING
        if e.ready_end > e.ready_start:      # a resumed job's frames, or the video an extension continues
            self.ready_start, self.ready_end = e.ready_start, e.ready_end
            self.frame_store = e.frame_store or self.frame_store

    def _on_status(self, e: Status) -> None:
        self.status = e.text
        if e.notice:
            self.notices.append(e.text)

    def _on_step_progress(self, e: StepProgress) -> None:
        s = self.sections[e.section]
        if s.state != SAMPLING:
            s.cached_steps = 0
        s.state, s.step, s.steps = SAMPLING, e.step, e.steps
        s.cached_steps += int(e.cached)
        if e.preview is not None:
            s.preview = e.preview
        self.eta_s, self.elapsed_s = e.eta_s, e.elapsed_s
        self.status = f"Sampling section {s.section + 1} of {len(self.sections)}"

    def _on_section_decoded(self, e: SectionDecoded) -> None:
        s = self.sections[e.section]
        s.state, s.preview = DONE, None
        s.step = s.steps
        self.ready_start, self.ready_end = e.ready_start, e.ready_end
        self.frame_store = e.frame_store
        if not self.height:
            self.height, self.width = e.frames.shape[1:3]
        stride = self.thumb_stride
        for i in range(-(-e.start_frame // stride) * stride, e.start_frame + len(e.frames), stride):
            self.add_thumbnail(i, e.frames[i - e.start_frame])

    def _on_finished(self, e: Finished) -> None:
        self.phase, self.video, self.eta_s = FINISHED, e.video, 0.0
        for s in self.sections:         # every section exists now, also one redone without a decode event
            s.state, s.preview, s.step = DONE, None, s.steps
        self.status = f"Finished in {e.seconds:.0f} s"

    def _on_cancelled(self, e: Cancelled) -> None:
        self.phase, self.video, self.eta_s = CANCELLED, e.video, None
        self._stop_open_sections(STOPPED)
        self.status = "Stopped" + ("; the frames made so far were saved" if e.video else "")

    def _on_failed(self, e: Failed) -> None:
        self.phase, self.error, self.eta_s = IDLE, e, None
        self._stop_open_sections(FAILED)
        self.status = "Failed"

    def _stop_open_sections(self, state: str) -> None:
        for s in self.sections:
            if s.state in (SAMPLING, PENDING):
                s.state, s.preview = state, None

    # Which method takes which event: explicit, so renaming an event class breaks loudly here.
    _handlers: ClassVar[dict[type, Callable[["TimelineModel", Event], None]]] = {
        JobStarted: _on_job_started,
        Status: _on_status,
        StepProgress: _on_step_progress,
        SectionDecoded: _on_section_decoded,
        Finished: _on_finished,
        Cancelled: _on_cancelled,
        Failed: _on_failed,
    }

    def set_prompt_marks(self, marks: list[tuple[float, float]]) -> None:
        """Timed lines moved to a section boundary, (asked, applied) seconds: the ruler marks them."""
        if marks != self.prompt_marks:
            self.prompt_marks = list(marks)
            self._changed()

    # ----- questions the views ask -----
    @property
    def thumb_stride(self) -> int:
        """Every how many frames the film strip keeps a picture."""
        return max(1, -(-self.num_frames // MAX_THUMBS))

    def add_thumbnail(self, frame: int, rgb: np.ndarray) -> None:
        self.thumbnails[frame] = thumbnail(rgb)
        self.thumbs_revision += 1

    def missing_thumbnails(self) -> list[int]:
        """Film-strip frames that exist but have no picture yet (a video reopened from history)."""
        stride = self.thumb_stride
        first = -(-self.ready_start // stride) * stride
        return [i for i in range(first, self.ready_end, stride) if i not in self.thumbnails]

    @property
    def ready_count(self) -> int:
        return self.ready_end - self.ready_start

    def is_ready(self, frame: int) -> bool:
        return self.ready_start <= frame < self.ready_end

    def section_at(self, frame: int) -> SectionView | None:
        for s in self.sections:
            if s.covers(frame):
                return s
        return None

    def set_takes(self, counts: dict[int, int]) -> None:
        """How many takes each section (time index) has in the job folder."""
        for s in self.sections:
            s.takes = counts.get(s.section, 0)
        self._changed()

    def number(self, s: SectionView) -> int:
        """The section's number as the user counts along the whole video: an extension's first new
        section after a 4-section video is 5, not 1 (its time index starts again at 0)."""
        first = self.sections[0] if self.sections else s
        before = round(first.start_frame / max(first.end_frame - first.start_frame, 1))
        return s.section + 1 + before

    @property
    def sampling_section(self) -> SectionView | None:
        return next((s for s in self.sections if s.state == SAMPLING), None)
