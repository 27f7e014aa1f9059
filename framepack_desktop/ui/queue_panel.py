"""The queue list: what runs now and next; Start/Pause; drag or use the arrows to reorder; a row's
menu edits (into the form), duplicates, removes (with Undo) or opens its folder. Jobs queued as a
batch say so on their rows, and their menu holds or removes the whole batch (with Undo)."""
from __future__ import annotations

import re
from pathlib import Path

import numpy as np
from PySide6.QtCore import QPoint, QSize, Qt, QTimer, Signal
from PySide6.QtGui import QIcon, QImageReader, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView, QHBoxLayout, QLabel, QListWidget, QListWidgetItem, QMenu, QPushButton, QToolButton,
    QVBoxLayout, QWidget,
)

from ..engine.job import Job
from . import theme
from .job_queue import JobQueue, QueueItem
from .queue_running_row import RunningRow

ICON = QSize(56, 56)
UNDO_MS = 15_000            # how long "Removed · Undo" stays


def job_summary(job: Job) -> str:
    variant = "F1" if job.variant == "f1" else "original"
    return f"{job.seconds:g} s · {job.resolution} · {variant} · {job.steps} steps · seed {job.seed}"


def first_prompt_line(job: Job) -> str:
    """The first prompt line without its time tag, short enough for a list row."""
    return first_line(job.prompt)


def first_line(prompt: str) -> str:
    lines = (re.sub(r"^\s*\[[^\]]*\]\s*", "", ln).strip() for ln in prompt.splitlines())
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
    editRequested = Signal(int, object)  # a queued job (id, Job) to edit in the form; Add to queue replaces it
    revealRequested = Signal(str)       # a job's output, to show in the file manager
    startRequested = Signal()
    pauseRequested = Signal()

    def __init__(self, queue: JobQueue, parent: QWidget | None = None):
        super().__init__(parent)
        self.queue = queue
        self.now = RunningRow()
        self.start = QPushButton("Start")
        self.start.setIcon(theme.icon("play"))
        self.start.setToolTip("Run the waiting jobs one after another")
        self.start.clicked.connect(self.startRequested)
        self.pause = QPushButton("Pause")
        self.pause.setIcon(theme.icon("pause"))
        self.pause.setToolTip("Let the running job finish, then wait")
        self.pause.clicked.connect(self.pauseRequested)
        self.state = QLabel(objectName="Hint")
        self.undo_text = QLabel(objectName="Hint")
        self.undo_text.setMinimumWidth(40)
        self.undo = QPushButton("Undo")
        self.undo.clicked.connect(self.undo_remove)
        self._removed: list[tuple[int, QueueItem]] = []
        self.undo_timer = QTimer(self)
        self.undo_timer.setSingleShot(True)
        self.undo_timer.setInterval(UNDO_MS)
        self.undo_timer.timeout.connect(self._forget_removed)
        self.list = QListWidget()
        self.list.setIconSize(ICON)
        self.list.setDragDropMode(QAbstractItemView.DragDropMode.InternalMove)
        self.list.setDefaultDropAction(Qt.DropAction.MoveAction)
        self.list.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.list.setWordWrap(True)
        self.list.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.list.model().rowsMoved.connect(self._adopt_drag_order)
        self.list.itemDoubleClicked.connect(self._load_item)
        self.list.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.list.customContextMenuRequested.connect(self._show_menu)
        self.empty = QLabel("No jobs waiting. “Add to queue” starts a job at once when none runs, "
                            "or lines it up to run after the current one.", objectName="Hint")
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

        controls = QHBoxLayout()
        controls.addWidget(self.start)
        controls.addWidget(self.pause)
        controls.addStretch(1)
        self.state.setWordWrap(True)
        undo_bar = QHBoxLayout()
        undo_bar.addWidget(self.undo_text, 1)
        undo_bar.addWidget(self.undo)

        lay = QVBoxLayout(self)
        lay.setContentsMargins(8, 8, 8, 8)
        lay.setSpacing(6)
        lay.addLayout(controls)
        lay.addWidget(self.state)
        lay.addWidget(self.now)
        lay.addWidget(self.list, 1)
        lay.addWidget(self.empty, 1)
        lay.addLayout(undo_bar)
        lay.addLayout(bar)
        self._forget_removed()
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
        if running is None:
            self.now.hide()
        elif self.now.isHidden() or self.now.title.toolTip() != running.prompt:
            self.now.show_job(first_prompt_line(running), running.prompt)
        waiting = len(self.queue)
        can_start = self.queue.paused or (waiting > 0 and running is None)
        self.start.setEnabled(can_start)
        self.pause.setEnabled(not self.queue.paused)
        self.start.setVisible(can_start or not self.pause.isEnabled())     # one of the two at a time
        self.pause.setVisible(not self.start.isVisible())
        self.state.setText("Paused: jobs wait for Start" if self.queue.paused else
                           f"{waiting} waiting" if waiting else "")
        self.state.setVisible(bool(self.state.text()))
        for item in self.queue.items:
            w = QListWidgetItem(f"{self.group_tag(item)}{first_prompt_line(item.job)}\n{job_summary(item.job)}")
            w.setData(Qt.ItemDataRole.UserRole, item.id)
            w.setIcon(image_icon(item.job.image) if Path(item.job.image).is_file() else theme.icon("image"))
            w.setToolTip(item.job.prompt)
            self.list.addItem(w)
            if item.id == current:
                self.list.setCurrentItem(w)
        self.list.setVisible(bool(self.queue.items))
        self.empty.setVisible(not self.queue.items)
        self._update_buttons()

    def group_tag(self, item: QueueItem) -> str:
        """"Batch 2 · 1/3 · held · " for a job of a batch, "" for one queued on its own."""
        members = self.queue.group_items(item.group)
        if not members:
            return ""
        k = next(n for n, m in enumerate(members, start=1) if m.id == item.id)
        return f"Batch {item.group} · {k}/{len(members)}{' · held' if item.held else ''} · "

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
            self.remove_job(item_id)

    def remove_job(self, item_id: int) -> None:
        """Out of the queue, with "Undo" for a while."""
        index, item = self.queue.remove(item_id)
        self._offer_undo([(index, item)], f"Removed “{first_prompt_line(item.job)}”", item.job.prompt)

    def remove_group(self, group: str) -> None:
        """A whole batch out of the queue, with "Undo" for a while."""
        removed = self.queue.remove_group(group)
        if removed:
            self._offer_undo(removed, f"Removed batch {group} ({len(removed)} jobs)",
                             "\n".join(Path(i.job.output).name for _, i in removed))

    def _offer_undo(self, removed: list[tuple[int, QueueItem]], text: str, tip: str) -> None:
        self._removed = removed
        self.undo_text.setText(text)
        self.undo_text.setToolTip(tip)
        self.undo_text.show()
        self.undo.show()
        self.undo_timer.start()

    def undo_remove(self) -> None:
        if self._removed:
            self.queue.put_back_group(self._removed)
        self._forget_removed()

    def _forget_removed(self) -> None:
        self._removed = []
        self.undo_timer.stop()
        self.undo_text.hide()
        self.undo.hide()

    def show_running(self, fraction: float, text: str, picture: np.ndarray | None) -> None:
        """The running job's progress and newest picture (from the window's progress update)."""
        if self.now.isVisible():
            self.now.show_progress(fraction, text, picture)

    def context_menu(self, item_id: int) -> QMenu:
        """A row's menu: edit in the form, duplicate, remove (Undo follows), open its folder."""
        job = self.queue.job_of(item_id)
        group = next(i for i in self.queue.items if i.id == item_id).group
        menu = QMenu(self)
        if group:
            members = self.queue.group_items(group)
            held = all(i.held for i in members)
            menu.addAction(f"Let batch {group} run" if held else f"Hold batch {group} (its jobs wait)",
                           lambda: self.queue.hold_group(group, not held))
            menu.addAction(f"Remove batch {group} ({len(members)} jobs)", lambda: self.remove_group(group))
            menu.addSeparator()
        menu.addAction("Edit in the form (Add to queue replaces it)", lambda: self.editRequested.emit(item_id, job))
        menu.addAction("Duplicate", lambda: self.queue.duplicate(item_id))
        menu.addAction("Remove", lambda: self.remove_job(item_id))
        menu.addSeparator()
        menu.addAction("Open its folder", lambda: self.revealRequested.emit(job.output))
        return menu

    def _show_menu(self, pos: QPoint) -> None:
        item = self.list.itemAt(pos)
        if item is None:
            return
        menu = self.context_menu(item.data(Qt.ItemDataRole.UserRole))
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(self.list.viewport().mapToGlobal(pos))

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
