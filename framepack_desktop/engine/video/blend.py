"""The FramePack soft append: joining decoded sections with a linear crossfade.

Each section is decoded with some latents shared with its neighbour, so two decoded chunks
cover the same `overlap` frames (4w - 3 = 33 at window 9). Instead of cutting, FramePack fades
across them: over the overlap the EARLIER chunk's weight falls linearly from 1 to 0 and the
LATER chunk's rises from 0 to 1, which hides the seam where the VAE's temporal context differs.

    result = earlier[:-overlap] + (w * earlier[-overlap:] + (1 - w) * later[:overlap]) + later[overlap:]
    w = linspace(1, 0, overlap)

The original (inverted) model samples from the end of the video towards the start, so each new
chunk is the EARLIER one; F1 samples forwards and the new chunk is the LATER one.

The runner keeps decoded frames in the disk `FrameStore` as uint8, not in RAM as floats, so
`blend_into_store` blends each new chunk against the stored frames. Stored frames were rounded
to uint8 once, so the result differs from an all-float soft append by at most one level.
"""
from __future__ import annotations

import numpy as np
import torch

from .framestore import FrameStore

Frames = np.ndarray | torch.Tensor


def crossfade(earlier_tail: Frames, later_head: Frames, axis: int = 0) -> Frames:
    """Blend two equally long runs of the same frames: weights 1 -> 0 on `earlier_tail`.

    Works on numpy arrays and torch tensors alike (frames along `axis`: 0 for N x H x W x 3,
    2 for the decoder's B x C x T x H x W); float inputs keep their dtype.
    """
    if earlier_tail.shape != later_head.shape:
        raise ValueError(f"crossfade needs equal shapes, got {tuple(earlier_tail.shape)} "
                         f"and {tuple(later_head.shape)}")
    floating = earlier_tail.is_floating_point() if isinstance(earlier_tail, torch.Tensor) \
        else np.issubdtype(earlier_tail.dtype, np.floating)
    if not floating:
        raise TypeError(f"crossfade needs float frames, got {earlier_tail.dtype}")
    overlap = earlier_tail.shape[axis]
    shape = [1] * earlier_tail.ndim
    shape[axis] = overlap
    if isinstance(earlier_tail, torch.Tensor):
        w = torch.linspace(1, 0, overlap, dtype=earlier_tail.dtype, device=earlier_tail.device)
    else:
        w = np.linspace(1, 0, overlap, dtype=earlier_tail.dtype)
    w = w.reshape(shape)
    return w * earlier_tail + (1 - w) * later_head


def soft_append(earlier: Frames, later: Frames, overlap: int, axis: int = 0) -> Frames:
    """`earlier` then `later`, crossfaded over their shared `overlap` frames (whole arrays)."""
    if not 0 <= overlap <= min(earlier.shape[axis], later.shape[axis]):
        raise ValueError(f"overlap {overlap} does not fit chunks of {earlier.shape[axis]} "
                         f"and {later.shape[axis]} frames")
    n = earlier.shape[axis]
    head = _take(earlier, 0, n - overlap, axis)
    tail = crossfade(_take(earlier, n - overlap, n, axis), _take(later, 0, overlap, axis), axis)
    rest = _take(later, overlap, later.shape[axis], axis)
    if isinstance(earlier, torch.Tensor):
        return torch.cat([head, tail, rest], dim=axis)
    return np.concatenate([head, tail, rest], axis=axis)


def _take(x: Frames, a: int, b: int, axis: int) -> Frames:
    index = [slice(None)] * x.ndim
    index[axis] = slice(a, b)
    return x[tuple(index)]


def to_uint8(frames: np.ndarray) -> np.ndarray:
    """Float frames on the 0..255 scale -> uint8, rounded to nearest and clamped (uint8 passes)."""
    if frames.dtype == np.uint8:
        return frames
    return np.clip(np.rint(frames), 0, 255).astype(np.uint8)


def pixels_to_float(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Decoded pixels in [-1, 1] -> T x H x W x 3 float32 on the 0..255 scale, clamped.

    `x` is the VAE's output tensor [1, 3, T, H, W], or frames already moved to numpy as
    T x H x W x 3. Not yet rounded, so `blend_into_store` can blend the overlap at full precision.
    """
    if isinstance(x, torch.Tensor):
        if x.ndim != 5 or x.shape[0] != 1 or x.shape[1] != 3:
            raise ValueError(f"expected decoded pixels [1, 3, T, H, W], got {tuple(x.shape)}")
        x = x[0].detach().float().permute(1, 2, 3, 0).cpu().numpy()
    elif x.ndim != 4 or x.shape[-1] != 3:
        raise ValueError(f"expected numpy frames T x H x W x 3, got {x.shape}")
    return (np.clip(x.astype(np.float32, copy=False), -1, 1) + 1) * 127.5


def pixels_to_uint8(x: torch.Tensor | np.ndarray) -> np.ndarray:
    """Decoded pixels in [-1, 1] ([1, 3, T, H, W] tensor or T x H x W x 3 numpy) -> T x H x W x 3 uint8.

    Clamped, scaled by (x + 1) * 127.5 and rounded to nearest.
    """
    return to_uint8(pixels_to_float(x))


def frames_to_uint8(frames: torch.Tensor, in_place: bool = False) -> np.ndarray:
    """T x H x W x 3 float frames in [-1, 1] -> uint8 numpy, computed where the tensor lives.

    The same clamp, scale and round-to-nearest-even as `pixels_to_uint8`, but on the decoder's
    device: on a GPU only the uint8 frames (a quarter of the bytes) cross to the CPU, and the
    CPU does none of the per-pixel work while the user waits for the section to appear.
    `in_place` reuses float32 `frames` for the arithmetic (no second copy on the GPU).
    """
    work = frames if in_place and frames.dtype == torch.float32 else frames.float().clone()
    work.clamp_(-1, 1).add_(1).mul_(127.5).round_().clamp_(0, 255)
    return work.to(torch.uint8).cpu().numpy()


def join_chunk(raw: torch.Tensor, previous_raw: np.ndarray | None, new_is_earlier: bool) -> np.ndarray:
    """A newly decoded chunk (T x H x W x 3 floats in [-1, 1], on the decoder's device) crossfaded
    with the previous chunk's raw overlap frames, as uint8 frames ready for the store.

    The crossfade and the conversion run where `raw` is, in place (only uint8 crosses to the
    CPU); the overlap is at the chunk's end when it lies before the previous chunk in time
    (original model), at its start otherwise (F1).
    """
    if previous_raw is not None:
        overlap = len(previous_raw)
        previous = torch.from_numpy(previous_raw).to(raw.device)
        if new_is_earlier:
            raw[-overlap:] = crossfade(raw[-overlap:], previous)
        else:
            raw[:overlap] = crossfade(previous, raw[:overlap])
    return frames_to_uint8(raw, in_place=True)


def blend_into_store(
    store: FrameStore,
    new_frames: np.ndarray,
    new_start: int,
    overlap: int,
    new_is_earlier: bool,
) -> tuple[int, int]:
    """Soft-append a newly decoded chunk to the frames already in `store`; returns [a, b) written.

    `new_frames` (N x H x W x 3) is uint8 or float on the 0..255 scale (see `pixels_to_float`)
    and belongs at frames new_start .. new_start+N-1. Of those, `overlap` frames already hold
    the neighbouring chunk: the LAST `overlap` when `new_is_earlier` (original model: the new
    chunk lies before the existing frames in time), the FIRST `overlap` otherwise (F1). They are
    crossfaded with the new chunk; the rest is written as decoded. `overlap` 0 writes the chunk
    as it is (the first section). Raises FrameNotWritten if the overlap was never written.
    """
    n = len(new_frames)
    if new_frames.ndim != 4 or new_frames.shape[1:] != (store.height, store.width, 3):
        raise ValueError(f"expected frames N x {store.height} x {store.width} x 3, "
                         f"got {tuple(new_frames.shape)}")
    if not 0 <= overlap <= n:
        raise ValueError(f"overlap {overlap} does not fit a chunk of {n} frames")
    fresh, shared = (slice(0, n - overlap), slice(n - overlap, n)) if new_is_earlier \
        else (slice(overlap, n), slice(0, overlap))
    out = np.empty((n, store.height, store.width, 3), np.uint8)
    out[fresh] = to_uint8(new_frames[fresh])
    if overlap:
        a = new_start + shared.start
        stored = store.read_range(a, a + overlap).astype(np.float32)
        new = np.asarray(new_frames[shared], dtype=np.float32)
        out[shared] = to_uint8(crossfade(new, stored) if new_is_earlier else crossfade(stored, new))
    store.write(new_start, out)
    return new_start, new_start + n
