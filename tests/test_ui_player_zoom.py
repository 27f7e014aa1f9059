"""The player's Fit / 1:1 zoom (issue 15): from its right-click menu, 1:1 shows the frame's own
pixels (centred), dragging pans a frame larger than the player, Fit shows the whole frame again."""
import numpy as np
from PySide6.QtCore import QPoint, Qt

from framepack_desktop.engine.events import JobStarted, SectionDecoded, SectionPlan
from framepack_desktop.engine.job import Job
from framepack_desktop.ui.frame_cache import FrameCache
from framepack_desktop.ui.player import PlayerView
from framepack_desktop.ui.timeline_model import TimelineModel

from test_ui_views import from_qimage

JOB = Job(image="a.png", prompt="p", output="o.mp4", seconds=0.4, window=3)    # 1 section, 13 frames
H, W = 360, 480


def shown_player(qtbot, frame):
    m = TimelineModel()
    m.begin(JOB, demo=False)
    m.apply(JobStarted("d", 1, 13, H, W, 30, (SectionPlan(0, 0, 0, 13, "p", 1),)))
    frames = np.repeat(frame[None], 13, axis=0)
    m.apply(SectionDecoded(0, 0, 0, frames, 0, 13, "d"))
    cache = FrameCache()
    cache.put(0, frames)
    player = PlayerView(m, cache)
    qtbot.addWidget(player)
    player.resize(320, 240)                 # smaller than the frame
    player.show()
    qtbot.waitExposed(player)
    player.show_frame(5)
    return player


def choose(player, label_start):
    action = next(a for a in player.zoom_menu().actions() if a.text().startswith(label_start))
    action.trigger()


def drag(qtbot, player, by):
    start = QPoint(160, 120)
    qtbot.mousePress(player, Qt.MouseButton.LeftButton, pos=start)
    qtbot.mouseMove(player, start + by)
    qtbot.mouseRelease(player, Qt.MouseButton.LeftButton, pos=start + by)


def test_one_to_one_shows_actual_pixels_and_pans_by_dragging(qtbot):
    frame = np.random.default_rng(3).integers(0, 255, (H, W, 3), dtype=np.uint8)
    player = shown_player(qtbot, frame)
    assert player.devicePixelRatioF() == 1.0
    fit = from_qimage(player.grab().toImage())
    assert fit.shape == (240, 320, 3) and not (fit == frame[60:300, 80:400]).all()   # scaled down to fit

    choose(player, "Actual pixels")
    shown = from_qimage(player.grab().toImage())
    assert (shown == frame[60:300, 80:400]).all()                       # the frame's centre, pixel for pixel
    assert next(a for a in player.zoom_menu().actions() if a.isChecked()).text().startswith("Actual pixels")

    drag(qtbot, player, QPoint(30, 20))                                   # the frame follows the mouse
    assert (from_qimage(player.grab().toImage()) == frame[40:280, 50:370]).all()
    drag(qtbot, player, QPoint(500, 500))                                 # never past the frame's edge
    assert (from_qimage(player.grab().toImage()) == frame[0:240, 0:320]).all()

    choose(player, "Fit")
    assert (from_qimage(player.grab().toImage()) == fit).all()            # the whole frame again
    drag(qtbot, player, QPoint(30, 20))                                   # nothing to pan when it fits
    assert (from_qimage(player.grab().toImage()) == fit).all()


def test_a_frame_smaller_than_the_player_sits_in_its_centre_at_one_to_one(qtbot):
    frame = np.random.default_rng(4).integers(0, 255, (H, W, 3), dtype=np.uint8)
    player = shown_player(qtbot, frame)
    player.resize(640, 480)
    choose(player, "Actual pixels")
    shown = from_qimage(player.grab().toImage())
    assert (shown[60:420, 80:560] == frame).all()
    drag(qtbot, player, QPoint(40, 40))
    assert (from_qimage(player.grab().toImage())[60:420, 80:560] == frame).all()
