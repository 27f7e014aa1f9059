"""Larger frames: an ESRGAN-family model in tiles, or OpenCV's Lanczos as the choice without a model.

A model works on overlapping tiles of the input: each tile is run with a margin of context and
only its centre is kept, so the seams vanish while the memory per call stays that of one tile
(a 4x upscale of 832x480 fits a 6 GB card). A model whose own scale differs from the one asked
(a x4 model for a x2 result) is followed by an area resize to the asked size.
"""
from __future__ import annotations

from collections.abc import Callable

import cv2
import numpy as np
import torch
from torch.nn import functional as F

from .interpolate import to_frame, to_tensor

FACTORS = (2, 4)
TILE = 256       # input pixels per tile side
MARGIN = 16      # input pixels of context on each side of a tile
_MULTIPLE = 4    # x2 / x1 ESRGAN models fold 2x2 / 4x4 pixel blocks into channels


def lanczos(frame: np.ndarray, scale: int) -> np.ndarray:
    h, w = frame.shape[:2]
    return cv2.resize(frame, (w * scale, h * scale), interpolation=cv2.INTER_LANCZOS4)


class ModelUpscaler:
    def __init__(self, model: Callable[[torch.Tensor], torch.Tensor], model_scale: int, scale: int,
                 tile: int = TILE, margin: int = MARGIN):
        self.model, self.model_scale, self.scale = model, model_scale, scale
        self.tile, self.margin = tile, margin
        params = model.parameters() if hasattr(model, "parameters") else model.model.parameters()
        param = next(iter(params))
        self.device, self.dtype = param.device, param.dtype

    @torch.inference_mode()
    def __call__(self, frame: np.ndarray) -> np.ndarray:
        h, w = frame.shape[:2]
        x = to_tensor(frame, self.device, self.dtype)
        s = self.model_scale
        out = torch.empty((1, 3, h * s, w * s), device=self.device, dtype=self.dtype)
        for y0 in range(0, h, self.tile):
            for x0 in range(0, w, self.tile):
                y1, x1 = min(y0 + self.tile, h), min(x0 + self.tile, w)
                ya, xa = max(y0 - self.margin, 0), max(x0 - self.margin, 0)
                yb, xb = min(y1 + self.margin, h), min(x1 + self.margin, w)
                up = self._run(x[..., ya:yb, xa:xb])
                out[..., y0 * s:y1 * s, x0 * s:x1 * s] = up[..., (y0 - ya) * s:(y1 - ya) * s, (x0 - xa) * s:(x1 - xa) * s]
        result = to_frame(out)
        if s != self.scale:
            result = cv2.resize(result, (w * self.scale, h * self.scale), interpolation=cv2.INTER_AREA)
        return result

    def _run(self, x: torch.Tensor) -> torch.Tensor:
        h, w = x.shape[-2:]
        pad_h, pad_w = -h % _MULTIPLE, -w % _MULTIPLE
        if pad_h or pad_w:
            x = F.pad(x, (0, pad_w, 0, pad_h), mode="replicate")
        return self.model(x)[..., : h * self.model_scale, : w * self.model_scale]
