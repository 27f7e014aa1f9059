"""Reading any video a user brings (MP4, MOV, WebM, MKV...) as upright RGB frames at a fixed rate.

Clips come from phones (rotation kept as a display matrix, not in the pixels), screen recorders
(variable frame rate), cameras at 24, 25 or 60 fps, and odd sizes. The engine wants frames at the
job's rate (30 fps, the model's): frame i of the result is the source frame on screen at time
i / fps, so the motion keeps its speed whatever the source's rate, and at 30 fps every source
frame is kept as it is. Pixels are the source's own, turned upright; fitting to a bucket is the
caller's (images.fit_to_bucket).

Every file that cannot serve is reported in one line before any model loads: missing, not a
video (an image given as a video), no video stream, no frames, damaged.
"""
from __future__ import annotations

import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import av
import numpy as np
from PIL import Image, UnidentifiedImageError

from .mp4 import BadVideo

_EPS = 1e-6  # seconds: a source frame stamped at exactly i / fps is the one shown there


@dataclass(frozen=True)
class Clip:
    """A readable video and its length in frames at `fps`."""
    path: Path
    fps: float
    frames: int          # frames at `fps` that cover the clip's duration
    height: int          # upright size, after the rotation
    width: int
    rotation: int        # degrees counter-clockwise the frames are turned to be upright

    def read(self, start: int = 0, end: int | None = None) -> Iterator[np.ndarray]:
        """Frames [start, end) at the clip's rate, uint8 H x W x 3 RGB, upright."""
        end = self.frames if end is None else min(end, self.frames)
        with _open(self.path) as container:
            stream = container.streams.video[0]
            # timestamps are rounded to the container's clock (MKV and WebM: milliseconds)
            slack = max(_EPS, float(stream.time_base or 0))
            shown, pixels, i = None, None, start
            for when, frame in _timed_frames(container, stream):
                while shown is not None and i < end and when > i / self.fps + slack:
                    pixels = _upright(shown, self.rotation) if pixels is None else pixels
                    yield pixels
                    i += 1
                if i >= end:
                    return
                shown, pixels = frame, None
            while shown is not None and i < end:
                pixels = _upright(shown, self.rotation) if pixels is None else pixels
                yield pixels
                i += 1


def open_clip(path: str | os.PathLike, fps: float) -> Clip:
    """The clip at `path`, checked; BadVideo with one line naming the problem otherwise."""
    path = Path(path)
    if not path.is_file():
        raise BadVideo(f"The video {path} does not exist: check the path or choose another file.")
    if _is_image(path):
        raise BadVideo(f"{path} is an image, not a video: give it with --image (or drop it on the image zone).")
    with _open(path) as container:
        if not container.streams.video:
            raise BadVideo(f"{path} has no video stream{_kinds(container)}: choose a file with a picture track.")
        stream = container.streams.video[0]
        try:
            first = next((frame for _, frame in _timed_frames(container, stream)), None)
            duration = _duration(container, stream) if first is not None else 0.0
        except av.error.EOFError:
            first = None  # the container ends before any frame: reported as no frames just below
        except av.error.FFmpegError as e:
            raise _damaged(path, e) from e
        if first is None:
            raise BadVideo(f"{path} has no frames: it may be an unfinished recording; choose another file.")
        rotation = int(first.rotation or 0) % 360
        h, w = (first.height, first.width) if rotation % 180 == 0 else (first.width, first.height)
        return Clip(path, float(fps), max(1, round(duration * fps)), h, w, rotation)


def _open(path: Path) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except av.error.FFmpegError as e:
        raise _damaged(path, e) from e


def _damaged(path: Path, e: Exception) -> BadVideo:
    detail = getattr(e, "strerror", None) or e
    return BadVideo(f"{path} is damaged or not a video this app can read ({detail}): re-export it as MP4 and try again.")


def _is_image(path: Path) -> bool:
    try:
        with Image.open(path):
            return True
    except (UnidentifiedImageError, OSError, SyntaxError, ValueError):
        return False


def _kinds(container: av.container.InputContainer) -> str:
    kinds = sorted({s.type for s in container.streams})
    return f" (only {', '.join(kinds)})" if kinds else ""


def _timed_frames(container, stream) -> Iterator[tuple[float, av.VideoFrame]]:
    """Decoded frames with their time in seconds from the first one, in display order."""
    t0 = None
    for i, frame in enumerate(container.decode(stream)):
        when = frame.time if frame.time is not None else i / float(stream.average_rate or stream.guessed_rate or 30)
        t0 = when if t0 is None else t0
        yield when - t0, frame


def _duration(container, stream) -> float:
    """Seconds from the first frame's start to the last one's end, from the packets' timestamps
    (no decoding: a long clip is measured in a moment)."""
    container.seek(0)
    rate = stream.average_rate or stream.guessed_rate
    period = 1 / float(rate) if rate else 1 / 30
    first = end = None
    for packet in container.demux(stream):
        if packet.pts is None or not packet.size:
            continue
        when = float(packet.pts * packet.time_base)
        first = when if first is None else min(first, when)
        end = max(end or when, when + (float(packet.duration * packet.time_base) if packet.duration else period))
    return 0.0 if first is None else end - first


def _upright(frame: av.VideoFrame, rotation: int) -> np.ndarray:
    pixels = frame.to_ndarray(format="rgb24")
    return np.ascontiguousarray(np.rot90(pixels, k=rotation // 90)) if rotation else pixels
