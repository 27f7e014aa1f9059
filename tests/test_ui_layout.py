"""The window at the smallest size the issue names (1024 × 640) and at 200 % scaling: every control
of the form's footer, the prompt's "+ Timed line" and the status bar are wholly on screen and
not under one another; the mouse wheel scrolls the form and changes a field only when it has focus.
"""
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QPoint, QPointF, QRect, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from desktop_recorder import Recorder
from framepack_desktop.settings import AppPaths, Settings, save_settings, load_settings
from framepack_desktop.ui import theme
from framepack_desktop.ui.main_window import MainWindow

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"


@pytest.fixture
def window(qtbot, tmp_path):
    theme.apply(QApplication.instance(), "dark")
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo", random_seed=False))
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    Image.fromarray(np.full((300, 400, 3), 120, np.uint8)).save(tmp_path / "in.png")
    w.sidebar.start.load(str(tmp_path / "in.png"))
    w.sidebar.prompt.set_text("[0s] a heron stands in the reeds\n[2s] it takes off over the water")
    w.update_plan()
    return w


def on_window(widget: QWidget, window: QWidget) -> QRect:
    return QRect(widget.mapTo(window, QPoint(0, 0)), widget.size())


def wholly_shown(widget: QWidget, window: QWidget) -> bool:
    """Inside the window and inside every ancestor (a scroll area's viewport included): not clipped."""
    rect = on_window(widget, window)
    parent = widget.parentWidget()
    while parent is not None and parent is not window:
        if not on_window(parent, window).contains(rect):
            return False
        parent = parent.parentWidget()
    return widget.isVisible() and window.rect().contains(rect)


def wheel(widget: QWidget, up: bool = False) -> None:
    pos = QPointF(widget.width() / 2, widget.height() / 2)
    delta = QPoint(0, 120 if up else -120)
    event = QWheelEvent(pos, widget.mapToGlobal(pos), QPoint(0, 0), delta, Qt.MouseButton.NoButton,
                        Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False)
    QApplication.sendEvent(widget, event)


def test_the_window_is_usable_and_unclipped_at_1024_by_640(window, qtbot):
    w = window
    w.side_panel_action.setChecked(True)
    w.resize(1024, 640)
    w.show()
    qtbot.waitExposed(w)
    qtbot.wait(50)
    parts = {n: x.minimumSizeHint().width() for n, x in (("form", w.sidebar), ("stage", w.stage), ("side", w.tabs),
                                                          ("status bar", w.statusBar()))}
    assert (w.width(), w.height()) == (1024, 640), f"the window's minimum size is above 1024 x 640: {parts}"
    sb = w.sidebar
    for control in (sb.generate, sb.enqueue, sb.progress, w.statusBar(), w.stage.play, w.stage.follow_button,
                    w.queue_panel.pause):
        assert wholly_shown(control, w), f"{control.objectName() or type(control).__name__} is clipped"
    area = next(a for a in sb.children() if hasattr(a, "ensureWidgetVisible"))
    area.ensureWidgetVisible(sb.prompt.add_timed)
    qtbot.wait(20)
    assert wholly_shown(sb.prompt.add_timed, w)
    footer = on_window(sb.generate.parentWidget().parentWidget(), w)
    assert not on_window(sb.prompt.add_timed, w).intersects(footer)
    assert w.status_text.width() > 100 and wholly_shown(w.meter, w)
    long_path = "/home/someone/Videos/FramePack/" + "a-heron-stands-in-the-reeds-" * 6 + "final.mp4"
    w.status_text.setText(f"Saved {long_path}")
    shown = w.status_text.elided()              # cut with "…", both ends kept, the whole text on hover
    assert "…" in shown and shown.startswith("Saved /home") and shown.endswith("final.mp4")
    assert w.status_text.toolTip() == f"Saved {long_path}"
    scale = os.environ.get("QT_SCALE_FACTOR", "1")
    ARTIFACTS.mkdir(exist_ok=True)
    w.grab().save(str(ARTIFACTS / f"daily-1024x640-scale{scale}.png"))


@pytest.mark.slow
def test_the_same_at_200_percent_scaling(tmp_path):
    """Qt's scale factor is fixed when the application starts: a process of its own."""
    env = dict(os.environ, QT_SCALE_FACTOR="2", QT_QPA_PLATFORM="offscreen")
    root = Path(__file__).resolve().parent.parent
    done = subprocess.run([sys.executable, "-m", "pytest", "-q", "-p", "no:cacheprovider",
                           f"{Path(__file__)}::test_the_window_is_usable_and_unclipped_at_1024_by_640"],
                          cwd=root, env=env, capture_output=True, text=True, timeout=300)
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-2000:]
    assert (ARTIFACTS / "daily-1024x640-scale2.png").is_file()


def test_the_wheel_scrolls_the_form_and_changes_a_field_only_with_focus(window, qtbot):
    w = window
    w.resize(1024, 640)
    w.show()
    w.activateWindow()
    qtbot.waitActive(w)
    seconds = w.sidebar.settings.seconds
    before = seconds.value()
    area = next(a for a in w.sidebar.children() if hasattr(a, "ensureWidgetVisible"))
    bar = area.verticalScrollBar()
    bar.setValue(0)
    wheel(seconds)                                   # scrolling down the form over the field
    assert seconds.value() == before and bar.value() > 0
    area.ensureWidgetVisible(seconds)
    qtbot.mouseClick(seconds.lineEdit(), Qt.MouseButton.LeftButton)      # the user clicks into the field
    qtbot.waitUntil(seconds.hasFocus, timeout=2000)
    wheel(seconds, up=True)
    assert seconds.value() > before


def test_a_first_start_on_a_cpu_only_machine_offers_the_320_class_and_no_gpu_settings(qtbot, tmp_path):
    from framepack_desktop.engine.telemetry import TelemetrySampler

    gpu = TelemetrySampler().sample().has_gpu
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo"))          # a first start: no form saved yet
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    panel = w.sidebar.settings
    first = 640 if gpu else 320
    assert panel.resolution.currentData() == first and w.form_job().resolution == first
    assert panel.keep_free.isEnabled() == gpu and ("no GPU" in panel.keep_free.toolTip()) != gpu
    panel.resolution.setCurrentIndex(panel.resolution.findData(480))      # the user's own choice stays
    w.close()
    again = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(again)
    assert again.sidebar.settings.resolution.currentData() == 480
