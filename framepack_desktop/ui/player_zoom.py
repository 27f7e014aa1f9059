"""The player's zoom: Fit (the whole frame, scaled to the view) or 1:1 (actual pixels).

1:1 draws one video pixel on one screen pixel, as a video tool's "100 %" does: a frame smaller
than the view sits in its centre, a larger one shows its centre and is panned by dragging; the
pan is clamped so the frame always covers the view and never slides off it.
"""
from __future__ import annotations

from PySide6.QtCore import QPointF, QRectF

FIT, ACTUAL = "fit", "1:1"


class Zoom:
    def __init__(self):
        self.mode = FIT
        self.pan = QPointF()       # offset of the frame's centre from the view's centre (logical px)

    def set_mode(self, mode: str) -> None:
        self.mode = mode
        self.pan = QPointF()

    def actual_rect(self, view: QRectF, w: int, h: int, dpr: float) -> QRectF:
        """Where a `w` x `h` frame lies at 1:1 in `view`, with the pan (clamped) applied."""
        size_w, size_h = w / dpr, h / dpr
        self.pan = QPointF(_clamp(self.pan.x(), max(0.0, (size_w - view.width()) / 2)),
                           _clamp(self.pan.y(), max(0.0, (size_h - view.height()) / 2)))
        centre = view.center() + self.pan
        return QRectF(round(centre.x() - size_w / 2), round(centre.y() - size_h / 2), size_w, size_h)

    def drag(self, delta: QPointF) -> None:
        """Move the frame with the mouse (clamped when the frame is next drawn)."""
        if self.mode == ACTUAL:
            self.pan += delta


def _clamp(value: float, limit: float) -> float:
    return max(-limit, min(limit, value))
