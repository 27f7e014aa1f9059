"""The left column: what goes in (images, prompt, settings) and the buttons that start it.

The Generate button stays visible below the scrolling form, with the run's progress under it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QCheckBox, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QStackedWidget,
    QVBoxLayout, QWidget,
)

from . import theme
from .image_drop import ImageDropZone
from .prompt_editor import PromptEditor
from .settings_panel import SettingsPanel


def heading(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="SectionTitle")


class Sidebar(QWidget):
    def __init__(self, inputs_dir: Path, default_output: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("Sidebar")
        self.start = ImageDropZone("Start image", inputs_dir)
        self.end = ImageDropZone("End image (optional)", inputs_dir)
        self.end.compact_height = 96
        self.end.setToolTip("The video ends on this image (original model only)")
        self.loop = QCheckBox("Loop: end on the start image")
        self.loop.setToolTip("A seamless loop made by generation: the original model steers the last frame "
                             "back to the start image (it becomes the end image too)")
        self.prompt = PromptEditor()
        self.settings = SettingsPanel(default_output)

        self.generate = QPushButton("Generate", objectName="Primary")
        self.generate.setIcon(theme.icon("spark", "#ffffff"))
        self.generate.setToolTip("Start this video now (Ctrl+Enter)")
        self.stop = QPushButton("Stop", objectName="Danger")
        self.stop.setIcon(theme.icon("stop", "#ffffff"))
        self.stop.setToolTip("Stop after the current step; the frames made so far are saved as a video")
        # Generate and Stop share one place: switching pages repaints the button, not the column.
        self.go_or_stop = QStackedWidget()
        self.go_or_stop.addWidget(self.generate)
        self.go_or_stop.addWidget(self.stop)
        self.enqueue = QPushButton("Add to queue")
        self.enqueue.setIcon(theme.icon("plus"))
        self.enqueue.setToolTip("Run this video after the ones already queued (Ctrl+Shift+Enter)")
        self.progress = QProgressBar()
        self.progress.setRange(0, 1000)
        self.progress.setTextVisible(False)
        self.progress.setFixedHeight(8)
        self.progress_text = QLabel(objectName="ProgressText")
        # Text that changes every step must not resize anything: ignore its width in the layout.
        self.progress_text.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.eta = QLabel(objectName="Hint")
        self.eta.setAlignment(Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter)
        self.eta.ensurePolished()
        self.eta.setFixedWidth(self.eta.fontMetrics().horizontalAdvance("ETA estimating…") + 4)

        form = QWidget()
        lay = QVBoxLayout(form)
        lay.setContentsMargins(12, 12, 12, 12)
        lay.setSpacing(8)
        lay.addWidget(heading("Images"))
        lay.addWidget(self.start)
        lay.addWidget(self.end)
        lay.addWidget(self.loop)
        lay.addSpacing(6)
        lay.addWidget(heading("Prompt"))
        lay.addWidget(self.prompt)
        lay.addSpacing(6)
        lay.addWidget(heading("Settings"))
        lay.addWidget(self.settings)
        lay.addStretch(1)
        scroll = QScrollArea()
        scroll.setWidget(form)
        scroll.setWidgetResizable(True)
        scroll.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        scroll.setFrameShape(QFrame.Shape.NoFrame)

        actions = QWidget()
        actions.setObjectName("SidePanel")
        a = QVBoxLayout(actions)
        a.setContentsMargins(12, 10, 12, 12)
        a.setSpacing(8)
        buttons = QHBoxLayout()
        buttons.setSpacing(8)
        buttons.addWidget(self.go_or_stop, 1)
        buttons.addWidget(self.enqueue)
        a.addLayout(buttons)
        a.addWidget(self.progress)
        status = QHBoxLayout()
        status.addWidget(self.progress_text, 1)
        status.addWidget(self.eta)
        a.addLayout(status)
        line = QWidget(objectName="Divider")
        line.setFixedHeight(1)

        outer = QVBoxLayout(self)
        outer.setContentsMargins(0, 0, 0, 0)
        outer.setSpacing(0)
        outer.addWidget(scroll, 1)
        outer.addWidget(line)
        outer.addWidget(actions)

    def end_image(self) -> str | None:
        """The end image the form asks for: the start image when looping, else the end zone's if usable."""
        if self.loop.isChecked() and self.loop.isEnabled():
            return self.start.path or None
        return self.end.path if self.end.isEnabled() and self.end.path else None

    def set_end_allowed(self, reason: str) -> None:
        """Block the end image and the loop with a reason (F1 has no end frame), or allow them ("")."""
        self.loop.setEnabled(not reason)
        looping = self.loop.isChecked() and not reason
        self.end.set_blocked(reason or ("Loop: the video ends on the start image." if looping else ""))

    def set_running(self, running: bool) -> None:
        self.go_or_stop.setCurrentWidget(self.stop if running else self.generate)
        self.stop.setEnabled(True)
        self.stop.setText("Stop")
