"""The MP4 writer: H.264 in yuv420p, streamed frame by frame, written atomically.

Why these choices:
- H.264 (libx264) in yuv420p with even dimensions is what plays everywhere: Windows' Films &
  TV, browsers, phones. yuv444 (what some tools produce) does not play in most of them.
- Pixels are converted with the BT.709 matrix into limited range and the stream is tagged so,
  which is how players interpret HD video; untagged video gets guessed and colours shift.
- Frames come from an iterable (typically `FrameStore.iter_frames`) and are encoded as they
  arrive, so memory does not grow with the length of the video.
- The file is written under a hidden temporary name and renamed when complete (`atomic_path`):
  a player or a resume never sees half an MP4, and a full disk leaves no partial file.
- The job JSON goes into the container's metadata under `framepack_job` (an mdta key, which
  needs the muxer's `use_metadata_tags` flag), so "load settings from this video" works on
  any MP4 this app made, even one that lost the JSON file beside it. `faststart` puts the index
  at the front so browsers can start playing before the whole file has arrived.
- Same frames, same bytes, so users and tests can compare videos by hash: x264 runs with
  `cpu-independent=1` (its option for reproducible output across processors; without it this
  build's output differed from run to run on an AVX-512 CPU, with one thread too: 4 hashes in 4
  runs, identical to the plain-C encoder's once set) and a fixed number of threads
  (`X264_THREADS`) rather than one per core, because its output depends on the thread count.
  The cost of both is measured in benchmarks/bench_mp4_determinism.py.
"""
from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import numpy as np
from av.video.reformatter import ColorPrimaries, ColorRange, Colorspace, ColorTrc

from ..atomic import atomic_path
from ..errors import UserError

JOB_METADATA_KEY = "framepack_job"
_MUXER_OPTIONS = {"movflags": "+faststart+use_metadata_tags"}
X264_THREADS = 8
X264_PARAMS = "cpu-independent=1"


class BadVideo(UserError):
    """A file the user pointed at is not a video this app can read."""


@dataclass(frozen=True)
class VideoInfo:
    frames: int
    width: int
    height: int
    fps: Fraction
    pix_fmt: str
    codec: str

    @property
    def seconds(self) -> float:
        return float(self.frames / self.fps)


def write_mp4(
    path: str | os.PathLike,
    frames: Iterable[np.ndarray],
    width: int,
    height: int,
    fps: int | Fraction = 30,
    crf: int = 16,
    metadata: str | None = None,
    threads: int = X264_THREADS,
    x264_params: str = X264_PARAMS,
) -> Path:
    """Encode `frames` (each height x width x 3 uint8 RGB) to an MP4 at `path`; returns the path.

    yuv420p needs even dimensions: an odd width or height loses its last pixel column or row
    (the right or bottom edge), so a 545 x 705 input becomes a 544 x 704 video. `crf` is x264's
    constant quality (0 lossless .. 51 worst; 16 looks like the input). `metadata`, typically
    the job JSON, is stored in the file and read back by `read_job_metadata`. `threads` is x264's
thread count; 0 lets x264 choose (faster on many cores, but the bytes then depend on the machine);
`x264_params` ("" for x264's defaults) is there for the benchmark that measures what they cost.

    Raises OutputNotWritable (full disk, unwritable or missing folder) and ValueError for frames
    of the wrong shape or no frames at all; either way nothing is left under `path`.
    """
    if width < 2 or height < 2:
        raise ValueError(f"a video needs at least 2 x 2 pixels, got {width} x {height}")
    if not 0 <= crf <= 51:
        raise ValueError(f"crf must be between 0 and 51, got {crf}")
    fps = Fraction(fps)
    if fps <= 0:
        raise ValueError(f"fps must be positive, got {fps}")
    out_w, out_h = width - width % 2, height - height % 2
    final = Path(path)
    with atomic_path(final) as temp:
        with av.open(str(temp), "w", format="mp4", options=_MUXER_OPTIONS) as container:
            if metadata is not None:
                container.metadata[JOB_METADATA_KEY] = metadata
            stream = container.add_stream("libx264", rate=fps, options={"crf": str(crf), "threads": str(threads),
                                                                  "x264-params": x264_params})
            stream.width, stream.height, stream.pix_fmt = out_w, out_h, "yuv420p"
            ctx = stream.codec_context
            ctx.colorspace, ctx.color_primaries = Colorspace.ITU709, ColorPrimaries.BT709
            ctx.color_trc, ctx.color_range = ColorTrc.BT709, ColorRange.MPEG
            count = 0
            for frame in frames:
                if frame.dtype != np.uint8 or frame.shape != (height, width, 3):
                    raise ValueError(f"frame {count}: expected uint8 {height} x {width} x 3, "
                                     f"got {frame.dtype} {frame.shape}")
                rgb = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:out_h, :out_w]), format="rgb24")
                yuv = rgb.reformat(format="yuv420p", dst_colorspace=Colorspace.ITU709,
                                   dst_color_range=ColorRange.MPEG)
                yuv.pts = count
                container.mux(stream.encode(yuv))
                count += 1
            if count == 0:
                raise ValueError(f"no frames to write to {final}")
            container.mux(stream.encode(None))
    return final


def _open_video(path: str | os.PathLike) -> av.container.InputContainer:
    try:
        return av.open(str(path))
    except av.error.FFmpegError as err:
        raise BadVideo(f"Cannot read {path} as a video ({err.strerror or err}). "
                       "Choose an MP4 made by this app.") from err


def probe(path: str | os.PathLike) -> VideoInfo:
    """Frame count, size, frame rate, pixel format and codec of the first video stream."""
    with _open_video(path) as container:
        if not container.streams.video:
            raise BadVideo(f"{path} has no video stream. Choose an MP4 made by this app.")
        stream = container.streams.video[0]
        frames = stream.frames or sum(1 for p in container.demux(stream) if p.size)
        return VideoInfo(
            frames=frames,
            width=stream.codec_context.width,
            height=stream.codec_context.height,
            fps=Fraction(stream.average_rate or stream.guessed_rate or 0),
            pix_fmt=stream.codec_context.pix_fmt,
            codec=stream.codec_context.name,
        )


def read_job_metadata(path: str | os.PathLike) -> str | None:
    """The job JSON stored in an MP4 by `write_mp4`, or None when the video carries none."""
    with _open_video(path) as container:
        return container.metadata.get(JOB_METADATA_KEY)
