"""The mouse wheel scrolls the form; it changes a field only once the user has clicked into it.

Spin boxes, combo boxes and sliders take wheel events by default, so scrolling down the settings
changed whatever passed under the pointer (Length went 5.0 → 2.5 s). `guard_wheel` gives each such
field strong focus (click or Tab, not the wheel) and hands the wheel of an unfocused one to the
scroll area around it.
"""
from __future__ import annotations

from PySide6.QtCore import QEvent, QObject, Qt
from PySide6.QtWidgets import (
    QAbstractScrollArea, QAbstractSlider, QAbstractSpinBox, QApplication, QComboBox, QScrollBar, QWidget,
)

FIELDS = (QAbstractSpinBox, QComboBox, QAbstractSlider)


class WheelGuard(QObject):
    def eventFilter(self, obj: QObject, event: QEvent) -> bool:
        if event.type() != QEvent.Type.Wheel or not isinstance(obj, QWidget) or obj.hasFocus():
            return False
        area = _scroll_area_of(obj)
        if area is not None:
            QApplication.sendEvent(area.verticalScrollBar(), event)
        return True


def _scroll_area_of(widget: QWidget) -> QAbstractScrollArea | None:
    parent = widget.parentWidget()
    while parent is not None and not isinstance(parent, QAbstractScrollArea):
        parent = parent.parentWidget()
    return parent


def guard_wheel(root: QWidget) -> WheelGuard:
    """Guard every field under `root` (the filter lives as long as `root`)."""
    guard = WheelGuard(root)
    for field in root.findChildren(QWidget):
        if isinstance(field, FIELDS) and not isinstance(field, QScrollBar):   # scroll bars are for the wheel
            field.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            field.installEventFilter(guard)
    return guard
