"""numpy uint8 images -> QImage, the one place where frames become pixels Qt can paint.

A QImage built on a numpy buffer does not own it; `to_qimage` returns an image that keeps its
own copy, so callers may drop the array (the frame cache evicts arrays at any time).
"""
from __future__ import annotations

import numpy as np
from PySide6.QtGui import QImage


def to_qimage(rgb: np.ndarray) -> QImage:
    """An H x W x 3 uint8 RGB array as a QImage that owns its pixels."""
    if rgb.dtype != np.uint8 or rgb.ndim != 3 or rgb.shape[2] != 3:
        raise ValueError(f"expected H x W x 3 uint8, got {rgb.dtype} {rgb.shape}")
    rgb = np.ascontiguousarray(rgb)
    h, w, _ = rgb.shape
    return QImage(rgb.data, w, h, 3 * w, QImage.Format.Format_RGB888).copy()

