"""Keeps Python's garbage-collection pauses out of the window.

A full cyclic collection walks every tracked object: with torch, transformers and diffusers
loaded that is a few hundred thousand objects and 200-400 ms with the GIL held, so the window
would freeze whichever thread triggers it. The policy:

- at start-up, after the engine's imports, collect once and freeze the survivors (gc.freeze):
  collections then skip the libraries' objects, which live as long as the process anyway;
- never start a full (generation 2) collection automatically; the young generations, which
  stay cheap, are still collected as usual;
- do the full collection when the app is idle (no job running, a few seconds after the last one
  ended): unfreeze, collect, freeze again, so nothing that became garbage is kept for good.
"""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)
NEVER = 2 ** 31 - 1          # gen-2 threshold: "never collect generation 2 by itself"
IDLE_DELAY_MS = 3000


def settle() -> float:
    """Collect everything, then freeze what survived; returns the seconds it took."""
    t = time.perf_counter()
    gc.unfreeze()
    gc.collect()
    gc.freeze()
    return time.perf_counter() - t


class GcPolicy(QObject):
    def __init__(self, busy: Callable[[], bool], parent: QObject | None = None):
        super().__init__(parent)
        self._busy = busy
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_DELAY_MS)
        self._idle.timeout.connect(self._collect_if_idle)

    def install(self) -> None:
        young, middle, _ = gc.get_threshold()
        gc.set_threshold(young, middle, NEVER)
        log.info("start-up garbage collection and freeze took %.0f ms", 1000 * settle())

    @Slot(bool)
    def job_running(self, running: bool) -> None:
        """Connect to the controller's runningChanged: a job's end schedules the idle collection."""
        if running:
            self._idle.stop()
        else:
            self._idle.start()

    @Slot()
    def _collect_if_idle(self) -> None:
        if not self._busy():
            log.info("idle garbage collection took %.0f ms", 1000 * settle())
