"""One finishing run (or preview) in its own QThread, reported back as signals in the GUI thread.

Like the generation worker: the callable runs in the thread and may take a while (it loads
models, decodes and encodes); its progress, result, user-facing error or cancellation come back
as signals connected to slots of QObjects living in the GUI thread. Stop sets the
threading.Event the pipeline checks before every frame.
"""
from __future__ import annotations

import logging
import threading
import traceback
from collections.abc import Callable

from PySide6.QtCore import QObject, QThread, Signal, Slot

from ..engine.errors import JobCancelled, UserError

log = logging.getLogger(__name__)

Work = Callable[[threading.Event, Callable[[int, int], None]], object]


class _Worker(QObject):
    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, work: Work, cancel: threading.Event):
        super().__init__()
        self.work, self.cancel = work, cancel

    @Slot()
    def run(self) -> None:
        try:
            result = self.work(self.cancel, self.progress.emit)
        except JobCancelled:
            self.cancelled.emit()
        except UserError as e:
            self.failed.emit(str(e))
        except Exception as e:  # noqa: BLE001 - a bug in the engine: log it, tell the user, keep the window alive
            log.error("finishing failed:\n%s", traceback.format_exc())
            self.failed.emit(f"Finishing stopped with an internal error ({type(e).__name__}: {e}). "
                             "Details are in the log file.")
        else:
            self.done.emit(result)
        finally:
            self.ended.emit()


class PostTask(QObject):
    """Lives in the GUI thread; owns the thread and re-emits the worker's signals."""
    progress = Signal(int, int)
    done = Signal(object)
    failed = Signal(str)
    cancelled = Signal()
    ended = Signal()

    def __init__(self, work: Work, parent: QObject | None = None):
        super().__init__(parent)
        self.cancel = threading.Event()
        self.thread = QThread()
        self.worker = _Worker(work, self.cancel)
        self.worker.moveToThread(self.thread)
        self.thread.started.connect(self.worker.run)
        for name in ("progress", "done", "failed", "cancelled"):
            getattr(self.worker, name).connect(getattr(self, name))
        self.worker.ended.connect(self.thread.quit)
        self.thread.finished.connect(self.ended)

    def start(self) -> None:
        self.thread.start()

    def stop(self) -> None:
        self.cancel.set()

    def wait(self, ms: int = 30000) -> bool:
        return self.thread.wait(ms)
