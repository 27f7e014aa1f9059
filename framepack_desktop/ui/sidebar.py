"""The left column: what goes in (images, prompt, settings) and the buttons that start it.

The Generate button stays visible below the scrolling form, with the run's progress under it.
The window talks to it through intents: signals for what the user asked (generate, stop, queue,
the form changed) and a form model (`form_values`, `load_job`, `variant`...) instead of reading
or filling its child widgets.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox, QComboBox, QFrame, QHBoxLayout, QLabel, QProgressBar, QPushButton, QScrollArea, QSizePolicy, QStackedWidget,
    QVBoxLayout, QWidget,
)

from ..engine.choices import BACKGROUNDS
from ..engine.job import Job
from . import theme
from .image_drop import ImageDropZone
from .prompt_editor import PromptEditor
from .settings_panel import SettingsPanel
from .wheel_guard import guard_wheel


def heading(text: str) -> QLabel:
    return QLabel(text.upper(), objectName="SectionTitle")


def _labelled(text: str, field: QWidget) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(QLabel(text, objectName="Hint"))
    lay.addWidget(field, 1)
    return row


class Sidebar(QWidget):
    generateRequested = Signal()
    stopRequested = Signal()
    enqueueRequested = Signal()
    formChanged = Signal()
    errorRaised = Signal(str)

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
        self.background = QComboBox()
        for name, label in BACKGROUNDS.labels().items():
            self.background.addItem(label, name)
        self.background.setToolTip("No start image: the video starts from this plain picture and the prompt "
                                   "alone says what appears (noise leaves the model the most freedom)")
        self.background_row = _labelled("No start image · starts from", self.background)
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
        lay.addWidget(self.background_row)
        lay.addWidget(self.end)
        lay.addWidget(self.loop)
        lay.addSpacing(6)
        lay.addWidget(heading("Prompt"))
        lay.addWidget(self.prompt)
        lay.addSpacing(6)
        lay.addWidget(heading("Settings"))
        lay.addWidget(self.settings)
        lay.addStretch(1)
        self._form = lay
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
        self.wheel_guard = guard_wheel(self)
        self._random_after_load = False     # Random was on before a job was loaded into the form
        self._forward_intents()

    def _forward_intents(self) -> None:
        self.generate.clicked.connect(self.generateRequested)
        self.stop.clicked.connect(self.stopRequested)
        self.enqueue.clicked.connect(self.enqueueRequested)
        self.start.imageChanged.connect(self._show_background)
        for changed in (self.start.imageChanged, self.end.imageChanged, self.loop.toggled, self.prompt.changed,
                        self.settings.changed, self.background.currentIndexChanged):
            changed.connect(self.formChanged)
        self.start.errorRaised.connect(self.errorRaised)
        self.end.errorRaised.connect(self.errorRaised)

    def _show_background(self, image: str) -> None:
        """The background matters only without a start image: the chooser shows only then."""
        self.background_row.setVisible(not image)

    # ----- the form model -----
    @property
    def variant(self) -> str:
        return self.settings.variant.currentData()

    def form_values(self) -> dict:
        """The Job fields the form holds (the window adds the output and the models)."""
        return {"image": self.start.path, "end_image": self.end_image(), "prompt": self.prompt.text(),
                "background": self.background.currentData(), **self.settings.values()}

    def load_job(self, job: Job) -> list[str]:
        """Fill the form from a job; returns the images it names that no longer exist. Its seed is
        used once (Random is unticked for that one run) and Random comes back after it."""
        self._random_after_load = self._random_after_load or self.settings.random_seed.isChecked()
        self.settings.random_seed.setChecked(False)
        self.settings.set_values(job.to_dict())
        self.set_background(job.background)
        self.prompt.set_text(job.prompt)
        missing = []
        for zone, path in ((self.start, job.image), (self.end, job.end_image)):
            if path and Path(path).is_file():
                zone.load(path)
            elif path:
                missing.append(path)
            else:
                zone.clear()
        return missing

    def restore(self, last: dict, random_seed: bool, output_dir: str) -> None:
        """The form as the user left it (settings.json's last job)."""
        if last:
            self.settings.set_values(last)
            self.set_background(last.get("background", ""))
            self.prompt.set_text(last.get("prompt", ""))
            for zone, key in ((self.start, "image"), (self.end, "end_image")):
                if last.get(key) and Path(last[key]).is_file():
                    zone.load(last[key])
        self.settings.random_seed.setChecked(random_seed)
        if output_dir:
            self.settings.output_dir.setText(output_dir)

    def set_background(self, name: str) -> None:
        i = self.background.findData(name)
        if i >= 0:
            self.background.setCurrentIndex(i)

    def set_cpu_only(self, first_start: bool) -> None:
        self.settings.set_cpu_only(first_start)

    def job_taken(self) -> None:
        """The form's job went to run or to the queue: a loaded job's seed was used once."""
        if self._random_after_load:
            self._random_after_load = False
            self.settings.random_seed.setChecked(True)

    def wants_random_seed(self) -> bool:
        return self.settings.random_seed.isChecked()

    def set_seed(self, seed: int) -> None:
        self.settings.seed.setValue(seed)

    @property
    def output_folder(self) -> str:
        return self.settings.output_folder

    def follow_form(self) -> None:
        """What depends on other fields: the end image only with the original model, the image
        zones' crop preview at the chosen resolution."""
        self.set_end_allowed("The end image works only with the original model." if self.variant == "f1" else "")
        res = self.settings.resolution.currentData()
        self.start.set_resolution(res)
        self.end.set_resolution(res)

    def set_stopping(self) -> None:
        self.stop.setEnabled(False)
        self.stop.setText("Stopping…")

    def show_progress(self, fraction: float, text: str, eta: str) -> None:
        self.progress.setValue(int(1000 * fraction))
        self.progress_text.setText(text)
        self.eta.setText(eta)

    def set_prompt_hint(self, html: str) -> None:
        self.prompt.set_hint(html)

    def set_playhead(self, seconds: float) -> None:
        """Where the playhead is, for the prompt editor's "insert a timestamp here"."""
        self.prompt.playhead_s = seconds

    def restyle(self) -> None:
        """The theme changed: colours drawn by hand follow it."""
        self.prompt.highlighter.rehighlight()

    def browse_start_image(self) -> None:
        self.start.browse()

    def drop_image(self, mime) -> None:
        self.start.load_mime(mime)

    def paste_image(self, focus: QWidget | None) -> None:
        """Paste into the end image when it has the focus, else into the start image."""
        (self.end if focus is self.end else self.start).paste()

    def set_speed_support(self, compile_problem: str | None, fp8_problem: str | None) -> None:
        self.settings.set_speed_support(compile_problem, fp8_problem)

    def add_section(self, title: str, widget: QWidget) -> None:
        """Another headed section at the end of the form (the LoRA panel)."""
        at = self._form.count() - 1          # before the stretch
        self._form.insertSpacing(at, 6)
        self._form.insertWidget(at + 1, heading(title))
        self._form.insertWidget(at + 2, widget)

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
