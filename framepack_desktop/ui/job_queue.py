"""The job queue: jobs waiting to run after the current one, saved on every change.

Jobs can be added while one runs, moved, duplicated, replaced, removed (and put back). The running
job is saved in a file of its own: after a crash the next start finds it there and offers to
continue it (with its kept sections) instead of listing it as a job that never began; one whose
folder was never made simply waits first in line again. `paused` holds the queue after the job
that runs now (the panel's Pause); it is not saved: a restart never starts jobs by itself.

Jobs queued together (several images dropped at once) share a group: queue-side data, never part
of a Job (its fingerprint and its saved settings are those of a single job). A group can be held
(its jobs wait while others run) or removed at once; groups and holds are kept in a side file next
to the queue, keyed by each job's output.
"""
from __future__ import annotations

import itertools
import json
from dataclasses import dataclass, replace

from PySide6.QtCore import QObject, Signal

from ..engine.job import Job
from ..settings import AppPaths, load_queue, load_running, save_queue, save_running, write_json_atomic


@dataclass(frozen=True)
class QueueItem:
    id: int
    job: Job
    group: str = ""         # the batch it came in with ("" for a job queued on its own)
    held: bool = False      # its group is held: it waits while others run


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
        marks = self._load_groups()
        self.items: list[QueueItem] = [QueueItem(next(self._ids), j, *marks.get(j.output, ("", False)))
                                       for j in waiting]
        self._groups = itertools.count(1 + max((int(i.group) for i in self.items if i.group.isdigit()), default=0))
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

    def add_group(self, jobs: list[Job]) -> str:
        """Jobs made together (a batch), queued as one group; returns the group's name."""
        group = str(next(self._groups))
        self.items += [QueueItem(next(self._ids), job, group) for job in jobs]
        self._save()
        return group

    def group_items(self, group: str) -> list[QueueItem]:
        return [i for i in self.items if group and i.group == group]

    def hold_group(self, group: str, held: bool) -> None:
        """Hold a group's jobs (they wait while others run) or let them run again."""
        self.items = [replace(i, held=held) if i.group == group and group else i for i in self.items]
        self._save()

    def remove_group(self, group: str) -> list[tuple[int, QueueItem]]:
        """Take a whole group out; returns where each was, for `put_back_group` (Undo)."""
        removed = [(k, i) for k, i in enumerate(self.items) if group and i.group == group]
        self.items = [i for i in self.items if not (group and i.group == group)]
        self._save()
        return removed

    def put_back_group(self, removed: list[tuple[int, QueueItem]]) -> None:
        """Removed jobs (one or a whole group) back where they were."""
        for index, item in removed:             # in their old order: each lands where it was
            self.items.insert(min(max(index, 0), len(self.items)), item)
        self._save()

    def remove(self, item_id: int) -> tuple[int, QueueItem]:
        """Take a job out; returns where it was and the item, for `put_back_group` (Undo)."""
        k = self._index(item_id)
        item = self.items.pop(k)
        self._save()
        return k, item

    def replace(self, item_id: int, job: Job) -> bool:
        """The edited job takes the place of the queued one; False when that one is no longer queued."""
        try:
            k = self._index(item_id)
        except KeyError:
            return False
        self.items[k] = replace(self.items[k], job=job)
        self._save()
        return True

    def job_of(self, item_id: int) -> Job:
        return self.items[self._index(item_id)].job

    def set_paused(self, paused: bool) -> None:
        self.paused = paused
        self.changed.emit()

    def duplicate(self, item_id: int) -> int:
        k = self._index(item_id)
        item = replace(self.items[k], id=next(self._ids))
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
        k = next((k for k, i in enumerate(self.items) if not i.held), None)
        if k is None:
            return None
        self.running = self.items.pop(k).job
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

    @property
    def _groups_file(self):
        return self.paths.queue_file.with_name("queue_groups.json")

    def _load_groups(self) -> dict[str, tuple[str, bool]]:
        """output -> (group, held) from the side file; a missing or unreadable one means no groups."""
        try:
            data = json.loads(self._groups_file.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        if not isinstance(data, dict):
            return {}
        return {out: (str(m.get("group", "")), bool(m.get("held", False))) for out, m in data.items() if isinstance(m, dict)}

    def _save(self) -> None:
        write_json_atomic(self._groups_file, {i.job.output: {"group": i.group, "held": i.held}
                                              for i in self.items if i.group})
        save_queue(self.paths, self.jobs)
        save_running(self.paths, self.running)
        self.changed.emit()
