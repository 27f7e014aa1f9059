"""The centre of the window: the player, its transport controls, the timeline and the result buttons.

The window talks to it through intents: the signals below say what the user asked for, the
methods what to show. Which child widget does it is the stage's own business.
"""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMenu, QPushButton, QToolButton, QVBoxLayout, QWidget

from . import theme
from .elided_label import ElidedLabel
from .error_banner import ErrorBanner
from .frame_cache import FrameCache
from .player import PlayerView
from .resume_banner import ResumeBanner
from .timeline import TimelineView
from .timeline_model import TimelineModel


SPEEDS = (0.25, 0.5, 1.0, 2.0)


def timecode(frame: int, fps: int) -> str:
    s = frame / max(fps, 1)
    return f"{int(s // 60)}:{s % 60:05.2f}"


class Stage(QWidget):
    seekRequested = Signal(int)                 # the user put the playhead on a frame
    stepRequested = Signal(str)                 # "home", "back", "forward", "end"
    playToggled = Signal()
    followToggled = Signal(bool)                # the playhead follows the section being made, or not
    speedChosen = Signal(float)                 # playback speed (right-click on Play)
    loopToggled = Signal(bool)
    openVideoRequested = Signal()
    revealVideoRequested = Signal()
    exportFrameRequested = Signal()
    openLogRequested = Signal()
    continueUnfinishedRequested = Signal(object)    # an UnfinishedJob
    continueStoppedRequested = Signal()
    extendRequested = Signal()
    sectionMenuRequested = Signal(int, QPoint)
    keyframeDropped = Signal(float, str)        # an image dragged onto the timeline: seconds, path
    keyframeRemoveRequested = Signal(float)
    keyframeMoved = Signal(float, float)        # a keyframe's marker dragged along the timeline: from, to

    def __init__(self, model: TimelineModel, frames: FrameCache, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Stage")
        self.banner = ErrorBanner()
        self.resume = ResumeBanner()
        self.player = PlayerView(model, frames)
        self.timeline = TimelineView(model)

        self.to_start = self._transport("to-start", "First frame (Home)")
        self.back = self._transport("step-back", "Previous frame (←)")
        self.play = self._transport("play", "Play / pause (Space) · 1× (right-click for the speed)")
        self.speed = 1.0
        self.forward = self._transport("step-forward", "Next frame (→)")
        self.to_end = self._transport("to-end", "Last frame (End)")
        self.loop = self._transport("loop", "Loop")
        self.loop.setCheckable(True)
        self.loop.setChecked(True)
        self.follow_button = QToolButton(objectName="Transport")
        self.follow_button.setText("Follow")
        self.follow_button.setIcon(theme.icon("spark"))
        self.follow_button.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonIconOnly)     # 1024 px wide windows
        self.follow_button.setToolTip("Follow the generation: show the section being sampled as it is made "
                                      "(off once you move the playhead; click to come back)")
        self.follow_button.setCheckable(True)
        self.follow_button.setChecked(True)
        self.follow_button.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        self.follow_button.setAutoRaise(True)
        self.time = QLabel(objectName="TimeLabel")
        self.frame_label = QLabel(objectName="Hint")
        for label, widest in ((self.time, "0:00.00 / 0:00.00"), (self.frame_label, "0000 / 0000")):
            label.ensurePolished()          # the style sheet's font (monospace for the time) is in effect
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(widest) + 6)
        self.export = self._transport("image", "Export the frame at the playhead as PNG (Ctrl+E)")

        self.result = QFrame(objectName="ResultBar")
        self.result_text = ElidedLabel()
        self.result_text.setMinimumWidth(80)
        self.open_video = QPushButton("Open video")
        self.open_video.setIcon(theme.icon("film"))
        self.reveal = QPushButton("Show in folder")
        self.reveal.setIcon(theme.icon("folder"))
        self.resume_job = QPushButton("Continue")
        self.resume_job.setIcon(theme.icon("play"))
        self.resume_job.setToolTip("Go on where it stopped: the finished sections are kept")
        self.extend = QPushButton("Extend video…")
        self.extend.setIcon(theme.icon("plus"))
        self.extend.setToolTip("Add seconds to the end of this video (F1 continues from its last frames)")
        for b in (self.open_video, self.reveal, self.resume_job, self.extend):
            b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        rl = QHBoxLayout(self.result)
        rl.setContentsMargins(12, 6, 6, 6)
        rl.setSpacing(8)
        rl.addWidget(self.result_text, 1)
        rl.addWidget(self.resume_job)
        rl.addWidget(self.extend)
        rl.addWidget(self.open_video)
        rl.addWidget(self.reveal)
        self.result.hide()

        player_frame = QFrame(objectName="PlayerFrame")
        pl = QVBoxLayout(player_frame)
        pl.setContentsMargins(1, 1, 1, 1)
        pl.addWidget(self.player)

        transport = QHBoxLayout()
        transport.setSpacing(2)
        for b in (self.to_start, self.back, self.play, self.forward, self.to_end):
            transport.addWidget(b)
        transport.addWidget(self.loop)
        transport.addWidget(self.follow_button)
        transport.addWidget(self.time)
        transport.addWidget(self.frame_label)
        transport.addStretch(1)
        transport.addWidget(self.export)

        timeline_frame = QFrame(objectName="TimelineFrame")
        tl = QVBoxLayout(timeline_frame)
        tl.setContentsMargins(8, 6, 8, 8)
        tl.setSpacing(6)
        tl.addLayout(transport)
        tl.addWidget(self.timeline)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(10, 10, 10, 10)
        lay.setSpacing(8)
        lay.addWidget(self.banner)
        lay.addWidget(self.resume)
        lay.addWidget(player_frame, 1)
        lay.addWidget(self.result)
        lay.addWidget(timeline_frame)
        self._forward_intents()

    def _forward_intents(self) -> None:
        self.timeline.seekRequested.connect(self.seekRequested)
        self.timeline.sectionMenuRequested.connect(self.sectionMenuRequested)
        self.timeline.keyframeDropped.connect(self.keyframeDropped)
        self.timeline.keyframeRemoveRequested.connect(self.keyframeRemoveRequested)
        self.timeline.keyframeMoved.connect(self.keyframeMoved)
        for button, step in ((self.to_start, "home"), (self.back, "back"), (self.forward, "forward"),
                             (self.to_end, "end")):
            button.clicked.connect(lambda _=False, s=step: self.stepRequested.emit(s))
        self.play.clicked.connect(self.playToggled)
        self.play.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.play.customContextMenuRequested.connect(lambda pos: self.speed_menu().popup(self.play.mapToGlobal(pos)))
        self.loop.toggled.connect(self.loopToggled)
        self.follow_button.clicked.connect(self.followToggled)
        self.open_video.clicked.connect(self.openVideoRequested)
        self.reveal.clicked.connect(self.revealVideoRequested)
        self.export.clicked.connect(self.exportFrameRequested)
        self.banner.openLogRequested.connect(self.openLogRequested)
        self.resume.continueRequested.connect(self.continueUnfinishedRequested)
        self.resume_job.clicked.connect(self.continueStoppedRequested)
        self.extend.clicked.connect(self.extendRequested)

    # ----- what to show -----
    def show_error(self, message: str, detail: str = "", log_button: bool = False) -> None:
        self.banner.show_error(message, detail, log_button)

    def show_notice(self, message: str) -> None:
        self.banner.show_notice(message)

    def dismiss_banner(self) -> None:
        self.banner.dismiss()

    def offer_unfinished(self, jobs: list) -> None:
        self.resume.set_jobs(jobs)

    def repaint_frame(self) -> None:
        self.player.update()

    def current_frame(self):
        """The frame the player shows (RGB uint8), or None."""
        return self.player.current_frame()

    def refresh(self) -> None:
        """The 30 Hz tick: the timeline repaints what changed."""
        self.timeline.refresh()

    def repaint_timeline(self) -> None:
        """The film strip's pictures changed (they are not part of the model's revision)."""
        self.timeline.update()

    def follow(self, frame: int, num_frames: int, fps: int) -> None:
        """The playhead moved: player, timeline and time labels show `frame`."""
        self.player.show_frame(frame)
        self.timeline.set_position(frame)
        self.show_position(frame, num_frames, fps)

    def set_actions(self, has_video: bool, can_export: bool) -> None:
        self.open_video.setEnabled(has_video)
        self.reveal.setEnabled(has_video)
        self.export.setEnabled(can_export)

    def _transport(self, icon: str, tip: str) -> QToolButton:
        b = QToolButton(objectName="Transport")
        b.setIcon(theme.icon(icon))
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.setAutoRaise(True)
        return b

    def speed_menu(self) -> QMenu:
        """Right-click on Play: the playback speed."""
        menu = QMenu(self)
        for speed in SPEEDS:
            action = menu.addAction(f"{speed:g}×", lambda s=speed: self._choose_speed(s))
            action.setCheckable(True)
            action.setChecked(speed == self.speed)
        menu.aboutToHide.connect(menu.deleteLater)
        return menu

    def _choose_speed(self, speed: float) -> None:
        self.speed = speed
        self.play.setToolTip(f"Play / pause (Space) · {speed:g}× (right-click for the speed)")
        self.speedChosen.emit(speed)

    def set_following(self, on: bool) -> None:
        self.follow_button.setChecked(on)

    def set_playing(self, playing: bool) -> None:
        self.play.setIcon(theme.icon("pause" if playing else "play"))

    def show_position(self, frame: int, num_frames: int, fps: int) -> None:
        self.time.setText(f"{timecode(frame, fps)} / {timecode(num_frames, fps)}")
        self.frame_label.setText(f"{frame + 1} / {num_frames}" if num_frames else "")
        self.frame_label.setToolTip("frame at the playhead / frames in the video")

    def show_result(self, video: str | None, text: str, can_continue: bool = False,
                    can_extend: bool = False) -> None:
        """The bar under the player once a video file exists (finished, or stopped early)."""
        self.resume_job.setVisible(can_continue)
        self.extend.setVisible(can_extend)
        self.result.setVisible(bool(video))
        self.result_text.setText(text)
        self.result_text.setToolTip(video or "")
