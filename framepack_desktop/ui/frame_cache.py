"""Frames for the player, loaded on demand with a bounded cache, so a long video never fills RAM.

The newest decoded section arrives in memory with its event and goes into the cache; anything
else is read from the job's disk frame store when the playhead reaches it. A video with no frame
store (a finished copy, another program's file) is decoded from the file instead, by index
(`engine.video.seekable`), through the same cache; like the store, it is read on the GUI thread,
one frame per paint. The cache holds at
most `budget_bytes` of frames and forgets the least recently shown first. Thumbnails for the
strip are kept apart (they are tiny) so scrolling the timeline never evicts them.
"""
from __future__ import annotations

from collections import OrderedDict
from pathlib import Path

import numpy as np

from ..engine.video.framestore import FrameNotWritten, FrameStore, FrameStoreCorrupt
from ..engine.video.seekable import SeekableVideo

DEFAULT_BUDGET = 256 * 1024 ** 2


class FrameCache:
    def __init__(self, budget_bytes: int = DEFAULT_BUDGET):
        self.budget_bytes = budget_bytes
        self._frames: OrderedDict[int, np.ndarray] = OrderedDict()
        self._nbytes = 0
        self._store: FrameStore | None = None
        self._store_path: Path | None = None
        self._video: SeekableVideo | None = None
        self.disk_reads = 0

    # ----- feeding -----
    def clear(self) -> None:
        self._frames.clear()
        self._nbytes = 0
        self._close_store()
        self._store_path = None
        self._close_video()

    def attach(self, frame_store: str) -> None:
        """Use this store for misses. Re-opened on every call: the engine's writes since the
        last open are only visible to a fresh reader (the store's index lists them)."""
        path = Path(frame_store)
        if path.is_file():
            path = path.parent
        self._close_store()
        self._close_video()
        self._store_path = path

    def attach_video(self, video: SeekableVideo) -> None:
        """Decode misses from this video file (which the cache closes on `clear`)."""
        self.clear()
        self._video = video

    def put(self, start_frame: int, frames: np.ndarray) -> None:
        """Frames that just arrived replace whatever was cached at those positions."""
        for i, frame in enumerate(frames):
            self._insert(start_frame + i, np.array(frame, copy=True))

    # ----- reading -----
    def get(self, index: int) -> np.ndarray | None:
        """Frame `index`, or None when it does not exist (yet)."""
        frame = self._frames.get(index)
        if frame is not None:
            self._frames.move_to_end(index)
            return frame
        if self._video is not None:
            return self._from_video(index)
        store = self._open_store()
        if store is None or not store.is_valid(index):
            return None
        try:
            frame = store.read(index)
        except FrameNotWritten:
            return None
        self.disk_reads += 1
        self._insert(index, frame)
        return frame

    @property
    def nbytes(self) -> int:
        return self._nbytes

    def __contains__(self, index: int) -> bool:
        return index in self._frames

    # ----- internals -----
    def _insert(self, index: int, frame: np.ndarray) -> None:
        old = self._frames.pop(index, None)
        if old is not None:
            self._nbytes -= old.nbytes
        self._frames[index] = frame
        self._nbytes += frame.nbytes
        while self._nbytes > self.budget_bytes and len(self._frames) > 1:
            _, evicted = self._frames.popitem(last=False)
            self._nbytes -= evicted.nbytes

    def _from_video(self, index: int) -> np.ndarray | None:
        try:
            frame = self._video.read(index)
        except IndexError:
            return None
        self.disk_reads += 1
        self._insert(index, frame)
        return frame

    def _open_store(self) -> FrameStore | None:
        if self._store is None and self._store_path is not None:
            try:
                self._store = FrameStore.open(self._store_path)
            except (FrameStoreCorrupt, FileNotFoundError):
                return None
        return self._store

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None

    def _close_video(self) -> None:
        if self._video is not None:
            self._video.close()
            self._video = None
