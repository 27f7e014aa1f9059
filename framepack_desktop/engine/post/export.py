"""Writing the finished frames: MP4 (H.264), WebM (VP9), MOV (ProRes), GIF, or a folder of PNGs.

Every writer streams and writes under a hidden temporary name beside the output, renamed only
when complete (`atomic_path`; a PNG folder is renamed as a whole), so a cancel or a failure
leaves nothing half-written. The job JSON this app stores in its videos travels along: inside
the MP4 (as `write_mp4` does for generation), as a container tag in WebM and MOV, and as
`job.json` in a PNG folder; GIF has no place for it.

Why these settings: H.264 yuv420p plays everywhere; VP9 at constant quality (crf 30, bitrate 0)
is the web's open format; ProRes 422 HQ (10-bit) is what editors ingest without generation
loss; the GIF gets a median-cut palette of its own per frame with Floyd-Steinberg dithering (one
palette for the whole clip bands badly, and building it would need every frame first).
"""
from __future__ import annotations

import os
import secrets
import shutil
from collections.abc import Iterable
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np
from PIL import Image

from ..atomic import atomic_path, translate_write_errors
from ..video.mp4 import JOB_METADATA_KEY, write_mp4

FORMATS = ("mp4", "webm", "mov-prores", "gif", "png")
SUFFIXES = {"mp4": ".mp4", "webm": ".webm", "mov-prores": ".mov", "gif": ".gif", "png": ""}
_CONTAINERS = {
    "webm": ("webm", "libvpx-vp9", "yuv420p", {"crf": "30", "b": "0", "row-mt": "1", "cpu-used": "4"}, {}),
    "mov-prores": ("mov", "prores_ks", "yuv422p10le", {"profile": "3"}, {"movflags": "+use_metadata_tags"}),
}


def export(fmt: str, out: Path, frames: Iterable[np.ndarray], width: int, height: int, fps: Fraction,
           job_json: str | None) -> Path:
    """Write `frames` (height x width x 3 uint8) in `fmt` to `out`; returns `out`."""
    if fmt == "mp4":
        return write_mp4(out, frames, width, height, fps, metadata=job_json)
    if fmt == "png":
        return _png_folder(out, frames, job_json)
    if fmt == "gif":
        return _gif(out, frames, width, height, fps)
    return _container(fmt, out, frames, width, height, fps, job_json)


def _container(fmt: str, out: Path, frames: Iterable[np.ndarray], width: int, height: int, fps: Fraction,
               job_json: str | None) -> Path:
    muxer, codec, pix_fmt, codec_options, muxer_options = _CONTAINERS[fmt]
    even_w, even_h = width - width % 2, height - height % 2
    with atomic_path(out) as temp:
        with av.open(str(temp), "w", format=muxer, options=muxer_options) as container:
            if job_json is not None:
                container.metadata[JOB_METADATA_KEY] = job_json
            stream = container.add_stream(codec, rate=fps, options=codec_options)
            stream.width, stream.height, stream.pix_fmt = even_w, even_h, pix_fmt
            for i, frame in enumerate(frames):
                video = av.VideoFrame.from_ndarray(np.ascontiguousarray(frame[:even_h, :even_w]), format="rgb24")
                video = video.reformat(format=pix_fmt)
                video.pts = i
                container.mux(stream.encode(video))
            container.mux(stream.encode(None))
    return out


def _gif(out: Path, frames: Iterable[np.ndarray], width: int, height: int, fps: Fraction) -> Path:
    with atomic_path(out) as temp:
        with av.open(str(temp), "w", format="gif") as container:
            stream = container.add_stream("gif", rate=fps)
            stream.width, stream.height, stream.pix_fmt = width, height, "pal8"
            for i, frame in enumerate(frames):
                video = av.VideoFrame.from_ndarray(_palettize(frame), format="pal8")
                video.pts = i
                container.mux(stream.encode(video))
            container.mux(stream.encode(None))
    return out


def _palettize(frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(palette indices, 256 x 4 ARGB palette) for one frame: median cut with dithering."""
    image = Image.fromarray(frame).quantize(256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.FLOYDSTEINBERG)
    rgb = np.zeros((256, 3), np.uint8)
    used = np.frombuffer(bytes(image.getpalette() or []), np.uint8).reshape(-1, 3)[:256]
    rgb[: len(used)] = used
    argb = np.concatenate([np.full((256, 1), 255, np.uint8), rgb], axis=1)
    return np.asarray(image, np.uint8), argb


def _png_folder(out: Path, frames: Iterable[np.ndarray], job_json: str | None) -> Path:
    """A folder of frame_00000.png ..; built as a hidden folder beside `out`, renamed when complete."""
    staging = out.with_name(f".{out.name}.{secrets.token_hex(4)}.partial")
    try:
        with translate_write_errors(out):
            staging.mkdir()
            for i, frame in enumerate(frames):
                if not cv2.imwrite(str(staging / f"frame_{i:05d}.png"), cv2.cvtColor(frame, cv2.COLOR_RGB2BGR)):
                    raise OSError(f"could not write {staging / f'frame_{i:05d}.png'}")
            if job_json is not None:
                (staging / "job.json").write_text(job_json, encoding="utf-8")
            if out.is_dir():
                shutil.rmtree(out)
            elif out.exists():
                out.unlink()
            os.replace(staging, out)
    finally:
        shutil.rmtree(staging, ignore_errors=True)
    return out
