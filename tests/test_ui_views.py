"""Timeline and player widgets: clicks become seeks; the player shows frame, preview or a card."""
import numpy as np
import pytest
from PySide6.QtCore import QPoint, Qt
from PySide6.QtGui import QImage

from framepack_desktop.engine.events import JobStarted, SectionDecoded, SectionPlan, StepProgress
from framepack_desktop.engine.job import Job
from framepack_desktop.ui.frame_cache import FrameCache
from framepack_desktop.ui.player import PlayerView, preview_tile
from framepack_desktop.ui.timeline import TimelineView
from framepack_desktop.ui.timeline_model import TimelineModel

JOB = Job(image="a.png", prompt="p", output="o.mp4", seconds=2, window=3)   # 5 sections, 61 frames
H, W = 48, 64


def from_qimage(image: QImage) -> np.ndarray:
    """What was painted, as an H x W x 3 uint8 array, to compare with frames."""
    img = image.convertToFormat(QImage.Format.Format_RGB888)
    h, w, bpl = img.height(), img.width(), img.bytesPerLine()
    buf = np.frombuffer(img.constBits(), dtype=np.uint8, count=h * bpl).reshape(h, bpl)
    return buf[:, : 3 * w].reshape(h, w, 3).copy()


def running_model():
    m = TimelineModel()
    m.begin(JOB, demo=True)
    n = JOB.num_sections
    plans = tuple(SectionPlan(s, n - 1 - s, 12 * s, 61 if s == n - 1 else 12 * (s + 1), f"p{s}", 1) for s in range(n))
    m.apply(JobStarted("d", n, 61, H, W, 30, plans))
    return m


def test_clicking_the_timeline_seeks_to_the_frame_under_the_mouse(qtbot):
    m = running_model()
    view = TimelineView(m)
    qtbot.addWidget(view)
    view.resize(700, view.sizeHint().height())
    with qtbot.waitSignal(view.seekRequested) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(int(view.x_of(30.5)), 30))
    assert sig.args == [30]
    with qtbot.waitSignal(view.seekRequested) as sig:
        qtbot.mouseClick(view, Qt.MouseButton.LeftButton, pos=QPoint(view.width() - 2, 30))
    assert sig.args == [60]


def test_timeline_repaints_only_when_the_model_changed(qtbot):
    m = running_model()
    view = TimelineView(m)
    qtbot.addWidget(view)
    view.show()
    view.grab()
    painted = view._painted_revision
    assert painted == m.revision
    m.apply(StepProgress(4, 0, 1, 3, False, None, 0.1, None))
    assert view._painted_revision == painted
    view.refresh()
    qtbot.waitUntil(lambda: view._painted_revision == m.revision, timeout=2000)


def test_player_shows_frame_preview_or_card_by_position(qtbot, tmp_path):
    m = running_model()
    cache = FrameCache()
    player = PlayerView(m, cache)
    qtbot.addWidget(player)
    player.resize(400, 300)
    preview = np.zeros((6, 3 * 8, 3), np.uint8)
    preview[:, 16:] = (255, 0, 0)             # the third latent frame is red
    m.apply(StepProgress(4, 0, 2, 3, False, preview, 0.2, 5.0))
    player.show_frame(60)
    player.grab()
    assert player.shown == "preview"
    player.show_frame(3)
    player.grab()
    assert player.shown == "pending"
    frames = np.zeros((13, H, W, 3), np.uint8)
    frames[:, :, :, 2] = 255                   # blue frames
    m.apply(SectionDecoded(4, 0, 48, frames, 48, 61, str(tmp_path)))
    cache.put(48, frames)
    player.show_frame(50)
    img = from_qimage(player.grab().toImage())
    assert player.shown == "frame"
    assert tuple(img[img.shape[0] // 2, img.shape[1] // 2]) == (0, 0, 255)
    assert (player.current_frame() == frames[2]).all()


def test_preview_tile_picks_the_latent_frame_for_the_time():
    preview = np.concatenate([np.full((4, 5, 3), k, np.uint8) for k in range(3)], axis=1)
    assert preview_tile(preview, 0, 0, 12, aspect=5 / 4)[0, 0, 0] == 0
    assert preview_tile(preview, 11, 0, 12, aspect=5 / 4)[0, 0, 0] == 2
    assert preview_tile(preview, 5, 0, 12, aspect=5 / 4).shape == (4, 5, 3)


def test_a_paint_that_raises_ends_its_painter_so_the_next_paint_works(qtbot):
    """A painter left active on a widget by an exception crashed the process on a later paint
    (a segfault inside PlayerView.paintEvent); painting ends its painter whatever happens."""
    m = running_model()
    player, timeline = PlayerView(m, FrameCache()), TimelineView(m)
    for widget in (player, timeline):
        qtbot.addWidget(widget)
        widget.resize(400, 300)
    m.sections = None                              # a broken model: both paints raise
    for widget in (player, timeline):
        with pytest.raises(TypeError, match="not iterable"):
            widget.grab()
    m.sections = running_model().sections
    player.show_frame(3)
    player.grab()
    assert player.shown == "pending"
    assert not from_qimage(timeline.grab().toImage()).max() == 0
