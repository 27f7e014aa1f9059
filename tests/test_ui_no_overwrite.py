"""Nothing is overwritten without the user saying so, window side (issue 14): the window's own
output names are free for the MP4, the JSON beside it and the job folder; a file the user chose
that exists is replaced only after the window asked."""
import time

import numpy as np
import pytest
from PIL import Image

from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.main_window import MainWindow

from desktop_recorder import Recorder
from test_ui_never_lose_work import copy_of, finished, open_window, out_dir, run_shown, session  # noqa: F401 (fixtures)

STAMP = "20260101-120000"


@pytest.fixture
def plain_window(qtbot, tmp_path, monkeypatch):
    """A window (no generation) writing to tmp_path/videos, its clock stopped at STAMP."""
    monkeypatch.setattr(time, "strftime", lambda fmt, *a: STAMP)
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo", random_seed=False, output_dir=str(tmp_path / "videos")))
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    return w


def test_the_automatic_name_is_free_for_the_video_its_json_and_its_job_folder(plain_window, tmp_path):
    w = plain_window
    videos = tmp_path / "videos"
    videos.mkdir()
    (videos / f"{STAMP}-a-fox.json").write_text("someone's notes")           # only the JSON is there
    (videos / f"{STAMP}-a-fox-2.job").mkdir()                               # only a job folder is there
    w.queue_panel.pause.click()
    Image.fromarray(np.full((128, 160, 3), 90, np.uint8)).save(tmp_path / "a.png")
    w.sidebar.start.load(str(tmp_path / "a.png"))
    w.sidebar.prompt.set_text("a fox")
    w.sidebar.enqueue.click()
    w.sidebar.enqueue.click()
    outputs = [j.output for j in w.controller.queue.jobs]
    assert outputs == [str(videos / f"{STAMP}-a-fox-3.mp4"), str(videos / f"{STAMP}-a-fox-4.mp4")]
    assert (videos / f"{STAMP}-a-fox.json").read_text() == "someone's notes"


@pytest.mark.slow          # a demo job shown in the window
@pytest.mark.usefixtures("one_torch_thread")
def test_exporting_a_frame_over_an_existing_file_asks_first(open_window, qtbot, finished, out_dir, tmp_path):
    w = open_window()
    run_shown(w, qtbot, copy_of(finished, out_dir))
    w.playback.seek(3)
    target = tmp_path / "frame.png"
    target.write_bytes(b"a picture the user keeps")
    asked = []
    w.ask_overwrite = lambda path: asked.append(path) or False
    assert w.export_frame(target) is None
    assert asked == [target] and target.read_bytes() == b"a picture the user keeps"

    w.ask_overwrite = lambda path: asked.append(path) or True
    assert w.export_frame(target) == target and len(asked) == 2
    assert (np.asarray(Image.open(target)) == w.stage.current_frame()).all()

    fresh = tmp_path / "new.png"
    assert w.export_frame(fresh) == fresh and len(asked) == 2               # nothing there: nothing to ask
