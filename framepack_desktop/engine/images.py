"""Input images: reading whatever a user drops in, and fitting it to a resolution bucket.

Users bring phone photos (rotated by an EXIF tag), transparent PNGs, 16-bit scans, CMYK
JPEGs from print workflows and animated GIFs, or files that are none of these. Every image
becomes plain 8-bit RGB here, and every file that cannot be used is reported by name with
what to do, before any model is loaded.

FramePack works at fixed "buckets" of the 640 class (DESIGN.md section 4): the image takes the
bucket nearest its aspect ratio and is scaled to cover it, then centre-cropped.

The UI reads images and previews the crop through this module, and the UI never loads torch
(it takes seconds): torch is imported only by `to_model_tensor`, which the engine alone calls.
"""
from __future__ import annotations

import io
import os
import warnings
from pathlib import Path
from typing import IO, TYPE_CHECKING

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from .errors import BadImage

if TYPE_CHECKING:
    import torch

BUCKETS_640 = (
    (416, 960), (448, 864), (480, 832), (512, 768), (544, 704), (576, 672), (608, 640),
    (640, 608), (672, 576), (704, 544), (768, 512), (832, 480), (864, 448), (960, 416),
)  # fmt: skip
MAX_PIXELS = 100_000_000  # beyond this a file is a decompression bomb, not a photo
MIN_SIDE = 32
# How Pillow reports damaged image data while opening or decoding.
_DAMAGED = (OSError, SyntaxError, ValueError, EOFError)


def buckets(resolution: int) -> list[tuple[int, int]]:
    """The (height, width) buckets of a resolution class: the 640 list scaled, sides rounded
    to multiples of 16 (the VAE's 8x times the transformer's 2x2 patches)."""
    if resolution < 16:
        raise ValueError(f"resolution class must be at least 16, got {resolution}")
    scale = resolution / 640
    return [(_multiple_of_16(h * scale), _multiple_of_16(w * scale)) for h, w in BUCKETS_640]


def nearest_bucket(h: int, w: int, resolution: int) -> tuple[int, int]:
    """The bucket whose aspect ratio is nearest h:w, by |h * bw - w * bh|; on ties the later
    bucket in the list wins, as in the original."""
    best, best_metric = None, float("inf")
    for bh, bw in buckets(resolution):
        metric = abs(h * bw - w * bh)
        if metric <= best_metric:
            best, best_metric = (bh, bw), metric
    return best


def load_image(path: str | os.PathLike) -> np.ndarray:
    """The image at `path` as uint8 H x W x 3 RGB, upright; raises BadImage if it is unusable."""
    path = Path(path)
    if not path.exists():
        raise BadImage(f"The image {path} does not exist: check the path or choose another file.")
    if path.is_dir():
        raise BadImage(f"{path} is a folder, not an image: choose an image file.")
    if path.stat().st_size == 0:
        raise BadImage(f"The image file {path} is empty (0 bytes), maybe an unfinished copy: choose another file.")
    try:
        file = open(path, "rb")
    except OSError as e:
        raise BadImage(f"The image {path} cannot be opened ({e.strerror}): check that you may read it.") from e
    with file:
        return _decode(file, str(path))


def image_from_bytes(data: bytes, name: str) -> np.ndarray:
    """Like load_image, for image file data from the clipboard or a drag; `name` is for messages."""
    if not data:
        raise BadImage(f"The image {name} is empty (0 bytes): copy or drag the image again.")
    return _decode(io.BytesIO(data), name)


def fit_to_bucket(img: np.ndarray, height: int, width: int) -> np.ndarray:
    """Scale `img` (Lanczos) so it covers height x width, keeping its aspect, and crop the centre."""
    _check_rgb(img)
    h, w = img.shape[:2]
    scale = max(width / w, height / h)
    new_w, new_h = max(width, round(w * scale)), max(height, round(h * scale))
    if (new_h, new_w) != (h, w):
        img = np.asarray(Image.fromarray(img).resize((new_w, new_h), Image.Resampling.LANCZOS))
    # Offsets rounded as Pillow rounds the original's fractional crop box.
    top, left = round((new_h - height) / 2), round((new_w - width) / 2)
    return np.array(img[top : top + height, left : left + width])


def to_model_tensor(img: np.ndarray) -> torch.Tensor:
    """[1, 3, 1, H, W] float32 in [-1, 1]: one video frame as the VAE and SigLIP take it."""
    import torch

    _check_rgb(img)
    pixels = torch.tensor(img, dtype=torch.float32) / 127.5 - 1
    return pixels.permute(2, 0, 1)[None, :, None].contiguous()


def _decode(source: IO[bytes], name: str) -> np.ndarray:
    with warnings.catch_warnings():
        # Pillow warns from ~89 MP and refuses from ~179 MP; MAX_PIXELS decides in between.
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            image = Image.open(source)
        except Image.DecompressionBombError as e:
            raise _too_large(name) from e
        except UnidentifiedImageError as e:
            raise BadImage(
                f"{name} is not an image this app can read: use a PNG, JPEG, WebP, BMP, TIFF or GIF file."
            ) from e
        except _DAMAGED as e:
            raise _damaged(name) from e
        with image:
            _check_size(image.size, name)
            try:
                image.load()  # the first frame of an animation
                image = ImageOps.exif_transpose(image)
            except _DAMAGED as e:
                raise _damaged(name) from e
    return _to_rgb(image, name)


def _check_size(size: tuple[int, int], name: str) -> None:
    w, h = size
    if w * h > MAX_PIXELS:
        raise _too_large(name, size)
    if w == 0 or h == 0:
        raise BadImage(f"{name} has no pixels ({w}x{h}): choose another image.")
    if min(w, h) < MIN_SIDE:
        raise BadImage(
            f"{name} is only {w}x{h} pixels: use an image at least {MIN_SIDE} pixels on each side "
            "(the video is hundreds of pixels wide, so a larger image gives a sharper video)."
        )


def _to_rgb(image: Image.Image, name: str) -> np.ndarray:
    if image.mode.startswith("I;16") or image.mode in ("I", "F"):
        values = np.nan_to_num(np.asarray(image, dtype=np.float64))
        if image.mode.startswith("I;16") or values.max(initial=0) > 255:
            values = values / 257  # 16-bit range to 8-bit
        elif image.mode == "F" and values.max(initial=0) <= 1:
            values = values * 255  # float pictures (TIFF, EXR-like) hold 0..1
        grey = np.clip(np.rint(values), 0, 255).astype(np.uint8)
        return np.repeat(grey[..., None], 3, axis=2)
    if image.has_transparency_data:
        white = Image.new("RGBA", image.size, (255, 255, 255, 255))
        image = Image.alpha_composite(white, image.convert("RGBA"))
    try:
        return np.array(image.convert("RGB"), dtype=np.uint8)
    except ValueError as e:
        raise BadImage(
            f"{name} uses the colour mode {image.mode}, which this app cannot convert: save it as an RGB PNG or JPEG."
        ) from e


def _too_large(name: str, size: tuple[int, int] | None = None) -> BadImage:
    dims = f" ({size[0]}x{size[1]})" if size else ""
    return BadImage(
        f"{name} is too large{dims}: images over {MAX_PIXELS // 1_000_000} megapixels are refused, as such "
        "files can exhaust memory. Scale it down (the video is at most ~1 megapixel per frame)."
    )


def _damaged(name: str) -> BadImage:
    return BadImage(f"{name} is damaged or incomplete and cannot be decoded: re-export or copy the image again.")


def _check_rgb(img: np.ndarray) -> None:
    if img.dtype != np.uint8 or img.ndim != 3 or img.shape[2] != 3:
        raise ValueError(f"expected a uint8 H x W x 3 RGB array, got {img.dtype} {img.shape}")


def _multiple_of_16(x: float) -> int:
    return max(16, int(x / 16 + 0.5) * 16)
