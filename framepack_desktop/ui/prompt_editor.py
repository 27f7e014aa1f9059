"""The prompt editor: one prompt, or timed lines such as "[2.5s] she turns around".

Timestamps are highlighted, and as the text changes the window re-plans the timeline so each
section block shows the prompt it will be sampled with, before anything is generated. With the
original model the end of the video is sampled first; seeing the coverage up front is what tells
a user when a prompt takes effect.
"""
from __future__ import annotations

from PySide6.QtCore import QRegularExpression, QSize, Qt, Signal
from PySide6.QtGui import QFont, QSyntaxHighlighter, QTextCharFormat, QTextDocument
from PySide6.QtWidgets import QHBoxLayout, QLabel, QPlainTextEdit, QPushButton, QVBoxLayout, QWidget

from . import theme

PLACEHOLDER = ("Describe the motion, e.g. “The girl dances gracefully, with clear movements.”\n"
               "Change it over time with timed lines:\n[0s] she smiles\n[3s] she waves at the camera")


class TimestampHighlighter(QSyntaxHighlighter):
    """Colours a leading "[…]" time tag on each line."""

    PATTERN = QRegularExpression(r"^\s*\[[^\]\n]*\]")

    def __init__(self, document: QTextDocument):
        super().__init__(document)

    def highlightBlock(self, text: str) -> None:
        match = self.PATTERN.match(text)
        if match.hasMatch():
            fmt = QTextCharFormat()
            fmt.setForeground(theme.current().color("accent"))
            fmt.setFontWeight(QFont.Weight.DemiBold)
            self.setFormat(match.capturedStart(), match.capturedLength(), fmt)


class PromptEditor(QWidget):
    changed = Signal(str)

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.edit = QPlainTextEdit()
        self.edit.setPlaceholderText(PLACEHOLDER)
        self.edit.setTabChangesFocus(True)
        self.highlighter = TimestampHighlighter(self.edit.document())
        self.add_timed = QPushButton("+ Timed line")
        self.add_timed.setToolTip("Insert a line that starts a new prompt at the playhead's time")
        self.hint = QLabel(objectName="Hint")
        self.hint.setWordWrap(True)
        self.playhead_s = 0.0
        self.add_timed.clicked.connect(self._insert_timed_line)
        self.edit.textChanged.connect(self._emit_changed)
        row = QHBoxLayout()
        row.setContentsMargins(0, 0, 0, 0)
        row.addWidget(self.hint, 1)
        row.addWidget(self.add_timed, 0, Qt.AlignmentFlag.AlignTop)
        lay = QVBoxLayout(self)
        lay.setContentsMargins(0, 0, 0, 0)
        lay.setSpacing(6)
        lay.addWidget(self.edit)
        lay.addLayout(row)
        self.edit.setMinimumHeight(self.fontMetrics().height() * 5 + 16)
        self.edit.setMaximumHeight(self.fontMetrics().height() * 12)

    def sizeHint(self) -> QSize:
        return QSize(320, self.fontMetrics().height() * 8)

    def text(self) -> str:
        return self.edit.toPlainText()

    def set_text(self, text: str) -> None:
        self.edit.setPlainText(text)

    def set_hint(self, text: str) -> None:
        self.hint.setText(text)

    def _emit_changed(self) -> None:
        self.changed.emit(self.text())

    def _insert_timed_line(self) -> None:
        cursor = self.edit.textCursor()
        cursor.movePosition(cursor.MoveOperation.End)
        prefix = "" if not self.text() or self.text().endswith("\n") else "\n"
        cursor.insertText(f"{prefix}[{self.playhead_s:.1f}s] ")
        self.edit.setTextCursor(cursor)
        self.edit.setFocus()
