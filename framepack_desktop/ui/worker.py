"""Runs the engine off the GUI thread: a QObject moved to a QThread iterates `run_job`.

Each engine event leaves the worker thread as a Qt signal carrying the event itself (a frozen
dataclass of plain data: numbers, strings, numpy arrays the engine never touches again). The
signals are connected only to slots of QObjects that live in the GUI thread, so Qt queues them
there (a lambda would run in the worker thread under PySide6). Stop sets a threading.Event that
the runner checks before every model call; the thread then ends by itself, and `done` fires
after the run's last event.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable, Iterator

from PySide6.QtCore import QObject, Qt, QThread, Signal, Slot

from ..engine.events import Event, Failed
from ..engine.job import Job

log = logging.getLogger(__name__)

RunJob = Callable[..., Iterator[Event]]


def _engine_run_job() -> RunJob:
    from ..engine.runner import run_job
    return run_job


class JobWorker(QObject):
    """Lives in the worker thread; `run` is invoked there by QThread.started."""
    event = Signal(object)
    done = Signal()

    def __init__(self, job: Job, cancel: threading.Event, session: object | None, run_job: RunJob):
        super().__init__()
        self.job = job
        self.cancel = cancel
        self.session = session
        self.run_job = run_job

    @Slot()
    def run(self) -> None:
        try:
            for event in self.run_job(self.job, self.cancel, self.session):
                self.event.emit(event)
        except Exception as e:  # noqa: BLE001 - a bug in the engine: log it, tell the user, keep the window alive
            detail = traceback.format_exc()
            log.error("engine crashed while running %s:\n%s", self.job.output, detail)
            self.event.emit(Failed(f"The engine stopped with an internal error ({type(e).__name__}: {e}). "
                                   "Details are in the log file.", detail))
        finally:
            self.done.emit()


class JobThread(QObject):
    """One generation in its own QThread. Lives in the GUI thread; re-emits the worker's signals.

    `event` and `finished` are emitted in the GUI thread, so consumers may touch widgets.
    Lifetime: Python owns this object, its QThread and its worker (no Qt parents, no
    deleteLater). The owner drops its reference in the GUI thread after `finished`, and the
    three are destroyed there, together, once the thread has ended.
    """
    event = Signal(object)
    finished = Signal()

    def __init__(self, job: Job, session: object | None = None, run_job: RunJob | None = None):
        super().__init__()
        self.job = job
        self.cancel = threading.Event()
        self.thread = QThread()
        self.thread.setObjectName("engine")
        self.worker = JobWorker(job, self.cancel, session, run_job or _engine_run_job())
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        self.worker.event.connect(self._relay)
        # quit() is thread-safe; called directly in the worker thread it ends the thread's event
        # loop as soon as the run returns, even while the GUI thread is blocked in wait().
        self.worker.done.connect(self.thread.quit, Qt.ConnectionType.DirectConnection)
        self.thread.finished.connect(self._thread_finished)
        self._running = False

    def start(self) -> None:
        self._running = True
        self.thread.start()

    def stop(self) -> None:
        """Ask the runner to stop within one sampling step; `finished` follows."""
        self.cancel.set()

    @property
    def running(self) -> bool:
        return self._running

    def wait(self, ms: int) -> bool:
        """Block until the thread ended (only for shutdown paths); True when it did."""
        return self.thread.wait(ms)

    @Slot(object)
    def _relay(self, event: Event) -> None:
        self.event.emit(event)

    @Slot()
    def _thread_finished(self) -> None:
        self._running = False
        self.finished.emit()
