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
  is ever frozen: a model dropped between jobs must stay collectable;
- the collections the engine asks for to free a dropped model (engine.session.set_collector) run
  in the GUI thread too: the engine thread waits for them, a few seconds at most.
"""
from __future__ import annotations

import gc
import logging
import threading
import time
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, QTimer, Signal, Slot

log = logging.getLogger(__name__)
YOUNG_INTERVAL_MS = 1000
IDLE_DELAY_MS = 3000
ENGINE_WAIT_S = 5.0


class GuiCollector(QObject):
    """A `gc.collect` the engine may call from its thread; the collection runs in the GUI thread.

    The engine thread waits until it is done, so a dropped model's memory is free before the next
    one loads. The wait is bounded: if the GUI thread is itself waiting for the engine (shutting
    down), the engine goes on after ENGINE_WAIT_S without the collection instead of deadlocking.
    """
    _requested = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self._done = threading.Event()
        self._one_at_a_time = threading.Lock()
        self._requested.connect(self._collect)

    def __call__(self) -> None:
        if QThread.currentThread() == self.thread():
            gc.collect()
            return
        with self._one_at_a_time:
            self._done.clear()
            self._requested.emit()
            if not self._done.wait(ENGINE_WAIT_S):
                log.warning("the GUI thread did not run the engine's garbage collection within %.0f s", ENGINE_WAIT_S)

    @Slot()
    def _collect(self) -> None:
        gc.collect()
        self._done.set()


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
        self.collector = GuiCollector(self)

    def install(self) -> None:
        from ..engine.session import set_collector   # imports torch: only once the app starts

        t = time.perf_counter()
        gc.collect()
        gc.freeze()
        gc.disable()
        set_collector(self.collector)
        self._young.start()
        self.installed = True
        log.info("start-up collection and freeze took %.0f ms", 1000 * (time.perf_counter() - t))

    def uninstall(self) -> None:
        """Back to Python's defaults (the window closing, or a test ending)."""
        from ..engine.session import set_collector

        set_collector(None)
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
