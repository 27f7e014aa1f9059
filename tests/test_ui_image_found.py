"""Continuing a job whose start image moved (issue 14, window side): the window asks where the
file is now and goes on with it, every saved section reused; choosing none shows why it cannot."""
import gc
import json
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication, QLabel

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import load_job
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.main_window import MainWindow
from framepack_desktop.ui.timeline_model import FINISHED

from test_ui_never_lose_work import TIMEOUT_MS
from window_probe import Probe

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # a demo generation, then continued


@pytest.fixture(scope="module")
def session():
    return ModelSession()


@pytest.fixture
def moved(demo_models, tmp_path, session):
    """A job folder in the outputs folder, left unfinished, whose start image was moved elsewhere
    after it started: (its folder, where the picture is now)."""
    out = tmp_path / "out"
    out.mkdir()
    picture = tmp_path / "pictures" / "fox.png"
    picture.parent.mkdir()
    Image.fromarray(np.random.default_rng(7).integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(picture)
    job = Job(image=str(picture), prompt="a fox runs", output=str(out / "fox.mp4"), seconds=1.2, window=3,
              resolution=128, steps=2, models=str(demo_models))
    assert isinstance(list(run_job(job, session=session))[-1], ev.Finished)
    Path(job.output).unlink()                                # unfinished: its MP4 never got written
    Path(job.output).with_suffix(".json").unlink()
    (job.job_dir / "state.json").unlink()
    elsewhere = tmp_path / "moved" / "fox.png"
    elsewhere.parent.mkdir()
    shutil.move(picture, elsewhere)
    return job.job_dir, elsewhere


@pytest.fixture
def open_window(qtbot, tmp_path, demo_models, session):
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir=str(demo_models), random_seed=False, output_dir=str(tmp_path / "out")))
    windows = []

    def make():
        w = MainWindow(paths, load_settings(paths), run_job=run_job, session_factory=lambda: session)
        w.ask_stop_and_quit = lambda: True
        w.resize(1400, 900)
        w.show()
        windows.append(w)
        qtbot.waitUntil(lambda: w.tasks.idle, timeout=TIMEOUT_MS)    # the unfinished-job scan
        return w

    yield make
    for w in windows:
        assert w.controller.shutdown(60_000)
        w.close()
        w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def click_continue(w):
    banner = w.stage.resume
    assert banner.isVisibleTo(w) and [u.job_dir.name for u in banner.jobs] == ["fox.job"]
    next(b for b in banner.findChildren(type(w.sidebar.generate)) if b.text() == "Continue").click()


def test_a_moved_start_image_is_asked_for_and_the_saved_sections_are_kept(moved, open_window, qtbot):
    job_dir, elsewhere = moved
    w = open_window()
    asked = []

    def choose_none(problem, old):
        asked.append((problem, old))
        return None

    w.work.ask_image_file = choose_none
    offer = " ".join(label.text() for label in w.stage.resume.findChildren(QLabel))
    assert "3 of 3 sections" in offer                        # counted though the picture is gone
    click_continue(w)
    assert len(asked) == 1 and "is gone" in asked[0][0] and asked[0][1].endswith("pictures/fox.png")
    assert not w.controller.running
    assert w.stage.banner.isVisibleTo(w) and "is gone" in w.stage.banner.message


    asked.clear()
    w = open_window()                                        # the next start offers the job again
    w.work.ask_image_file = lambda problem, old: asked.append(problem) or str(elsewhere)
    probe = Probe(w)
    click_continue(w)
    probe.wait_outcome(qtbot)
    assert len(asked) == 1
    assert probe.sampled() == set()                          # the same picture: every saved section reused
    assert w.model.phase == FINISHED and (job_dir.parent / "fox.mp4").is_file()
    assert load_job(job_dir).image == str(elsewhere)
    assert json.loads((job_dir.parent / "fox.json").read_text())["image"] == str(elsewhere)


def test_another_picture_chosen_makes_a_new_video_and_keeps_the_saved_sections_as_takes(
        moved, open_window, qtbot, tmp_path):
    job_dir, _ = moved
    before = len(list((job_dir / "sections").iterdir()))
    other = tmp_path / "other.png"
    Image.fromarray(np.full((150, 200, 3), 40, np.uint8)).save(other)
    w = open_window()
    w.work.ask_image_file = lambda problem, old: str(other)
    statuses = []
    w.work.statusChanged.connect(statuses.append)
    probe = Probe(w)
    click_continue(w)
    probe.wait_outcome(qtbot)
    assert any("another picture" in s and "sampled again" in s for s in statuses)
    assert probe.sampled() == {0, 1, 2}                       # nothing made from the old picture is used
    assert w.model.phase == FINISHED and load_job(job_dir).image == str(other)
    assert len(list((job_dir / "sections").iterdir())) == 2 * before             # the old sections stay on disk
