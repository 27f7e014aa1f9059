"""The queue panel's top row: the job being generated, with its newest picture and its progress.

The window feeds it (`show`) from the same 30 Hz progress update as the side panel's bar, so the
queue tells at a glance how far the running job is without switching to the stage.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import Qt
from PySide6.QtGui import QPixmap
from PySide6.QtWidgets import QFrame, QGridLayout, QLabel, QProgressBar, QWidget

from .elided_label import ElidedLabel
from .qimage import to_qimage

THUMB = 56


class RunningRow(QFrame):
    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("RunningRow")
        self.picture = QLabel()
        self.picture.setFixedSize(THUMB, THUMB)
        self.picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        self.title = ElidedLabel()
        self.detail = ElidedLabel(objectName="Hint")
        self.bar = QProgressBar()
        self.bar.setRange(0, 1000)
        self.bar.setTextVisible(False)
        self.bar.setFixedHeight(6)
        lay = QGridLayout(self)
        lay.setContentsMargins(4, 4, 4, 4)
        lay.setHorizontalSpacing(8)
        lay.setVerticalSpacing(2)
        lay.addWidget(self.picture, 0, 0, 3, 1)
        lay.addWidget(self.title, 0, 1)
        lay.addWidget(self.detail, 1, 1)
        lay.addWidget(self.bar, 2, 1)
        lay.setColumnStretch(1, 1)
        self.has_picture = False
        self.hide()

    def show_job(self, title: str, tooltip: str) -> None:
        self.title.setText(f"Now: {title}")
        self.title.setToolTip(tooltip)
        self.has_picture = False
        self.picture.clear()
        self.show()

    def show_progress(self, fraction: float, text: str, picture: np.ndarray | None) -> None:
        self.bar.setValue(round(fraction * 1000))
        self.detail.setText(f"{fraction:.0%} · {text}" if text else f"{fraction:.0%}")
        self.detail.setToolTip(text)
        if picture is not None:
            pix = QPixmap.fromImage(to_qimage(np.ascontiguousarray(picture)))
            self.picture.setPixmap(pix.scaled(THUMB, THUMB, Qt.AspectRatioMode.KeepAspectRatio,
                                              Qt.TransformationMode.SmoothTransformation))
            self.has_picture = True
