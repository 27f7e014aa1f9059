"""Finished videos, newest first, with a thumbnail each; saved between sessions.

A video made from another one in the Finish panel is listed right under its source, so the
versions of one generation stay together.
"""
from __future__ import annotations

from PySide6.QtCore import QObject, Signal

from ..settings import AppPaths, HistoryEntry, load_history, save_history

MAX_ENTRIES = 200


class History(QObject):
    changed = Signal()

    def __init__(self, paths: AppPaths, parent: QObject | None = None):
        super().__init__(parent)
        self.paths = paths
        self.entries: list[HistoryEntry] = load_history(paths)

    def add(self, entry: HistoryEntry) -> None:
        others = [e for e in self.entries if e.video != entry.video]
        at = next((i + 1 for i, e in enumerate(others) if entry.source and e.video == entry.source), 0)
        self.entries = others[:at] + [entry] + others[at:]
        del self.entries[MAX_ENTRIES:]
        self._save()

    def remove(self, video: str) -> None:
        self.entries = [e for e in self.entries if e.video != video]
        self._save()

    def _save(self) -> None:
        save_history(self.paths, self.entries)
        self.changed.emit()
