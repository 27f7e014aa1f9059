"""The banner at the top of the stage: what went wrong, in words, with the details a click away.

It also carries notices (kind "notice"): reports to keep in view that are not errors.

Non-modal on purpose: an error never blocks the window (or a test), the video made so far stays
playable underneath, and the next error replaces the previous one.
"""
from __future__ import annotations

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import QFrame, QHBoxLayout, QLabel, QMessageBox, QPushButton, QToolButton, QWidget

from . import theme


class ErrorBanner(QFrame):
    openLogRequested = Signal()

    def __init__(self, parent: QWidget | None = None):
        super().__init__(parent)
        self.setObjectName("ErrorBanner")
        self.message = ""
        self.detail = ""
        self.icon = QLabel()
        self.text = QLabel()
        self.text.setWordWrap(True)
        self.text.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.details = QPushButton("Details")
        self.details.clicked.connect(self._show_details)
        self.log_button = QPushButton("Open log folder")
        self.log_button.clicked.connect(self.openLogRequested)
        close = QToolButton()
        close.setIcon(theme.icon("close"))
        close.setToolTip("Dismiss")
        close.setAutoRaise(True)
        close.clicked.connect(self.dismiss)
        lay = QHBoxLayout(self)
        lay.setContentsMargins(12, 8, 8, 8)
        lay.setSpacing(10)
        lay.addWidget(self.icon, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.text, 1)
        lay.addWidget(self.details, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(self.log_button, 0, Qt.AlignmentFlag.AlignTop)
        lay.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self.hide()

    def show_error(self, message: str, detail: str = "", log_button: bool = False) -> None:
        self._set_kind("error")
        self.message, self.detail = message, detail
        self.icon.setPixmap(theme.icon("close", theme.current().error).pixmap(18, 18))
        self.text.setText(message)
        self.details.setVisible(bool(detail))
        self.log_button.setVisible(log_button)
        self.show()

    def show_notice(self, message: str) -> None:
        """Information to keep in view, not an error: e.g. the engine repaired a damaged job folder."""
        self._set_kind("notice")
        self.message, self.detail = message, ""
        self.icon.setPixmap(theme.icon("spark", theme.current().accent).pixmap(18, 18))
        self.text.setText(message)
        self.details.hide()
        self.log_button.hide()
        self.show()

    @property
    def kind(self) -> str:
        return self.property("kind") or "error"

    def _set_kind(self, kind: str) -> None:
        if self.property("kind") != kind:
            self.setProperty("kind", kind)
            self.style().unpolish(self)
            self.style().polish(self)

    def dismiss(self) -> None:
        self.message = self.detail = ""
        self.hide()

    def _show_details(self) -> None:
        box = QMessageBox(QMessageBox.Icon.Warning, "Error details", self.message, parent=self)
        box.setDetailedText(self.detail)
        box.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose)
        box.open()
