"""A word-wrapped label that also wraps a long path or address instead of clipping it.

QLabel's word wrap breaks only at spaces, so a message naming a long folder or URL asks for the
whole run on one line: the label's size hint becomes wider than the dialog and the end of the
message is cut off. This label shows the text with zero-width spaces after path separators and
inside long runs, so every line fits the width it is given; `text()` stays what was set.
"""
from __future__ import annotations

import re

from PySide6.QtWidgets import QLabel, QSizePolicy, QWidget

ZWSP = "\u200b"
_RUN = 24                   # a run of this many characters without a break point gets one


def breakable(text: str) -> str:
    """`text` with zero-width break points after / \\ _ - . ? & = and inside long unbroken runs."""
    text = re.sub(r"([/\\_\-.?&=])(?=\S)", rf"\1{ZWSP}", text)
    return re.sub(rf"[^\s{ZWSP}]{{{_RUN}}}(?=[^\s{ZWSP}])", lambda m: m.group(0) + ZWSP, text)


class WrappedLabel(QLabel):
    def __init__(self, text: str = "", parent: QWidget | None = None, objectName: str = ""):
        super().__init__(parent, objectName=objectName)
        self.setWordWrap(True)
        self.setSizePolicy(QSizePolicy.Policy.Preferred, QSizePolicy.Policy.Minimum)
        self._text = ""
        self.setText(text)

    def setText(self, text: str) -> None:
        self._text = text
        super().setText(breakable(text))

    def text(self) -> str:
        return self._text
