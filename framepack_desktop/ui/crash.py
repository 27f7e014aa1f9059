"""Nothing goes unseen: every unhandled exception is logged to a file and shown in the window.

Python calls `sys.excepthook` for exceptions that escape the GUI thread's Qt slots and event
handlers (PySide6 reports them through it) and `threading.excepthook` for other threads. Both
write the traceback to the log file in the app's log folder and emit `crashed`, which the window
turns into an error banner. The signal makes the hand-over safe from any thread.
"""
from __future__ import annotations

import logging
import sys
import threading
import traceback
from logging.handlers import RotatingFileHandler
from types import TracebackType

from PySide6.QtCore import QObject, Signal

from ..settings import AppPaths

log = logging.getLogger("framepack_desktop")


def setup_logging(paths: AppPaths) -> RotatingFileHandler:
    """Log INFO and up to <log dir>/framepack-desktop.log (rotated at 5 MB, 3 kept)."""
    paths.log_dir.mkdir(parents=True, exist_ok=True)
    for h in list(log.handlers):
        if isinstance(h, RotatingFileHandler):
            log.removeHandler(h)
            h.close()
    handler = RotatingFileHandler(paths.log_file, maxBytes=5 * 1024 ** 2, backupCount=3, encoding="utf-8")
    handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s [%(threadName)s] %(message)s"))
    log.addHandler(handler)
    log.setLevel(logging.INFO)
    return handler


class CrashReporter(QObject):
    crashed = Signal(str, str)      # message for the user, traceback

    def __init__(self, paths: AppPaths, parent: QObject | None = None):
        super().__init__(parent)
        self.paths = paths
        self._previous = (sys.excepthook, threading.excepthook)

    def install(self) -> None:
        sys.excepthook = self.report
        threading.excepthook = self._thread_hook

    def uninstall(self) -> None:
        sys.excepthook, threading.excepthook = self._previous

    def report(self, exc_type: type[BaseException], exc: BaseException, tb: TracebackType | None) -> None:
        if issubclass(exc_type, KeyboardInterrupt):
            self._previous[0](exc_type, exc, tb)
            return
        detail = "".join(traceback.format_exception(exc_type, exc, tb))
        log.critical("unhandled exception:\n%s", detail)
        for handler in log.handlers:
            handler.flush()
        message = (f"Something went wrong inside the app ({exc_type.__name__}: {exc}). "
                   f"Your work is safe; the details were saved to {self.paths.log_file}.")
        self.crashed.emit(message, detail)

    def _thread_hook(self, args: threading.ExceptHookArgs) -> None:
        self.report(args.exc_type, args.exc_value, args.exc_traceback)
