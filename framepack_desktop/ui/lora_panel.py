"""The LoRA panel: several LoRAs, each with a weight slider and an on/off switch; the LoRA folder watched.

The folder (Settings; default in the app's data folder) is watched with QFileSystemWatcher, so a file
copied there appears in the Add menu without a restart. Each added file is judged in the background
(`judge`: the engine's header-only check against the chosen transformer, handed in by the window so
this file never imports torch): a refused file stays in the list, switched off, with the reason in red,
so the user sees why instead of a late failure. `refs()` gives the Job's records; the file's hash is
taken once when it is added.
"""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QFileSystemWatcher, QObject, QRunnable, Qt, QThreadPool, Signal, Slot
from PySide6.QtWidgets import (
    QCheckBox, QFileDialog, QHBoxLayout, QLabel, QMenu, QPushButton, QSlider, QToolButton, QVBoxLayout, QWidget,
)

from ..engine.errors import UserError
from ..engine.lora_ref import LORA_SUFFIXES, LoraRef, lora_ref
from . import theme

SLIDER_SCALE = 100           # slider units per weight unit: steps of 0.01
WEIGHT_RANGE = (-2.0, 2.0)


@dataclass(frozen=True)
class Verdict:
    """The engine's judgement of one file: a line to show, and whether the file cannot be used."""

    text: str
    refused: bool


Judge = Callable[[str], Verdict]


class _Judged(QObject):
    done = Signal(str, object)


class _JudgeTask(QRunnable):
    def __init__(self, judge: Judge, path: str, signals: _Judged):
        super().__init__()
        self.judge, self.path, self.signals = judge, path, signals

    def run(self) -> None:
        try:
            verdict = self.judge(self.path)
        except UserError as e:
            verdict = Verdict(str(e), True)
        self.signals.done.emit(self.path, verdict)


class LoraRow(QWidget):
    """One LoRA: on/off, name, weight slider and value, remove; the judgement below."""

    changed = Signal()
    remove = Signal(object)

    def __init__(self, ref: LoraRef, parent: QWidget | None = None):
        super().__init__(parent)
        self.ref = ref
        self.refused = False
        self.on = QCheckBox(ref.name)
        self.on.setChecked(ref.enabled)
        self.on.setToolTip(ref.path)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(int(WEIGHT_RANGE[0] * SLIDER_SCALE), int(WEIGHT_RANGE[1] * SLIDER_SCALE))
        self.slider.setValue(round(ref.weight * SLIDER_SCALE))
        self.slider.setToolTip("Weight: 1 is the LoRA as trained, 0 is no effect, negative inverts it")
        self.value = QLabel(objectName="Hint")
        self.value.setFixedWidth(self.value.fontMetrics().horizontalAdvance("-0.00") + 6)
        drop = QToolButton()
        drop.setIcon(theme.icon("close"))
        drop.setToolTip("Remove this LoRA")
        drop.clicked.connect(lambda: self.remove.emit(self))
        self.verdict = QLabel("Checking…", objectName="Hint")
        self.verdict.setWordWrap(True)
        top = QHBoxLayout()
        top.setContentsMargins(0, 0, 0, 0)
        top.addWidget(self.on, 1)
        top.addWidget(drop)
        mid = QHBoxLayout()
        mid.setContentsMargins(0, 0, 0, 0)
        mid.addWidget(self.slider, 1)
        mid.addWidget(self.value)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 2, 0, 2)
        lay.setSpacing(2)
        lay.addLayout(top)
        lay.addLayout(mid)
        lay.addWidget(self.verdict)
        self.on.toggled.connect(self._changed)
        self.slider.valueChanged.connect(self._changed)
        self._changed()

    @property
    def weight(self) -> float:
        return self.slider.value() / SLIDER_SCALE

    def current(self) -> LoraRef:
        return LoraRef(self.ref.path, self.ref.sha256, self.weight, self.on.isChecked() and not self.refused)

    def set_verdict(self, verdict: Verdict) -> None:
        self.refused = verdict.refused
        self.verdict.setText(verdict.text)
        self.verdict.setStyleSheet(f"color: {theme.current().error}" if verdict.refused else "")
        self.on.setEnabled(not verdict.refused)
        self.slider.setEnabled(not verdict.refused)
        self._changed()

    def _changed(self, *_) -> None:
        self.value.setText(f"{self.weight:+.2f}")
        self.changed.emit()


class LoraPanel(QWidget):
    """The job's LoRA set, built from the LoRA folder (watched) or any file."""

    changed = Signal()
    folder_changed = Signal(str)

    def __init__(self, folder: Path, judge: Judge, parent: QWidget | None = None):
        super().__init__(parent)
        self.judge = judge
        self.folder = Path(folder)
        self.rows: list[LoraRow] = []
        self.available: list[Path] = []
        self._judged = _Judged(self)
        self._judged.done.connect(self._on_judged)
        self.watcher = QFileSystemWatcher(self)
        self.watcher.directoryChanged.connect(self.rescan)
        self.add = QPushButton("Add LoRA")
        self.add.setIcon(theme.icon("plus"))
        self.add.setToolTip("Add a LoRA from the LoRA folder, or any .safetensors LoRA file")
        self.menu = QMenu(self)
        self.add.setMenu(self.menu)
        self.folder_button = QToolButton()
        self.folder_button.setIcon(theme.icon("folder"))
        self.folder_button.clicked.connect(self._choose_folder)
        self.hint = QLabel(objectName="Hint")
        self.hint.setWordWrap(True)
        self.list = QVBoxLayout()
        self.list.setContentsMargins(0, 0, 0, 0)
        self.list.setSpacing(4)
        buttons = QHBoxLayout()
        buttons.setContentsMargins(0, 0, 0, 0)
        buttons.addWidget(self.add, 1)
        buttons.addWidget(self.folder_button)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addLayout(self.list)
        lay.addLayout(buttons)
        lay.addWidget(self.hint)
        self.set_folder(self.folder)

    # ----- the folder -----
    def set_folder(self, folder: Path) -> None:
        self.folder = Path(folder)
        self.folder.mkdir(parents=True, exist_ok=True)
        self.folder_button.setToolTip(f"LoRA folder: {self.folder} (click to choose another)")
        self.rescan()

    @Slot()
    def rescan(self) -> None:
        """List the folder's LoRA files again and watch every folder under it (new subfolders too)."""
        folders = [self.folder, *(p for p in sorted(self.folder.rglob("*")) if p.is_dir())] if self.folder.is_dir() else []
        stale = [d for d in self.watcher.directories() if Path(d) not in folders]
        if stale:
            self.watcher.removePaths(stale)
        new = [str(d) for d in folders if str(d) not in self.watcher.directories()]
        if new:
            self.watcher.addPaths(new)
        self.available = sorted(p for p in self.folder.rglob("*") if p.suffix.lower() in LORA_SUFFIXES and p.is_file()) \
            if self.folder.is_dir() else []
        self.menu.clear()
        for path in self.available:
            self.menu.addAction(str(path.relative_to(self.folder).with_suffix("")), lambda p=path: self.add_file(p))
        if self.available:
            self.menu.addSeparator()
        self.menu.addAction("Other file…", self._browse)
        self.hint.setText(f"{len(self.available)} LoRA file{'' if len(self.available) == 1 else 's'} in the LoRA folder"
                          if self.available else "No LoRA files yet: copy .safetensors LoRAs into the LoRA folder.")

    def _choose_folder(self) -> None:
        folder = QFileDialog.getExistingDirectory(self, "LoRA folder", str(self.folder))
        if folder:
            self.set_folder(Path(folder))
            self.folder_changed.emit(folder)

    def _browse(self) -> None:
        path, _ = QFileDialog.getOpenFileName(self, "Add a LoRA", str(self.folder), "LoRA (*.safetensors)")
        if path:
            self.add_file(Path(path))

    # ----- the set -----
    def add_file(self, path: Path, weight: float = 1.0) -> LoraRow | None:
        try:
            ref = lora_ref(path, weight)
        except UserError as e:
            self.hint.setText(str(e))
            return None
        return self._add_row(ref)

    def _add_row(self, ref: LoraRef) -> LoraRow:
        row = LoraRow(ref, self)
        row.changed.connect(self.changed)
        row.remove.connect(self._remove)
        self.rows.append(row)
        self.list.addWidget(row)
        if Path(ref.path).is_file():
            QThreadPool.globalInstance().start(_JudgeTask(self.judge, ref.path, self._judged))
        else:
            row.set_verdict(Verdict(f"Missing: {ref.path} (generating looks for it by content in the LoRA folder)", False))
        self.changed.emit()
        return row

    @Slot(object)
    def _remove(self, row: LoraRow) -> None:
        self.rows.remove(row)
        row.deleteLater()
        self.changed.emit()

    @Slot(str, object)
    def _on_judged(self, path: str, verdict: Verdict) -> None:
        for row in self.rows:
            if row.ref.path == path:
                row.set_verdict(verdict)

    def refs(self) -> tuple[LoraRef, ...]:
        """The Job's LoRA records (refused files are kept, switched off)."""
        return tuple(row.current() for row in self.rows)

    def set_refs(self, refs) -> None:
        """Show a job's LoRAs (LoraRef records or their dicts), replacing the list."""
        for row in list(self.rows):
            self._remove(row)
        for ref in refs:
            self._add_row(ref if isinstance(ref, LoraRef) else LoraRef.from_dict(ref))

    def summary(self) -> str:
        """The active set, for the status bar: "LoRA: style ×0.8, motion ×1" or ""."""
        active = [r.describe() for r in self.refs() if r.active]
        return f"LoRA: {', '.join(active)}" if active else ""


def attach_to_window(window) -> LoraPanel:
    """Build the panel for the main window: in the sidebar under the settings, its folder from the
    settings (a new folder is saved), its active set in the status bar, its changes as form changes."""
    from ..engine.lora_set import judge_lora
    from ..settings import save_settings

    def judge(path: str) -> Verdict:
        info = judge_lora(path, window.settings.models_dir or "demo")
        return Verdict(info.refused or info.describe().split(": ", 1)[1], bool(info.refused))

    def folder_changed(folder: str) -> None:
        window.settings.lora_dir = folder
        save_settings(window.paths, window.settings)

    panel = LoraPanel(window.settings.lora_folder(window.paths), judge)
    window.sidebar.add_section("LoRA", panel)
    status = QLabel(objectName="Hint")
    window.statusBar().insertPermanentWidget(0, status)
    panel.changed.connect(window._form_changed)
    panel.changed.connect(lambda: status.setText(panel.summary()))
    panel.folder_changed.connect(folder_changed)
    panel.status_label = status
    return panel
