"""Synthetic clips for the post-processing tests, written with PyAV (lossless H.264 so pixels survive)."""
from __future__ import annotations

from fractions import Fraction
from pathlib import Path

import av
import numpy as np

SQUARE = 24


def square_frame(x: int, y: int, width: int = 160, height: int = 96) -> np.ndarray:
    """A bright square with its top-left corner at (x, y) on a dark textured background."""
    yy, xx = np.mgrid[0:height, 0:width]
    frame = np.stack([40 + 20 * np.sin(xx / 7.0), 40 + 20 * np.cos(yy / 5.0), 60 + 0 * xx], -1)
    frame[y:y + SQUARE, x:x + SQUARE] = (230, 200, 90)
    return frame.astype(np.uint8)


def write_clip(path: Path, frames: list[np.ndarray], fps: int = 30, metadata: str | None = None) -> Path:
    """Lossless (crf 0, yuv444p) so a frame decodes as it was drawn, up to colour conversion."""
    h, w = frames[0].shape[:2]
    with av.open(str(path), "w", format="mp4", options={"movflags": "+use_metadata_tags"}) as container:
        if metadata is not None:
            container.metadata["framepack_job"] = metadata
        stream = container.add_stream("libx264", rate=Fraction(fps), options={"crf": "0", "preset": "ultrafast"})
        stream.width, stream.height, stream.pix_fmt = w, h, "yuv444p"
        for i, frame in enumerate(frames):
            video = av.VideoFrame.from_ndarray(frame, format="rgb24").reformat(format="yuv444p")
            video.pts = i
            container.mux(stream.encode(video))
        container.mux(stream.encode(None))
    return path


def moving_square(path: Path, n: int = 5, step: int = 8, fps: int = 30) -> Path:
    """The square moves `step` pixels right and step/2 down per frame."""
    return write_clip(path, [square_frame(20 + step * i, 20 + step // 2 * i) for i in range(n)], fps)


def numbered(path: Path, n: int, width: int = 64, height: int = 48, fps: int = 30) -> Path:
    """Frame i is a flat grey of level 4*i (for telling frames apart after a lossy format; n <= 64)."""
    return write_clip(path, [np.full((height, width, 3), 4 * i, np.uint8) for i in range(n)], fps)


def smooth(path: Path, n: int = 3, width: int = 96, height: int = 64) -> Path:
    """Slow gradients: content on which every good upscaler agrees."""
    yy, xx = np.mgrid[0:height, 0:width]
    frames = [np.stack([128 + 90 * np.sin(xx / 15.0 + i), 128 + 90 * np.cos(yy / 11.0), 120 + xx], -1)
              .clip(0, 255).astype(np.uint8) for i in range(n)]
    return write_clip(path, frames)


def decode(path: Path) -> list[np.ndarray]:
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def square_centre(frame: np.ndarray) -> tuple[float, float]:
    """Centre (x, y) of the bright square's pixels."""
    ys, xs = np.nonzero(frame[..., 0] > 150)
    return float(xs.mean()), float(ys.mean())
