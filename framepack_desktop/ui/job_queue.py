"""The job queue: jobs waiting to run after the current one, saved on every change.

Jobs can be added while one runs, moved, duplicated and removed. The running job is saved at
the head of the file too, so after a crash or a restart it is first in line again (and resumes
from its finished sections, which its job folder keeps).
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ..engine.job import Job
from ..settings import AppPaths, load_queue, save_queue


@dataclass(frozen=True)
class QueueItem:
    id: int
    job: Job


class JobQueue(QObject):
    changed = Signal()

    def __init__(self, paths: AppPaths, parent: QObject | None = None):
        super().__init__(parent)
        self.paths = paths
        self._ids = itertools.count(1)
        self.items: list[QueueItem] = [QueueItem(next(self._ids), j) for j in load_queue(paths)]
        self.running: Job | None = None

    def __len__(self) -> int:
        return len(self.items)

    @property
    def jobs(self) -> list[Job]:
        return [i.job for i in self.items]

    def add(self, job: Job, front: bool = False) -> int:
        item = QueueItem(next(self._ids), job)
        self.items.insert(0 if front else len(self.items), item)
        self._save()
        return item.id

    def remove(self, item_id: int) -> None:
        self.items = [i for i in self.items if i.id != item_id]
        self._save()

    def duplicate(self, item_id: int) -> int:
        k = self._index(item_id)
        item = QueueItem(next(self._ids), self.items[k].job)
        self.items.insert(k + 1, item)
        self._save()
        return item.id

    def move(self, item_id: int, index: int) -> None:
        item = self.items.pop(self._index(item_id))
        self.items.insert(min(max(index, 0), len(self.items)), item)
        self._save()

    def reorder(self, ids: list[int]) -> None:
        """Adopt the order a drag-and-drop in the list produced."""
        by_id = {i.id: i for i in self.items}
        if sorted(ids) != sorted(by_id):
            raise ValueError(f"reorder needs exactly the queued ids {sorted(by_id)}, got {ids}")
        self.items = [by_id[i] for i in ids]
        self._save()

    def take_next(self) -> Job | None:
        """The next job, now marked as running (still saved, at the head, until it ends)."""
        if not self.items:
            return None
        self.running = self.items.pop(0).job
        self._save()
        return self.running

    def finish_running(self) -> None:
        self.running = None
        self._save()

    def _index(self, item_id: int) -> int:
        for k, i in enumerate(self.items):
            if i.id == item_id:
                return k
        raise KeyError(f"no queued job with id {item_id}")

    def _save(self) -> None:
        save_queue(self.paths, ([self.running] if self.running else []) + self.jobs)
        self.changed.emit()
