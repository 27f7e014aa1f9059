"""Handing files to the operating system: open a video in the default player, show it in its folder.

Kept behind one small object so the window's buttons are testable: tests give the window a
recorder instead of launching a media player.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from PySide6.QtCore import QUrl
from PySide6.QtGui import QDesktopServices


class Desktop:
    def open(self, path: str) -> None:
        QDesktopServices.openUrl(QUrl.fromLocalFile(str(path)))

    def reveal(self, path: str) -> None:
        """Show the file selected in the file manager where the platform can, else its folder."""
        p = Path(path)
        if sys.platform == "win32":
            subprocess.Popen(["explorer", "/select,", str(p)])
        elif sys.platform == "darwin":
            subprocess.Popen(["open", "-R", str(p)])
        else:
            QDesktopServices.openUrl(QUrl.fromLocalFile(str(p.parent)))
