"""Foreign clips for the tests, made with PyAV: moving shapes, any size, rate and rotation."""
from fractions import Fraction

import av
import numpy as np
from PIL import Image, ImageFilter


def shapes_frame(i: int, height: int, width: int) -> np.ndarray:
    """Frame i of a clip: a square and a disc moving over a gradient."""
    y, x = np.mgrid[0:height, 0:width]
    img = np.stack([x * 200 // width, y * 200 // height, np.full_like(x, 90)], axis=-1).astype(np.uint8)
    cx, cy = (10 + 5 * i) % width, height // 3
    img[max(cy - 8, 0):cy + 8, max(cx - 8, 0):cx + 8] = (250, 240, 30)
    disc = (x - (width - 1 - (3 * i) % width)) ** 2 + (y - 2 * height // 3) ** 2 < 100
    img[disc] = (30, 60, 250)
    return np.asarray(Image.fromarray(img).filter(ImageFilter.GaussianBlur(2)))  # soft edges, as a camera


def make_clip(path, frames: int, height: int, width: int, fps: int = 30, rotation: int = 0,
              audio_only: bool = False, container_format: str | None = None) -> list[np.ndarray]:
    """Write a clip (H.264, near-lossless) and return its frames as stored (before any rotation)."""
    shown = [shapes_frame(i, height, width) for i in range(frames)]
    with av.open(str(path), "w", format=container_format) as out:
        if audio_only or not frames:  # a clip of no frames: a video track beside some sound
            video = None if audio_only else out.add_stream("libx264", rate=Fraction(fps))
            if video:
                video.width, video.height, video.pix_fmt = width, height, "yuv420p"
            sound = out.add_stream("aac", rate=44100)
            samples = av.AudioFrame.from_ndarray(np.zeros((1, 1024), np.float32), format="fltp", layout="mono")
            samples.sample_rate = 44100
            out.mux(sound.encode(samples))
            out.mux(sound.encode(None))
            return []
        stream = out.add_stream("libx264", rate=Fraction(fps), options={"crf": "4"})
        stream.width, stream.height, stream.pix_fmt = width - width % 2, height - height % 2, "yuv420p"
        if rotation:
            stream.set_display_rotation(rotation)
        for i, img in enumerate(shown):
            frame = av.VideoFrame.from_ndarray(np.ascontiguousarray(img[:stream.height, :stream.width]), format="rgb24")
            frame.pts = i
            out.mux(stream.encode(frame))
        out.mux(stream.encode(None))
    return [img[:height - height % 2, :width - width % 2] for img in shown]


def psnr(a: np.ndarray, b: np.ndarray) -> float:
    mse = np.mean((a.astype(np.float64) - b.astype(np.float64)) ** 2)
    return float("inf") if mse == 0 else 10 * np.log10(255 ** 2 / mse)
