"""The window's Finish panel: one step run from its widgets, a before/after preview, History, cancel."""
from pathlib import Path

import numpy as np
import pytest
from post_clips import decode, moving_square, square_centre

from framepack_desktop.settings import AppPaths, HistoryEntry
from framepack_desktop.ui.finish_panel import FinishPanel
from framepack_desktop.ui.history import History


@pytest.fixture
def panel(qtbot, tmp_path):
    history = History(AppPaths.under(tmp_path / "home"))
    panel = FinishPanel(history, lambda: "")
    qtbot.addWidget(panel)
    yield panel
    if panel.task is not None:
        panel.task.stop()
        panel.task.wait()


def choose(combo, value):
    combo.setCurrentIndex(combo.findData(value))


def test_finish_runs_one_step_and_lists_the_result_under_its_source(qtbot, panel, tmp_path):
    src = moving_square(tmp_path / "clip.mp4", n=5)
    panel.history.add(HistoryEntry(video=str(src), job_json="", thumbnail="", num_frames=5, seconds=1.0))
    panel.history.add(HistoryEntry(video=str(tmp_path / "newer.mp4"), job_json="", thumbnail="", num_frames=3, seconds=1.0))
    assert not panel.finish_button.isEnabled()
    panel.set_source(str(src))
    choose(panel.interpolate, 2)
    with qtbot.waitSignal(panel.resultReady, timeout=60000) as result:
        panel.finish_button.click()
    out = Path(result.args[0])
    assert out == tmp_path / "clip-finished.mp4"
    frames = decode(out)
    assert len(frames) == 9
    assert square_centre(frames[1])[0] == pytest.approx((square_centre(frames[0])[0] + square_centre(frames[2])[0]) / 2, abs=1)
    videos = [e.video for e in panel.history.entries]
    assert videos == [str(tmp_path / "newer.mp4"), str(src), str(out)]      # right under its source
    entry = panel.history.entries[2]
    assert entry.source == str(src) and entry.num_frames == 9 and Path(entry.thumbnail).is_file()
    qtbot.waitUntil(lambda: panel.finish_button.isEnabled())
    with qtbot.waitSignal(panel.resultReady, timeout=60000) as again:
        panel.finish_button.click()
    assert Path(again.args[0]) == tmp_path / "clip-finished-2.mp4"          # never over the first result


def test_preview_shows_before_and_after_of_one_frame(qtbot, panel, tmp_path):
    panel.set_source(str(moving_square(tmp_path / "clip.mp4", n=3)))
    choose(panel.upscale, 2)
    with qtbot.waitSignal(panel.previewShown, timeout=60000):
        panel.preview_button.click()
    before, after = panel.before.toolTip(), panel.after.toolTip()
    assert before == "before · 160×96" and after == "after · 320×192"
    assert not panel.before.pixmap().isNull() and not panel.after.pixmap().isNull()


def test_a_problem_is_shown_and_nothing_is_written(qtbot, panel, tmp_path):
    panel.set_source(str(moving_square(tmp_path / "clip.mp4", n=3)))
    panel.trim.setChecked(True)
    panel.trim_start.setValue(5)
    panel.trim_end.setValue(9)
    panel.finish_button.click()
    qtbot.waitUntil(lambda: panel.task is None, timeout=60000)
    assert "Trim 5:9 keeps no frames" in panel.status.text()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert panel.finish_button.isEnabled() and not panel.stop_button.isEnabled()


def test_stop_leaves_nothing_behind(qtbot, panel, tmp_path):
    panel.set_source(str(moving_square(tmp_path / "clip.mp4", n=40, step=2)))
    choose(panel.interpolate, 4)
    panel.finish_button.click()
    qtbot.waitUntil(lambda: panel.progress.value() > 0, timeout=60000)
    panel.stop_button.click()
    qtbot.waitUntil(lambda: panel.task is None, timeout=60000)
    assert panel.status.text() == "Stopped; nothing was written."
    assert sorted(p.name for p in tmp_path.iterdir()) == ["clip.mp4"]
    assert panel.history.entries == []


@pytest.mark.slow
def test_the_window_finishes_its_current_video_and_opens_the_result(qtbot, tmp_path):
    from desktop_recorder import Recorder

    from framepack_desktop.settings import Settings, load_settings, save_settings
    from framepack_desktop.ui.main_window import MainWindow

    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo"))
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    src = moving_square(tmp_path / "clip.mp4", n=4)
    w.model.video = str(src)
    w._update_actions()
    assert any(w.tabs.tabText(i) == "Finish" and w.tabs.widget(i).isAncestorOf(w.finish_panel)
               for i in range(w.tabs.count()))
    assert w.finish_panel.source == str(src)
    choose(w.finish_panel.loop, "pingpong")
    with qtbot.waitSignal(w.finish_panel.resultReady, timeout=60000):
        w.finish_panel.finish_button.click()
    result = tmp_path / "clip-finished.mp4"
    decoded = decode(result)
    assert len(decoded) == 6
    assert w.desktop.opened == []                                   # in the app's player, not the system's
    assert w.model.video == str(result) and w.model.num_frames == 6 and w.model.sections == []
    assert w.playback.num_frames == 6 and w.model.is_ready(5) and not w.model.is_ready(6)
    w.user_seek(4)                                                  # pingpong: frame 4 is source frame 2
    assert np.array_equal(w.stage.current_frame(), decoded[4])
    assert not np.array_equal(decoded[4], decoded[3])
    assert "from clip.mp4" in w.history_panel.list.item(0).text()


@pytest.mark.slow
def test_history_plays_a_plain_file_in_the_player_and_a_frame_folder_in_the_system(qtbot, tmp_path):
    from desktop_recorder import Recorder

    from framepack_desktop.settings import Settings, load_settings, save_settings
    from framepack_desktop.ui.main_window import MainWindow

    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir="demo"))
    w = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(w)
    src = moving_square(tmp_path / "clip.mp4", n=7)
    w.view_history(HistoryEntry(video=str(src), job_json="", thumbnail="", num_frames=7, seconds=1.0))
    assert w.desktop.opened == [] and w.model.num_frames == 7 and w.model.job is None
    w.user_seek(5)
    assert np.array_equal(w.stage.current_frame(), decode(src)[5])
    frames = tmp_path / "clip-frames"
    frames.mkdir()
    w.show_file(str(frames))
    assert w.desktop.opened == [str(frames)] and w.model.video == str(src)
