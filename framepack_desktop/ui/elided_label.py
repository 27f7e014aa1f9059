"""A one-line label that ends in "…" when it does not fit, with the whole text in its tooltip.

A plain QLabel cuts long names (a file path in the status bar, a video name in the result bar)
mid-word and the rest is lost; this keeps the start, marks the cut and still says it all on hover.
"""
from __future__ import annotations

from PySide6.QtCore import QSize, Qt
from PySide6.QtGui import QPainter, QPaintEvent
from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget


class ElidedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, **kwargs):
        super().__init__(parent, **kwargs)
        self.setSizePolicy(QSizePolicy.Policy.Ignored, QSizePolicy.Policy.Preferred)
        self.setMinimumWidth(40)
        self.setText(text)

    def setText(self, text: str) -> None:
        super().setText(text)
        self.setToolTip(text)

    def elided(self) -> str:
        return self.fontMetrics().elidedText(self.text(), Qt.TextElideMode.ElideMiddle
                                             if "/" in self.text() or "\\" in self.text() else Qt.TextElideMode.ElideRight,
                                             max(self.contentsRect().width(), 0))

    def minimumSizeHint(self) -> QSize:
        return QSize(self.minimumWidth(), super().minimumSizeHint().height())

    def paintEvent(self, e: QPaintEvent) -> None:
        with QPainter(self) as p:       # ended even when painting raises (an unended one crashes later)
            p.setPen(self.palette().color(self.foregroundRole()))
            p.drawText(self.contentsRect(), int(self.alignment()) | int(Qt.AlignmentFlag.AlignVCenter), self.elided())
