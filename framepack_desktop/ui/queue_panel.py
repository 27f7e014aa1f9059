"""The queue list: what runs now and next; drag or use the arrows to reorder, duplicate, remove."""
from __future__ import annotations

import re
from pathlib import Path

from PySide6.QtCore import QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QToolButton, QVBoxLayout, QWidget,
)

from ..engine.job import Job
from . import theme
from .job_queue import JobQueue

ICON = QSize(56, 56)


def job_summary(job: Job) -> str:
    variant = "F1" if job.variant == "f1" else "original"
    return f"{job.seconds:g} s · {job.resolution} · {variant} · {job.steps} steps · seed {job.seed}"


def first_prompt_line(job: Job) -> str:
    """The first prompt line without its time tag, short enough for a list row."""
    lines = (re.sub(r"^\s*\[[^\]]*\]\s*", "", ln).strip() for ln in job.prompt.splitlines())
    line = next((ln for ln in lines if ln), "(no prompt)")
    return line if len(line) <= 70 else line[:67] + "…"


def image_icon(path: str) -> QIcon:
    """A small icon of an input image, decoded at icon size (cheap even for big photos)."""
    reader = QImageReader(path)
    size = reader.size()
    if size.isValid():
        reader.setScaledSize(size.scaled(ICON * 2, Qt.AspectRatioMode.KeepAspectRatio))
    image = reader.read()
    return QIcon(QPixmap.fromImage(image)) if not image.isNull() else theme.icon("image")


class QueuePanel(QWidget):
    loadRequested = Signal(object)      # a Job to put back into the form

    def __init__(self, queue: JobQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.now = QLabel(objectName="Hint")
        self.now.setWordWrap(True)
        self.list = QListWidget()
        self.list.setIconSize(ICON)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.model().rowsMoved.connect(self._adopt_drag_order)
        self.list.itemDoubleClicked.connect(self._load_item)
        self.empty = QLabel("No jobs waiting. Use “Add to queue” to line up more videos; "
                            "they run one after another.", objectName="Hint")
        self.empty.setWordWrap(True)
        self.empty.setAlignment(Qt.AlignmentFlag.AlignTop)

        self.up = self._tool("up", "Move up", self._move_up)
        self.down = self._tool("down", "Move down", self._move_down)
        self.dup = self._tool("copy", "Duplicate", self._duplicate)
        self.remove = self._tool("trash", "Remove from the queue", self._remove)
        bar = QHBoxLayout()
        bar.setSpacing(4)
        for b in (self.up, self.down, self.dup, self.remove):
            bar.addWidget(b)
        bar.addStretch(1)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        lay.addWidget(self.now)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.empty, 1)
        lay.addLayout(bar)
        queue.changed.connect(self.rebuild)
        self.list.currentRowChanged.connect(self._update_buttons)
        self.rebuild()

    def _tool(self, icon: str, tip: str, slot) -> QToolButton:
        b = QToolButton(objectName="Transport")
        b.setIcon(theme.icon(icon))
        b.setToolTip(tip)
        b.clicked.connect(slot)
        return b

    def rebuild(self) -> None:
        current = self.selected_id()
        self.list.clear()
        running = self.queue.running
        self.now.setText(f"Now generating: {first_prompt_line(running)}" if running else "")
        self.now.setVisible(running is not None)
        for item in self.queue.items:
            w = QListWidgetItem(f"{first_prompt_line(item.job)}\n{job_summary(item.job)}")
            w.setData(Qt.ItemDataRole.UserRole, item.id)
            w.setIcon(image_icon(item.job.image) if Path(item.job.image).is_file() else theme.icon("image"))
            w.setToolTip(item.job.prompt)
            self.list.addItem(w)
            if item.id == current:
                self.list.setCurrentItem(w)
        self.list.setVisible(bool(self.queue.items))
        self.empty.setVisible(not self.queue.items)
        self._update_buttons()

    def selected_id(self) -> int | None:
        item = self.list.currentItem()
        return None if item is None else item.data(Qt.ItemDataRole.UserRole)

    def _update_buttons(self) -> None:
        row, n = self.list.currentRow(), self.list.count()
        selected = row >= 0
        self.up.setEnabled(selected and row > 0)
        self.down.setEnabled(selected and row < n - 1)
        self.dup.setEnabled(selected)
        self.remove.setEnabled(selected)

    def _move_up(self) -> None:
        self._move(-1)

    def _move_down(self) -> None:
        self._move(+1)

    def _move(self, delta: int) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.queue.move(item_id, self.list.currentRow() + delta)

    def _duplicate(self) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.queue.duplicate(item_id)

    def _remove(self) -> None:
        item_id = self.selected_id()
        if item_id is not None:
            self.queue.remove(item_id)

    def _adopt_drag_order(self) -> None:
        # The list is still inside its drop handling here: rebuild it after that has returned.
        QTimer.singleShot(0, self._reorder_from_list)

    def _reorder_from_list(self) -> None:
        ids = [self.list.item(k).data(Qt.ItemDataRole.UserRole) for k in range(self.list.count())]
        self.queue.reorder(ids)

    def _load_item(self, item: QListWidgetItem) -> None:
        item_id = item.data(Qt.ItemDataRole.UserRole)
        job = next(i.job for i in self.queue.items if i.id == item_id)
        self.loadRequested.emit(job)
