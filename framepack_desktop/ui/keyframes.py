"""Keyframes in the window: the list the form holds, and their markers on the timeline.

Dragging an image onto the timeline places a keyframe at that time (original model, eichi's
method: engine/plan.py says which sections it anchors); dragging its marker moves it; right-clicking
its marker removes it.
The list is part of the form: the job built from the form carries it, a loaded job fills it.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QObject, QRectF, Qt, Signal
from PySide6.QtGui import QPainter, QPen, QPixmap

from . import theme


class KeyframeList(QObject):
    """The form's keyframes: time in seconds -> image path."""

    changed = Signal()

    def __init__(self, parent: QObject | None = None):
        super().__init__(parent)
        self.items: dict[float, str] = {}

    def place(self, seconds: float, path: str) -> None:
        self.items = {**self.items, round(seconds, 2): path}
        self.changed.emit()

    def remove(self, seconds: float) -> None:
        if seconds in self.items:
            self.items = {t: p for t, p in self.items.items() if t != seconds}
            self.changed.emit()

    def move(self, seconds: float, to: float) -> None:
        """The keyframe at `seconds` now at `to` (one already there gives way)."""
        if seconds in self.items and to != seconds:
            path = self.items[seconds]
            self.items = {**{t: p for t, p in self.items.items() if t != seconds}, round(to, 2): path}
            self.changed.emit()

    def load(self, items: dict[float, str]) -> None:
        self.items = dict(items)
        self.changed.emit()


class KeyframeMarkers:
    """Thumbnails of the keyframes on the timeline's section row, where each keyframe's time is."""

    def __init__(self) -> None:
        self._pixmaps: dict[str, QPixmap] = {}

    def rects(self, keyframes: dict[float, str], x_of_seconds, row: QRectF) -> dict[float, QRectF]:
        side = row.height() - 6
        return {t: QRectF(x_of_seconds(t) - side / 2, row.top() + 3, side, side) for t in keyframes}

    def at(self, keyframes: dict[float, str], x_of_seconds, row: QRectF, x: float, y: float) -> float | None:
        """The time of the keyframe whose marker is under (x, y), or None."""
        return next((t for t, r in self.rects(keyframes, x_of_seconds, row).items() if r.contains(x, y)), None)

    def paint(self, p: QPainter, keyframes: dict[float, str], x_of_seconds, row: QRectF) -> None:
        pal = theme.current()
        for t, r in self.rects(keyframes, x_of_seconds, row).items():
            pixmap = self._pixmap(keyframes[t], int(r.height()))
            if not pixmap.isNull():
                p.drawPixmap(r.toRect(), pixmap)
            p.setPen(QPen(pal.color("accent"), 2))
            p.setBrush(Qt.BrushStyle.NoBrush)
            p.drawRoundedRect(r, 3, 3)

    def _pixmap(self, path: str, side: int) -> QPixmap:
        key = f"{path}@{side}"
        if key not in self._pixmaps:
            image = QPixmap(str(Path(path)))
            self._pixmaps[key] = image.scaled(side, side, Qt.AspectRatioMode.KeepAspectRatioByExpanding,
                                              Qt.TransformationMode.SmoothTransformation) if not image.isNull() else image
        return self._pixmaps[key]
