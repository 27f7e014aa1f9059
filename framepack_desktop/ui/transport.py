"""Which frame the window shows, and whether the playhead follows the newest frames.

While a job runs the playhead follows the section being sampled (its live latent preview is on the
stage) and then what the engine decodes (the newest section: backwards for the original model,
forwards for F1), until the user moves it; the stage's Follow toggle or Generate follows again. A 30 Hz
timer repaints what changed since the last tick, never once per engine event, and fills the film
strip of a video reopened from history a few frames per tick. Its dependencies are named in the
constructor; it touches the stage and the side panel only through their intents.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Qt, QTimer, Signal, Slot

from ..engine.events import Cancelled, Event, Finished, JobStarted, SectionDecoded, StepProgress
from .frame_cache import FrameCache
from .playback import Playback
from .sidebar import Sidebar
from .stage import Stage
from .timeline_model import RUNNING, TimelineModel

REFRESH_MS = 33


class Transport(QObject):
    moved = Signal(int)             # the frame shown changed (what the window's actions depend on)

    def __init__(self, model: TimelineModel, playback: Playback, stage: Stage, sidebar: Sidebar, frames: FrameCache,
                 parent: QObject | None = None):
        super().__init__(parent)
        self.model, self.playback, self.stage, self.sidebar, self.frames = model, playback, stage, sidebar, frames
        self._following = True
        self._seen_revision = -1
        self.timer = QTimer(self)
        self.timer.setInterval(REFRESH_MS)
        self.timer.timeout.connect(self.refresh)
        self.timer.start()
        stage.seekRequested.connect(self.user_seek)
        stage.stepRequested.connect(self.step)
        stage.playToggled.connect(playback.toggle)
        stage.loopToggled.connect(playback.set_loop)
        stage.followToggled.connect(self.follow_generation)
        stage.speedChosen.connect(playback.set_speed)
        playback.positionChanged.connect(self._position_changed)
        playback.playingChanged.connect(stage.set_playing)

    def stop(self) -> None:
        """The window closes: no more ticks, no more playing."""
        self.timer.stop()
        self.playback.pause()

    @property
    def following(self) -> bool:
        return self._following

    @following.setter
    def following(self, on: bool) -> None:
        self._following = on
        self.stage.set_following(on)

    @Slot(bool)
    def follow_generation(self, on: bool) -> None:
        """The Follow toggle: back to the section being sampled (or the newest frames) at once."""
        self.following = on
        m = self.model
        if on and m.phase == RUNNING:
            current = m.sampling_section
            self.playback.seek(current.start_frame if current is not None else max(m.ready_end - 1, m.ready_start))

    # ----- the user moves the playhead -----
    @Slot(int)
    def user_seek(self, frame: int) -> None:
        self.following = False
        self.playback.pause()
        self.playback.seek(frame)

    @Slot(str)
    def step(self, where: str) -> None:
        """"home", "back", "forward" or "end"; the playhead stops following the newest frames."""
        self.following = False
        {"home": self.playback.home, "end": self.playback.end,
         "back": lambda: self.playback.step(-1), "forward": lambda: self.playback.step(+1)}[where]()

    def handle_key(self, key: Qt.Key) -> bool:
        """Space plays or pauses, arrows step, Home/End jump; False for any other key."""
        steps = {Qt.Key.Key_Left: "back", Qt.Key.Key_Right: "forward", Qt.Key.Key_Home: "home", Qt.Key.Key_End: "end"}
        if key == Qt.Key.Key_Space:
            self.playback.toggle()
        elif key in steps:
            self.step(steps[key])
        else:
            return False
        return True

    @Slot(int)
    def _position_changed(self, frame: int) -> None:
        self.stage.follow(frame, self.model.num_frames, self.model.fps)
        self.sidebar.set_playhead(frame / max(self.model.fps, 1))
        self.moved.emit(frame)

    # ----- the engine adds frames -----
    def show_event(self, event: Event) -> None:
        """Follow the newest frames (unless the user moved the playhead) and repaint the player
        when what it shows changed."""
        m = self.model
        if isinstance(event, JobStarted):
            self.playback.set_fps(event.fps)
            self.playback.set_length(event.num_frames)
            if event.ready_end > event.ready_start and self.following:
                self.playback.seek(event.ready_start)     # a resumed job's frames are there already
        elif isinstance(event, SectionDecoded):
            if self.following:
                self.playback.seek(event.start_frame if m.job and m.job.variant == "original"
                                   else max(event.ready_end - len(event.frames), 0))
            self.stage.repaint_frame()
        elif isinstance(event, StepProgress):
            section = m.sections[event.section]
            if self.following and m.section_at(self.playback.position) is not section:
                self.playback.seek(section.start_frame)      # its latent preview, on the stage
            if m.section_at(self.playback.position) is section:
                self.stage.repaint_frame()
        elif isinstance(event, (Finished, Cancelled)):
            self.stage.repaint_frame()

    @Slot()
    def refresh(self) -> None:
        """30 Hz: repaint what changed since the last tick (never per engine event)."""
        self.stage.refresh()
        if self.model.revision != self._seen_revision:
            self._seen_revision = self.model.revision
            self.playback.set_length(self.model.num_frames)
            self.stage.show_position(self.playback.position, self.model.num_frames, self.model.fps)
            self.stage.repaint_frame()
        self._fill_thumbnails()

    def _fill_thumbnails(self, per_tick: int = 4) -> None:
        """A video reopened from history has no film strip yet: read a few frames per tick."""
        missing = self.model.missing_thumbnails()[:per_tick]
        for i in missing:
            frame = self.frames.get(i)
            if frame is not None:
                self.model.add_thumbnail(i, frame)
        if missing:
            self.stage.repaint_timeline()
