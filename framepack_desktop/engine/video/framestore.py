"""A disk-backed store of decoded video frames, so a long video never sits in RAM.

A 60 s video at 544x704 is 1801 frames of 1.1 MB: 2 GB of pixels. The runner writes each
decoded section here, the timeline and player read frames back while sampling goes on, and the
MP4 writer streams them out at the end. Layout in the store's folder:

- `frames.bin`: raw uint8 frames, H x W x 3 each, frame i at byte offset i * H * W * 3. The file
  is created at full size but sparse, so it costs disk space only for frames that were written.
- `frames.json`: the shape, which frame ranges hold valid data and a checksum of each valid frame
  (`drop_damaged` finds frames whose bytes changed on disk, so they are decoded again).

Reads and writes are positional (`os.pread` / `os.pwrite`) on two separate file descriptors,
never mmap: dirty mmapped pages count toward the process's resident memory, and the point of
the store is that memory stays flat however long the video gets.

Durability: a write's pixels are fsynced before `frames.json` (written atomically) lists them
as valid, and frames about to be overwritten are first dropped from `frames.json`. So after a
crash every frame that `frames.json` calls valid holds exactly what was last written there.

Threads: the engine thread may write while the GUI thread reads through the same object. One lock
makes a read and a write of the same frames exclusive (no torn frames) and guards the valid
ranges; the slow fsync and the index write happen outside it. A store opened separately (the
player's reader) sees the valid ranges of the moment it was opened; open it again to see more.
"""
from __future__ import annotations

import hashlib
import json
import os
import threading
from collections.abc import Iterator
from pathlib import Path

import numpy as np

from ..atomic import NO_FOLLOW, atomic_write_text, translate_write_errors

DATA_NAME = "frames.bin"
INDEX_NAME = "frames.json"
FORMAT_VERSION = 1
_BINARY = getattr(os, "O_BINARY", 0)


class FrameNotWritten(LookupError):
    """A frame was read before any section wrote it (a caller bug: check `is_valid` first)."""


class FrameStoreCorrupt(ValueError):
    """`frames.json` or `frames.bin` do not describe a frame store this code can read."""


Ranges = tuple[tuple[int, int], ...]


def _add_range(ranges: Ranges, a: int, b: int) -> Ranges:
    """`ranges` plus [a, b), merged: sorted, disjoint, touching ranges joined."""
    merged: list[list[int]] = []
    for lo, hi in sorted([*ranges, (a, b)]):
        if merged and lo <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return tuple((lo, hi) for lo, hi in merged)


def _remove_range(ranges: Ranges, a: int, b: int) -> Ranges:
    """`ranges` without [a, b)."""
    kept: list[tuple[int, int]] = []
    for lo, hi in ranges:
        if lo < a:
            kept.append((lo, min(hi, a)))
        if hi > b:
            kept.append((max(lo, b), hi))
    return tuple((lo, hi) for lo, hi in kept if lo < hi)


if hasattr(os, "pread"):
    def _pread_into(fd: int, buf: memoryview, offset: int, lock: threading.Lock) -> int:
        """Read len(buf) bytes at `offset` into `buf`; returns how many bytes arrived."""
        done = 0
        while done < len(buf):
            chunk = os.pread(fd, len(buf) - done, offset + done)
            if not chunk:
                break
            buf[done:done + len(chunk)] = chunk
            done += len(chunk)
        return done

    def _pwrite_all(fd: int, data: memoryview, offset: int, lock: threading.Lock) -> None:
        done = 0
        while done < len(data):
            done += os.pwrite(fd, data[done:], offset + done)
else:
    # Windows has no pread/pwrite: seek + read/write, with the descriptor's own lock held so
    # that no other thread moves its file position in between.
    def _pread_into(fd: int, buf: memoryview, offset: int, lock: threading.Lock) -> int:
        done = 0
        with lock:
            os.lseek(fd, offset, os.SEEK_SET)
            while done < len(buf):
                chunk = os.read(fd, len(buf) - done)
                if not chunk:
                    break
                buf[done:done + len(chunk)] = chunk
                done += len(chunk)
        return done

    def _pwrite_all(fd: int, data: memoryview, offset: int, lock: threading.Lock) -> None:
        done = 0
        with lock:
            os.lseek(fd, offset, os.SEEK_SET)
            while done < len(data):
                done += os.write(fd, data[done:])


def _checksum(frame: np.ndarray) -> str:
    """A frame's checksum: finds bytes damaged on disk (zeroed, overwritten), not an attacker."""
    return hashlib.blake2b(np.ascontiguousarray(frame).data, digest_size=8).hexdigest()


class FrameStore:
    """uint8 frames (H x W x 3) of one video on disk; frame indices are final-video positions."""

    def __init__(self, folder: Path, num_frames: int, height: int, width: int, valid: Ranges,
                 sums: dict[int, str] | None = None):
        """Use `create` or `open`; this opens the read descriptor of an existing store's data."""
        self.folder = folder
        self.num_frames = num_frames
        self.height = height
        self.width = width
        self.frame_bytes = height * width * 3
        self._valid = valid
        self._sums: dict[int, str] = dict(sums or {})   # frame -> checksum (stores before checksums: none)
        self._lock = threading.Lock()          # frame data consistency + valid ranges
        self._write_lock = threading.Lock()    # one writer at a time (index order on disk)
        self._read_fd_lock = threading.Lock()  # position of each fd where there is no pread
        self._write_fd_lock = threading.Lock()
        self._write_fd = -1                    # opened by the first write: readers never need it
        self._read_fd = os.open(folder / DATA_NAME, os.O_RDONLY | _BINARY | NO_FOLLOW)

    # ----- opening -----
    @classmethod
    def create(cls, folder: str | os.PathLike, num_frames: int, height: int, width: int) -> "FrameStore":
        """A new empty store (no valid frames) in `folder`, replacing any store already there."""
        if num_frames <= 0 or height <= 0 or width <= 0:
            raise ValueError(f"a frame store needs positive sizes, got {num_frames} x {height} x {width}")
        folder = Path(folder)
        data = folder / DATA_NAME
        with translate_write_errors(data):
            folder.mkdir(parents=True, exist_ok=True)
            fd = os.open(data, os.O_RDWR | os.O_CREAT | os.O_TRUNC | _BINARY | NO_FOLLOW, 0o666)
            try:
                os.ftruncate(fd, num_frames * height * width * 3)
            finally:
                os.close(fd)
        cls._write_index(folder, num_frames, height, width, (), {})
        return cls(folder, num_frames, height, width, ())

    @classmethod
    def open(cls, folder: str | os.PathLike) -> "FrameStore":
        """An existing store, e.g. to resume a job; raises FrameStoreCorrupt if it does not add up."""
        folder = Path(folder)
        index_path = folder / INDEX_NAME
        try:
            index = json.loads(index_path.read_text(encoding="utf-8"))
            version = index["version"]
            num_frames, height, width = (int(index[k]) for k in ("num_frames", "height", "width"))
            ranges = [(int(a), int(b)) for a, b in index["valid"]]
            sums = {int(i): str(v) for i, v in index.get("sums", {}).items()}
        except (KeyError, TypeError, ValueError, AttributeError) as err:  # JSON and Unicode errors are ValueErrors
            raise FrameStoreCorrupt(f"{index_path} is not a frame store index: {err!r}") from err
        if version != FORMAT_VERSION:
            raise FrameStoreCorrupt(f"{index_path} has format version {version!r}, not {FORMAT_VERSION}")
        valid: Ranges = ()
        for a, b in ranges:
            if not 0 <= a < b <= num_frames:
                raise FrameStoreCorrupt(f"{index_path} lists an impossible range [{a}, {b})")
            valid = _add_range(valid, a, b)
        expected = num_frames * height * width * 3
        actual = (folder / DATA_NAME).stat().st_size
        if actual != expected:
            raise FrameStoreCorrupt(
                f"{folder / DATA_NAME} holds {actual} bytes, but {num_frames} frames of "
                f"{height}x{width} need {expected}"
            )
        return cls(folder, num_frames, height, width, valid, sums)

    @staticmethod
    def _write_index(folder: Path, num_frames: int, height: int, width: int, valid: Ranges,
                     sums: dict[int, str]) -> None:
        in_valid = {i: v for i, v in sums.items() if any(a <= i < b for a, b in valid)}
        index = {
            "version": FORMAT_VERSION,
            "num_frames": num_frames,
            "height": height,
            "width": width,
            "channels": 3,
            "dtype": "uint8",
            "valid": [list(r) for r in valid],
            "checksum": "blake2b-64",
            "sums": {str(i): in_valid[i] for i in sorted(in_valid)},
        }
        atomic_write_text(folder / INDEX_NAME, json.dumps(index, indent=1) + "\n")

    # ----- validity -----
    @property
    def valid_ranges(self) -> Ranges:
        """Half-open [a, b) ranges of frames that hold data, sorted and merged."""
        with self._lock:
            return self._valid

    def is_valid(self, i: int) -> bool:
        return any(a <= i < b for a, b in self.valid_ranges)

    def valid_span(self) -> tuple[int, int]:
        """The one contiguous range [a, b) of valid frames; (0, 0) when nothing is written yet.

        The runner always grows one span (backwards for the original model, forwards for F1),
        so several spans mean something went wrong; that raises instead of guessing.
        """
        ranges = self.valid_ranges
        if not ranges:
            return (0, 0)
        if len(ranges) > 1:
            raise ValueError(f"frames in {self.folder} are valid in several spans: {list(ranges)}")
        return ranges[0]

    def _check_range(self, a: int, b: int) -> None:
        if not 0 <= a < b <= self.num_frames:
            raise IndexError(f"frames [{a}, {b}) are outside the store's 0..{self.num_frames}")

    def _check_valid(self, a: int, b: int) -> None:
        if not any(lo <= a and b <= hi for lo, hi in self._valid):
            raise FrameNotWritten(
                f"frames [{a}, {b}) of {self.folder} have not all been written yet "
                f"(valid: {list(self._valid) or 'none'})"
            )

    # ----- writing -----
    def write(self, start: int, frames: np.ndarray) -> None:
        """Store `frames` (N x H x W x 3 uint8) as frames start .. start+N-1, durably."""
        frames = np.asarray(frames)
        if frames.dtype != np.uint8 or frames.ndim != 4 or frames.shape[1:] != (self.height, self.width, 3):
            raise ValueError(
                f"expected uint8 frames N x {self.height} x {self.width} x 3, "
                f"got {frames.dtype} {frames.shape}"
            )
        a, b = start, start + len(frames)
        self._check_range(a, b)
        frames = np.ascontiguousarray(frames)
        data = memoryview(frames).cast("B")
        data_path = self.folder / DATA_NAME
        new_sums = {a + k: _checksum(frame) for k, frame in enumerate(frames)}
        with self._write_lock:
            on_disk = self.valid_ranges
            if _remove_range(on_disk, a, b) != on_disk:
                self._write_index(self.folder, self.num_frames, self.height, self.width,
                                  _remove_range(on_disk, a, b), self._sums)
            with translate_write_errors(data_path):
                if self._write_fd < 0:
                    self._write_fd = os.open(data_path, os.O_RDWR | _BINARY | NO_FOLLOW)
                with self._lock:
                    _pwrite_all(self._write_fd, data, a * self.frame_bytes, self._write_fd_lock)
                os.fsync(self._write_fd)
            valid = _add_range(on_disk, a, b)
            sums = {**self._sums, **new_sums}
            self._write_index(self.folder, self.num_frames, self.height, self.width, valid, sums)
            with self._lock:
                self._valid = valid
                self._sums = sums

    def keep_only(self, a: int, b: int) -> None:
        """Forget every valid frame outside [a, b) (their pixels stay until overwritten)."""
        with self._write_lock:
            on_disk = self.valid_ranges
            kept = _remove_range(_remove_range(on_disk, 0, a), b, self.num_frames)
            if kept != on_disk:
                self._forget(kept)

    def _forget(self, kept: Ranges) -> None:
        """Make `kept` the valid ranges (with the write lock held)."""
        self._write_index(self.folder, self.num_frames, self.height, self.width, kept, self._sums)
        with self._lock:
            self._valid = kept

    def drop_damaged(self, chunk: int = 16) -> list[int]:
        """Frames whose bytes no longer match their checksum, dropped from the valid ranges.

        Reads every valid frame once (on resume). Frames written before checksums existed have none
        and are kept as they are.
        """
        bad = []
        for a, b in self.valid_ranges:
            for lo in range(a, b, chunk):
                hi = min(lo + chunk, b)
                for i, frame in zip(range(lo, hi), self.read_range(lo, hi)):
                    if i in self._sums and _checksum(frame) != self._sums[i]:
                        bad.append(i)
        if bad:
            with self._write_lock:
                kept = self.valid_ranges
                for i in bad:
                    kept = _remove_range(kept, i, i + 1)
                self._forget(kept)
        return bad

    # ----- reading -----
    def read_range(self, a: int, b: int) -> np.ndarray:
        """Frames [a, b) as a new (b - a) x H x W x 3 uint8 array; all must be valid."""
        self._check_range(a, b)
        out = np.empty((b - a, self.height, self.width, 3), np.uint8)
        with self._lock:
            self._check_valid(a, b)
            got = _pread_into(self._read_fd, memoryview(out).cast("B"), a * self.frame_bytes,
                              self._read_fd_lock)
        if got != out.nbytes:
            raise FrameStoreCorrupt(f"{self.folder / DATA_NAME} ended early reading frames [{a}, {b})")
        return out

    def read(self, i: int) -> np.ndarray:
        """Frame i as a new H x W x 3 uint8 array."""
        return self.read_range(i, i + 1)[0]

    def iter_frames(self, a: int | None = None, b: int | None = None, chunk: int = 16) -> Iterator[np.ndarray]:
        """Frames a .. b-1 one by one (default: the valid span), read `chunk` frames at a time.

        At most one chunk is in memory, which is what lets the MP4 writer stream a long video.
        """
        if a is None or b is None:
            span = self.valid_span()
            a = span[0] if a is None else a
            b = span[1] if b is None else b
        if chunk <= 0:
            raise ValueError(f"chunk must be positive, got {chunk}")
        for lo in range(a, b, chunk):
            yield from self.read_range(lo, min(lo + chunk, b))

    # ----- lifetime -----
    def close(self) -> None:
        """Close the file descriptors; the files stay on disk. Safe to call twice."""
        for name in ("_write_fd", "_read_fd"):
            fd = getattr(self, name)
            if fd >= 0:
                os.close(fd)
                setattr(self, name, -1)

    def __enter__(self) -> "FrameStore":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return (f"FrameStore({str(self.folder)!r}, {self.num_frames} frames of "
                f"{self.height}x{self.width}, valid {list(self.valid_ranges)})")
