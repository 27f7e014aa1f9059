"""Asks how much to add to a finished video, and with which prompt (empty: go on as before)."""
from __future__ import annotations

from PySide6.QtWidgets import (
    QDialog, QDialogButtonBox, QDoubleSpinBox, QFormLayout, QLabel, QPlainTextEdit, QVBoxLayout, QWidget,
)


class ExtendDialog(QDialog):
    def __init__(self, video_name: str, parent: QWidget | None = None):
        super().__init__(parent)
        self.setWindowTitle("Extend video")
        intro = QLabel(f"Add seconds to the end of <b>{video_name}</b>. The F1 model continues from its "
                       "last frames; the result is one video, old and new together.")
        intro.setWordWrap(True)
        self.seconds = QDoubleSpinBox(minimum=0.5, maximum=120.0, singleStep=0.5, value=5.0, suffix=" s")
        self.prompt = QPlainTextEdit()
        self.prompt.setPlaceholderText("Leave empty to go on with the video's own prompt. "
                                       "Timed lines like [2s] count from the start of the added part.")
        self.prompt.setFixedHeight(self.prompt.fontMetrics().height() * 5)
        form = QFormLayout()
        form.addRow("Add", self.seconds)
        form.addRow("Prompt", self.prompt)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Extend")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        lay = QVBoxLayout(self)
        lay.addWidget(intro)
        lay.addLayout(form)
        lay.addWidget(buttons)
        self.resize(460, self.sizeHint().height())

    def choice(self) -> tuple[float, str]:
        """(seconds to add, prompt or "" for the old one)."""
        return self.seconds.value(), self.prompt.toPlainText().strip()
