"""First start without models: download them, point at a folder that has them, or use the demo set.

The demo set is tiny random weights built on this computer in seconds; its videos are noise,
and the dialog says so in plain words. It exists so that every control can be tried before a
40 GB download. Downloading is offered only when the engine provides a downloader
(`engine.models.download.download_models`); until then the option explains where to put
models fetched by other means.
"""
from __future__ import annotations

import importlib
import threading
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, QThread, Signal, Slot
from PySide6.QtWidgets import (
    QButtonGroup, QCheckBox, QDialog, QDialogButtonBox, QFileDialog, QFrame, QHBoxLayout, QLabel, QLineEdit,
    QProgressBar, QPushButton, QRadioButton, QVBoxLayout, QWidget,
)

from ..engine.choices import VARIANTS
from ..engine.errors import UserError
from ..engine.models.layout import COMPONENT_NAMES, is_demo, missing_components
from .wrapped_label import WrappedLabel

DEMO_WARNING = ("Demo models are tiny random weights, made on this computer in a few seconds. "
                "Videos made with them are noise: they are for trying the app, not for real videos.")
DOWNLOAD_SIZE_TEXT = "about 42 GB: transformer 25.7 GB, text encoders 15 GB, VAE and image encoder 1.3 GB"


def find_downloader() -> Callable[..., object] | None:
    """The engine's `download_models(models_dir, variants, precision, progress, cancel)`, if present."""
    try:
        module = importlib.import_module("framepack_desktop.engine.models.download")
    except ModuleNotFoundError:
        return None
    return getattr(module, "download_models", None)


def folder_problem(folder: str) -> str:
    """Why a chosen models folder cannot be used, or "" when it can (either variant counts)."""
    if not folder:
        return "Choose a folder."
    path = Path(folder)
    if not path.is_dir():
        return f"'{folder}' is not a folder."
    if is_demo(path):
        return ""
    missing = min((missing_components(path, v) for v in VARIANTS), key=len)
    if len(missing) == len(COMPONENT_NAMES):
        return ("No FramePack models found there. The folder must hold the model repositories in their "
                "public layout, e.g. hunyuanvideo-community/HunyuanVideo/vae/.")
    return f"Incomplete: {', '.join(missing)} missing." if missing else ""


class _Download(QObject):
    """Runs the engine's downloader in a thread and reports progress as signals."""
    progress = Signal(float, float, str)
    done = Signal(str)               # "" on success, else the message

    def __init__(self, downloader: Callable[..., object], folder: str, variants: tuple[str, ...], precision: str,
                 cancel: threading.Event):
        super().__init__()
        self.downloader, self.folder, self.cancel = downloader, folder, cancel
        self.variants, self.precision = variants, precision

    @Slot()
    def run(self) -> None:
        try:
            self.downloader(Path(self.folder), self.variants, self.precision, progress=self._report,
                            cancel=self.cancel)
        except UserError as e:
            self.done.emit(str(e))
            return
        self.done.emit("")

    def _report(self, done: float, total: float, text: str) -> None:
        self.progress.emit(float(done), float(total), text)


class ModelsDialog(QDialog):
    """Sets `choice` to "demo" or a models folder when accepted."""

    def __init__(self, default_folder: Path, current: str = "", parent: QWidget | None = None, gpu: bool = True):
        super().__init__(parent)
        self.setWindowTitle("Set up the models")
        self.setMinimumWidth(560)
        self.choice = ""
        self.downloader = find_downloader()
        self._thread: QThread | None = None
        self._job: _Download | None = None
        self._cancel = threading.Event()

        intro = QLabel("FramePack needs its models before it can make videos. Choose how to get them.")
        intro.setWordWrap(True)
        self.group = QButtonGroup(self)
        self.download = QRadioButton("Download the models")
        self.existing = QRadioButton("Use a models folder I already have")
        self.demo = QRadioButton("Use the demo models (random weights — videos are noise)")
        for k, b in enumerate((self.download, self.existing, self.demo)):
            self.group.addButton(b, k)

        self.folder = QLineEdit(current if current and current != "demo" else str(default_folder))
        browse = QPushButton("Choose…")
        browse.clicked.connect(self._browse)
        self.folder_status = WrappedLabel(objectName="Hint")
        self.progress = QProgressBar()
        self.progress.setVisible(False)
        download_text = (f"Downloads {DOWNLOAD_SIZE_TEXT} into the folder below. An interrupted download "
                         "continues where it stopped." if self.downloader else
                         "Downloading from the app is not available in this version. Download the model "
                         f"repositories ({DOWNLOAD_SIZE_TEXT}) with another tool, then use the next option.")
        self.download.setEnabled(self.downloader is not None)
        self.download.setToolTip(download_text)
        demo_note = QLabel(DEMO_WARNING, objectName="Hint")
        demo_note.setWordWrap(True)
        download_note = QLabel(download_text, objectName="Hint")
        download_note.setWordWrap(True)
        self.with_f1 = QCheckBox("Also the F1 model (forward generation, +25.7 GB)")
        self.fp8 = QCheckBox("Transformer in fp8 (half the size, slightly less detail)")
        for box in (self.with_f1, self.fp8):
            box.setEnabled(self.downloader is not None)
        self.download_status = WrappedLabel(objectName="Hint")

        folder_row = QHBoxLayout()
        folder_row.addWidget(self.folder, 1)
        folder_row.addWidget(browse)

        lay = QVBoxLayout(self)
        lay.setSpacing(10)
        lay.addWidget(intro)
        lay.addWidget(_card(self.download, download_note, self.with_f1, self.fp8, self.download_status))
        lay.addWidget(_card(self.existing, QLabel("Models folder (also where downloads go):", objectName="Hint"),
                            folder_row, self.folder_status))
        lay.addWidget(_card(self.demo, demo_note))
        lay.addWidget(self.progress)
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Continue")
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setText("Later")
        self.buttons.accepted.connect(self._continue)
        self.buttons.rejected.connect(self.reject)
        lay.addWidget(self.buttons)

        # A 42 GB download is never the default on a machine without a GPU (where it would run for
        # hours a video): there the demo set is, and the download stays one click away.
        (self.demo if current == "demo" else self.existing if current else
         self.download if self.downloader and gpu else self.demo).setChecked(True)
        self.group.idToggled.connect(self._refresh)
        self.folder.textChanged.connect(self._refresh)
        self._refresh()

    def _browse(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "Models folder", self.folder.text())
        if folder:
            self.folder.setText(folder)
            self.existing.setChecked(True)

    def _refresh(self) -> None:
        problem = folder_problem(self.folder.text().strip()) if self.existing.isChecked() else ""
        self.folder_status.setText(problem or ("Models found." if self.existing.isChecked() else ""))
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(not problem and self._thread is None)

    def _continue(self) -> None:
        if self.demo.isChecked():
            self.choice = "demo"
            self.accept()
        elif self.existing.isChecked():
            self.choice = self.folder.text().strip()
            self.accept()
        elif self.downloader is not None:
            self._start_download()

    def _start_download(self) -> None:
        self.progress.setVisible(True)
        self.progress.setRange(0, 0)
        self._thread = QThread()
        variants = VARIANTS.names if self.with_f1.isChecked() else ("original",)
        precision = "fp8" if self.fp8.isChecked() else "bf16"
        self._job = _Download(self.downloader, self.folder.text().strip(), variants, precision, self._cancel)
        self._job.moveToThread(self._thread)
        self._thread.started.connect(self._job.run)
        self._job.progress.connect(self._on_progress)
        self._job.done.connect(self._on_done)
        self._thread.start()
        self._refresh()

    @Slot(float, float, str)
    def _on_progress(self, done: float, total: float, text: str) -> None:
        if total > 0:
            self.progress.setRange(0, 1000)
            self.progress.setValue(int(1000 * done / total))
        self.progress.setFormat(text)
        self.progress.setTextVisible(True)

    @Slot(str)
    def _on_done(self, message: str) -> None:
        self._thread.quit()
        self._thread.wait()
        self._thread = None
        if message:
            self.progress.setVisible(False)
            self.download_status.setText(message)
            self._refresh()
            return
        self.choice = self.folder.text().strip()
        self.accept()

    def reject(self) -> None:
        if self._thread is not None:
            self._cancel.set()
            self._thread.quit()
            self._thread.wait()
            self._thread = None
        super().reject()


def _card(button: QRadioButton, *parts) -> QFrame:
    frame = QFrame(objectName="TimelineFrame")
    lay = QVBoxLayout(frame)
    lay.setContentsMargins(12, 10, 12, 10)
    lay.setSpacing(4)
    lay.addWidget(button)
    for part in parts:
        if isinstance(part, QWidget):
            lay.addWidget(part)
        else:
            lay.addLayout(part)
    return frame

