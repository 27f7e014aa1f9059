"""The main window: inputs on the left, the growing video in the middle, queue and history right.

It wires widgets to the generation controller and keeps the form, the window geometry and the
theme between sessions. Nothing here blocks: the engine runs in the worker thread, the timeline
and player repaint from a 30 Hz refresh timer only when something changed, and errors land in a
banner instead of a modal box. `run_gui` is the GUI entry point called by app.py.
"""
from __future__ import annotations

import logging
import os
import random
import re
import time
from pathlib import Path

from PySide6.QtCore import QByteArray, QMimeData, Qt, QThreadPool, QTimer, Slot
from PySide6.QtGui import (
    QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QKeyEvent, QKeySequence, QShortcut,
)
from PySide6.QtWidgets import (
    QApplication, QFileDialog, QFrame, QInputDialog, QLabel, QMainWindow, QMessageBox, QScrollArea, QSplitter,
    QTabWidget,
)

from .. import __version__
from ..engine.batch import batch_jobs
from ..engine.choices import SEED_MAX, SEED_MIN
from ..engine.errors import BadSettings, UserError
from ..engine.events import Cancelled, Event, Finished, JobStarted, Status
from ..engine.job import Job
from ..engine.plan import Plan
from ..engine.sampling.prompts import parse_timed_prompt
from ..engine.telemetry import TelemetrySampler
from ..engine.video.framestore import FrameStore, FrameStoreCorrupt
from ..engine.video.mp4 import BadVideo, read_job_metadata
from ..engine.video.seekable import SeekableVideo
from ..engine.images import load_image
from ..engine.jobfile import read_job
from ..engine.outputs import fresh_output
from ..settings import AppPaths, HistoryEntry, Settings, load_settings, save_settings
from . import disk, theme
from .crash import CrashReporter, setup_logging
from .desktop import Desktop
from .elided_label import ElidedLabel
from .gc_policy import GcPolicy
from .generation import GenerationController, format_eta, is_demo_job
from .finish_panel import FinishPanel
from .history_panel import HistoryPanel
from .image_drop import IMAGE_SUFFIXES, is_image_drop, local_files
from .keyframes import KeyframeList
from .lora_panel import attach_to_window as attach_lora_panel
from .models_dialog import ModelsDialog
from .models_window import ModelsWindow
from .background import Tasks
from .never_lose_work import NeverLoseWork
from .playback import Playback
from .qimage import to_qimage
from .queue_panel import QueuePanel
from .sidebar import Sidebar
from .stage import Stage
from .timeline_model import CANCELLED, DONE, FINISHED, IDLE, RUNNING, SAMPLING
from .transport import Transport
from .vram_meter import MemoryMeter
from .worker import RunJob

log = logging.getLogger(__name__)
TITLE = "FramePack Desktop"
JOB_SUFFIXES = {".mp4", ".json"}
VIDEO_SUFFIXES = {".mp4", ".mov", ".webm", ".mkv", ".m4v", ".avi"}  # any of them can be continued
SAVE_MS = 800


def moved_timed_lines(job: Job) -> list[tuple[float, float]]:
    """Timed lines that cannot start where asked: (asked, where the section they apply from starts)."""
    if not job.prompt.strip():
        return []
    try:
        starts = [s.start_frame / job.fps for s in Plan.draft(job).sections]
        timed = parse_timed_prompt(job.prompt)
    except BadSettings:
        return []                   # the prompt hint already says what is wrong
    moved = []
    for asked, _ in timed:
        applied = next((b for b in starts if b >= asked - 1e-3), None)
        if asked > 0 and applied is not None and abs(applied - asked) > 1e-3:
            moved.append((asked, round(applied, 2)))
    return moved


def slug(text: str, n: int = 32) -> str:
    words = re.sub(r"\[[^\]]*\]", " ", text)
    return re.sub(r"[^a-z0-9]+", "-", words.lower()).strip("-")[:n].strip("-") or "video"


class MainWindow(QMainWindow):
    def __init__(self, paths: AppPaths, settings: Settings | None = None, run_job: RunJob | None = None,
                 session_factory=None, desktop: Desktop | None = None):
        super().__init__()
        self.paths = paths.ensure()
        self.settings = settings if settings is not None else load_settings(paths)
        self.desktop = desktop or Desktop()
        self.controller = GenerationController(paths, run_job, session_factory, self)
        self.model = self.controller.model
        self.playback = Playback(lambda: (self.model.ready_start, self.model.ready_end), self)
        self.gc_policy = GcPolicy(self._is_running, self)
        self._closing = False
        self._requeue: Job | None = None
        self._editing: int | None = None        # the queued job the form edits ("Add to queue" replaces it)

        self.sidebar = Sidebar(paths.inputs_dir, self.settings.output_folder(paths))
        self.stage = Stage(self.model, self.controller.frames)
        self.queue_panel = QueuePanel(self.controller.queue)
        self.history_panel = HistoryPanel(self.controller.history)
        self.finish_panel = FinishPanel(self.controller.history, lambda: self.settings.models_dir)
        self.tabs = QTabWidget()
        self.tabs.setObjectName("SidePanel")
        self.tabs.addTab(self.queue_panel, "Queue")
        self.tabs.addTab(self.history_panel, "History")
        finish = QScrollArea()                   # its before/after preview must not widen the window
        finish.setWidgetResizable(True)
        finish.setFrameShape(QFrame.Shape.NoFrame)
        finish.setWidget(self.finish_panel)
        self.tabs.addTab(finish, "Finish")
        self.splitter = QSplitter(Qt.Orientation.Horizontal)
        self.splitter.addWidget(self.sidebar)
        self.splitter.addWidget(self.stage)
        self.splitter.addWidget(self.tabs)
        self.splitter.setStretchFactor(1, 1)
        self.splitter.setCollapsible(1, False)
        self.splitter.setSizes([380, 980, 300])
        self.setCentralWidget(self.splitter)

        self.status_text = ElidedLabel()
        self.plan_label = QLabel(objectName="Hint")   # the running job's memory plan; reasons in the tooltip
        self.meter = MemoryMeter()
        self.statusBar().addWidget(self.status_text, 1)
        self.statusBar().addPermanentWidget(self.plan_label)
        self.statusBar().addPermanentWidget(self.meter)
        self.statusBar().setSizeGripEnabled(False)
        self.loras = attach_lora_panel(self)     # LoRA hook: panel in the sidebar, active set in the status bar

        self.transport = Transport(self.model, self.playback, self.stage, self.sidebar, self.controller.frames, self)
        self.plan_timer = QTimer(self)
        self.plan_timer.setSingleShot(True)
        self.plan_timer.setInterval(150)
        self.plan_timer.timeout.connect(self.update_plan)
        self.save_timer = QTimer(self)      # the form is saved as it changes: a crash loses at most a second
        self.save_timer.setSingleShot(True)
        self.save_timer.setInterval(SAVE_MS)
        self.save_timer.timeout.connect(self.save_state)
        self.tasks = Tasks(self)            # slow disk work, off the GUI thread
        self.keyframes = KeyframeList(self)  # part of the form, placed on the timeline
        self.work = NeverLoseWork(self, self.model, self.controller, self.playback, self.tasks,
                                  lambda: self.settings.output_folder(self.paths), paths.inputs_dir, self._models_ready)

        self._build_menus()
        self._connect()
        self.setAcceptDrops(True)
        self._restore()
        self._update_models_label()
        self._update_actions()
        self.update_plan()
        self._update_progress()
        self.work.offer_unfinished()

    # ----- construction -----
    def _connect(self) -> None:
        sb, st, c = self.sidebar, self.stage, self.controller
        sb.generateRequested.connect(self.generate)
        sb.stopRequested.connect(self.stop)
        sb.enqueueRequested.connect(self.enqueue)
        sb.formChanged.connect(self._form_changed)
        st.keyframeDropped.connect(self.keyframes.place)
        st.keyframeRemoveRequested.connect(self.keyframes.remove)
        st.keyframeMoved.connect(self.move_keyframe)
        self.keyframes.changed.connect(self._form_changed)
        sb.errorRaised.connect(self.show_error)
        st.openVideoRequested.connect(self.open_video)
        st.revealVideoRequested.connect(self.reveal_video)
        st.exportFrameRequested.connect(self.export_frame_dialog)
        st.openLogRequested.connect(self.open_log_folder)
        w = self.work
        st.continueUnfinishedRequested.connect(w.continue_unfinished)
        st.continueStoppedRequested.connect(w.continue_stopped)
        st.extendRequested.connect(w.extend_video)
        st.sectionMenuRequested.connect(w.show_section_menu)
        w.errorRaised.connect(self.show_error)
        w.statusChanged.connect(self.status_text.setText)
        w.runStarting.connect(self._run_starting)
        w.formRequested.connect(self.apply_job)
        w.unfinishedFound.connect(st.offer_unfinished)
        self.transport.moved.connect(self._frame_moved)
        c.eventApplied.connect(self._on_event)
        c.runningChanged.connect(self._running_changed)
        c.runningChanged.connect(self.gc_policy.job_running)
        c.failed.connect(self.show_error)
        self.queue_panel.loadRequested.connect(self.apply_job)
        self.queue_panel.editRequested.connect(self.edit_queued)
        self.queue_panel.revealRequested.connect(lambda output: self.desktop.open(str(Path(output).parent)))
        self.queue_panel.startRequested.connect(c.start_queue)
        self.queue_panel.pauseRequested.connect(c.pause_queue)
        self.history_panel.openRequested.connect(self.desktop.open)
        self.history_panel.revealRequested.connect(self.desktop.reveal)
        self.history_panel.loadRequested.connect(self.load_job_file)
        self.history_panel.viewRequested.connect(self.view_history)
        self.finish_panel.resultReady.connect(self.show_file)
        self.history_panel.deleteRequested.connect(self.delete_video)
        QShortcut(QKeySequence.StandardKey.Paste, self, self.paste_image)
        QShortcut(QKeySequence("Ctrl+Return"), self, self.generate)
        QShortcut(QKeySequence("Ctrl+Shift+Return"), self, self.enqueue)

    def _build_menus(self) -> None:
        bar = self.menuBar()
        file = bar.addMenu("&File")
        file.addAction("Open start image…", QKeySequence.StandardKey.Open, self.sidebar.browse_start_image)
        file.addAction("Load settings from a video…", self.load_job_dialog)
        file.addAction("Export frame as PNG…", QKeySequence("Ctrl+E"), self.export_frame_dialog)
        file.addAction("Continue from this frame", self.work.continue_from_frame)
        file.addAction("Frames kept on disk…", self.set_frame_budget)
        file.addSeparator()
        file.addAction("Quit", QKeySequence.StandardKey.Quit, self.close)
        gen = bar.addMenu("&Generate")
        gen.addAction("Generate now", self.generate)
        gen.addAction("Add to queue", self.enqueue)
        gen.addAction("Start the queue", self.controller.start_queue)
        gen.addAction("Stop", self.stop)
        gen.addAction("Extend video…", self.work.extend_video)
        view = bar.addMenu("&View")
        themes = QActionGroup(self)
        for key, label in (("system", "Follow the system"), ("dark", "Dark"), ("light", "Light")):
            a = QAction(label, self, checkable=True, checked=self.settings.theme == key)
            a.setData(key)
            themes.addAction(a)
            view.addAction(a)
        themes.triggered.connect(self._theme_chosen)
        view.addSeparator()
        self.side_panel_action = QAction("Queue and history panel", self, checkable=True, checked=True)
        self.side_panel_action.setShortcut(QKeySequence("Ctrl+Shift+H"))
        self.side_panel_action.toggled.connect(self.tabs.setVisible)
        view.addAction(self.side_panel_action)
        self.form_panel_action = QAction("Form panel", self, checkable=True, checked=True)
        self.form_panel_action.setShortcut(QKeySequence("Ctrl+Shift+F"))
        self.form_panel_action.toggled.connect(self.sidebar.setVisible)
        view.addAction(self.form_panel_action)
        self.full_screen_action = QAction("Full screen", self, checkable=True)
        self.full_screen_action.setShortcut(QKeySequence(QKeySequence.StandardKey.FullScreen))
        self.full_screen_action.toggled.connect(self.set_full_screen)
        view.addAction(self.full_screen_action)
        helpm = bar.addMenu("&Help")
        helpm.addAction("Models…", self.show_models)
        helpm.addAction("Open log folder", self.open_log_folder)
        helpm.addSeparator()
        helpm.addAction(f"About {TITLE}", self.show_about)

    # ----- the form -----
    def _form_changed(self, *_) -> None:
        if self.model.phase != RUNNING:
            self.plan_timer.start()
        self.sidebar.follow_form()
        self._update_actions()
        self.save_timer.start()

    def form_job(self, output: str = "") -> Job:
        """The Job the form describes (not validated)."""
        return Job(output=output, models=self.settings.models_dir or "demo", loras=self.loras.refs(),
                   keyframes=self.keyframes.items,
                   **self.sidebar.form_values())

    @Slot()
    def update_plan(self) -> None:
        """Show on the timeline what the form would generate, which prompt covers which section."""
        job = self.form_job()
        try:
            plan = Plan.draft(job)
        except BadSettings as e:
            self.sidebar.set_prompt_hint(f"<span style='color:{theme.current().error}'>{e}</span>")
            return
        distinct = len(set(plan.prompts))
        moved = moved_timed_lines(job)
        self.sidebar.set_prompt_hint(
            "; ".join(f"[{a:g}s] starts at {b:g} s, where a section begins" for a, b in moved) if moved else
            f"{distinct} prompts over {job.num_sections} sections — see the timeline" if distinct > 1 else
            "Timed lines like [2s] change the prompt during the video.")
        self.model.random_seed = self.sidebar.wants_random_seed()
        if self.model.phase == RUNNING or self.model.job == job or self.shows_video():
            return
        self.model.show_plan(plan, is_demo_job(job))
        self.model.set_prompt_marks(moved)
        self.controller.frames.clear()
        self.playback.set_fps(job.fps)
        self.playback.set_length(job.num_frames)
        self._update_actions()
        self._update_progress()

    @Slot(float, float)
    def move_keyframe(self, seconds: float, to: float) -> None:
        """A keyframe dragged to another time. Over a video on the stage, the timeline keeps the
        sections the move leaves as they were (their chained fingerprints are unchanged) and marks
        the others as to be made again; otherwise the plan simply follows the form."""
        self.keyframes.move(seconds, to)
        shown = self.model.job
        if not self.shows_video() or seconds not in shown.keyframes:
            return
        path = shown.keyframes[seconds]
        moved = {**{t: p for t, p in shown.keyframes.items() if t != seconds}, round(to, 2): path}
        try:
            old, new = Plan.of(shown), Plan.of(shown.replace(keyframes=moved).validate())
        except UserError as e:
            self.show_error(str(e))
            return
        kept = {s for s, fp in new.prints.items() if old.prints.get(s) == fp}
        self.model.replan(new, kept)
        self.status_text.setText(f"Keyframe moved to {to:g} s: {len(new.sections) - len(kept)} of "
                                 f"{len(new.sections)} sections to make again (Continue makes them)")
        self._update_actions()

    def shows_video(self) -> bool:
        """The stage holds a video (finished, stopped early, or opened from History): the form's
        edits never replace it; only opening another video or starting a generation does."""
        return self.model.phase in (FINISHED, CANCELLED) and self.model.job is not None

    def build_job(self) -> Job:
        """The Job to run, validated, with a fresh random seed when asked and a unique output name."""
        sb = self.sidebar
        if not sb.form_values()["image"] and not sb.form_values()["prompt"].strip():
            raise BadSettings("Choose a start image or write a prompt first: drop an image on the window, paste it, "
                              "or describe the video (without an image it starts from the chosen background).")
        if sb.wants_random_seed():
            sb.set_seed(random.randint(SEED_MIN, SEED_MAX))
        folder = Path(sb.output_folder or self.settings.output_folder(self.paths))
        stem = f"{time.strftime('%Y%m%d-%H%M%S')}-{slug(sb.form_values()['prompt'])}"
        taken = {j.output for j in self.controller.queue.jobs} | {getattr(self.controller.queue.running, "output", "")}
        job = self.form_job(str(fresh_output(folder, stem, taken))).validate()
        Plan.of(job)        # its prompts resolve (a bad timestamp is reported here, not when it runs)
        sb.job_taken()
        return job

    def _job_or_error(self) -> Job | None:
        """The form's job, or None after asking for models or showing what is wrong with it."""
        if not self._models_ready():
            return None
        try:
            return self.build_job()
        except UserError as e:
            self.show_error(str(e))
            return None

    @Slot()
    def generate(self) -> None:
        if self.controller.running:
            self.enqueue()
            return
        job = self._job_or_error()
        if job is None:
            return
        self._editing = None
        self._run_starting()
        self.controller.generate(job)

    @Slot()
    def _run_starting(self) -> None:
        """A job runs now: clear the last message, follow its frames."""
        self.stage.dismiss_banner()
        self.transport.following = True

    @Slot()
    def enqueue(self) -> None:
        job = self._job_or_error()
        if job is None:
            return
        if self._editing is not None and self.controller.queue.replace(self._editing, job):
            self._editing = None
            self.status_text.setText("The queued job was replaced by the form's settings")
            return
        self._editing = None
        self.controller.submit(job)
        self.tabs.setCurrentWidget(self.queue_panel)
        if not self.controller.running or self.controller.queue.jobs:
            self.status_text.setText(f"Added to the queue ({len(self.controller.queue)} waiting)")

    @Slot()
    def stop(self) -> None:
        if self.controller.running:
            self.controller.stop()
            self.sidebar.set_stopping()

    def _models_ready(self) -> bool:
        if self.settings.models_chosen:
            return True
        self.ask_for_models()
        return self.settings.models_chosen

    # ----- engine events -----
    @Slot(object)
    def _on_event(self, event: Event) -> None:
        self.transport.show_event(event)
        if isinstance(event, JobStarted):
            self.show_plan(event.plan, event.plan_reasons)
            self._update_models_label()
        elif isinstance(event, Status) and event.notice:
            self.stage.show_notice(event.text)
        elif isinstance(event, (Finished, Cancelled)):
            if isinstance(event, Finished):
                self.status_text.setText(f"Saved {event.video}")
                self.keep_frame_budget(event.video)
            self.work.refresh_takes()
        self._update_progress()
        self._update_actions()

    def show_plan(self, plan: str, reasons: tuple[str, ...]) -> None:
        """The memory plan in the status bar: "cuda: transformer fp8, group offload (...); VAE decode tiled"."""
        self.plan_label.setText(plan)
        self.plan_label.setToolTip("\n".join(["Why:", *(f"• {r}" for r in reasons)]) if reasons else "")

    @Slot(bool)
    def _running_changed(self, running: bool) -> None:
        self.sidebar.set_running(running)
        self._update_actions()
        if not running:         # no "Generating…" left over once the run is over
            self._update_progress()
            m = self.model
            name = Path(m.video or (m.job.output if m.job else "")).name
            self.status_text.setText({FINISHED: f"Saved {m.video}", CANCELLED: f"Stopped: {name}" if m.video else
                                      "Stopped before a frame was made"}.get(m.phase, m.status))
        if not running and self._closing:
            self.close()

    def _update_progress(self) -> None:
        m, sb = self.model, self.sidebar
        steps = m.job.steps if m.job else 1
        total = steps * len(m.sections)
        done = sum(steps if s.state == DONE else s.step for s in m.sections)
        current = m.sampling_section
        if current is not None and current.state == SAMPLING and m.status.startswith("Sampling"):
            text = f"Sampling section {current.section + 1} of {len(m.sections)} · step {current.step}/{current.steps}"
        else:
            text = m.status
        fraction = done / total if m.phase != IDLE and total else 0.0
        sb.show_progress(fraction, text, f"ETA {format_eta(m.eta_s)}" if m.phase == RUNNING else "")
        if m.phase == RUNNING:
            self.queue_panel.show_running(fraction, text, self._newest_picture())
        if m.phase == RUNNING and m.job is not None:
            waiting = len(self.controller.queue)
            self.status_text.setText(f"Generating {Path(m.job.output).name}" +
                                     (f" · {waiting} more in the queue" if waiting else ""))

    def _newest_picture(self):
        """The running job's newest picture: the preview being sampled, else its last film-strip frame."""
        m = self.model
        current = m.sampling_section
        if current is not None and current.preview is not None:
            return current.preview
        return m.thumbnails[max(m.thumbnails)] if m.thumbnails else None

    def _is_running(self) -> bool:
        return self.controller.running

    # ----- player and timeline -----
    @Slot(int)
    def user_seek(self, frame: int) -> None:
        self.transport.user_seek(frame)

    @Slot(int)
    def _frame_moved(self, frame: int) -> None:
        self._update_actions()

    def keyPressEvent(self, e: QKeyEvent) -> None:
        if self.transport.handle_key(Qt.Key(e.key())):
            e.accept()
        else:
            super().keyPressEvent(e)

    # ----- results -----
    def _update_actions(self) -> None:
        video = self.model.video
        has_video = bool(video) and Path(video).exists()
        idle = not self.controller.running
        stopped = " (stopped early)" if self.model.phase == CANCELLED else ""
        self.stage.show_result(video if has_video else None,
                               f"Saved{stopped}: {Path(video).name}" if has_video else "",
                               can_continue=idle and self.model.job is not None and (
                                   self.model.phase == CANCELLED or self.model.has_changed_sections()),
                               can_extend=idle and has_video and self.model.phase == FINISHED)
        self.stage.set_actions(has_video, self.model.is_ready(self.playback.position))
        self.finish_panel.set_source(video if has_video else "")

    @Slot()
    def open_video(self) -> None:
        if self.model.video:
            self.desktop.open(self.model.video)

    @Slot()
    def reveal_video(self) -> None:
        if self.model.video:
            self.desktop.reveal(self.model.video)

    def export_frame(self, path: str | Path) -> Path | None:
        """Save the frame at the playhead as PNG; None when the file exists and the user keeps it;
        raises UserError when there is no frame or it cannot be written."""
        frame = self.stage.current_frame()
        if frame is None:
            raise BadSettings("There is no generated frame at the playhead to export yet.")
        path = Path(path)
        if (path.exists() or path.is_symlink()) and not self.ask_overwrite(path):
            return None
        if not to_qimage(frame).save(str(path), "PNG"):
            raise BadSettings(f"Could not write '{path}'. Choose a folder you can write to.")
        return path

    @Slot()
    def export_frame_dialog(self) -> None:
        video = Path(self.model.video or self.form_job().image or "frame")
        suggestion = video.with_name(f"{video.stem}-frame{self.playback.position:05d}.png")
        path, _ = QFileDialog.getSaveFileName(self, "Export frame", str(suggestion), "PNG image (*.png)",
                                              options=QFileDialog.Option.DontConfirmOverwrite)
        if path:
            try:
                saved = self.export_frame(path)
            except UserError as e:
                self.show_error(str(e))
                return
            self.status_text.setText(f"Saved {saved}" if saved else f"Kept {Path(path).name}: nothing was saved")

    def ask_overwrite(self, path: Path) -> bool:
        """Whether the user agrees to replace the existing file `path`. Tests replace this with an answer."""
        answer = QMessageBox.question(
            self, "Replace file", f"'{path.name}' already exists in {path.parent}.\n\nReplace it?",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    # ----- loading jobs, history -----
    @Slot(str)
    def show_file(self, path: str) -> None:
        """Play a video file that has no frame store (a Finish result, any MP4) in the player,
        decoded by index; what PyAV cannot play as one video (a PNG folder) opens in the system."""
        if self.controller.running:
            self.desktop.open(path)
            return
        try:
            video = SeekableVideo(path)
        except (BadVideo, OSError):
            self.desktop.open(path)
            return
        self.controller.frames.attach_video(video)
        self.model.show_file(path, video.frames, float(video.fps), (video.height, video.width))
        self.playback.set_fps(float(video.fps))
        self.playback.set_length(video.frames)
        self.playback.seek(0)
        self.work.refresh_takes()
        self._update_actions()
        self._update_progress()
        self.status_text.setText(f"Showing {Path(path).name}")

    def load_job_file(self, path: str | Path) -> bool:
        """Fill the form from a video made by this app (its embedded job) or a job JSON."""
        path = Path(path)
        try:
            job = read_job(path)
        except (UserError, OSError) as e:
            self.show_error(str(e))
            return False
        self.apply_job(job)
        self.status_text.setText(f"Loaded the settings of {path.name}")
        return True

    @Slot(object)
    def apply_job(self, job: Job) -> None:
        missing = self.sidebar.load_job(job)
        self.loras.set_refs(job.loras)
        self.keyframes.load(job.keyframes)
        if missing:
            self.show_error(f"These images of the loaded job no longer exist: {', '.join(missing)}. "
                            "Drop them again to reuse the settings.")
        self._form_changed()

    @Slot(int, object)
    def edit_queued(self, item_id: int, job: Job) -> None:
        """A queued job in the form; "Add to queue" puts the edited one in its place."""
        self.apply_job(job)
        self._editing = item_id
        self.status_text.setText("Editing a queued job: “Add to queue” replaces it")

    def load_job_dialog(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Load settings from a video", "",
                                              "Videos or job files (*.mp4 *.json)")
        if path:
            self.load_job_file(path)

    @Slot(object)
    def view_history(self, entry: HistoryEntry) -> None:
        """Show a finished video in the player again, from its job folder's frame store."""
        if self.controller.running:
            self.show_error("A video is being generated; watch this one when it is done, or open it in your player.")
            return
        try:
            source = Path(entry.job_json) if Path(entry.job_json).is_file() else Path(entry.video)
            job = read_job(source)
            store_dir = job.job_dir / "frames"
            with FrameStore.open(store_dir) as store:
                span, size = store.valid_span(), (store.height, store.width)
        except (UserError, OSError, FrameStoreCorrupt, ValueError) as e:
            if Path(entry.video).is_file():
                self.show_file(entry.video)     # a finished copy, or frames dropped: the file itself
                if disk.frame_store_of(entry.video).parent.is_dir():
                    self.status_text.setText(f"Playing {Path(entry.video).name} from the file: its frames were "
                                             "dropped to keep the disk budget (File → Frames kept on disk)")
            else:
                self.show_error(f"This video's working files are gone ({e}).")
            return
        self.controller.frames.clear()
        self.controller.frames.attach(str(store_dir))
        self.model.show_video(Plan.of(job), str(store_dir), span, size, entry.video, is_demo_job(job))
        self.playback.set_fps(job.fps)
        self.playback.set_length(job.num_frames)
        self.playback.seek(span[0])
        self.work.refresh_takes()
        self._update_actions()
        self._update_progress()             # not the last run's "Finished in …"
        self.status_text.setText(f"Showing {Path(entry.video).name}")

    @Slot(object)
    def delete_video(self, entry: HistoryEntry) -> None:
        """Delete a video with its job folder, after asking; the stage drops it if it showed it."""
        running = self.controller.queue.running
        if running is not None and disk.files_of(running.output)[1] == disk.files_of(entry.video)[1]:
            self.show_error("This video is being generated; stop it first, then delete it.")
            return
        if not self.confirm_delete(entry):
            return
        try:
            freed = disk.delete_video(entry.video)
        except OSError as e:
            self.show_error(f"Could not delete {Path(entry.video).name} ({e}). Close any program that has it open.")
            return
        self.controller.history.remove(entry.video)
        if self.model.video and disk.files_of(self.model.video)[1] == disk.files_of(entry.video)[1]:
            self.controller.frames.clear()
            job = self.form_job()
            try:
                self.model.show_plan(Plan.draft(job), is_demo_job(job))
            except BadSettings:
                pass            # the form is incomplete: its plan shows once it is valid
            self._update_actions()
        self.status_text.setText(f"Deleted {Path(entry.video).name} and its working files ({disk.human(freed)})")

    def keep_frame_budget(self, shown: str) -> None:
        """Drop the frame stores of older finished videos beyond the budget (off the GUI thread)."""
        videos = [h.video for h in self.controller.history.entries if not h.cancelled]
        budget = int(self.settings.frame_budget_gb * 1e9)
        self.tasks.run(disk.prune_frame_stores, videos, budget, {shown}, returned=self._frames_dropped,
                       errored=self._prune_failed)

    @Slot(object)
    def _frames_dropped(self, dropped: list) -> None:
        if dropped:
            log.info("frame stores dropped to keep the %.1f GB budget: %s", self.settings.frame_budget_gb, dropped)

    @Slot(object)
    def _prune_failed(self, error: BaseException) -> None:
        if not isinstance(error, OSError):
            raise error
        log.warning("could not drop old frame stores: %s", error)

    def ask_frame_budget(self) -> float | None:
        """The disk budget for frame stores in GB, or None. Tests replace this with an answer."""
        value, ok = QInputDialog.getDouble(
            self, "Frames kept on disk", "Disk for the frames of finished videos (GB); the oldest are dropped "
            "first. Their MP4s and sections stay; scrubbing and Extend need the frames.",
            self.settings.frame_budget_gb, 0.0, 10_000.0, 1)
        return value if ok else None

    def set_frame_budget(self) -> None:
        value = self.ask_frame_budget()
        if value is not None:
            self.settings.frame_budget_gb = value
            save_settings(self.paths, self.settings)

    def confirm_delete(self, entry: HistoryEntry) -> bool:
        """Whether the user agrees to delete the video and its working files. Tests replace this."""
        answer = QMessageBox.question(
            self, "Delete video", f"Delete {Path(entry.video).name} and its working files "
            f"({disk.human(disk.disk_use(entry.video))})?\n\nThe sections, takes and frames go too; this cannot be undone.")
        return answer == QMessageBox.StandardButton.Yes

    # ----- drops and paste -----
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        mime = e.mimeData()
        if is_image_drop(mime) or any(p.suffix.lower() in JOB_SUFFIXES | VIDEO_SUFFIXES for p in local_files(mime)):
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        self.handle_drop(e.mimeData())
        e.acceptProposedAction()

    def handle_drop(self, mime: QMimeData) -> None:
        files = local_files(mime)
        jobs = [p for p in files if p.suffix.lower() == ".json"]
        videos = [p for p in files if p.suffix.lower() in VIDEO_SUFFIXES]
        images = [p for p in files if p.suffix.lower() in IMAGE_SUFFIXES]
        if jobs:
            self.load_job_file(jobs[0])
        elif videos:
            self.drop_video(videos[0])
        elif len(images) > 1:
            self.queue_images(images)
        else:
            self.sidebar.drop_image(mime)

    def queue_images(self, images: list[Path]) -> None:
        """Several images dropped at once: a batch, one queued job each with the form's settings,
        named so they sort (engine/batch.py); the first image stays in the form."""
        try:
            for image in images:
                load_image(image)           # a bad file is named now, not when its turn comes
        except UserError as e:
            self.show_error(str(e))
            return
        if not self.sidebar.start.load(str(images[0])):
            return
        job = self._job_or_error()
        if job is None:
            return
        self.controller.queue.add_group(batch_jobs(job, [str(p) for p in images]))
        self.tabs.setCurrentWidget(self.queue_panel)
        self.status_text.setText(f"Added a batch of {len(images)} jobs to the queue, one per image")

    def drop_video(self, path: Path) -> None:
        """A video of ours: load its settings or continue it (asked); any other: continue it."""
        try:
            ours = path.suffix.lower() == ".mp4" and read_job_metadata(path) is not None
        except UserError:
            ours = False  # not readable as ours: continuing it says what is wrong with it
        answer = self.ask_video_use(path.name) if ours else "continue"
        if answer == "settings":
            self.load_job_file(path)
        elif answer == "continue":
            self.work.continue_clip(path, self.form_job())

    def ask_video_use(self, name: str) -> str:
        """'settings', 'continue' or '' (cancelled) for a dropped video of ours. Tests replace this."""
        box = QMessageBox(QMessageBox.Icon.Question, "A video made by this app",
                          f"{name} was made by this app. Load its settings into the form, or continue the video?",
                          QMessageBox.StandardButton.Cancel, self)
        settings = box.addButton("Load settings", QMessageBox.ButtonRole.AcceptRole)
        go_on = box.addButton("Continue this video", QMessageBox.ButtonRole.ActionRole)
        box.exec()
        clicked = box.clickedButton()
        box.deleteLater()
        return "settings" if clicked is settings else "continue" if clicked is go_on else ""

    @Slot()
    def paste_image(self) -> None:
        self.sidebar.paste_image(self.focusWidget())

    # ----- messages, models, theme -----
    @Slot(str)
    @Slot(str, str)
    def show_error(self, message: str, detail: str = "") -> None:
        self.stage.show_error(message, detail)

    @Slot(str, str)
    def show_crash(self, message: str, detail: str) -> None:
        self.stage.show_error(message, detail, log_button=True)

    @Slot()
    def open_log_folder(self) -> None:
        self.desktop.open(str(self.paths.log_dir))

    def ask_for_models(self) -> None:
        dialog = ModelsDialog(self.paths.models_dir, self.settings.models_dir, self, gpu=self.has_gpu)
        accepted = dialog.exec()
        dialog.deleteLater()
        if accepted and dialog.choice:
            self.settings.models_dir = dialog.choice
            save_settings(self.paths, self.settings)
            self._update_models_label()
            self.update_plan()

    def about_text(self) -> str:
        return (f"<b>{TITLE}</b> {__version__}<br>Image + prompt → a video of any length, with the FramePack "
                f"method (lllyasviel), on this computer.<br>Settings, queue and history: {self.paths.config_dir}"
                f"<br>Logs: {self.paths.log_dir}")

    def show_about(self) -> None:
        QMessageBox.about(self, f"About {TITLE}", self.about_text())

    def show_models(self) -> None:
        """Help → Models: what is installed (the first-start dialog while none is chosen)."""
        if not self.settings.models_chosen:
            self.ask_for_models()
            return
        window = self.models_window()
        window.exec()
        window.deleteLater()

    def models_window(self) -> ModelsWindow:
        spec = self.settings.models_dir
        # "demo" is the engine's demo set in the app's data folder (engine/models/loader.demo_models_dir)
        folder = str(self.paths.data_dir / "models-demo") if spec == "demo" else spec
        window = ModelsWindow(folder, self.tasks, self)
        window.folderChosen.connect(self._models_folder_chosen)
        window.downloadRequested.connect(self.ask_for_models)
        return window

    @Slot(str)
    def _models_folder_chosen(self, folder: str) -> None:
        self.settings.models_dir = folder
        save_settings(self.paths, self.settings)
        self._update_models_label()
        self.update_plan()

    def check_speed_support(self, support, models: str | None) -> None:
        """Offer compile and fp8 compute only where they run. `support` (engine/speed) may run the
        fp8 quality check (22.6 s on a 2-core CPU the first time), so it runs off the GUI thread;
        until it answers both stay off."""
        checking = "this computer is still being checked"
        self.sidebar.set_speed_support(checking, checking)
        self.tasks.run(support, "auto", models, returned=self._speed_support_known, errored=self._speed_check_failed)

    @Slot(object)
    def _speed_support_known(self, problems: tuple[str | None, str | None]) -> None:
        self.sidebar.set_speed_support(*problems)

    @Slot(object)
    def _speed_check_failed(self, error: BaseException) -> None:
        log.error("the speed check failed", exc_info=error)
        why = f"the check of this computer failed ({type(error).__name__}: {error})"
        self.sidebar.set_speed_support(why, why)

    def _update_models_label(self) -> None:
        demo = self.model.demo or self.settings.models_dir == "demo"
        self.setWindowTitle(f"{TITLE} — demo models (random weights)" if demo else TITLE)

    @Slot(bool)
    def set_full_screen(self, on: bool) -> None:
        """Watch a video big: the window fills the screen (View → Full screen; the panels can be hidden too)."""
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    def _theme_chosen(self, action: QAction) -> None:
        self.settings.theme = action.data()
        self.apply_theme()

    @Slot()
    def follow_system_theme(self) -> None:
        if self.settings.theme == "system":
            self.apply_theme()

    def apply_theme(self) -> None:
        theme.apply(QApplication.instance(), self.settings.theme)
        self.sidebar.restyle()
        self.update()

    # ----- persistence and closing -----
    def _restore(self) -> None:
        s = self.settings
        state = s.ui_state
        if "splitter" in state:
            self.splitter.restoreState(QByteArray.fromBase64(state["splitter"].encode()))
        self.side_panel_action.setChecked(state.get("side_panel", "1") == "1")
        if "geometry" in state:
            self.restoreGeometry(QByteArray.fromBase64(state["geometry"].encode()))
        else:
            self._first_size()
        self.sidebar.restore(s.last_job, s.random_seed, s.output_dir)
        if s.last_job:
            self.loras.set_refs(s.last_job.get("loras", ()))
        self.has_gpu = TelemetrySampler().sample().has_gpu
        if not self.has_gpu:
            self.sidebar.set_cpu_only(first_start=not s.last_job)

    def _first_size(self) -> None:
        """First start: 85 % of the screen; on a small or 200 %-scaled screen, no side panel."""
        screen = self.screen().availableGeometry()
        if screen.width() < 1300:
            self.side_panel_action.setChecked(False)
        self.resize(min(1600, int(screen.width() * 0.85)) or 1600, min(960, int(screen.height() * 0.85)) or 960)

    def save_state(self) -> None:
        s = self.settings
        s.ui_state = {"geometry": bytes(self.saveGeometry().toBase64()).decode(),
                      "splitter": bytes(self.splitter.saveState().toBase64()).decode(),
                      "side_panel": "1" if self.side_panel_action.isChecked() else "0"}
        s.last_job = {k: v for k, v in self.form_job().to_dict().items()
                      if k not in ("output", "format", "section_seeds", "section_prompts", "models")}
        s.random_seed = self.sidebar.wants_random_seed()
        s.output_dir = self.sidebar.output_folder
        save_settings(self.paths, s)

    def ask_stop_and_quit(self) -> bool:
        """Closing while generating: ask first. Tests replace this with an answer."""
        answer = QMessageBox.question(
            self, "Stop and quit?",
            "A video is being generated. Stop it and quit? The finished sections are kept, and the job "
            "waits at the top of the queue to continue next time.",
            QMessageBox.StandardButton.Yes | QMessageBox.StandardButton.No, QMessageBox.StandardButton.No)
        return answer == QMessageBox.StandardButton.Yes

    def closeEvent(self, e: QCloseEvent) -> None:
        if self.controller.running:
            if self._closing or self.ask_stop_and_quit():
                if not self._closing:
                    self._closing = True
                    self._requeue = self.controller.current.job
                    self.controller.stop()
                    self.sidebar.set_stopping()
                    self.status_text.setText("Stopping the generation before quitting…")
            e.ignore()
            return
        if self._requeue is not None:
            self.controller.queue.add(self._requeue, front=True)
            self._requeue = None
        self.transport.stop()
        self.save_timer.stop()
        self.meter.stop()
        self.save_state()
        e.accept()


def run_gui(argv: list[str]) -> int:
    """Start the application: logging, crash reporting, theme, the window; returns the exit code."""
    app = QApplication.instance() or QApplication(argv)
    app.setApplicationName(TITLE)
    app.setOrganizationName("FramePackDesktop")
    app.setWindowIcon(theme.icon("app", "#2f6fec"))
    paths = AppPaths.default().ensure()
    setup_logging(paths)
    reporter = CrashReporter(paths)
    reporter.install()
    settings = load_settings(paths)
    theme.apply(app, settings.theme)
    # OpenMP threads that spin while idle take the CPU from the GUI thread (measured: longer
    # stalls on small machines); they must sleep. Only effective before torch is first imported.
    os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
    # Import the engine (and torch) now, before the window shows, not in the middle of a click.
    from ..engine.runner import run_job
    from ..engine.session import ModelSession

    from ..engine.preload import preload

    preload()       # the model libraries' import litter goes before the GC policy freezes survivors
    from ..engine.speed import support

    window = MainWindow(paths, settings, run_job=run_job, session_factory=ModelSession)
    window.check_speed_support(support, settings.models_dir or None)
    window.gc_policy.install()
    reporter.crashed.connect(window.show_crash)
    app.styleHints().colorSchemeChanged.connect(window.follow_system_theme)
    window.show()
    if not settings.models_chosen:
        QTimer.singleShot(0, window.ask_for_models)
    log.info("window shown")
    code = app.exec()
    QThreadPool.globalInstance().waitForDone()   # background disk work ends before the interpreter does
    window.gc_policy.uninstall()
    reporter.uninstall()
    return code

