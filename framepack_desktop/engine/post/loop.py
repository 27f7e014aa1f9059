"""Loops: ping-pong (forwards, then backwards) and a crossfade that joins the end to the start.

Both stream. Ping-pong needs the frames again in reverse, so it spools them raw to an anonymous
temporary file on the output's drive (deleted by the OS even after a crash) instead of holding
them in memory. The crossfade keeps only the first `overlap` frames and the last `overlap` seen.
"""
from __future__ import annotations

import tempfile
from collections import deque
from collections.abc import Iterator
from pathlib import Path

import numpy as np

LOOPS = ("pingpong", "crossfade")
CROSSFADE_FRAMES = 15  # half a second at 30 fps: long enough to hide the seam, short enough to keep the motion


def pingpong(frames: Iterator[np.ndarray], spool_dir: Path | None = None) -> Iterator[np.ndarray]:
    """0, 1, .., n-1, n-2, .., 1: 2n-2 frames that play back to the start without a repeated frame."""
    with tempfile.TemporaryFile(dir=spool_dir) as spool:
        count, shape = 0, None
        for frame in frames:
            shape = frame.shape
            spool.write(np.ascontiguousarray(frame).tobytes())
            count += 1
            yield frame
        size = int(np.prod(shape)) if shape else 0
        for i in range(count - 2, 0, -1):
            spool.seek(i * size)
            yield np.frombuffer(spool.read(size), np.uint8).reshape(shape)


def crossfade_overlap(frames: int) -> int:
    """Frames of dissolve for a clip of `frames`: half a second, at most a third of the clip."""
    return min(CROSSFADE_FRAMES, frames // 3)


def crossfade_loop(frames: Iterator[np.ndarray], overlap: int) -> Iterator[np.ndarray]:
    """A loop of n - overlap frames whose end dissolves into its start (needs n >= 2 * overlap).

    The last `overlap` frames fade into the first `overlap`; the result starts at frame `overlap`
    (where the dissolve is complete), so it can be written as the frames arrive: its last frame is
    almost frame overlap-1 and wraps onto frame overlap, one ordinary step of motion.
    """
    head: list[np.ndarray] = []
    tail: deque[np.ndarray] = deque()
    for frame in frames:
        if len(head) < overlap:
            head.append(frame)
            continue
        tail.append(frame)
        if len(tail) > overlap:
            yield tail.popleft()
    for i, (end, start) in enumerate(zip(tail, head, strict=True)):
        w = (i + 1) / (overlap + 1)
        yield (end.astype(np.float32) * (1 - w) + start.astype(np.float32) * w + 0.5).astype(np.uint8)
