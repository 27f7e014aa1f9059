"""Dark and light themes: one palette feeds the style sheet, Qt's palette and the painted widgets.

"system" follows the desktop's colour scheme (Qt 6.5+ reports it) and switches live when the
desktop does; when the system does not say, dark is used, the usual choice for video tools.
Icons are monochrome SVGs recoloured to the theme's text colour, so one set serves both themes
and stays sharp at any display scaling.
"""
from __future__ import annotations

from dataclasses import dataclass, fields
from functools import lru_cache
from string import Template

from PySide6.QtCore import QByteArray, QFile, QIODevice, QPoint, QRect, QRectF, QSize, Qt
from PySide6.QtGui import QColor, QGuiApplication, QIcon, QIconEngine, QPainter, QPalette, QPixmap
from PySide6.QtSvg import QSvgRenderer
from PySide6.QtWidgets import QApplication

from . import resources_rc  # noqa: F401 - importing it registers the compiled resources with Qt


def resource_text(path: str) -> str:
    """A file of the top-level resources/ folder (icons/app.svg, style/app.qss), read from the Qt
    resource module compiled from resources/resources.qrc (ui/resources_rc.py): plain Python, so
    wheels and the installer carry it without package data. tests/test_resources.py checks that
    it is current."""
    file = QFile(f":/{path}")
    if not file.open(QIODevice.OpenModeFlag.ReadOnly):
        raise FileNotFoundError(f"{path} is not in the compiled resources (resources/resources.qrc)")
    try:
        return bytes(file.readAll()).decode("utf-8")
    finally:
        file.close()


@dataclass(frozen=True)
class Palette:
    name: str
    bg: str
    panel: str
    panel2: str
    stage: str
    field: str
    border: str
    button: str
    button_hover: str
    text: str
    text_dim: str
    accent: str
    accent_hover: str
    accent_soft: str
    done: str
    done_bg: str
    sampling: str
    pending: str
    error: str
    error_bg: str
    warn: str
    warn_bg: str

    def color(self, name: str, alpha: int = 255) -> QColor:
        c = QColor(getattr(self, name))
        c.setAlpha(alpha)
        return c


DARK = Palette(
    name="dark", bg="#16171b", panel="#1e2025", panel2="#272a31", stage="#0e0f12", field="#15161a",
    border="#33363e", button="#2a2d34", button_hover="#343842", text="#e7e8eb", text_dim="#9198a3",
    accent="#4c8dff", accent_hover="#6a9fff", accent_soft="#233a63", done="#3fb68b", done_bg="#17302a",
    sampling="#f0a73a", pending="#3a3e47", error="#e5534b", error_bg="#3a1f1f", warn="#e0a43a",
    warn_bg="#3a2e17",
)
LIGHT = Palette(
    name="light", bg="#eef0f3", panel="#ffffff", panel2="#f3f4f7", stage="#1b1c20", field="#ffffff",
    border="#d3d7de", button="#f4f5f8", button_hover="#e6e9ef", text="#1c1f24", text_dim="#5d6571",
    accent="#2f6fec", accent_hover="#4a83f0", accent_soft="#d9e5fd", done="#23996f", done_bg="#dcf3ea",
    sampling="#d98a12", pending="#c9ced6", error="#cf3b33", error_bg="#fbe3e1", warn="#9a6a0c",
    warn_bg="#fbf0d9",
)

_current = DARK
# The player's stage is dark in both themes (video is judged against black), so its own colours:
ON_STAGE_TEXT = "#eef0f3"
ON_STAGE_DIM = "#9aa1ab"
STAGE_CARD = "#1f2127"


def current() -> Palette:
    return _current


def system_prefers_light() -> bool:
    hints = QGuiApplication.styleHints()
    return hints.colorScheme() == Qt.ColorScheme.Light


def resolve(choice: str) -> Palette:
    """"dark", "light" or "system" → the palette to use now."""
    if choice == "light" or (choice == "system" and system_prefers_light()):
        return LIGHT
    return DARK


def apply(app: QApplication, choice: str) -> Palette:
    """Style the whole application; safe to call again when the user or the system switches."""
    global _current
    _current = pal = resolve(choice)
    app.setStyle("Fusion")
    qp = QPalette()
    for role, name in (
        (QPalette.ColorRole.Window, "bg"), (QPalette.ColorRole.Base, "field"),
        (QPalette.ColorRole.AlternateBase, "panel2"), (QPalette.ColorRole.Button, "button"),
        (QPalette.ColorRole.Text, "text"), (QPalette.ColorRole.WindowText, "text"),
        (QPalette.ColorRole.ButtonText, "text"), (QPalette.ColorRole.Highlight, "accent"),
        (QPalette.ColorRole.ToolTipBase, "panel2"), (QPalette.ColorRole.ToolTipText, "text"),
        (QPalette.ColorRole.PlaceholderText, "text_dim"),
    ):
        qp.setColor(role, pal.color(name))
    qp.setColor(QPalette.ColorRole.HighlightedText, QColor("#ffffff"))
    qp.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.Text, pal.color("text_dim"))
    qp.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.WindowText, pal.color("text_dim"))
    qp.setColor(QPalette.ColorGroup.Disabled, QPalette.ColorRole.ButtonText, pal.color("text_dim"))
    app.setPalette(qp)
    app.setStyleSheet(style_sheet(pal))
    return pal


def style_sheet(pal: Palette) -> str:
    template = Template(resource_text("style/app.qss"))
    values = {f.name: getattr(pal, f.name) for f in fields(pal)}
    values.update(font_pt="10pt", small_pt="9pt", big_pt="11pt")
    return template.substitute(values)


@lru_cache(maxsize=256)
def _svg(name: str) -> str:
    return resource_text(f"icons/{name}.svg")


class _ThemedSvgEngine(QIconEngine):
    """Draws a resources/icons SVG in the theme's colour at paint time: sharp at any scaling,
    and a theme switch needs only a repaint, not new icons."""

    def __init__(self, name: str, color: str | None):
        super().__init__()
        self.name, self.color = name, color

    def _color(self, mode: QIcon.Mode) -> str:
        if mode == QIcon.Mode.Disabled:
            return _current.text_dim
        return self.color or _current.text

    def paint(self, painter: QPainter, rect: QRect, mode: QIcon.Mode, state: QIcon.State) -> None:
        svg = _svg(self.name).replace("currentColor", self._color(mode))
        QSvgRenderer(QByteArray(svg.encode())).render(painter, QRectF(rect))

    def pixmap(self, size: QSize, mode: QIcon.Mode, state: QIcon.State) -> QPixmap:
        pix = QPixmap(size)
        pix.fill(Qt.GlobalColor.transparent)
        painter = QPainter(pix)
        self.paint(painter, QRect(QPoint(0, 0), size), mode, state)
        painter.end()
        return pix

    def clone(self) -> "QIconEngine":
        return _ThemedSvgEngine(self.name, self.color)


def icon(name: str, color: str | None = None) -> QIcon:
    """A resources/icons SVG in `color`, or in the current theme's text colour when None."""
    return QIcon(_ThemedSvgEngine(name, color))
