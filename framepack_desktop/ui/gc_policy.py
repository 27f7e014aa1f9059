"""Garbage collection on the GUI's terms: short, in the GUI thread, and never while it matters.

Why: a full cyclic collection walks every tracked object. With torch, transformers and diffusers
loaded that is a few hundred thousand objects and 200-400 ms with the GIL held, so the window
freezes whichever thread triggers it; and when a collection in the engine thread finds dead Qt
wrappers, PySide defers their deletion to the GUI thread, a hand-over that has crashed the
process (shiboken's runDeletionInMainThread) when both threads collect at once. So:

- at start-up, after the engine's imports, collect once and freeze the survivors (gc.freeze):
  later collections skip the libraries' objects, which live as long as the process anyway;
- automatic collection is off, so no collection starts in the engine thread by itself;
- the GUI thread collects the young generations every second (a few milliseconds), and does a
  full collection when the app is idle, a few seconds after a job ended. Nothing loaded by a job
  is ever frozen: a model dropped between jobs must stay collectable.
"""
from __future__ import annotations

import gc
import logging
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QTimer, Slot

log = logging.getLogger(__name__)
YOUNG_INTERVAL_MS = 1000
IDLE_DELAY_MS = 3000


class GcPolicy(QObject):
    def __init__(self, busy: Callable[[], bool], parent: QObject | None = None):
        super().__init__(parent)
        self._busy = busy
        self.installed = False
        self._young = QTimer(self)
        self._young.setInterval(YOUNG_INTERVAL_MS)
        self._young.timeout.connect(self._collect_young)
        self._idle = QTimer(self)
        self._idle.setSingleShot(True)
        self._idle.setInterval(IDLE_DELAY_MS)
        self._idle.timeout.connect(self._collect_if_idle)

    def install(self) -> None:
        t = time.perf_counter()
        gc.collect()
        gc.freeze()
        gc.disable()
        self._young.start()
        self.installed = True
        log.info("start-up collection and freeze took %.0f ms", 1000 * (time.perf_counter() - t))

    def uninstall(self) -> None:
        """Back to Python's defaults (the window closing, or a test ending)."""
        self._young.stop()
        self._idle.stop()
        gc.unfreeze()
        gc.enable()
        self.installed = False

    @Slot(bool)
    def job_running(self, running: bool) -> None:
        """Connected to the controller's runningChanged: a job's end schedules the full collection."""
        if running:
            self._idle.stop()
        elif self.installed:
            self._idle.start()

    @Slot()
    def _collect_young(self) -> None:
        gc.collect(1)

    @Slot()
    def _collect_if_idle(self) -> None:
        if not self._busy():
            t = time.perf_counter()
            gc.collect()
            log.info("idle collection took %.0f ms", 1000 * (time.perf_counter() - t))
