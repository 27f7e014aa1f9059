"""The form's Loop option: a loop made by generation, the start image also as the end image."""
import numpy as np
import pytest
from PIL import Image

from desktop_recorder import Recorder
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.main_window import MainWindow


@pytest.fixture
def window(qtbot, tmp_path):
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo", random_seed=False))
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    return w


def picture(path, level):
    Image.fromarray(np.full((480, 640, 3), level, np.uint8)).save(path)
    return str(path)


def choose(combo, value):
    combo.setCurrentIndex(combo.findData(value))


@pytest.mark.slow
def test_loop_makes_the_start_image_the_end_image_on_the_original_model_only(window, tmp_path):
    sb = window.sidebar
    sb.start.load(picture(tmp_path / "start.png", 90))
    sb.end.load(picture(tmp_path / "end.png", 200))
    assert window.form_job().end_image == sb.end.path
    sb.loop.setChecked(True)
    assert window.form_job().end_image == sb.start.path
    assert not sb.end.isEnabled() and "start image" in sb.end.toolTip()
    choose(sb.settings.variant, "f1")
    assert not sb.loop.isEnabled() and window.form_job().end_image is None
    choose(sb.settings.variant, "original")
    assert sb.loop.isEnabled() and window.form_job().end_image == sb.start.path
    sb.loop.setChecked(False)
    assert sb.end.isEnabled() and window.form_job().end_image == sb.end.path
