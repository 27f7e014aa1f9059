"""The main window without generating: plan preview, drops, MP4 settings, queue and state persistence,
crash reporting. The generation itself is in test_ui_main_window.py."""
import sys
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QMimeData, QPoint, Qt, QUrl

from desktop_recorder import Recorder
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.video.mp4 import write_mp4
from framepack_desktop.settings import AppPaths, Settings, load_queue, load_settings, save_settings
from framepack_desktop.ui.crash import CrashReporter, setup_logging
from framepack_desktop.ui import theme
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


def queue_prompts(w, tmp_path, prompts):
    """Queue one job per prompt from the form (a start image loaded first), the queue paused first
    (an idle queue would start the first job at once)."""
    w.queue_panel.pause.click()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    for text in prompts:
        w.sidebar.prompt.set_text(text)
        w.enqueue()


def urls(*files):
    m = QMimeData()
    m.setUrls([QUrl.fromLocalFile(str(f)) for f in files])
    return m


def test_timeline_shows_which_prompt_covers_which_section_before_generating(open_window, tmp_path):
    w = open_window()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.settings.seconds.setValue(5)                  # 4 sections of 1.2 s
    w.sidebar.prompt.set_text("[0s] walks in\n[2s] waves")
    w.update_plan()
    assert [s.prompt for s in w.model.sections] == ["walks in", "walks in", "waves", "waves"]
    assert [s.order for s in w.model.sections] == [3, 2, 1, 0]          # original: from the end
    w.sidebar.settings.variant.setCurrentIndex(w.sidebar.settings.variant.findData("f1"))
    w.update_plan()
    assert [s.order for s in w.model.sections] == [0, 1, 2, 3]
    assert not w.sidebar.end.isEnabled() and "original" in w.sidebar.end.toolTip()
    w.sidebar.prompt.set_text("[1s] a\n[1s] b")
    w.update_plan()
    assert "Two prompts start at 1 s" in w.sidebar.prompt.hint.text()    # the mistake, in words


def test_dropping_an_image_on_the_window_loads_it_and_a_bad_one_is_explained(open_window, tmp_path):
    w = open_window()
    w.handle_drop(urls(image(tmp_path / "start.png")))
    assert w.sidebar.start.path == str(tmp_path / "start.png")
    broken = tmp_path / "broken.jpg"
    broken.write_bytes(b"\xff\xd8 not really a jpeg")
    w.handle_drop(urls(broken))
    assert w.stage.banner.isVisibleTo(w) and "broken.jpg" in w.stage.banner.message
    assert w.sidebar.start.path == str(tmp_path / "start.png")


def test_generate_without_an_image_or_a_prompt_says_what_to_do(open_window):
    w = open_window()
    w.sidebar.prompt.set_text("   ")
    w.generate()
    assert "start image or write a prompt" in w.stage.banner.message and not w.controller.running


def test_dropping_an_mp4_made_by_the_app_loads_its_settings(open_window, tmp_path):
    src = image(tmp_path / "src.png")
    job = Job(image=src, prompt="[0s] smiles\n[1s] nods", output=str(tmp_path / "v.mp4"), seconds=3.5,
              variant="f1", seed=4242, steps=9, teacache=0.1, models="demo")
    video = tmp_path / "v.mp4"
    write_mp4(video, [np.zeros((32, 32, 3), np.uint8)] * 3, 32, 32, metadata=job.to_json())
    w = open_window()
    asked = []
    w.ask_video_use = lambda name: asked.append(name) or "settings"     # ours: settings or continue, asked
    w.handle_drop(urls(video))
    assert asked == ["v.mp4"]
    v = w.sidebar.settings.values()
    assert (v["seconds"], v["variant"], v["seed"], v["steps"], v["teacache"]) == (3.5, "f1", 4242, 9, 0.1)
    assert w.sidebar.prompt.text() == job.prompt and w.sidebar.start.path == src
    plain = tmp_path / "plain.mp4"
    write_mp4(plain, [np.zeros((32, 32, 3), np.uint8)] * 3, 32, 32)
    w.work.ask_continuation = lambda name: asked.append(name)           # any other video: continue it
    w.handle_drop(urls(plain))
    assert asked == ["v.mp4", "plain.mp4"] and not w.controller.running


def test_queue_edits_persist_across_a_restart(open_window, paths, tmp_path):
    w = open_window()
    queue_prompts(w, tmp_path, ("first", "second", "third"))
    assert not w.controller.running and [j.prompt for j in load_queue(paths)] == ["first", "second", "third"]
    panel = w.queue_panel
    panel.list.setCurrentRow(2)
    panel.up.click()                                   # third before second
    panel.list.setCurrentRow(0)
    panel.dup.click()                                  # first twice
    panel.list.setCurrentRow(3)
    panel.remove.click()                               # drop second
    expected = ["first", "first", "third"]
    assert [j.prompt for j in w.controller.queue.jobs] == expected
    outputs = [j.output for j in w.controller.queue.jobs]
    w.close()
    again = open_window()
    assert [j.prompt for j in again.controller.queue.jobs] == expected
    assert [j.output for j in again.controller.queue.jobs] == outputs
    assert again.queue_panel.list.count() == 3


def test_form_theme_and_geometry_survive_a_restart(open_window, tmp_path):
    w = open_window()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.prompt.set_text("a cat yawns")
    w.sidebar.settings.steps.setValue(13)
    w.side_panel_action.setChecked(False)
    w.resize(780, 690)                                  # fits the offscreen test screen (800 x 800)
    w.settings.theme = "light"
    w.close()
    again = open_window()
    assert again.sidebar.prompt.text() == "a cat yawns"
    assert again.sidebar.settings.steps.value() == 13
    assert again.sidebar.start.path == str(tmp_path / "a.png")
    assert (again.width(), again.height()) == (780, 690)
    assert not again.side_panel_action.isChecked() and again.tabs.isHidden()
    assert again.settings.theme == "light"


def test_keys_and_timeline_clicks_move_the_playhead(open_window, qtbot, tmp_path):
    w = open_window()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.prompt.set_text("x")
    w.update_plan()
    w.show()
    tl = w.stage.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(100.5)), 30))
    assert w.playback.position == 100 and w.stage.player.position == 100
    qtbot.keyClick(tl, Qt.Key.Key_Right)
    qtbot.keyClick(tl, Qt.Key.Key_Right)
    qtbot.keyClick(tl, Qt.Key.Key_Left)
    assert w.playback.position == 101
    qtbot.keyClick(tl, Qt.Key.Key_End)
    assert w.playback.position == w.model.num_frames - 1     # nothing generated: the last frame


def test_unhandled_exceptions_are_logged_and_shown(open_window, paths):
    w = open_window()
    setup_logging(paths)
    reporter = CrashReporter(paths)
    reporter.crashed.connect(w.show_crash)
    reporter.install()
    try:
        try:
            raise ZeroDivisionError("the app divided by zero")
        except ZeroDivisionError:
            sys.excepthook(*sys.exc_info())
    finally:
        reporter.uninstall()
    log = paths.log_file.read_text()
    assert "ZeroDivisionError: the app divided by zero" in log and "Traceback" in log
    assert "divided by zero" in w.stage.banner.message and str(paths.log_file) in w.stage.banner.message
    assert "Traceback" in w.stage.banner.detail
    w.stage.banner.log_button.click()
    assert w.desktop.opened == [str(paths.log_dir)]


def test_dragging_a_queued_job_in_the_list_reorders_the_queue(open_window, qtbot, tmp_path):
    w = open_window()
    queue_prompts(w, tmp_path, ("one", "two", "three"))
    model = w.queue_panel.list.model()
    assert model.moveRow(model.index(0, 0).parent(), 2, model.index(0, 0).parent(), 0)   # what a drag does
    qtbot.waitUntil(lambda: [j.prompt for j in w.controller.queue.jobs] == ["three", "one", "two"], timeout=2000)
    assert [w.queue_panel.list.item(k).text().split("\n")[0] for k in range(3)] == ["three", "one", "two"]


def test_speed_settings_reach_the_job_only_where_this_computer_offers_them(open_window, tmp_path):
    w = open_window()
    panel = w.sidebar.settings
    panel.set_speed_support(None, None)
    panel.compile.setChecked(True)
    panel.fp8_compute.setChecked(True)
    assert (panel.values()["compile"], panel.values()["fp8_compute"]) == (True, True)
    panel.set_speed_support(None, "fp8 compute needs an NVIDIA GPU")
    assert not panel.fp8_compute.isEnabled() and "needs an NVIDIA GPU" in panel.fp8_compute.toolTip()
    assert panel.values()["fp8_compute"] is False and panel.values()["compile"] is True
    queue_prompts(w, tmp_path, ["waves"])
    queued = w.controller.queue.jobs[-1]
    assert queued.compile and not queued.fp8_compute


def test_run_gui_preloads_the_model_libraries_and_offers_only_what_this_computer_runs(qtbot, monkeypatch, tmp_path):
    from PySide6.QtWidgets import QApplication

    import framepack_desktop.engine.preload as preload_module
    import framepack_desktop.ui.main_window as main_window
    from framepack_desktop.engine import speed

    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path / "home"))
    save_settings(AppPaths.default().ensure(), Settings(models_dir="demo"))
    calls, shown = [], []
    real_preload = preload_module.preload
    monkeypatch.setattr(preload_module, "preload", lambda: (calls.append("preload"), real_preload()))

    def exec_instead(*args):
        window = next(w for w in QApplication.topLevelWidgets() if isinstance(w, MainWindow) and w.isVisible())
        qtbot.waitUntil(lambda: window.tasks.idle, timeout=120_000)    # the check runs off the GUI thread
        shown.append((calls[:], window.sidebar.settings.compile.isEnabled(), window.sidebar.settings.fp8_compute))
        return 0

    monkeypatch.setattr(QApplication, "exec", exec_instead)
    assert main_window.run_gui(["framepack-desktop"]) == 0
    (preloaded, compile_enabled, fp8_box), = shown
    assert preloaded == ["preload"]  # before the window showed
    compile_problem, fp8_problem = speed.support()
    assert compile_enabled == (compile_problem is None)
    assert not fp8_box.isEnabled() and fp8_problem in fp8_box.toolTip()  # this machine has no GPU


def test_several_images_dropped_at_once_become_one_queued_job_each(open_window, tmp_path):
    w = open_window()
    w.sidebar.prompt.set_text("turns around")
    files = [image(tmp_path / f"{name}.png") for name in ("dog", "cat", "owl")]
    w.handle_drop(urls(*files))
    queued = w.controller.queue.jobs
    assert [j.image for j in queued] == files and not w.controller.running
    assert [j.prompt for j in queued] == ["turns around"] * 3
    names = [Path(j.output).name for j in queued]
    assert names == sorted(names) and names[0].endswith("-1-dog.mp4") and names[2].endswith("-3-owl.mp4")
    assert w.sidebar.start.path == files[0]


def test_an_image_dropped_on_the_timeline_is_a_keyframe_and_right_click_removes_it(open_window, tmp_path):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QContextMenuEvent, QDropEvent

    w = open_window()
    w.resize(1200, 800)
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.settings.seconds.setValue(5)                  # original, 4 sections of 1.2 s
    w.sidebar.prompt.set_text("walks")
    w.update_plan()
    tl = w.stage.timeline
    pose = image(tmp_path / "pose.png")
    x = tl.x_of(w.model.num_frames * 0.6)
    mime = urls(pose)                                       # the event does not own it: keep it alive
    drop = QDropEvent(QPointF(x, tl._rows()["blocks"].center().y()), Qt.DropAction.CopyAction, mime,
                      Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier)
    tl.dropEvent(drop)
    w.update_plan()
    (seconds, path), = w.keyframes.items.items()
    assert path == pose and abs(seconds - 0.6 * w.model.num_frames / 30) < 0.05
    assert [s.anchor for s in w.model.sections] == [None, None, pose, pose]   # its section and the later ones
    assert w.form_job().keyframes == {seconds: pose} and w.model.keyframes == {seconds: pose}
    marker = tl.markers.rects(w.model.keyframes, tl._x_of_seconds, tl._rows()["blocks"])[seconds].center().toPoint()
    tl.contextMenuEvent(QContextMenuEvent(QContextMenuEvent.Reason.Mouse, marker, tl.mapToGlobal(marker)))
    w.update_plan()
    assert w.keyframes.items == {} and [s.anchor for s in w.model.sections] == [None] * 4


def test_a_loaded_job_uses_its_seed_once_and_random_comes_back(open_window, tmp_path):
    w = open_window()
    queue_prompts(w, tmp_path, ("a kite",))
    seed = w.controller.queue.jobs[0].seed
    w.sidebar.settings.random_seed.setChecked(True)
    w.queue_panel.list.itemDoubleClicked.emit(w.queue_panel.list.item(0))     # the job back into the form
    assert not w.sidebar.wants_random_seed() and w.form_job().seed == seed
    w.enqueue()
    assert w.controller.queue.jobs[1].seed == seed                            # its own seed, this once
    assert w.sidebar.wants_random_seed()                                      # and Random is back
    w.enqueue()
    assert w.controller.queue.jobs[2].seed != seed


def test_a_planned_section_says_random_seed_when_random_is_ticked_and_help_has_about(open_window, tmp_path):
    w = open_window()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.prompt.set_text("a kite")
    w.sidebar.settings.random_seed.setChecked(False)
    w.sidebar.settings.seed.setValue(1234)
    w.update_plan()
    section = w.model.sections[0]
    assert "seed 1234" in w.stage.timeline._tooltip(section)
    w.sidebar.settings.random_seed.setChecked(True)
    w.update_plan()
    assert "a new random seed at Generate" in w.stage.timeline._tooltip(section)
    about = next(a for a in w.menuBar().actions()[-1].menu().actions() if a.text().startswith("About"))
    assert about.isEnabled() and "0." in w.about_text() and str(w.paths.log_dir) in w.about_text()


def test_a_timed_line_off_a_section_boundary_is_marked_and_explained(open_window, tmp_path):
    w = open_window()
    w.resize(1000, 700)
    w.show()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.settings.seconds.setValue(4.8)               # sections of 1.2 s (window 9)
    w.sidebar.prompt.set_text("[0s] a cat sits\n[2s] the cat jumps")
    w.update_plan()
    assert w.model.prompt_marks == [(2.0, 2.4)]
    assert "[2s] starts at 2.4 s" in w.sidebar.prompt.hint.text()
    tl = w.stage.timeline
    shot = from_image(tl.grab().toImage())
    x = int(tl.x_of(2.0 * w.model.fps))
    warn = theme.current().color("warn")
    ruler = shot[: int(tl._rows()["ruler"].bottom()), x - 2:x + 3]           # the marker on the ruler
    assert (np.abs(ruler.astype(int) - [warn.red(), warn.green(), warn.blue()]).sum(axis=2) < 60).any()
    w.sidebar.prompt.set_text("[0s] a cat sits\n[2.4s] the cat jumps")
    w.update_plan()
    assert w.model.prompt_marks == [] and "starts at" not in w.sidebar.prompt.hint.text()


def from_image(img):
    from PySide6.QtGui import QImage
    img = img.convertToFormat(QImage.Format.Format_RGB888)
    h, w_, bpl = img.height(), img.width(), img.bytesPerLine()
    return np.frombuffer(img.constBits(), np.uint8, h * bpl).reshape(h, bpl)[:, :3 * w_].reshape(h, w_, 3).copy()


def test_view_menu_hides_the_panels_and_fills_the_screen(open_window, qtbot):
    w = open_window()
    w.show()
    view = w.menuBar().actions()[2].menu()
    action = {a.text(): a for a in view.actions()}
    action["Form panel"].trigger()
    action["Queue and history panel"].setChecked(False)
    assert not w.sidebar.isVisible() and not w.tabs.isVisible() and w.stage.isVisible()
    action["Full screen"].trigger()
    qtbot.waitUntil(lambda: w.isFullScreen(), timeout=2000)
    action["Full screen"].trigger()
    qtbot.waitUntil(lambda: not w.isFullScreen(), timeout=2000)
    action["Form panel"].trigger()
    assert w.sidebar.isVisible()
