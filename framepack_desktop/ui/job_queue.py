"""The job queue: jobs waiting to run after the current one, saved on every change.

Jobs can be added while one runs, moved, duplicated, replaced, removed (and put back). The running
job is saved in a file of its own: after a crash the next start finds it there and offers to
continue it (with its kept sections) instead of listing it as a job that never began; one whose
folder was never made simply waits first in line again. `paused` holds the queue after the job
that runs now (the panel's Pause); it is not saved: a restart never starts jobs by itself.
"""
from __future__ import annotations

import itertools
from dataclasses import dataclass

from PySide6.QtCore import QObject, Signal

from ..engine.job import Job
from ..settings import AppPaths, load_queue, load_running, save_queue, save_running


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
        waiting = load_queue(paths)
        interrupted = load_running(paths)
        if interrupted is not None and not interrupted.job_dir.exists():
            waiting.insert(0, interrupted)      # it never began: nothing to continue, it waits again
        self.interrupted = interrupted if interrupted is not None and interrupted.job_dir.exists() else None
        self.items: list[QueueItem] = [QueueItem(next(self._ids), j) for j in waiting]
        self.running: Job | None = None
        self.paused = False
        self._save()

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

    def remove(self, item_id: int) -> tuple[int, QueueItem]:
        """Take a job out; returns where it was and the item, for `put_back` (Undo)."""
        k = self._index(item_id)
        item = self.items.pop(k)
        self._save()
        return k, item

    def put_back(self, index: int, item: QueueItem) -> None:
        self.items.insert(min(max(index, 0), len(self.items)), item)
        self._save()

    def replace(self, item_id: int, job: Job) -> bool:
        """The edited job takes the place of the queued one; False when that one is no longer queued."""
        try:
            k = self._index(item_id)
        except KeyError:
            return False
        self.items[k] = QueueItem(item_id, job)
        self._save()
        return True

    def job_of(self, item_id: int) -> Job:
        return self.items[self._index(item_id)].job

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.changed.emit()

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
        save_queue(self.paths, self.jobs)
        save_running(self.paths, self.running)
        self.changed.emit()
