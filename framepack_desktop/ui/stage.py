"""The centre of the window: the player, its transport controls, the timeline and the result buttons."""
from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QPushButton, QToolButton, QVBoxLayout, QWidget

from . import theme
from .error_banner import ErrorBanner
from .frame_cache import FrameCache
from .player import PlayerView
from .resume_banner import ResumeBanner
from .timeline import TimelineView
from .timeline_model import TimelineModel


def timecode(frame: int, fps: int) -> str:
    s = frame / max(fps, 1)
    return f"{int(s // 60)}:{s % 60:05.2f}"


class Stage(QWidget):
    def __init__(self, model: TimelineModel, frames: FrameCache, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Stage")
        self.banner = ErrorBanner()
        self.resume = ResumeBanner()
        self.player = PlayerView(model, frames)
        self.timeline = TimelineView(model)

        self.to_start = self._transport("to-start", "First frame (Home)")
        self.back = self._transport("step-back", "Previous frame (←)")
        self.play = self._transport("play", "Play / pause (Space)")
        self.forward = self._transport("step-forward", "Next frame (→)")
        self.to_end = self._transport("to-end", "Last frame (End)")
        self.loop = self._transport("loop", "Loop")
        self.loop.setCheckable(True)
        self.loop.setChecked(True)
        self.time = QLabel(objectName="TimeLabel")
        self.frame_label = QLabel(objectName="Hint")
        for label, widest in ((self.time, "0:00.00 / 0:00.00"), (self.frame_label, "0000 / 0000")):
            label.ensurePolished()          # the style sheet's font (monospace for the time) is in effect
            label.setMinimumWidth(label.fontMetrics().horizontalAdvance(widest) + 6)
        self.export = self._transport("export", "Export the frame at the playhead as PNG (Ctrl+E)")

        self.result = QFrame(objectName="ResultBar")
        self.result_text = QLabel()
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
        transport.addSpacing(8)
        transport.addWidget(self.loop)
        transport.addSpacing(8)
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

    def _transport(self, icon: str, tip: str) -> QToolButton:
        b = QToolButton(objectName="Transport")
        b.setIcon(theme.icon(icon))
        b.setToolTip(tip)
        b.setFocusPolicy(Qt.FocusPolicy.NoFocus)
        b.setAutoRaise(True)
        return b

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
