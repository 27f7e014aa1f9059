"""The Finish panel: trim, loop, upscale, interpolate and export the current video, in the window.

The panel is a view of a `PostPlan` (the Qt-free value the `post` command also builds): its
widgets make the plan, `PostTask` runs `run_post` (or a one-frame preview) off the GUI thread,
and the result never replaces anything: it is written beside the source under a new name
(`PostPlan.default_output`), added to History under its source, and announced with
`resultReady` so the window can open it. Nothing here imports torch; the engine is imported
inside the worker thread.
"""
from __future__ import annotations

import hashlib
import time
from collections.abc import Callable
from pathlib import Path

import numpy as np
from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import (
    QApplication, QCheckBox, QComboBox, QDoubleSpinBox, QFileDialog, QFormLayout, QHBoxLayout, QLabel, QProgressBar,
    QPushButton, QVBoxLayout, QWidget,
)

from ..engine.post.plan import PostPlan
from ..settings import HistoryEntry
from .history import History
from .post_task import PostTask
from .qimage import to_qimage
from .timeline_model import thumbnail

PREVIEW_HEIGHT = 120
_CHOOSE = "choose"


class FinishPanel(QWidget):
    resultReady = Signal(str)       # the finished file or folder
    previewShown = Signal()

    def __init__(self, history: History, models_spec: Callable[[], str], parent: QWidget | None = None):
        """`models_spec` gives the models folder as the settings hold it ("", "demo" or a path)."""
        super().__init__(parent)
        self.history, self.models_spec = history, models_spec
        self.source: str = ""
        self.task: PostTask | None = None
        self.result: str = ""

        self.title = QLabel("Choose or generate a video to finish it.", objectName="Hint")
        self.title.setWordWrap(True)
        self.trim = QCheckBox("Trim")
        self.trim_start = QDoubleSpinBox(decimals=2, maximum=36000, singleStep=0.5, suffix=" s")
        self.trim_end = QDoubleSpinBox(decimals=2, maximum=36000, singleStep=0.5, suffix=" s")
        self.loop = _combo([("No loop", None), ("Ping-pong", "pingpong"), ("Crossfade end into start", "crossfade")])
        self.upscale = _combo([("Same size", 1), ("×2", 2), ("×4", 4)])
        self.upscaler = _combo([("Lanczos (no model)", "lanczos"), ("Real-ESRGAN (models folder)", "realesrgan"),
                                ("Model file…", _CHOOSE)])
        self.interpolate = _combo([("Same frame rate", 1), ("×2 frames", 2), ("×4 frames", 4)])
        self.interpolator = _combo([("Optical flow (no model)", "flow"), ("RIFE (models folder)", "rife")])
        self.format = _combo([("MP4 (H.264)", "mp4"), ("WebM (VP9)", "webm"), ("MOV (ProRes)", "mov-prores"),
                              ("GIF", "gif"), ("PNG frames", "png")])
        self.upscaler.activated.connect(self._upscaler_chosen)

        trim_row = QHBoxLayout()
        for w in (self.trim, self.trim_start, QLabel("to"), self.trim_end):
            trim_row.addWidget(w)
        form = QFormLayout()
        form.addRow(trim_row)
        form.addRow("Loop", self.loop)
        form.addRow("Upscale", _pair(self.upscale, self.upscaler))
        form.addRow("Smoother", _pair(self.interpolate, self.interpolator))
        form.addRow("Save as", self.format)

        self.before, self.after = QLabel(), QLabel()
        for label in (self.before, self.after):
            label.setAlignment(Qt.AlignmentFlag.AlignCenter)
            label.setMinimumHeight(PREVIEW_HEIGHT)
        previews = QHBoxLayout()
        previews.addWidget(self.before, 1)
        previews.addWidget(self.after, 1)
        self.preview_button = QPushButton("Preview one frame")
        self.finish_button = QPushButton("Finish", objectName="Primary")
        self.stop_button = QPushButton("Stop")
        self.preview_button.clicked.connect(self.show_preview)
        self.finish_button.clicked.connect(self.finish)
        self.stop_button.clicked.connect(self.stop)
        buttons = QHBoxLayout()
        for w in (self.preview_button, self.finish_button, self.stop_button):
            buttons.addWidget(w)
        self.progress = QProgressBar()
        self.status = QLabel(objectName="Hint")
        self.status.setWordWrap(True)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.title)
        lay.addLayout(form)
        lay.addLayout(previews)
        lay.addLayout(buttons)
        lay.addWidget(self.progress)
        lay.addWidget(self.status)
        lay.addStretch(1)
        self._set_busy(False)
        QApplication.instance().aboutToQuit.connect(self.shutdown)

    # ----- the model the widgets describe -----
    def plan(self) -> PostPlan:
        trim = f"{self.trim_start.value():g}:{self.trim_end.value():g}" if self.trim.isChecked() else None
        return PostPlan(trim=trim, loop=self.loop.currentData(), upscale=self.upscale.currentData(),
                        upscaler=self.upscaler.currentData(), interpolate=self.interpolate.currentData(),
                        interpolator=self.interpolator.currentData(), format=self.format.currentData())

    def set_source(self, video: str) -> None:
        """The video to finish (the window's current one); ignored while a run is going."""
        if video == self.source or self.task is not None:
            return
        self.source = video or ""
        self.title.setText(f"Finish <b>{Path(video).name}</b>: the result is a new file beside it."
                           if video else "Choose or generate a video to finish it.")
        self.before.clear()
        self.after.clear()
        self._set_busy(False)

    # ----- intents -----
    @Slot()
    def show_preview(self) -> None:
        plan, source, models = self.plan(), self.source, self.models_spec()
        start_s = self.trim_start.value() if self.trim.isChecked() else 0.0

        def work(cancel, progress):
            from ..engine.post.pipeline import preview
            from ..engine.post.source import open_source

            return preview(source, plan, round(start_s * open_source(source).fps), _models_dir(models))

        self._start(work, self._preview_done, f"Previewing {plan.describe()}…")

    @Slot()
    def finish(self) -> None:
        plan, source, models = self.plan(), self.source, self.models_spec()
        out = plan.default_output(Path(source))

        def work(cancel, progress):
            from ..engine.post.pipeline import run_post
            from ..engine.post.source import first_frame

            result = run_post(source, out, plan, models_dir=_models_dir(models), cancel=cancel,
                              progress=lambda p: progress(p.done, p.total))
            return result, first_frame(result)

        self.started_at = time.monotonic()
        self._start(work, self._finish_done, f"Finishing: {plan.describe()}…")

    @Slot()
    def shutdown(self) -> None:
        """Stop a run and wait for its thread (the app is quitting); the pipeline leaves no partial file."""
        if self.task is not None:
            self.task.stop()
            self.task.wait()

    @Slot()
    def stop(self) -> None:
        if self.task is not None:
            self.task.stop()
            self.status.setText("Stopping…")

    # ----- results -----
    def _preview_done(self, pair: tuple[np.ndarray, np.ndarray]) -> None:
        before, after = pair
        self._show(self.before, before, f"before · {before.shape[1]}×{before.shape[0]}")
        self._show(self.after, after, f"after · {after.shape[1]}×{after.shape[0]}")
        self.status.setText("")
        self.previewShown.emit()

    def _finish_done(self, outcome: tuple[Path, np.ndarray]) -> None:
        result, frame = outcome
        self.result = str(result)
        self._show(self.after, frame, "result")
        self.history.add(HistoryEntry(
            video=str(result), job_json="", thumbnail=self._save_thumbnail(str(result), frame),
            num_frames=self.progress.maximum(), seconds=time.monotonic() - self.started_at, source=self.source))
        self.status.setText(f"Saved {result}")
        self.resultReady.emit(str(result))

    def _start(self, work, on_done, text: str) -> None:
        self.status.setText(text)
        self.progress.setRange(0, 0)
        self.task = PostTask(work, self)
        self.task.progress.connect(self._progress)
        self.task.done.connect(on_done)
        self.task.failed.connect(self._failed)
        self.task.cancelled.connect(self._cancelled)
        self.task.ended.connect(self._ended)
        self._set_busy(True)
        self.task.start()

    @Slot(int, int)
    def _progress(self, done: int, total: int) -> None:
        self.progress.setRange(0, total)
        self.progress.setValue(done)

    @Slot(str)
    def _failed(self, message: str) -> None:
        self.status.setText(message)

    @Slot()
    def _cancelled(self) -> None:
        self.status.setText("Stopped; nothing was written.")

    @Slot()
    def _ended(self) -> None:
        if self.task is not None:
            self.task.wait()
            self.task.deleteLater()
        self.task = None
        if self.progress.maximum() == 0:
            self.progress.setRange(0, 1)
        self._set_busy(False)

    def _set_busy(self, busy: bool) -> None:
        for w in (self.preview_button, self.finish_button):
            w.setEnabled(not busy and bool(self.source))
        self.stop_button.setEnabled(busy)

    def _show(self, label: QLabel, frame: np.ndarray, tip: str) -> None:
        label.setPixmap(QPixmap.fromImage(to_qimage(frame)).scaledToHeight(
            PREVIEW_HEIGHT, Qt.TransformationMode.SmoothTransformation))
        label.setToolTip(tip)

    def _save_thumbnail(self, video: str, frame: np.ndarray) -> str:
        path = self.history.paths.thumbnails_dir / (hashlib.sha1(video.encode()).hexdigest()[:16] + ".png")
        path.parent.mkdir(parents=True, exist_ok=True)
        return str(path) if to_qimage(thumbnail(frame, 128)).save(str(path), "PNG") else ""

    @Slot(int)
    def _upscaler_chosen(self, index: int) -> None:
        if self.upscaler.itemData(index) != _CHOOSE:
            return
        path, _ = QFileDialog.getOpenFileName(self, "Upscaler model", "", "Models (*.pth *.pt *.safetensors)")
        if path:
            self.upscaler.insertItem(0, Path(path).name, path)
        self.upscaler.setCurrentIndex(0)


def _models_dir(spec: str) -> Path:
    """The settings' models folder as a path (runs in the worker: the demo set may need building)."""
    from ..engine.models.loader import resolve_models_dir
    from ..engine.models.store import default_models_dir

    return resolve_models_dir(spec) if spec else default_models_dir()


def _combo(items: list[tuple[str, object]]) -> QComboBox:
    combo = QComboBox()
    for text, data in items:
        combo.addItem(text, data)
    return combo


def _pair(a: QWidget, b: QWidget) -> QWidget:
    row = QWidget()
    lay = QHBoxLayout(row)
    lay.setContentsMargins(0, 0, 0, 0)
    lay.addWidget(a)
    lay.addWidget(b, 1)
    return row
