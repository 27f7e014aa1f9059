"""Any video file read by frame index, for the player: seek, decode on demand, nothing kept.

The player shows a generation from its frame store; a finished copy (interpolated, upscaled,
another program's MP4) has none, only the file. This reads frame `i` of the file the way the
player asks for it: playing forward continues the open decoder (one frame per call), a jump seeks
to the keyframe before `i` and decodes up to it. It holds no frames itself (the player's bounded
cache does), so memory does not grow with the length of the video.

Frame `i` is the i-th frame in presentation order, the same count PyAV's decode gives, so a frame
shown here equals the one any decoder of the file yields at that position. GIF frames may only
paint what changed and their delays are rounded to 1/100 s (so times do not give indices), so
there a jump back decodes from the first frame, counting.
"""
from __future__ import annotations

from collections.abc import Iterator
from fractions import Fraction
from pathlib import Path

import av
import numpy as np

from .mp4 import BadVideo, probe

DECODE_AHEAD = 48   # a jump forward shorter than this decodes through instead of seeking


class SeekableVideo:
    def __init__(self, path: str | Path):
        self.path = Path(path)
        info = probe(self.path)
        if info.frames < 1 or info.fps <= 0:
            raise BadVideo(f"{self.path} holds no frames FFmpeg can read. Choose another video.")
        self.frames, self.width, self.height, self.fps = info.frames, info.width, info.height, info.fps
        self._container = av.open(str(self.path))
        self._stream = self._container.streams.video[0]
        self._start = self._stream.start_time or 0
        self._from_top = self._container.format.name == "gif"
        self._tick = Fraction(self._stream.time_base) * self.fps    # frames per pts unit
        self._decoder: Iterator | None = None
        self._next = 0                  # the index the open decoder yields next

    def read(self, index: int) -> np.ndarray:
        """Frame `index` as height x width x 3 uint8 RGB; IndexError outside the video."""
        if not 0 <= index < self.frames:
            raise IndexError(f"frame {index} is outside {self.path.name} (0–{self.frames - 1})")
        if self._decoder is None or not self._next <= index < self._next + DECODE_AHEAD:
            self._seek(index)
        try:
            while True:
                frame = next(self._decoder)
                at = self._index_of(frame)
                if at > index and self._next == -1:     # the seek landed past it: start from the top
                    self._seek(0)
                    continue
                self._next = at + 1
                if at >= index:
                    return frame.to_ndarray(format="rgb24")
        except StopIteration:
            self._decoder = None
            raise IndexError(f"frame {index} could not be decoded from {self.path.name}") from None
        except av.error.FFmpegError as err:
            self._decoder = None
            raise BadVideo(f"{self.path} is damaged near frame {index} ({err.strerror or err}).") from err

    def close(self) -> None:
        self._decoder = None
        self._container.close()

    def _seek(self, index: int) -> None:
        target = self._start + (0 if self._from_top else round(index / self._tick))
        self._container.seek(target, stream=self._stream, backward=True, any_frame=False)
        self._decoder = self._container.decode(self._stream)
        self._next = -1                 # unknown until the first frame after the seek

    def _index_of(self, frame: av.VideoFrame) -> int:
        if self._from_top or frame.pts is None:     # GIF delays are rounded to 1/100 s: count frames instead
            return max(self._next, 0)
        return round((frame.pts - self._start) * self._tick)
