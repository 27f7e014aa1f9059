"""The timeline: the whole planned video, section blocks with their state, thumbnails, playhead.

It paints the TimelineModel; it is not pushed a repaint per frame or per step. The window's
refresh timer calls `refresh()`, which repaints only when the model's revision changed. Click or
drag anywhere to move the playhead (`seekRequested`), also while the engine is generating.
"""
from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import QPoint, QPointF, QRectF, QSize, QSizeF, Qt, Signal
from PySide6.QtGui import (
    QContextMenuEvent, QDragEnterEvent, QDragMoveEvent, QDropEvent, QFont, QMouseEvent, QPainter, QPaintEvent, QPen,
    QPixmap, QPolygonF,
)
from PySide6.QtWidgets import QSizePolicy, QToolTip, QWidget

from . import theme
from .image_drop import IMAGE_SUFFIXES, local_files
from .keyframes import KeyframeMarkers
from .player import ordinal
from .qimage import to_qimage
from .timeline_model import DONE, FAILED, PLANNED, SAMPLING, STOPPED, TimelineModel, SectionView

_STATE_COLOR = {PLANNED: "pending", DONE: "done", SAMPLING: "sampling", STOPPED: "pending", FAILED: "error"}


class TimelineView(QWidget):
    seekRequested = Signal(int)
    sectionMenuRequested = Signal(int, QPoint)     # section (time index), global position
    keyframeDropped = Signal(float, str)           # an image dragged onto the timeline: seconds, path
    keyframeRemoveRequested = Signal(float)        # right-click on a keyframe's marker: its seconds
    keyframeMoved = Signal(float, float)           # a keyframe's marker dragged along: from, to (seconds)

    def __init__(self, model: TimelineModel, parent: QWidget | None = None):
        super().__init__(parent)
        self.model = model
        self.position = 0
        self._painted_revision = -1
        self._strip: QPixmap | None = None
        self._strip_key: tuple | None = None
        self.setMouseTracking(True)
        self.setFocusPolicy(Qt.FocusPolicy.ClickFocus)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(self.sizeHint().height())
        self.setMinimumWidth(300)
        self.markers = KeyframeMarkers()
        self._dragged: float | None = None     # the keyframe whose marker the mouse holds
        self.setAcceptDrops(True)

    # ----- geometry (all derived from the font, so it scales with the display) -----
    def _rows(self) -> dict[str, QRectF]:
        lh = self.fontMetrics().height()
        x0, w = self._x0(), self._span_width()
        ruler = QRectF(x0, 4, w, lh + 4)
        blocks = QRectF(x0, ruler.bottom() + 4, w, 2 * lh + 14)
        ready = QRectF(x0, blocks.bottom() + 5, w, 5)
        thumbs = QRectF(x0, ready.bottom() + 6, w, 3.6 * lh)
        return {"ruler": ruler, "blocks": blocks, "ready": ready, "thumbs": thumbs}

    def sizeHint(self) -> QSize:
        lh = self.fontMetrics().height()
        return QSize(900, int(4 + lh + 4 + 4 + 2 * lh + 14 + 5 + 5 + 6 + 3.6 * lh + 8))

    def _x0(self) -> float:
        return 14.0

    def _span_width(self) -> float:
        return max(1.0, self.width() - 2 * self._x0())

    def x_of(self, frame: float) -> float:
        n = max(self.model.num_frames, 1)
        return self._x0() + self._span_width() * frame / n

    def frame_at_x(self, x: float) -> int:
        n = self.model.num_frames
        if n <= 0:
            return 0
        f = int((x - self._x0()) / self._span_width() * n)
        return min(max(f, 0), n - 1)

    # ----- updates -----
    def set_position(self, frame: int) -> None:
        if frame != self.position:
            self.position = frame
            self.update()

    def refresh(self) -> None:
        """Repaint if the model changed since the last paint (called from the window's timer)."""
        if self.model.revision != self._painted_revision:
            self.update()

    # ----- input -----
    def mousePressEvent(self, e: QMouseEvent) -> None:
        """Left on a keyframe's marker picks it up (released elsewhere, it moves there); elsewhere, a seek."""
        if e.button() != Qt.MouseButton.LeftButton:
            return
        x, y = e.position().x(), e.position().y()
        self._dragged = self.markers.at(self.model.keyframes, self._x_of_seconds, self._rows()["blocks"], x, y)
        if self._dragged is None:
            self.seekRequested.emit(self.frame_at_x(x))

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        dragged, self._dragged = self._dragged, None
        if dragged is None or e.button() != Qt.MouseButton.LeftButton:
            return
        to = round(self.frame_at_x(e.position().x()) / (self.model.fps or 30), 2)
        if to != dragged:
            self.keyframeMoved.emit(dragged, to)
        self.setCursor(Qt.CursorShape.ArrowCursor)

    def mouseMoveEvent(self, e: QMouseEvent) -> None:
        if self._dragged is not None:
            self.setCursor(Qt.CursorShape.ClosedHandCursor)
            return
        if e.buttons() & Qt.MouseButton.LeftButton:
            self.seekRequested.emit(self.frame_at_x(e.position().x()))
            return
        section = self.model.section_at(self.frame_at_x(e.position().x()))
        if section is not None and self._rows()["blocks"].contains(e.position()):
            QToolTip.showText(e.globalPosition().toPoint(), self._tooltip(section), self)
        else:
            QToolTip.hideText()

    def _x_of_seconds(self, seconds: float) -> float:
        return self.x_of(seconds * (self.model.fps or 30))

    def _dropped_image(self, e) -> str | None:
        images = [p for p in local_files(e.mimeData()) if p.suffix.lower() in IMAGE_SUFFIXES]
        return str(images[0]) if images and self.model.num_frames > 0 else None

    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if self._dropped_image(e):
            e.acceptProposedAction()

    def dragMoveEvent(self, e: QDragMoveEvent) -> None:
        if self._dropped_image(e):
            e.acceptProposedAction()

    def dropEvent(self, e: QDropEvent) -> None:
        """An image dropped on the timeline: a keyframe at that time."""
        path = self._dropped_image(e)
        if path:
            self.keyframeDropped.emit(self.frame_at_x(e.position().x()) / (self.model.fps or 30), path)
            e.acceptProposedAction()

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:
        """Right-click on a section: the window offers redo, takes and "continue from here"; on a
        keyframe's marker: the keyframe is removed."""
        keyframe = self.markers.at(self.model.keyframes, self._x_of_seconds, self._rows()["blocks"], e.pos().x(), e.pos().y())
        if keyframe is not None:
            self.keyframeRemoveRequested.emit(keyframe)
            e.accept()
            return
        frame = self.frame_at_x(e.pos().x())
        section = self.model.section_at(frame)
        if section is None:
            return
        self.seekRequested.emit(frame)
        self.sectionMenuRequested.emit(section.section, e.globalPos())
        e.accept()

    def _tooltip(self, s: SectionView) -> str:
        fps = self.model.fps or 30
        state = {SAMPLING: f"sampling, step {s.step}/{s.steps}", DONE: "done"}.get(s.state, s.state)
        takes = f"\n{s.takes} takes: right-click to keep another" if s.takes > 1 else ""
        keyframe = f"\nKeyframe: {Path(s.anchor).name}" if s.anchor else ""
        origin = f"\n{self.model.origin}" if self.model.origin and s.section == 0 else ""
        seed = "a new random seed at Generate" if s.state == PLANNED and self.model.random_seed else f"seed {s.seed}"
        return (f"Section {self.model.number(s)}: {s.start_frame / fps:.1f}–{s.end_frame / fps:.1f} s\n"
                f"Sampled {s.order + 1} of {len(self.model.sections)} · {state} · {seed}\n"
                f"Prompt: {s.prompt}{keyframe}{takes}{origin}")

    # ----- painting -----
    def paintEvent(self, event: QPaintEvent) -> None:
        self._painted_revision = self.model.revision
        with QPainter(self) as p:       # ended even when painting raises (an unended one crashes later)
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        pal = theme.current()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        rows = self._rows()
        if self.model.num_frames <= 0:
            p.setPen(pal.color("text_dim"))
            p.drawText(self.rect(), Qt.AlignmentFlag.AlignCenter, "The timeline appears when an image and a prompt are set.")
            return
        self._paint_ruler(p, rows["ruler"])
        for s in self.model.sections:
            self._paint_block(p, rows["blocks"], s)
        self.markers.paint(p, self.model.keyframes, self._x_of_seconds, rows["blocks"])
        self._paint_ready(p, rows["ready"])
        self._paint_thumbs(p, rows["thumbs"])
        if self.model.origin and not self.model.thumbnails:  # a text-only video or a continued clip says
            # so in the film strip's row until there are pictures (then section 1's tooltip says it)
            p.setPen(pal.color("text_dim"))
            p.drawText(rows["thumbs"].adjusted(8, 4, -8, -4), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignTop,
                       self.model.origin)
        self._paint_playhead(p, rows)

    def _paint_ruler(self, p: QPainter, r: QRectF) -> None:
        pal = theme.current()
        fps = self.model.fps or 30
        duration = self.model.num_frames / fps
        px_per_s = r.width() / max(duration, 1e-6)
        step = next((s for s in (0.5, 1, 2, 5, 10, 15, 30, 60, 120) if s * px_per_s >= 56), 300)
        small = QFont(self.font())
        small.setPointSizeF(max(6.0, small.pointSizeF() * 0.85))
        p.setFont(small)
        t = 0.0
        while t <= duration + 1e-6:
            x = self.x_of(t * fps)
            p.setPen(QPen(pal.color("border"), 1))
            p.drawLine(QPointF(x, r.bottom() - 4), QPointF(x, r.bottom()))
            p.setPen(pal.color("text_dim"))
            label = f"{t:g}s" if duration < 120 else f"{int(t // 60)}:{int(t % 60):02d}"
            p.drawText(QRectF(x + 3, r.top(), 60, r.height() - 2), Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, label)
            t += step
        p.setFont(self.font())
        for asked, applied in self.model.prompt_marks:        # "[2s]" begins where a section does
            x, y = self.x_of(asked * fps), r.bottom()
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(pal.color("warn"))
            p.drawPolygon([QPointF(x - 4, y - 7), QPointF(x + 4, y - 7), QPointF(x, y)])
            p.setPen(QPen(pal.color("warn"), 1, Qt.PenStyle.DashLine))
            p.drawLine(QPointF(x, y), QPointF(self.x_of(applied * fps), y))

    def _paint_block(self, p: QPainter, row: QRectF, s: SectionView) -> None:
        pal = theme.current()
        x0, x1 = self.x_of(s.start_frame), self.x_of(s.end_frame)
        r = QRectF(x0 + 1.5, row.top(), max(2.0, x1 - x0 - 3), row.height())
        base = pal.color("panel2")
        p.setPen(QPen(pal.color(_STATE_COLOR.get(s.state, "pending")), 1.2))
        p.setBrush(base)
        p.drawRoundedRect(r, 5, 5)
        if s.progress > 0:
            fill = QRectF(r.left(), r.top(), r.width() * s.progress, r.height())
            color = pal.color(_STATE_COLOR.get(s.state, "pending"), 70 if s.state == DONE else 110)
            p.save()
            p.setClipRect(fill)
            p.setPen(Qt.PenStyle.NoPen)
            p.setBrush(color)
            p.drawRoundedRect(r, 5, 5)
            p.restore()
        if r.width() < 28:
            return
        inner = r.adjusted(7, 3, -7, -3)
        half = inner.height() / 2
        head = f"{self.model.number(s)}"
        status = {SAMPLING: f"step {s.step}/{s.steps}", DONE: "done", STOPPED: "stopped", FAILED: "failed"}.get(
            s.state, f"sampled {ordinal(s.order + 1)}")
        if s.takes > 1 and s.state != SAMPLING:
            status = f"{s.takes} takes · {status}"
        bold = QFont(self.font())
        bold.setBold(True)
        p.setFont(bold)
        p.setPen(pal.color("text"))
        fm = p.fontMetrics()
        top = QRectF(inner.left(), inner.top(), inner.width(), half)
        p.drawText(top, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, head)
        head_w = fm.horizontalAdvance(head) + 8
        p.setFont(self.font())
        p.setPen(pal.color(_STATE_COLOR.get(s.state, "text_dim")) if s.state in (SAMPLING, DONE, FAILED) else pal.color("text_dim"))
        status_rect = QRectF(inner.left() + head_w, inner.top(), inner.width() - head_w, half)
        p.drawText(status_rect, Qt.AlignmentFlag.AlignRight | Qt.AlignmentFlag.AlignVCenter,
                   p.fontMetrics().elidedText(status, Qt.TextElideMode.ElideRight, int(status_rect.width())))
        p.setPen(pal.color("text_dim"))
        bottom = QRectF(inner.left(), inner.top() + half, inner.width(), half)
        prompt = p.fontMetrics().elidedText(s.prompt.strip() or "(no prompt)", Qt.TextElideMode.ElideRight, int(bottom.width()))
        p.drawText(bottom, Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignVCenter, prompt)

    def _paint_ready(self, p: QPainter, r: QRectF) -> None:
        pal = theme.current()
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("field"))
        p.drawRoundedRect(r, 2.5, 2.5)
        if self.model.ready_count > 0:
            x0, x1 = self.x_of(self.model.ready_start), self.x_of(self.model.ready_end)
            p.setBrush(pal.color("accent"))
            p.drawRoundedRect(QRectF(x0, r.top(), x1 - x0, r.height()), 2.5, 2.5)

    def _paint_thumbs(self, p: QPainter, row: QRectF) -> None:
        """The film strip, drawn into a cached pixmap that is redone only when pictures change."""
        m = self.model
        dpr = self.devicePixelRatioF()
        key = (id(m), m.thumbs_revision, m.num_frames, m.width, m.height, len(m.sections), row.width(),
               row.height(), dpr, theme.current().name)
        if key != self._strip_key:
            self._strip = self._render_strip(row.size(), dpr)
            self._strip_key = key
        p.drawPixmap(row.topLeft(), self._strip)

    def _render_strip(self, size: QSizeF, dpr: float) -> QPixmap:
        """One picture per slot, each the frame under the slot's middle; section borders on top."""
        pal = theme.current()
        m = self.model
        pix = QPixmap((size * dpr).toSize())
        pix.setDevicePixelRatio(dpr)
        pix.fill(Qt.GlobalColor.transparent)
        p = QPainter(pix)
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        row = QRectF(QPointF(0, 0), size)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("field"))
        p.drawRoundedRect(row, 4, 4)
        if m.thumbnails:
            aspect = m.width / m.height if m.height else 16 / 9
            slot_w = max(8.0, row.height() * aspect)
            stride = m.thumb_stride
            p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
            x = 0.0
            while x < row.right():
                arr = m.thumbnails.get(self.frame_at_x(self._x0() + x + slot_w / 2) // stride * stride)
                if arr is not None:
                    img = to_qimage(arr)
                    p.drawImage(QRectF(x, 0, min(slot_w, row.right() - x), row.height()), img,
                                QRectF(0, 0, img.width() * min(1.0, (row.right() - x) / slot_w), img.height()))
                x += slot_w
            p.setPen(QPen(pal.color("panel"), 2))
            for s in m.sections[1:]:
                sx = self.x_of(s.start_frame) - self._x0()
                p.drawLine(QPointF(sx, 0), QPointF(sx, row.bottom()))
        p.end()
        return pix

    def _paint_playhead(self, p: QPainter, rows: dict[str, QRectF]) -> None:
        pal = theme.current()
        x = self.x_of(self.position + 0.5)
        top, bottom = rows["ruler"].top(), rows["thumbs"].bottom()
        p.setPen(QPen(pal.color("text"), 1.5))
        p.drawLine(QPointF(x, top + 6), QPointF(x, bottom))
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("text"))
        p.drawPolygon(QPolygonF([QPointF(x - 6, top), QPointF(x + 6, top), QPointF(x, top + 8)]))
