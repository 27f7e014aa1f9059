"""Issue 17 in the window: text only, prompt blending, keyframes moved on the timeline, batches
as one queue group, each driven as a user does (offscreen Qt, demo models)."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QUrl

from desktop_recorder import Recorder
from framepack_desktop.engine.job import Job
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.main_window import MainWindow


@pytest.fixture
def paths(tmp_path):
    p = AppPaths.under(tmp_path / "home").ensure()
    save_settings(p, Settings(models_dir="demo", random_seed=False))
    return p


@pytest.fixture
def open_window(qtbot, paths):
    def make():
        w = MainWindow(paths, load_settings(paths), desktop=Recorder())
        qtbot.addWidget(w)
        return w
    return make


def image(path, w=640, h=480, value=90):
    Image.fromarray(np.full((h, w, 3), value, np.uint8)).save(path)
    return str(path)


def urls(*files):
    m = QMimeData()
    m.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    return m


def test_prompt_blending_is_a_form_field_the_job_carries_and_a_loaded_job_restores(open_window, tmp_path):
    w = open_window()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.prompt.set_text("[0s] walks\n[2s] runs")
    w.sidebar.settings.advanced.set_open(True)
    blend = w.sidebar.settings.prompt_blend
    assert blend.value() == 0 and blend.isVisibleTo(w)
    blend.setValue(3)
    assert w.form_job().prompt_blend == 3
    w.queue_panel.pause.click()
    w.enqueue()
    assert w.controller.queue.jobs[0].prompt_blend == 3
    loaded = Job(image=str(tmp_path / "a.png"), prompt="x", output=str(tmp_path / "v.mp4"), prompt_blend=5)
    w.apply_job(loaded)
    assert blend.value() == 5 and w.form_job().prompt_blend == 5
    w.apply_job(loaded.replace(prompt_blend=0))
    assert blend.value() == 0 and blend.text() == blend.specialValueText()


def test_without_a_start_image_the_form_offers_a_background_and_the_timeline_says_so(open_window, qtbot, tmp_path):
    w = open_window()
    w.show()
    sb = w.sidebar
    assert sb.background_row.isVisible()                                   # no image yet: the chooser shows
    sb.prompt.set_text("a lighthouse at night")
    sb.background.setCurrentIndex(sb.background.findData("green"))
    w.update_plan()
    assert w.model.origin == "Text only: starts from a green background" and w.model.sections
    qtbot.waitExposed(w)
    w.stage.timeline.grab()                                                # the timeline paints the origin
    w.queue_panel.pause.click()
    w.enqueue()
    job = w.controller.queue.jobs[-1]
    assert (job.image, job.background, job.prompt) == ("", "green", "a lighthouse at night")
    assert not w.stage.banner.isVisibleTo(w)
    sb.start.load(image(tmp_path / "a.png"))
    w.update_plan()
    assert not sb.background_row.isVisible() and w.model.origin == ""
    w.apply_job(job.replace(background="noise"))                          # a loaded text-only job restores it
    assert sb.start.path == "" and sb.background.currentData() == "noise" and sb.background_row.isVisible()
