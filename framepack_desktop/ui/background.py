"""Slow disk work off the GUI thread: run a function in Qt's thread pool, get its result as a signal.

Reading every take header, hashing input images for the unfinished-job scan or timing the fp8
check at start-up would freeze the window for as long as they take. `Tasks.run(fn)` runs
`fn` on a pool thread and emits `returned(result)` or `errored(exception)`, then `finished`, in the
GUI thread (the superqt `create_worker` pattern, in the few lines this app needs). Connect them
only to methods of QObjects living in the GUI thread (a lambda would run in the pool thread).
"""
from __future__ import annotations

from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal, Slot


class FunctionWorker(QObject):
    """One call of `fn(*args)` on a pool thread. Keep a reference until `finished` (the window's
    workers set does); the signals are delivered to the GUI thread by Qt's queued connections."""

    returned = Signal(object)
    errored = Signal(object)
    finished = Signal()

    def __init__(self, fn: Callable[..., Any], *args: Any):
        super().__init__()
        self._fn, self._args = fn, args

    def start(self, pool: QThreadPool | None = None) -> "FunctionWorker":
        (pool or QThreadPool.globalInstance()).start(_Call(self))
        return self

    def _run(self) -> None:
        try:
            result = self._fn(*self._args)
        except Exception as e:  # noqa: BLE001 - not hidden: handed to `errored`, whose slot reports it
            self.errored.emit(e)
        else:
            self.returned.emit(result)
        finally:
            self.finished.emit()


class _Call(QRunnable):
    def __init__(self, worker: FunctionWorker):
        super().__init__()
        self.worker = worker

    def run(self) -> None:
        self.worker._run()


class Tasks(QObject):
    """An owner's background calls, kept alive until they finish (the window has one for all its
    disk work). `idle` says whether none is running: what a test waits for."""

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.running: set[FunctionWorker] = set()

    def run(self, fn: Callable[..., Any], *args: Any, returned: Callable[[Any], None],
            errored: Callable[[BaseException], None]) -> FunctionWorker:
        worker = FunctionWorker(fn, *args)
        worker.returned.connect(returned)
        worker.errored.connect(errored)
        worker.finished.connect(self._done)
        self.running.add(worker)
        return worker.start()

    @Slot()
    def _done(self) -> None:
        self.running.discard(self.sender())

    @property
    def idle(self) -> bool:
        return not self.running
