"""The window's daily loop (issue 15), driven as a user drives it, on the demo models.

The video on the stage stays while the form is edited; during a run the stage follows the
section being sampled unless the user scrubbed away (Follow brings it back) and says when it
decodes; the queue starts by itself when idle, has Start/Pause, a running row with progress
and a picture, and a row menu (edit and replace, duplicate, remove with Undo, open folder).
Whole generations: slow.
"""
import gc
from pathlib import Path

import pytest
from PySide6.QtCore import QEvent, QPoint, Qt
from PySide6.QtWidgets import QApplication, QLabel

from desktop_recorder import Recorder
from window_probe import Probe
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui import theme
from framepack_desktop.ui.main_window import MainWindow
from framepack_desktop.ui.timeline_model import DONE, FINISHED

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]
ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 180_000


@pytest.fixture(scope="module")
def session():
    return ModelSession()


@pytest.fixture
def paths(tmp_path, demo_models):
    p = AppPaths.under(tmp_path / "home").ensure()
    save_settings(p, Settings(models_dir=str(demo_models), random_seed=False, output_dir=str(tmp_path / "out")))
    return p


@pytest.fixture
def window(qtbot, paths, session):
    theme.apply(QApplication.instance(), "dark")
    w = MainWindow(paths, load_settings(paths), run_job=run_job, session_factory=lambda: session, desktop=Recorder())
    w.ask_stop_and_quit = lambda: True
    w.side_panel_action.setChecked(True)
    w.resize(1400, 900)
    w.show()
    qtbot.waitUntil(lambda: w.tasks.idle, timeout=60_000)
    yield w
    assert w.controller.shutdown(60_000)
    w.close()
    w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def fill_form(qtbot, w, image, prompt="a fox runs", seconds=1.2):
    w.sidebar.start.load(image)
    w.sidebar.prompt.set_text(prompt)
    s = w.sidebar.settings
    s.resolution.setCurrentIndex(s.resolution.findData(128) if s.resolution.findData(128) >= 0 else 0)
    s.seconds.setValue(seconds)
    s.window.setValue(3)
    s.steps.setValue(2)
    w.update_plan()


def shoot(w, name):
    ARTIFACTS.mkdir(exist_ok=True)
    assert w.grab().save(str(ARTIFACTS / name)), name


def click_timeline(qtbot, w, frame):
    tl = w.stage.timeline
    qtbot.mouseClick(tl, Qt.MouseButton.LeftButton, pos=QPoint(int(tl.x_of(frame + 0.5)), 30))


def test_the_stage_follows_the_sampled_section_and_keeps_the_video_while_the_form_changes(
        window, qtbot, make_image, tmp_path):
    w = window
    fill_form(qtbot, w, make_image(tmp_path / "in.png", (200, 150)), seconds=1.6)
    seen = {"followed": [], "decoding": [], "scrubbed": None}

    def act(e):
        m = w.model
        if isinstance(e, ev.StepProgress) and w.transport.following:
            w.stage.player.grab()
            seen["followed"].append((m.section_at(w.playback.position) is m.sections[e.section],
                                     w.stage.player.shown))
            if len(seen["followed"]) == 2:
                shoot(w, "daily-generating-with-preview.png")
        elif isinstance(e, ev.Status) and e.text.startswith("Decoding section"):
            w._update_progress()
            seen["decoding"].append(w.sidebar.progress_text.text())
        elif isinstance(e, ev.SectionDecoded) and seen["scrubbed"] is None:
            click_timeline(qtbot, w, m.ready_start + 1)         # the user looks at a finished part
            seen["scrubbed"] = w.playback.position
        elif isinstance(e, ev.StepProgress) and seen["scrubbed"] is not None and "kept" not in seen:
            seen["kept"] = (w.playback.position, w.stage.follow_button.isChecked())
            w.stage.follow_button.click()                       # back to the section being made
            seen["back"] = m.section_at(w.playback.position) is m.sections[e.section]

    probe = Probe(w, act)
    qtbot.mouseClick(w.sidebar.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(probe.of(ev.Finished)) and not w.controller.running, timeout=TIMEOUT_MS)
    assert not probe.of(ev.Failed)

    # During the run the playhead sat on the section being sampled and the stage showed its preview.
    assert seen["followed"] and all(on for on, _ in seen["followed"])
    assert ("preview" in {shown for _, shown in seen["followed"]})
    # While the VAE decodes, the progress says so (not "step 2/2").
    assert seen["decoding"] and all(t.startswith("Decoding section") for t in seen["decoding"])
    # A scrub stops following (the playhead stays where the user put it) until Follow is clicked.
    assert seen["kept"] == (seen["scrubbed"], False) and seen["back"]

    # The finished video stays on the stage while the user types and changes settings.
    video = w.model.video
    assert w.model.phase == FINISHED and Path(video).is_file()
    w.playback.seek(3)
    w.sidebar.prompt.edit.setFocus()
    w.sidebar.prompt.edit.moveCursor(w.sidebar.prompt.edit.textCursor().MoveOperation.End)
    qtbot.keyClicks(w.sidebar.prompt.edit, " at dusk")
    w.sidebar.settings.steps.setValue(5)
    w.sidebar.settings.seconds.setValue(2.4)
    qtbot.wait(400)                                             # the plan timer has fired
    w.stage.player.grab()
    assert w.model.video == video and w.model.phase == FINISHED
    assert [s.state for s in w.model.sections] == [DONE] * len(w.model.sections)
    assert w.stage.player.shown == "frame" and w.stage.result.isVisibleTo(w)
    assert w.form_job().steps == 5 and w.sidebar.prompt.text() == "a fox runs at dusk"   # the form took the edits
    shoot(w, "daily-idle-after-editing.png")

    # A new generation replaces it.
    probe.on_event = None
    w.generate()
    assert w.model.job.steps == 5 and w.model.video is None
    qtbot.waitUntil(lambda: len(probe.of(ev.Finished)) == 2 and not w.controller.running, timeout=TIMEOUT_MS)


def test_the_queue_runs_by_itself_pauses_and_its_rows_have_a_menu(window, qtbot, make_image, tmp_path):
    w = window
    fill_form(qtbot, w, make_image(tmp_path / "in.png", (200, 150)), prompt="first", seconds=1.6)
    panel = w.queue_panel
    pictures = []
    probe = Probe(w, lambda e: pictures.append(panel.now.has_picture) if isinstance(e, ev.SectionDecoded) else None)
    qtbot.mouseClick(w.sidebar.enqueue, Qt.MouseButton.LeftButton)      # idle: it starts at once
    assert w.controller.running and len(w.controller.queue) == 0
    assert panel.now.isVisibleTo(w) and "first" in panel.now.title.text()

    for text in ("second", "third"):                             # while it runs: they wait
        w.sidebar.prompt.set_text(text)
        qtbot.mouseClick(w.sidebar.enqueue, Qt.MouseButton.LeftButton)
    w.sidebar.prompt.set_text("fourth")
    qtbot.mouseClick(w.sidebar.generate, Qt.MouseButton.LeftButton)     # Generate while running queues too
    queued = lambda: [j.prompt for j in w.controller.queue.jobs]     # noqa: E731
    assert queued() == ["second", "third", "fourth"] and panel.list.count() == 3

    ids = [i.id for i in w.controller.queue.items]
    menu = panel.context_menu(ids[1])
    next(a for a in menu.actions() if a.text() == "Remove").trigger()
    assert queued() == ["second", "fourth"] and panel.undo.isVisibleTo(w)
    qtbot.mouseClick(panel.undo, Qt.MouseButton.LeftButton)
    assert queued() == ["second", "third", "fourth"] and not panel.undo.isVisibleTo(w)

    next(a for a in panel.context_menu(ids[0]).actions() if a.text().startswith("Edit")).trigger()
    assert w.sidebar.prompt.text() == "second"
    w.sidebar.prompt.set_text("second, edited")
    qtbot.mouseClick(w.sidebar.enqueue, Qt.MouseButton.LeftButton)
    assert queued() == ["second, edited", "third", "fourth"]      # replaced in place, not added

    next(a for a in panel.context_menu(ids[2]).actions() if a.text() == "Duplicate").trigger()
    assert queued() == ["second, edited", "third", "fourth", "fourth"]
    next(a for a in panel.context_menu(ids[2]).actions() if a.text() == "Open its folder").trigger()
    assert w.desktop.opened == [str(Path(w.controller.queue.items[2].job.output).parent)]

    qtbot.mouseClick(panel.pause, Qt.MouseButton.LeftButton)     # the running one finishes, then it waits
    assert "Paused" in panel.state.text()
    qtbot.waitUntil(lambda: bool(pictures) and w.model.phase == FINISHED, timeout=TIMEOUT_MS)
    w.tabs.setCurrentWidget(panel)
    shoot(w, "daily-queue-paused.png")
    qtbot.wait(300)
    assert not w.controller.running and len(queued()) == 4
    assert pictures[-1]                                           # the running row showed a picture
    assert panel.start.isEnabled()
    w.ask_frame_budget = lambda: 0.0           # File → Frames kept on disk…: none beyond the video shown
    next(a for a in w.menuBar().actions()[0].menu().actions() if a.text().startswith("Frames kept")).trigger()
    assert load_settings(w.paths).frame_budget_gb == 0.0
    first_video = probe.of(ev.Finished)[0].video
    qtbot.mouseClick(panel.start, Qt.MouseButton.LeftButton)
    assert w.controller.running and w.model.job.prompt == "second, edited"
    w.controller.queue.items.clear()                             # nothing more after this one
    w.tabs.setCurrentWidget(panel)
    qtbot.waitUntil(lambda: panel.now.bar.value() > 0, timeout=TIMEOUT_MS)
    shoot(w, "daily-queue-running.png")
    qtbot.waitUntil(lambda: len(probe.of(ev.Finished)) == 2 and not w.controller.running, timeout=TIMEOUT_MS)

    # The older video's frame store went (its MP4 and sections stay); the one on the stage kept its own.
    second_video = probe.of(ev.Finished)[1].video
    first_dir = Path(first_video).with_name(Path(first_video).stem + ".job")
    qtbot.waitUntil(lambda: w.tasks.idle and not (first_dir / "frames").exists(), timeout=30_000)
    assert Path(first_video).is_file() and any((first_dir / "sections").iterdir())
    assert (Path(second_video).with_name(Path(second_video).stem + ".job") / "frames").is_dir()
    w.view_history(next(h for h in w.controller.history.entries if h.video == first_video))
    assert "dropped to keep the disk budget" in w.status_text.text()       # it plays from its MP4 instead
    assert w.model.video == first_video and w.stage.current_frame() is not None and not w.desktop.opened[1:]


def test_after_a_killed_process_the_form_is_back_and_the_job_is_offered_with_its_sections(
        qtbot, paths, session, make_image, tmp_path):
    """kill -9 of a process running the window mid-job; the next start shows the typed form and
    offers the interrupted job ("2 of 4 sections done"); Continue shows them done at once and samples
    only the rest."""
    import os
    import signal
    import subprocess
    import sys

    image = make_image(tmp_path / "in.png", (200, 150))
    env = dict(os.environ, OMP_NUM_THREADS="1", PYTHONPATH=str(Path(__file__).resolve().parent.parent))
    proc = subprocess.Popen([sys.executable, str(Path(__file__).with_name("window_process.py")), str(tmp_path / "home"),
                             str(image), "a heron takes off"], stdout=subprocess.PIPE, env=env, text=True)
    try:
        assert proc.stdout.readline().strip() == "READY"
    finally:
        proc.send_signal(signal.SIGKILL)
        proc.wait(30)

    theme.apply(QApplication.instance(), "dark")
    w = MainWindow(paths, load_settings(paths), run_job=run_job, session_factory=lambda: session, desktop=Recorder())
    try:
        w.resize(1400, 900)
        w.show()
        qtbot.waitUntil(lambda: w.tasks.idle, timeout=60_000)
        assert w.sidebar.prompt.text() == "a heron takes off"       # the form was saved as it changed
        assert w.sidebar.settings.seconds.value() == 1.6
        banner = w.stage.resume
        assert banner.isVisibleTo(w) and len(banner.jobs) == 1
        label = " ".join(lbl.text() for lbl in banner.findChildren(QLabel))
        kept = banner.jobs[0].finished_sections      # 2 when READY came; 3 if the kill lagged a section behind
        assert kept >= 2 and f"{kept} of 4 sections" in label and "interrupted" in label
        assert not w.controller.queue.jobs                          # not a plain queue row as well
        shoot(w, "daily-crash-banner.png")

        seen = {}

        def at_start(e):
            if isinstance(e, ev.JobStarted):
                seen["states"] = [s.state for s in w.model.sections]
                seen["frame"] = w.controller.frames.get(w.model.ready_start) if w.model.ready_count else None

        probe = Probe(w, at_start)
        continue_button = next(b for b in banner.findChildren(type(w.sidebar.generate)) if b.text() == "Continue")
        qtbot.mouseClick(continue_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: bool(probe.of(ev.Finished) or probe.of(ev.Failed)) and not w.controller.running,
                        timeout=TIMEOUT_MS)
        assert not probe.of(ev.Failed), probe.of(ev.Failed)[0].detail
        assert seen["states"].count(DONE) == kept and seen["frame"] is not None
        assert {e.section for e in probe.of(ev.StepProgress)} == set(range(4 - kept))   # original: the end came first
        assert Path(probe.of(ev.Finished)[0].video).is_file()
    finally:
        assert w.controller.shutdown(60_000)
        w.close()
        w.deleteLater()
        QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)


def test_a_continued_job_drops_its_partial_and_history_deletes_a_video_with_its_folder(
        window, qtbot, make_image, tmp_path):
    w = window
    fill_form(qtbot, w, make_image(tmp_path / "in.png", (200, 150)), prompt="a boat drifts", seconds=1.6)

    def stop_once(e):
        if isinstance(e, ev.SectionDecoded) and w.sidebar.stop.isEnabled() and not probe.of(ev.Cancelled):
            qtbot.mouseClick(w.sidebar.stop, Qt.MouseButton.LeftButton)

    probe = Probe(w, stop_once)
    qtbot.mouseClick(w.sidebar.generate, Qt.MouseButton.LeftButton)
    qtbot.waitUntil(lambda: bool(probe.of(ev.Cancelled)) and not w.controller.running, timeout=TIMEOUT_MS)
    partial = Path(probe.of(ev.Cancelled)[0].video)
    assert partial.is_file() and [h.video for h in w.controller.history.entries] == [str(partial)]
    assert w.status_text.text() == f"Stopped: {partial.name}"              # not a stale "Generating …"

    probe.on_event = None
    qtbot.mouseClick(w.stage.resume_job, Qt.MouseButton.LeftButton)          # Continue
    qtbot.waitUntil(lambda: bool(probe.of(ev.Finished)) and not w.controller.running, timeout=TIMEOUT_MS)
    video = Path(probe.of(ev.Finished)[0].video)
    assert video.is_file() and not partial.exists()                           # the stopped video is superseded
    assert [h.video for h in w.controller.history.entries] == [str(video)]

    row = w.history_panel.list.item(0).text()
    assert row.startswith("a boat drifts\n") and (" MB · " in row or " kB · " in row)      # prompt, disk held
    job_dir = video.with_name(video.stem + ".job")
    assert job_dir.is_dir()
    asked = []
    w.confirm_delete = lambda entry: asked.append(entry.video) or False      # the user says No first
    w.history_panel.deleteRequested.emit(w.controller.history.entries[0])
    assert asked == [str(video)] and video.is_file() and job_dir.is_dir()
    w.confirm_delete = lambda entry: True
    w.history_panel.deleteRequested.emit(w.controller.history.entries[0])
    assert not video.exists() and not job_dir.exists() and not video.with_suffix(".json").exists()
    assert not w.controller.history.entries and w.history_panel.list.count() == 0
    assert w.model.video is None and not w.stage.result.isVisibleTo(w)
    assert "Deleted" in w.status_text.text()
