"""Text from users and files made safe to print: control characters shown as escapes.

A prompt or a path can hold terminal control sequences (ESC [2J clears the screen, OSC sets the
window title); printed raw by `takes`, the progress lines or a log viewer they act on the terminal.
"""
from __future__ import annotations

import unicodedata


def printable(text: str, keep: str = "") -> str:
    """`text` with every control or format character except those in `keep` written as an escape
    (\\x1b, \\r, \\u202e...); letters of every language stay as they are."""
    return "".join(c if c in keep or unicodedata.category(c)[0] != "C" else repr(c)[1:-1] for c in text)
