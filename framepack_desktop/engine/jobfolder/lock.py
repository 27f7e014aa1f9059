"""The job folder's lock: one process at a time runs (or prunes) a job; the OS releases the lock
even when that process is killed, so a crash never leaves a job locked."""
from __future__ import annotations

import errno
import os
from pathlib import Path

from ..atomic import NO_FOLLOW
from ..errors import UserError

_READ_ONLY = {errno.EACCES, errno.EPERM, errno.EROFS}


class JobBusy(UserError):
    """Another process (a second window, a command line) is running this job right now."""


class FolderReadOnly(UserError):
    """The job folder cannot be written (permissions, a read-only drive): not the same as busy."""


def read_only(job_dir: Path) -> FolderReadOnly:
    return FolderReadOnly(
        f"The job folder '{job_dir}' is read-only: make it writable, or copy it to a folder you can write to "
        "and continue the copy."
    )


class FolderLock:
    """An exclusive lock on the job folder, released by the OS even when the process is killed.

    A folder that cannot be written raises FolderReadOnly; a lock held by another process raises
    OSError (the callers say who holds it). `create=False` only tests an existing lock file.
    """

    def __init__(self, path: Path, create: bool = True):
        flags = (os.O_RDWR | os.O_CREAT) if create else os.O_RDONLY
        try:
            self.fd = os.open(path, flags | NO_FOLLOW, 0o666)
        except OSError as e:
            if e.errno in _READ_ONLY:
                raise read_only(path.parent) from e
            raise
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
        FolderLock(path, create=False).release()
    except OSError:
        return True
    return False
