"""The generation controller: runs queued jobs one after another and routes their events.

It owns the pieces of state the window shows (timeline model, frame cache, queue, history) and
the worker thread of the job that runs. Widgets observe it through signals; it never touches a
widget. A job added while nothing runs starts at once (unless the queue is paused); after a job
finishes the next queued one starts; after Stop or a failure the queue waits until the user
presses Start (or Generate) again, so one bad input does not fail a whole night's queue.
"""
from __future__ import annotations

import hashlib
import logging
import time
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal, Slot

from ..engine.events import Cancelled, Event, Failed, Finished, JobStarted, SectionDecoded
from ..engine.job import Job
from ..engine.models.layout import is_demo
from ..settings import AppPaths, HistoryEntry
from .disk import drop_partial
from .frame_cache import FrameCache
from .history import History
from .job_queue import JobQueue
from .qimage import to_qimage
from .timeline_model import TimelineModel, thumbnail
from .worker import JobThread, RunJob

log = logging.getLogger(__name__)


def is_demo_job(job: Job) -> bool:
    return job.models == "demo" or is_demo(Path(job.models))


def format_eta(seconds: float | None) -> str:
    if seconds is None:
        return "estimating…"
    s = int(round(seconds))
    if s >= 3600:
        return f"{s // 3600} h {s % 3600 // 60:02d} min"
    return f"{s // 60}:{s % 60:02d}"


class GenerationController(QObject):
    eventApplied = Signal(object)     # an engine event, after the model and cache took it in
    runningChanged = Signal(bool)
    failed = Signal(str, str)         # message for the user, technical detail

    def __init__(self, paths: AppPaths, run_job: RunJob | None = None,
                 session_factory: Callable[[], object] | None = None, parent: QObject | None = None):
        super().__init__(parent)
        self.paths = paths
        self.model = TimelineModel()
        self.frames = FrameCache()
        self.queue = JobQueue(paths, self)
        self.history = History(paths, self)
        self.current: JobThread | None = None
        self._ended: JobThread | None = None      # released at the next start, in this thread
        self._run_job = run_job
        self._session_factory = session_factory
        self._session: object | None = None
        self._last_outcome: Event | None = None

    @property
    def running(self) -> bool:
        return self.current is not None

    # ----- commands -----
    def generate(self, job: Job) -> None:
        """Run `job` next: now if nothing runs, else right after the current job."""
        self.queue.add(job, front=True)
        if not self.running:
            self.start_next()

    def enqueue(self, job: Job) -> None:
        """Line `job` up without starting anything."""
        self.queue.add(job)

    def submit(self, job: Job) -> None:
        """What "Add to queue" does: line `job` up; an idle, unpaused queue starts at once."""
        self.queue.add(job)
        if not self.running and not self.queue.paused:
            self.start_next()

    def start_queue(self) -> None:
        self.queue.set_paused(False)
        self.start_next()

    def pause_queue(self) -> None:
        """The job that runs goes on; the next waits for Start."""
        self.queue.set_paused(True)

    def start_next(self) -> bool:
        if self.running:
            return False
        job = self.queue.take_next()
        if job is None:
            return False
        self.frames.clear()
        self.model.begin(job, is_demo_job(job))
        self._last_outcome = None
        self._ended = None
        self.current = JobThread(job, self._model_session(), self._run_job)
        self.current.event.connect(self._on_event)
        self.current.finished.connect(self._on_thread_finished)
        self.current.start()
        self.runningChanged.emit(True)
        return True

    def stop(self) -> None:
        if self.current is not None:
            self.current.stop()

    def _model_session(self) -> object | None:
        """One model session for all jobs of this window, so models stay loaded between jobs."""
        if self._session is None and self._session_factory is not None:
            self._session = self._session_factory()
        return self._session

    # ----- events from the worker (GUI thread) -----
    @Slot(object)
    def _on_event(self, event: Event) -> None:
        self.model.apply(event)
        if isinstance(event, JobStarted) and event.frame_store and event.ready_end > event.ready_start:
            self.frames.attach(event.frame_store)     # frames already on disk show at once
        elif isinstance(event, SectionDecoded):
            self.frames.attach(event.frame_store)
            self.frames.put(event.start_frame, event.frames)
        elif isinstance(event, (Finished, Cancelled)):
            self._last_outcome = event
            self._remember(event)
        elif isinstance(event, Failed):
            self._last_outcome = event
            log.error("job failed: %s\n%s", event.message, event.detail)
            self.failed.emit(event.message, event.detail)
        self.eventApplied.emit(event)

    @Slot()
    def _on_thread_finished(self) -> None:
        # Not dropped here, inside the JobThread's own signal: kept until the next start.
        self._ended, self.current = self.current, None
        self.queue.finish_running()
        self.runningChanged.emit(False)
        if isinstance(self._last_outcome, Finished) and not self.queue.paused:
            self.start_next()

    def _remember(self, event: Finished | Cancelled) -> None:
        if not event.video or self.model.job is None:
            return
        if isinstance(event, Finished):
            partial = drop_partial(event.video)        # a continued job: the stopped video is superseded
            if partial is not None:
                self.history.remove(str(partial))
        job_json = event.job_json if isinstance(event, Finished) else str(Path(event.video).with_suffix(".json"))
        self.history.add(HistoryEntry(
            video=event.video, job_json=job_json, thumbnail=self._thumbnail(event.video),
            num_frames=event.num_frames, seconds=getattr(event, "seconds", self.model.elapsed_s),
            finished_at=time.time(), cancelled=isinstance(event, Cancelled),
        ))

    def _thumbnail(self, video: str) -> str:
        m = self.model
        frame = self.frames.get((m.ready_start + m.ready_end) // 2) if m.ready_count else None
        if frame is None:
            return ""
        path = self.paths.thumbnails_dir / (hashlib.sha1(video.encode()).hexdigest()[:16] + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path) if to_qimage(thumbnail(frame, 128)).save(str(path), "PNG") else ""

    # ----- shutdown -----
    def shutdown(self, wait_ms: int = 30000) -> bool:
        """Stop a running job and wait for its thread (closing the window); True when it ended."""
        if self.current is None:
            return True
        self.current.stop()
        return self.current.wait(wait_ms)
