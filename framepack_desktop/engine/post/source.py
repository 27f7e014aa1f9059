"""Reading the video to finish: any file FFmpeg reads, one RGB frame at a time.

Frames are decoded as they are consumed, so a ten-minute video costs the memory of a few frames.
A file that is not a video, or breaks half way, becomes one `BadVideo` line naming it.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from ..video.mp4 import JOB_METADATA_KEY, BadVideo, probe


@dataclass(frozen=True)
class Source:
    path: Path
    frames: int
    width: int
    height: int
    fps: Fraction
    job_json: str | None      # the job this app stored in the file, carried into the result


def open_source(path: str | Path) -> Source:
    path = Path(path)
    if not path.is_file():
        raise BadVideo(f"{path} does not exist. Choose a video file.")
    info = probe(path)
    if info.frames < 1 or info.fps <= 0:
        raise BadVideo(f"{path} holds no frames FFmpeg can read. Choose another video.")
    with av.open(str(path)) as container:
        job = stored_job(container.metadata)
    return Source(path, info.frames, info.width, info.height, info.fps, job)


def stored_job(metadata: dict[str, str]) -> str | None:
    """The job JSON among a container's tags; Matroska (WebM) reads its tag names back upper-case."""
    return metadata.get(JOB_METADATA_KEY, metadata.get(JOB_METADATA_KEY.upper()))


def read_frames(path: str | Path) -> Iterator[np.ndarray]:
    """Every frame of the first video stream as height x width x 3 uint8 RGB."""
    try:
        with av.open(str(path)) as container:
            stream = container.streams.video[0]
            stream.thread_type = "AUTO"
            for frame in container.decode(stream):
                yield frame.to_ndarray(format="rgb24")
    except av.error.FFmpegError as err:
        raise BadVideo(f"{path} is damaged and cannot be read to the end ({err.strerror or err}).") from err


def first_frame(path: str | Path) -> np.ndarray:
    """The first frame of a video, or of a folder of PNG frames (for thumbnails of results)."""
    path = Path(path)
    if path.is_dir():
        import cv2

        first = min(path.glob("frame_*.png"))
        return cv2.cvtColor(cv2.imread(str(first)), cv2.COLOR_BGR2RGB)
    return next(read_frames(path))
