"""Atomic file writes: a file appears under its final name complete, or not at all.

Everything the engine leaves on disk (MP4s, job JSON, section latents, the frame store's index)
is written to a temporary file in the same folder, flushed to the disk (fsync), and then
renamed onto the final name with `os.replace`, which is atomic on one file system. A crash, a
cancel or a full disk therefore never leaves a half-written file that a later resume or a
video player would trust; at worst a hidden temporary file is lost, and we remove it ourselves
whenever Python is still running.

Write failures a user can fix (full disk, read-only or protected folder, missing folder, a file
too large for the drive's file system) become `OutputNotWritable` with a message that names
the path and says what to do. Other OS errors are left as they are: they are bugs or hardware
faults, not something a different folder would cure.
"""
from __future__ import annotations

import contextlib
import errno
import os
import secrets
from collections.abc import Iterator
from pathlib import Path

from .errors import OutputNotWritable

# Opened with this, a file that is a symbolic link is refused (ELOOP) instead of followed: a job
# folder never writes through a link (jobfolder/links.py checks them first and names them).
NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)

_NO_SPACE = {errno.ENOSPC, getattr(errno, "EDQUOT", errno.ENOSPC)}
_NO_PERMISSION = {errno.EACCES, errno.EPERM, errno.EROFS}
_NO_FOLDER = {errno.ENOENT, errno.ENOTDIR}
_TOO_LARGE = {errno.EFBIG}


def output_error(path: str | os.PathLike, err: OSError) -> OutputNotWritable | None:
    """The user-facing error for a failed write of `path`, or None when no folder choice helps."""
    where = str(path)
    if err.errno in _NO_SPACE:
        return OutputNotWritable(
            f"The disk is full: could not write {where}. "
            "Free some space on that drive or choose an output folder on another drive."
        )
    if err.errno in _NO_PERMISSION:
        return OutputNotWritable(
            f"No permission to write {where}: the folder is read-only or protected, or the "
            "file is open in another program. Choose another output folder or close that program."
        )
    if err.errno in _NO_FOLDER:
        return OutputNotWritable(
            f"The folder for {where} does not exist. Choose an existing output folder."
        )
    if err.errno in _TOO_LARGE:
        return OutputNotWritable(
            f"{where} is too large for the drive's file system (FAT32 drives hold at most "
            "4 GB per file). Choose an output folder on an NTFS, exFAT or ext4 drive."
        )
    return None


@contextlib.contextmanager
def translate_write_errors(path: str | os.PathLike) -> Iterator[None]:
    """Re-raise OS write errors a user can fix as `OutputNotWritable` (see `output_error`)."""
    try:
        yield
    except OSError as err:
        user_error = output_error(path, err)
        if user_error is None:
            raise
        raise user_error from err


def fsync_folder(folder: str | os.PathLike) -> None:
    """Make a rename inside `folder` durable. Windows cannot open folders; NTFS journals renames."""
    if os.name == "nt":
        return
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_file(path: Path) -> None:
    # Opened for writing: Windows' fsync (_commit) refuses read-only descriptors.
    fd = os.open(path, os.O_RDWR | getattr(os, "O_BINARY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _create_temp_beside(final: Path) -> Path:
    """Create an empty, uniquely named file next to `final`.

    Not `tempfile.mkstemp`: that creates files readable only by their owner, and the MP4 a
    user shares should get the ordinary permissions (0666 less the umask) like any new file.
    """
    while True:
        temp = final.with_name(f".{final.stem}.{secrets.token_hex(4)}.partial{final.suffix}")
        try:
            fd = os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0), 0o666)
        except FileExistsError:
            continue
        os.close(fd)
        return temp


@contextlib.contextmanager
def atomic_path(path: str | os.PathLike) -> Iterator[Path]:
    """Yield a temporary path beside `path`; on success it is fsynced and renamed onto `path`.

    The temporary file exists (empty) when the block starts, so a writer may open it or replace
    it. It is hidden (leading dot) and keeps the final suffix, so tools that pick a format from
    the extension (FFmpeg) behave as they would for the final name. If the block raises, the
    temporary file is removed and `path` is untouched.
    """
    final = Path(path)
    with translate_write_errors(final):
        temp = _create_temp_beside(final)
    done = False
    try:
        with translate_write_errors(final):
            yield temp
            _fsync_file(temp)
            os.replace(temp, final)
            done = True
            fsync_folder(final.parent)
    finally:
        if not done:
            temp.unlink(missing_ok=True)


def atomic_write_bytes(path: str | os.PathLike, data: bytes) -> Path:
    """Write `data` to `path` atomically; returns the final path."""
    final = Path(path)
    with atomic_path(final) as temp:
        with open(temp, "wb") as f:
            f.write(data)
    return final


def atomic_write_text(path: str | os.PathLike, text: str) -> Path:
    """Write `text` as UTF-8 to `path` atomically (no newline translation); returns the final path."""
    return atomic_write_bytes(path, text.encode("utf-8"))
