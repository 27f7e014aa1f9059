"""The job folder's lock: one process at a time runs (or prunes) a job; the OS releases the lock
even when that process is killed, so a crash never leaves a job locked."""
from __future__ import annotations

import os
from pathlib import Path

from ..errors import UserError


class JobBusy(UserError):
    """Another process (a second window, a command line) is running this job right now."""


class FolderLock:
    """An exclusive lock on the job folder, released by the OS even when the process is killed."""

    def __init__(self, path: Path):
        self.fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o666)
        try:
            if os.name == "nt":
                import msvcrt

                msvcrt.locking(self.fd, msvcrt.LK_NBLCK, 1)
            else:
                import fcntl

                fcntl.flock(self.fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(self.fd)
            raise

    def release(self) -> None:
        if self.fd >= 0:
            os.close(self.fd)
            self.fd = -1


def is_running(job_dir: str | os.PathLike) -> bool:
    """Whether some process holds the job folder's lock right now."""
    path = Path(job_dir) / ".lock"
    if not path.exists():
        return False
    try:
        FolderLock(path).release()
    except OSError:
        return True
    return False
