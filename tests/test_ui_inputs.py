"""Inputs: image drops (file URLs, browser image data, paste), the bucket shown, bad files explained."""
import numpy as np
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, QPointF, Qt, QUrl
from PySide6.QtGui import QDragEnterEvent, QDropEvent, QGuiApplication, QImage
from PySide6.QtWidgets import QApplication

from framepack_desktop.ui.image_drop import ImageDropZone, crop_rect
from framepack_desktop.ui.qimage import to_qimage


def from_qimage(image: QImage) -> np.ndarray:
    """What was painted, as an H x W x 3 uint8 array, to compare with frames."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def file_mime(path):
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(path))])
    return mime


def drop(widget, mime):
    """What Qt delivers when a user drags `mime` onto the widget and lets go."""
    enter = QDragEnterEvent(QPoint(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                            Qt.KeyboardModifier.NoModifier)
    QApplication.sendEvent(widget, enter)
    accepted = enter.isAccepted()
    if accepted:
        event = QDropEvent(QPointF(10, 10), Qt.DropAction.CopyAction, mime, Qt.MouseButton.LeftButton,
                           Qt.KeyboardModifier.NoModifier)
        QApplication.sendEvent(widget, event)
    return accepted


def photo(path, w=800, h=600):
    y, x = np.mgrid[0:h, 0:w]
    Image.fromarray(np.stack([x % 256, y % 256, (x + y) % 256], -1).astype(np.uint8)).save(path)
    return path


def test_dropping_an_image_file_url_loads_it_with_its_bucket(qtbot, tmp_path):
    zone = ImageDropZone("Start image", tmp_path / "inputs")
    qtbot.addWidget(zone)
    zone.set_resolution(640)
    with qtbot.waitSignal(zone.imageChanged) as sig:
        assert drop(zone, file_mime(photo(tmp_path / "p.png")))
    assert sig.args == [str(tmp_path / "p.png")]
    assert zone.image.shape == (600, 800, 3) and zone.image[5, 7, 0] == 7
    assert zone.bucket == (544, 704)          # nearest 640-class bucket to 4:3 landscape
    assert zone.caption == "800×600 → 704×544"
    zone.set_resolution(320)
    assert zone.bucket[0] < 544


def test_an_invalid_file_shows_an_error_and_keeps_the_previous_image(qtbot, tmp_path):
    zone = ImageDropZone("Start image", tmp_path)
    qtbot.addWidget(zone)
    zone.load(photo(tmp_path / "good.png"))
    bad = tmp_path / "notes.png"
    bad.write_text("this is not a picture")
    with qtbot.waitSignal(zone.errorRaised) as sig:
        drop(zone, file_mime(bad))
    assert "notes.png" in sig.args[0] and zone.error == sig.args[0]
    assert zone.path == str(tmp_path / "good.png")
    zone.load(tmp_path / "good.png")
    assert zone.error == ""


def test_a_non_image_drag_is_refused(qtbot, tmp_path):
    zone = ImageDropZone("Start image", tmp_path)
    qtbot.addWidget(zone)
    doc = tmp_path / "a.txt"
    doc.write_text("x")
    assert not drop(zone, file_mime(doc))
    assert zone.path == ""


def test_browser_image_data_and_paste_are_saved_as_png(qtbot, tmp_path):
    zone = ImageDropZone("Start image", tmp_path / "inputs")
    qtbot.addWidget(zone)
    pixels = np.zeros((40, 60, 3), np.uint8)
    pixels[:, :, 1] = 200
    mime = QMimeData()
    mime.setImageData(to_qimage(pixels))
    assert drop(zone, mime)
    assert zone.path.startswith(str(tmp_path / "inputs")) and zone.path.endswith(".png")
    assert (zone.image == pixels).all()
    pixels[:, :, 0] = 99
    QGuiApplication.clipboard().setImage(to_qimage(pixels))
    assert zone.paste()
    assert (zone.image == pixels).all()


def test_blocked_zone_refuses_drops_and_says_why(qtbot, tmp_path):
    zone = ImageDropZone("End image", tmp_path)
    qtbot.addWidget(zone)
    zone.set_blocked("The end image works only with the original model.")
    assert not zone.isEnabled() and "original" in zone.toolTip()
    assert not zone.acceptDrops()


def test_crop_rect_keeps_the_centre_at_the_bucket_aspect():
    x, y, w, h = crop_rect(600, 800, 544, 704)
    assert abs(w / h - 704 / 544) < 1e-9 and abs(x - (800 - w) / 2) < 1e-9 and y == 0


def test_qimage_round_trip():
    a = np.random.default_rng(0).integers(0, 255, (7, 13, 3), dtype=np.uint8)
    assert (from_qimage(to_qimage(a)) == a).all()
    assert from_qimage(QImage(5, 3, QImage.Format.Format_ARGB32)).shape == (3, 5, 3)


def test_a_set_image_keeps_its_name_on_it_and_a_visible_remove_button(qtbot, tmp_path):
    zone = ImageDropZone("End image (optional)", tmp_path)
    qtbot.addWidget(zone)
    zone.resize(320, 190)
    zone.show()
    cleared = []
    zone.imageChanged.connect(cleared.append)
    assert not zone.remove_button.isVisible()
    Image.fromarray(np.full((300, 400, 3), 128, np.uint8)).save(tmp_path / "end.png")    # flat grey
    assert drop(zone, file_mime(tmp_path / "end.png"))
    assert zone.remove_button.isVisible() and zone.label == "End image"
    assert zone.rect().contains(zone.remove_button.geometry())             # on the picture, not clipped
    shot = from_qimage(zone.grab().toImage())
    corner = shot[10:28, 10:80]                 # the name chip, top left: dark, with light text on it
    assert (corner.mean(axis=2) < 60).mean() > 0.3 and (corner.mean(axis=2) > 150).any()
    qtbot.mouseClick(zone.remove_button, Qt.MouseButton.LeftButton)
    assert zone.path == "" and cleared[-1] == "" and not zone.remove_button.isVisible()
