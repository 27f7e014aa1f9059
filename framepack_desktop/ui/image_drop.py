"""A drop zone for the start or end image: drop a file or a browser image, paste, or browse.

Once loaded it shows the picture with the crop the engine will make: the resolution bucket
nearest to the image's aspect, centre-cropped (DESIGN.md §4), with the parts that will be cut
away dimmed. A file that is not an image shows the engine's message in the zone itself.
Images without a file (dragged from a browser, pasted) are saved as PNG in the app's inputs
folder, because a Job refers to its images by path.
"""
from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
from PySide6.QtCore import QMimeData, QRectF, QSize, Qt, Signal
from PySide6.QtGui import (
    QColor, QContextMenuEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QImage, QMouseEvent, QPainter,
    QPaintEvent, QPen, QPixmap,
)
from PySide6.QtWidgets import QFileDialog, QFrame, QMenu, QSizePolicy, QToolButton, QWidget

from ..engine.errors import BadImage
from ..engine.images import load_image, nearest_bucket
from . import theme
from .qimage import to_qimage
from .theme import ON_STAGE_TEXT

IMAGE_FILTER = "Images (*.png *.jpg *.jpeg *.webp *.bmp *.tif *.tiff)"
IMAGE_SUFFIXES = {".png", ".jpg", ".jpeg", ".webp", ".bmp", ".tif", ".tiff", ".gif"}
_DISPLAY_MAX = 640


def local_files(mime: QMimeData) -> list[Path]:
    return [Path(u.toLocalFile()) for u in mime.urls() if u.isLocalFile()]


def is_image_drop(mime: QMimeData) -> bool:
    """An image file (by name) or raw image data, e.g. dragged out of a web browser."""
    if any(p.suffix.lower() in IMAGE_SUFFIXES for p in local_files(mime)):
        return True
    return mime.hasImage() and not mime.hasUrls()


def save_unnamed_image(image: QImage, folder: Path) -> Path:
    """Save an image that has no file (pasted, dragged from a browser); same pixels, same name."""
    folder.mkdir(parents=True, exist_ok=True)
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    digest = hashlib.sha256(bytes(img.constBits())).hexdigest()[:16]
    path = folder / f"pasted-{digest}.png"
    if not path.exists() and not img.save(str(path), "PNG"):
        raise BadImage(f"Could not save the pasted image to '{folder}'. Check that the folder is writable.")
    return path


def crop_rect(h: int, w: int, bh: int, bw: int) -> tuple[float, float, float, float]:
    """The part of an h x w image that survives 'resize to cover bh x bw, centre-crop' (x, y, w, h)."""
    scale = max(bw / w, bh / h)
    cw, ch = bw / scale, bh / scale
    return (w - cw) / 2, (h - ch) / 2, cw, ch


class ImageDropZone(QFrame):
    imageChanged = Signal(str)          # the path now in use, "" when cleared
    errorRaised = Signal(str)

    def __init__(self, title: str, inputs_dir: Path, parent: QWidget | None = None):
        super().__init__(parent)
        self.title = title
        self.inputs_dir = inputs_dir
        self.path: str = ""
        self.image: np.ndarray | None = None
        self.bucket: tuple[int, int] | None = None
        self.resolution = 640
        self.error = ""
        self._pixmap: QPixmap | None = None
        self._hover = False
        self._disabled_hint = ""
        self.setAcceptDrops(True)
        self.setCursor(Qt.CursorShape.PointingHandCursor)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Fixed)
        self.setMinimumHeight(110)
        self.compact_height = 190
        self.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
        self.remove_button = QToolButton(self)      # removing an image is one visible click, not only right-click
        self.remove_button.setIcon(theme.icon("close"))
        self.remove_button.setToolTip(f"Remove the {self.label.lower()}")
        self.remove_button.setAutoRaise(True)
        self.remove_button.setCursor(Qt.CursorShape.ArrowCursor)
        self.remove_button.clicked.connect(self.clear)
        self.remove_button.hide()

    @property
    def label(self) -> str:
        """The zone's name without its hint: "Start image", "End image"."""
        return self.title.split(" (")[0]

    def resizeEvent(self, e) -> None:
        super().resizeEvent(e)
        size = self.remove_button.sizeHint()
        self.remove_button.move(self.width() - size.width() - 10, 10)

    def sizeHint(self) -> QSize:
        return QSize(320, self.compact_height if self._pixmap is None else 190)

    # ----- loading -----
    def load(self, path: str | Path) -> bool:
        """Use this image; on a bad file keep the previous one and show why."""
        path = Path(path)
        try:
            image = load_image(path)
        except BadImage as e:
            self._fail(str(e))
            return False
        self.path, self.image, self.error = str(path), image, ""
        self.remove_button.show()
        step = max(1, max(image.shape[:2]) // _DISPLAY_MAX)
        self._pixmap = QPixmap.fromImage(to_qimage(np.ascontiguousarray(image[::step, ::step])))
        self._update_bucket()
        self.updateGeometry()
        self.imageChanged.emit(self.path)
        return True

    def load_mime(self, mime: QMimeData) -> bool:
        files = local_files(mime)
        if files:
            return self.load(files[0])
        if mime.hasImage():
            image = QImage(mime.imageData())
            if image.isNull():
                self._fail("The dropped data is not an image this app can read. Save it as PNG or JPEG and drop the file.")
                return False
            try:
                return self.load(save_unnamed_image(image, self.inputs_dir))
            except BadImage as e:
                self._fail(str(e))
                return False
        self._fail("Nothing to use here: drop or paste an image file (PNG, JPEG, WebP).")
        return False

    def paste(self) -> bool:
        return self.load_mime(QGuiApplication.clipboard().mimeData())

    def browse(self) -> None:
        start = str(Path(self.path).parent) if self.path else ""
        path, _ = QFileDialog.getOpenFileName(self, f"Choose the {self.title.lower()}", start, IMAGE_FILTER)
        if path:
            self.load(path)

    def clear(self) -> None:
        self.path, self.image, self.bucket, self._pixmap, self.error = "", None, None, None, ""
        self.remove_button.hide()
        self.updateGeometry()
        self.update()
        self.imageChanged.emit("")

    def set_resolution(self, resolution: int) -> None:
        self.resolution = resolution
        self._update_bucket()

    def set_blocked(self, reason: str) -> None:
        """Disable with a reason shown in the tooltip and the zone (e.g. the end image with F1)."""
        self._disabled_hint = reason
        self.setEnabled(not reason)
        self.setToolTip(reason)
        self.setAcceptDrops(not reason)
        self.update()

    def _fail(self, message: str) -> None:
        self.error = message
        self.update()
        self.errorRaised.emit(message)

    def _update_bucket(self) -> None:
        if self.image is not None:
            self.bucket = nearest_bucket(self.image.shape[0], self.image.shape[1], self.resolution)
        self.update()

    @property
    def caption(self) -> str:
        if self.image is None or self.bucket is None:
            return ""
        h, w = self.image.shape[:2]
        return f"{w}×{h} → {self.bucket[1]}×{self.bucket[0]}"

    # ----- input -----
    def dragEnterEvent(self, e: QDragEnterEvent) -> None:
        if is_image_drop(e.mimeData()):
            e.acceptProposedAction()
            self._hover = True
            self.update()
        else:
            e.ignore()

    def dragLeaveEvent(self, e) -> None:
        self._hover = False
        self.update()

    def dropEvent(self, e: QDropEvent) -> None:
        self._hover = False
        e.acceptProposedAction()
        self.load_mime(e.mimeData())

    def mouseReleaseEvent(self, e: QMouseEvent) -> None:
        if e.button() == Qt.MouseButton.LeftButton and self.rect().contains(e.position().toPoint()):
            self.browse()

    def keyPressEvent(self, e) -> None:
        if e.matches(e.StandardKey.Paste):
            self.paste()
        elif e.key() in (Qt.Key.Key_Delete, Qt.Key.Key_Backspace):
            self.clear()
        else:
            super().keyPressEvent(e)

    def contextMenuEvent(self, e: QContextMenuEvent) -> None:
        menu = QMenu(self)
        menu.addAction("Choose file…", self.browse)
        menu.addAction("Paste image", self.paste)
        clear = menu.addAction("Remove", self.clear)
        clear.setEnabled(bool(self.path))
        menu.exec(e.globalPos())
        menu.deleteLater()

    # ----- painting -----
    def paintEvent(self, event: QPaintEvent) -> None:
        with QPainter(self) as p:       # ended even when painting raises (an unended one crashes later)
            self._paint(p)

    def _paint(self, p: QPainter) -> None:
        pal = theme.current()
        p.setRenderHint(QPainter.RenderHint.Antialiasing)
        r = QRectF(self.rect()).adjusted(1, 1, -1, -1)
        border = pal.color("accent") if self._hover or self.hasFocus() else pal.color("error") if self.error else pal.color("border")
        pen = QPen(border, 1.5)
        if self._pixmap is None:
            pen.setStyle(Qt.PenStyle.DashLine)
        p.setPen(pen)
        p.setBrush(pal.color("accent_soft") if self._hover else pal.color("field"))
        p.drawRoundedRect(r, 8, 8)
        if self._pixmap is not None:
            self._paint_image(p, r.adjusted(8, 8, -8, -8))
        else:
            self._paint_empty(p, r)
        if self.error:
            self._paint_error(p, r)

    def _paint_image(self, p: QPainter, area: QRectF) -> None:
        pal = theme.current()
        pm = self._pixmap
        scale = min(area.width() / pm.width(), area.height() / pm.height())
        tw, th = pm.width() * scale, pm.height() * scale
        target = QRectF(area.center().x() - tw / 2, area.center().y() - th / 2, tw, th)
        p.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform)
        p.drawPixmap(target, pm, QRectF(pm.rect()))
        if self.bucket is None or self.image is None:
            return
        h, w = self.image.shape[:2]
        x, y, cw, ch = crop_rect(h, w, *self.bucket)
        k = tw / w
        crop = QRectF(target.x() + x * k, target.y() + y * k, cw * k, ch * k)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("stage", 170))
        for band in (QRectF(target.left(), target.top(), target.width(), crop.top() - target.top()),
                     QRectF(target.left(), crop.bottom(), target.width(), target.bottom() - crop.bottom()),
                     QRectF(target.left(), crop.top(), crop.left() - target.left(), crop.height()),
                     QRectF(crop.right(), crop.top(), target.right() - crop.right(), crop.height())):
            if band.width() > 0.5 and band.height() > 0.5:
                p.drawRect(band)
        p.setPen(QPen(pal.color("accent"), 1.5))
        p.setBrush(Qt.BrushStyle.NoBrush)
        p.drawRect(crop)
        text = self.caption
        fm = p.fontMetrics()
        chip = QRectF(crop.left() + 6, crop.bottom() - fm.height() - 10, fm.horizontalAdvance(text) + 14, fm.height() + 4)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("stage", 210))
        p.drawRoundedRect(chip, 4, 4)
        p.setPen(QPen(QColor(ON_STAGE_TEXT)))
        p.drawText(chip, Qt.AlignmentFlag.AlignCenter, text)
        name = QRectF(area.left(), area.top(), fm.horizontalAdvance(self.label) + 14, fm.height() + 4)
        p.setPen(Qt.PenStyle.NoPen)                 # which image this is stays written on it
        p.setBrush(pal.color("stage", 210))
        p.drawRoundedRect(name, 4, 4)
        p.setPen(QPen(QColor(ON_STAGE_TEXT)))
        p.drawText(name, Qt.AlignmentFlag.AlignCenter, self.label)

    def _paint_empty(self, p: QPainter, r: QRectF) -> None:
        pal = theme.current()
        icon_size = 28
        theme.icon("image", pal.text_dim).paint(
            p, int(r.center().x() - icon_size / 2), int(r.center().y() - icon_size - 14), icon_size, icon_size)
        p.setPen(pal.color("text"))
        title_rect = QRectF(r.left() + 10, r.center().y() - 10, r.width() - 20, p.fontMetrics().height() + 2)
        p.drawText(title_rect, Qt.AlignmentFlag.AlignCenter, self.title)
        p.setPen(pal.color("text_dim"))
        hint = self._disabled_hint or "Drop, paste (Ctrl+V) or click to choose"
        hint_rect = QRectF(r.left() + 10, title_rect.bottom() + 2, r.width() - 20, 2.5 * p.fontMetrics().height())
        p.drawText(hint_rect, Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignTop | Qt.TextFlag.TextWordWrap, hint)

    def _paint_error(self, p: QPainter, r: QRectF) -> None:
        pal = theme.current()
        fm = p.fontMetrics()
        box = QRectF(r.left() + 8, r.bottom() - 3 * fm.height() - 14, r.width() - 16, 3 * fm.height() + 6)
        p.setPen(Qt.PenStyle.NoPen)
        p.setBrush(pal.color("error_bg", 235))
        p.drawRoundedRect(box, 6, 6)
        p.setPen(pal.color("text"))
        p.drawText(box.adjusted(8, 3, -8, -3), Qt.AlignmentFlag.AlignVCenter | Qt.TextFlag.TextWordWrap, self.error)
