"""Finished videos with thumbnails: open, show in folder, load the settings back, view in the player,
delete with the working files. Each row: the prompt, then name, frames, disk held and when."""
from __future__ import annotations

import json
import time
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, Signal
from PySide6.QtGui import QIcon, QPixmap
from PySide6.QtWidgets import QLabel, QListWidget, QListWidgetItem, QMenu, QVBoxLayout, QWidget

from ..settings import HistoryEntry
from . import theme
from .disk import disk_use, human
from .history import History
from .queue_panel import first_line

THUMB = QSize(96, 64)


def ago(t: float, now: float | None = None) -> str:
    s = max(0, int((now or time.time()) - t))
    for unit, n in (("day", 86400), ("h", 3600), ("min", 60)):
        if s >= n:
            k = s // n
            return f"{k} {unit}{'s' if unit == 'day' and k > 1 else ''} ago"
    return "just now"


class HistoryPanel(QWidget):
    openRequested = Signal(str)
    revealRequested = Signal(str)
    loadRequested = Signal(str)      # a video (its embedded job) or a job JSON
    viewRequested = Signal(object)   # a HistoryEntry to show in the player
    deleteRequested = Signal(object)  # a HistoryEntry to delete with its job folder (the window asks first)

    def __init__(self, history: History, parent: QWidget | None = None):
        super().__init__(parent)
        self.history = history
        self.list = QListWidget()
        self.list.setIconSize(THUMB)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._menu)
        self.list.itemDoubleClicked.connect(self._view)
        self.empty = QLabel("Finished videos appear here. Double-click one to watch it again; "
                            "right-click to open it or reuse its settings.", objectName="Hint")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.empty, 1)
        history.changed.connect(self.rebuild)
        self.rebuild()

    def rebuild(self) -> None:
        self.list.clear()
        for e in self.history.entries:
            name = Path(e.video).name
            state = " · stopped early" if e.cancelled else ""
            missing = "" if Path(e.video).exists() else " · file missing"
            under = f"↳ from {Path(e.source).name} · " if e.source else ""
            prompt = prompt_of(e.job_json)
            item = QListWidgetItem(f"{first_line(prompt) if prompt else name}\n{under}{e.num_frames} frames · "
                                   f"{human(disk_use(e.video))} · {ago(e.finished_at)}{state}{missing}")
            item.setData(Qt.ItemDataRole.UserRole, e)
            pix = QPixmap(e.thumbnail) if e.thumbnail else QPixmap()
            item.setIcon(QIcon(pix) if not pix.isNull() else theme.icon("film"))
            item.setToolTip(f"{prompt}\n{e.video}" if prompt else e.video)
            self.list.addItem(item)
        self.list.setVisible(bool(self.history.entries))
        self.empty.setVisible(not self.history.entries)

    def _entry(self, item: QListWidgetItem | None) -> HistoryEntry | None:
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _view(self, item: QListWidgetItem) -> None:
        """Every entry plays in the window: a generation from its frame store, a finished copy from its file."""
        self.viewRequested.emit(self._entry(item))

    def _menu(self, pos: QPoint) -> None:
        e = self._entry(self.list.itemAt(pos))
        if e is None:
            return
        menu = QMenu(self)
        exists = Path(e.video).exists()
        menu.addAction("Watch in the player", lambda: self.viewRequested.emit(e))
        menu.addAction("Open video", lambda: self.openRequested.emit(e.video)).setEnabled(exists)
        menu.addAction("Show in folder", lambda: self.revealRequested.emit(e.video)).setEnabled(exists)
        menu.addAction("Load its settings", lambda: self.loadRequested.emit(e.job_json if Path(e.job_json).exists() else e.video))
        menu.addSeparator()
        menu.addAction("Remove from history", lambda: self.history.remove(e.video))
        menu.addAction(f"Delete the video and its working files ({human(disk_use(e.video))})…",
                       lambda: self.deleteRequested.emit(e))
        menu.exec(self.list.viewport().mapToGlobal(pos))
        menu.deleteLater()


def prompt_of(job_json: str) -> str:
    """The prompt saved beside a video ("" when its JSON is gone or unreadable)."""
    try:
        data = json.loads(Path(job_json).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return ""
    return str(data.get("prompt", "")) if isinstance(data, dict) else ""
