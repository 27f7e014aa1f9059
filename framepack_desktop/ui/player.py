"""The frame-buffer player: the frame at the playhead, large, drawn with QPainter from numpy.

No QtMultimedia: the video is still being generated, its frames live in a disk frame store and
arrive section by section, so the player simply paints whatever frame the playhead points at.
Where no frame exists yet it paints the section's latent preview (while it is being sampled)
or a card saying when that part of the video will be made.
"""
from __future__ import annotations

import numpy as np
from PySide6.QtCore import QPointF, QRectF, QSize, Qt
from PySide6.QtGui import (
    QActionGroup, QColor, QContextMenuEvent, QFont, QFontMetricsF, QImage, QMouseEvent, QPainter, QPainterPath,
    QPaintEvent, QPixmap,
)
from PySide6.QtWidgets import QMenu, QSizePolicy, QWidget

from . import theme
from .frame_cache import FrameCache
from .player_zoom import ACTUAL, FIT, Zoom
from .theme import ON_STAGE_DIM, ON_STAGE_TEXT, STAGE_CARD
from .qimage import to_qimage
from .timeline_model import DONE, FAILED, PLANNED, SAMPLING, STOPPED, TimelineModel

DEMO_TEXT = "DEMO MODELS · random weights · the video is noise"


def preview_tile(preview: np.ndarray, frame: int, start: int, end: int, aspect: float) -> np.ndarray:
    """The part of a side-by-side latent preview that belongs to `frame` of a section [start, end)."""
    h, w = preview.shape[:2]
    tile_w = max(1, round(h * aspect)) if aspect > 0 else w
    tiles = max(1, w // tile_w)
    k = min(tiles - 1, (frame - start) * tiles // max(end - start, 1))
    return preview[:, k * tile_w:(k + 1) * tile_w] if tiles > 1 else preview


class PlayerView(QWidget):
    def __init__(self, model: TimelineModel, frames: FrameCache, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.frames = frames
        self.position = 0
        self.shown = "empty"              # what the last paint showed: frame/preview/pending/empty
        self._array: np.ndarray | None = None
        self._scaled: QPixmap | None = None
        self._chip_pixmap: QPixmap | None = None
        self._chip_key: tuple | None = None
        self.zoom = Zoom()
        self._drag_from: QPointF | None = None
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 200)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)

    def sizeHint(self) -> QSize:
        return QSize(800, 520)

    def show_frame(self, position: int) -> None:
        self.position = position
        self.update()

    def current_frame(self) -> np.ndarray | None:
        """The decoded frame at the playhead (what Export frame saves), if it exists."""
        if not self.model.is_ready(self.position):
            return None
        return self.frames.get(self.position)

    # ----- painting -----
    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as p:       # ended even when painting raises: a painter left active on the widget crashes the process later
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        pal = theme.current()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        p.fillRect(self.rect(), pal.color("stage"))
        frame = self.current_frame()
        section = self.model.section_at(self.position)
        if frame is not None:
            self._paint_frame(p, frame)
            self.shown = "frame"
        elif section is not None and section.state == SAMPLING and section.preview is not None:
            aspect = self.model.width / self.model.height if self.model.height else 0.0
            tile = preview_tile(section.preview, self.position, section.start_frame, section.end_frame, aspect)
            self._paint_image(p, to_qimage(tile), smooth=False)
            self._caption(p, f"Latent preview · step {section.step}/{section.steps}")
            self.shown = "preview"
        elif section is not None:
            self._paint_card(p, section)
            self.shown = "pending"
        else:
            self._paint_empty(p)
            self.shown = "empty"
        if self.model.demo:
            self._chip(p, DEMO_TEXT)

    def _paint_frame(self, p: QPainter, frame: np.ndarray) -> None:
        """The frame, scaled smoothly once per frame and size (or at 1:1, unscaled); repaints blit
        the cached pixmap."""
        dpr = self.devicePixelRatioF()
        if self.zoom.mode == ACTUAL:
            target = self.zoom.actual_rect(QRectF(self.rect()), frame.shape[1], frame.shape[0], dpr).toAlignedRect()
        else:
            target = self._target(frame.shape[1], frame.shape[0]).toAlignedRect()
        device_size = QSize(frame.shape[1], frame.shape[0]) if self.zoom.mode == ACTUAL else target.size() * dpr
        if frame is not self._array or self._scaled is None or self._scaled.size() != device_size:
            image = to_qimage(frame).scaled(device_size, Qt.AspectRatioMode.IgnoreAspectRatio,
                                            Qt.TransformationMode.SmoothTransformation)
            self._array, self._scaled = frame, QPixmap.fromImage(image)
            self._scaled.setDevicePixelRatio(dpr)
        p.drawPixmap(target.topLeft(), self._scaled)

    # ----- zoom: Fit or 1:1, from the right-click menu; dragging pans at 1:1 -----
    def set_zoom(self, mode: str) -> None:
        self.zoom.set_mode(mode)
        self.setCursor(Qt.CursorShape.OpenHandCursor if mode == ACTUAL else Qt.CursorShape.ArrowCursor)
        self.update()

    def zoom_menu(self) -> QMenu:
        """The right-click menu: Fit to the player, or actual pixels (1:1)."""
        menu = QMenu(self)
        group = QActionGroup(menu)
        for label, mode in (("Fit to the player", FIT), ("Actual pixels (1:1) — drag to pan", ACTUAL)):
            action = menu.addAction(label, lambda m=mode: self.set_zoom(m))
            action.setCheckable(True)
            action.setChecked(self.zoom.mode == mode)
            group.addAction(action)
        return menu

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:
        menu = self.zoom_menu()
        menu.aboutToHide.connect(menu.deleteLater)
        menu.popup(e.globalPos())

    def mousePressEvent(self, e: QMouseEvent) -> None:
        if self.zoom.mode == ACTUAL and e.button() == Qt.MouseButton.LeftButton:
            self._drag_from = e.position()
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
        super().mousePressEvent(e)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._drag_from is not None:
            self.zoom.drag(e.position() - self._drag_from)
            self._drag_from = e.position()
            self.update()
        super().mouseMoveEvent(e)

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if self._drag_from is not None:
            self._drag_from = None
            self.setCursor(Qt.CursorShape.OpenHandCursor)
        super().mouseReleaseEvent(e)

    def _target(self, w: int, h: int) -> QRectF:
        margin = 12
        area = self.rect().adjusted(margin, margin, -margin, -margin)
        scale = min(area.width() / w, area.height() / h)
        tw, th = w * scale, h * scale
        return QRectF(area.x() + (area.width() - tw) / 2, area.y() + (area.height() - th) / 2, tw, th)

    def _paint_image(self, p: QPainter, image: QImage, smooth: bool) -> None:
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, smooth)
        target = self._target(self._video_size(image)[0], self._video_size(image)[1])
        p.drawImage(target, image, QRectF(image.rect()))

    def _video_size(self, image: QImage) -> tuple[int, int]:
        """Previews are tiny: draw them at the video's aspect so nothing jumps when frames come."""
        if self.model.width and self.model.height:
            return self.model.width, self.model.height
        return image.width(), image.height()

    def _paint_card(self, p: QPainter, section) -> None:
        w, h = (self.model.width, self.model.height) if self.model.height else (16, 9)
        target = self._target(w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(QColor(STAGE_CARD))
        p.drawRoundedRect(target, 8, 8)
        title = {
            PLANNED: f"Section {self.model.number(section)} · not generated yet",
            DONE: f"Section {self.model.number(section)}",
            STOPPED: f"Section {self.model.number(section)} was stopped",
            FAILED: f"Section {self.model.number(section)} failed",
        }.get(section.state, f"Section {self.model.number(section)} is waiting")
        when = f"sampled {ordinal(section.order + 1)} of {len(self.model.sections)}"
        t0, t1 = section.start_frame / self.model.fps, section.end_frame / self.model.fps
        lines = [f"{t0:.1f} s – {t1:.1f} s · {when}", section.prompt.strip() or "(no prompt)"]
        self._text_block(p, target, title, lines)

    def _paint_empty(self, p: QPainter) -> None:
        target = self._target(16, 9)
        self._text_block(p, target, "Drop an image to begin",
                         ["Drag a picture onto the window, paste it with Ctrl+V, or click the start image box.",
                          "Then describe the motion and press Generate."])

    def _text_block(self, p: QPainter, rect: QRectF, title: str, lines: list[str]) -> None:
        f = QFont(self.font())
        f.setPointSizeF(f.pointSizeF() * 1.5)
        f.setBold(True)
        p.setFont(f)
        p.setPen(QColor(ON_STAGE_TEXT))
        mid = rect.center().y()
        title_rect = QRectF(rect.x() + 24, mid - 48, rect.width() - 48, 36)
        p.drawText(title_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom, title)
        p.setFont(self.font())
        p.setPen(QColor(ON_STAGE_DIM))
        body = QRectF(rect.x() + 24, mid - 4, rect.width() - 48, rect.height() / 2 - 8)
        p.drawText(body, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap,
                   "\n".join(lines))

    def _caption(self, p: QPainter, text: str) -> None:
        pal = theme.current()
        fm = p.fontMetrics()
        w, h = fm.horizontalAdvance(text) + 20, fm.height() + 10
        r = QRectF((self.width() - w) / 2, self.height() - h - 20, w, h)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("stage", 200))
        p.drawRoundedRect(r, h / 2, h / 2)
        p.setPen(pal.color("sampling"))
        p.drawText(r, Qt.AlignmentFlag.AlignCenter, text)

    def _chip(self, p: QPainter, text: str) -> None:
        """The demo warning, rendered once into a pixmap: it is on screen in every paint."""
        dpr = self.devicePixelRatioF()
        key = (text, dpr, theme.current().name, self.font().toString())
        if key != self._chip_key:
            self._chip_pixmap, self._chip_key = self._render_chip(text, dpr), key
        p.drawPixmap(20, 20, self._chip_pixmap)

    def _render_chip(self, text: str, dpr: float) -> QPixmap:
        pal = theme.current()
        f = QFont(self.font())
        f.setBold(True)
        fm = QFontMetricsF(f)
        w, h = fm.horizontalAdvance(text) + 24, fm.height() + 10
        pix = QPixmap(int((w + 2) * dpr), int((h + 2) * dpr))
        pix.setDevicePixelRatio(dpr)
        pix.fill(Qt.GlobalColor.transparent)
        q = QPainter(pix)
        q.setRenderHint(QPainter.RenderHint.Antialiasing)
        q.setFont(f)
        r = QRectF(1, 1, w, h)
        path = QPainterPath()
        path.addRoundedRect(r, h / 2, h / 2)
        q.fillPath(path, pal.color("warn_bg", 230))
        q.setPen(pal.color("warn"))
        q.drawPath(path)
        q.drawText(r, Qt.AlignmentFlag.AlignCenter, text)
        q.end()
        return pix


def ordinal(n: int) -> str:
    suffix = "th" if 10 <= n % 100 <= 20 else {1: "st", 2: "nd", 3: "rd"}.get(n % 10, "th")
    return f"{n}{suffix}"
