"""The window's "never lose work" commands on the demo models: continue unfinished and stopped
jobs, redo a section, keep another take, extend a video, continue from a frame.

One finished job (3 sections, original variant) is made headless once; each test works on a copy
of its folder in the window's output folder. Runs are tiny (128 px, window 3, 2 steps).
"""
import gc
import shutil
from pathlib import Path

import numpy as np
import pytest
from PIL import Image
from PySide6.QtCore import QEvent
from PySide6.QtWidgets import QApplication

from window_probe import Probe
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import SectionFiles, load_job
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.engine.video.mp4 import probe as probe_video
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui import theme
from framepack_desktop.ui.main_window import MainWindow
from framepack_desktop.ui.timeline_model import CANCELLED, DONE, FINISHED

ARTIFACTS = Path(__file__).resolve().parent.parent / "test-artifacts"
TIMEOUT_MS = 120_000


pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # whole demo generations driven through the window


@pytest.fixture(scope="module")
def session():
    return ModelSession()


@pytest.fixture(scope="module")
def finished(demo_models, tmp_path_factory, session):
    folder = tmp_path_factory.mktemp("finished")
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(folder / "in.png")
    job = Job(image=str(folder / "in.png"), prompt="a fox runs", output=str(folder / "done.mp4"),
              seconds=1.2, window=3, resolution=128, steps=2, models=str(demo_models))
    last = list(run_job(job, session=session))[-1]
    assert isinstance(last, ev.Finished), last
    return job


@pytest.fixture
def out_dir(tmp_path):
    return tmp_path / "out"


def copy_of(finished, out_dir, name="fox"):
    """The finished job's folder copied into the output folder, without its MP4: unfinished there."""
    out_dir.mkdir(exist_ok=True)
    shutil.copytree(finished.job_dir, out_dir / f"{name}.job", ignore=shutil.ignore_patterns(".lock", "state.json"))
    return load_job(out_dir / f"{name}.job")


@pytest.fixture
def open_window(qtbot, tmp_path, demo_models, out_dir, session):
    theme.apply(QApplication.instance(), "dark")
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir=str(demo_models), random_seed=False, output_dir=str(out_dir)))
    windows = []

    def make():
        w = MainWindow(paths, load_settings(paths), run_job=run_job, session_factory=lambda: session)
        w.ask_stop_and_quit = lambda: True        # a failed test must not wait on a dialog
        w.resize(1400, 900)
        w.show()
        windows.append(w)
        qtbot.waitUntil(lambda: w.tasks.idle, timeout=TIMEOUT_MS)   # the unfinished-job scan runs off the GUI thread
        return w

    yield make
    for w in windows:
        assert w.controller.shutdown(60_000)
        w.close()
        w.deleteLater()
    QApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()


def shoot(widget, name):
    ARTIFACTS.mkdir(exist_ok=True)
    assert widget.grab().save(str(ARTIFACTS / name)), name


def run_shown(w, qtbot, job):
    """Run `job` in the window and wait for it (a finished copy: every section is reused)."""
    probe = Probe(w)
    w.controller.generate(job)
    probe.wait_outcome(qtbot)
    return probe


def test_unfinished_jobs_are_offered_at_start_and_continue_without_recomputing(
        open_window, qtbot, finished, out_dir):
    job = copy_of(finished, out_dir)
    chain = Plan.of(job)
    damaged = SectionFiles(job.job_dir).find(1, chain.prints[1])
    damaged.write_bytes(damaged.read_bytes()[:-100])           # a crash left section 2 half-written
    w = open_window()
    banner = w.stage.resume
    assert banner.isVisibleTo(w) and [u.job_dir.name for u in banner.jobs] == ["fox.job"]
    assert "1 unfinished job" in banner.title.text()
    shoot(w.stage, "resume-banner.png")
    seen = {}

    def at_start(e):
        if isinstance(e, ev.JobStarted):       # the frames on disk are on the timeline at once
            m = w.model
            seen["ready"] = (m.ready_start, m.ready_end, (e.ready_start, e.ready_end))
            seen["frame"] = w.controller.frames.get(m.ready_start) if m.ready_count else None
            seen["done"] = [s.state for s in m.sections]

    probe = Probe(w, at_start)
    continue_button = next(b for b in banner.findChildren(type(w.sidebar.generate)) if b.text() == "Continue")
    continue_button.click()
    probe.wait_outcome(qtbot)
    assert not banner.isVisibleTo(w)
    assert probe.sampled() == {1}                              # only the damaged section is sampled again
    start, end, announced = seen["ready"]
    assert end > start and (start, end) == announced and seen["frame"] is not None
    assert seen["done"].count(DONE) == 2
    assert w.stage.banner.isVisibleTo(w) and w.stage.banner.kind == "notice"
    assert "section 2" in w.stage.banner.message and "damaged" in w.stage.banner.message
    assert Path(job.output).is_file() and w.model.phase == FINISHED
    assert [s.state for s in w.model.sections] == [DONE, DONE, DONE]
    shoot(w.stage, "resume-notice.png")

    again = open_window()                                      # a finished job is not offered again
    assert not again.stage.resume.jobs and not again.stage.resume.isVisibleTo(again)


def test_dismiss_hides_the_offer_and_queued_jobs_are_not_offered(open_window, finished, out_dir):
    copy_of(finished, out_dir, "one")
    two = copy_of(finished, out_dir, "two")
    w = open_window()
    assert sorted(u.job_dir.name for u in w.stage.resume.jobs) == ["one.job", "two.job"]
    w.controller.enqueue(two)
    w.stage.resume.dismiss(next(u for u in w.stage.resume.jobs if u.job_dir.name == "one.job"))
    assert [u.job_dir.name for u in w.stage.resume.jobs] == ["two.job"]
    w.stage.resume.dismiss_all()
    assert not w.stage.resume.isVisibleTo(w)
    again = open_window()                                      # "two" waits in the queue: not offered twice
    assert [u.job_dir.name for u in again.stage.resume.jobs] == ["one.job"]


def test_stop_then_continue_keeps_the_finished_sections(open_window, qtbot, finished, out_dir):
    w = open_window()
    job = finished.replace(output=str(out_dir / "stopped.mp4"), variant="f1", seconds=1.6)
    stopped_after = {}

    def stop_after_first(e):
        if isinstance(e, ev.SectionDecoded) and not stopped_after:
            stopped_after["section"] = e.section
            w.stop()

    probe = Probe(w, stop_after_first)
    w.controller.generate(job)
    probe.wait_outcome(qtbot, ev.Cancelled)
    kept = set(probe.of(ev.Cancelled)[0].finished_sections)
    assert w.model.phase == CANCELLED and stopped_after["section"] in kept
    assert w.stage.resume_job.isVisibleTo(w) and not w.stage.extend.isVisibleTo(w)
    shoot(w.stage, "result-bar-stopped.png")

    again = Probe(w)
    w.stage.resume_job.click()
    again.wait_outcome(qtbot)
    assert set(again.of(ev.JobStarted)[0].resumed_sections) == kept
    assert again.sampled() == set(range(job.num_sections)) - kept
    assert probe_video(again.of(ev.Finished)[0].video).frames == job.num_frames
    assert not w.stage.resume_job.isVisibleTo(w) and w.stage.extend.isVisibleTo(w)


def test_redo_a_section_then_keep_the_first_take_without_sampling(open_window, qtbot, finished, out_dir):
    job = copy_of(finished, out_dir)
    w = open_window()
    run_shown(w, qtbot, job)
    assert [s.takes for s in w.model.sections] == [1, 1, 1]
    menu = w.work.section_menu(1)
    labels = [a.text() for a in menu.actions()]
    assert "Redo with new seed" in labels and not any(a.menu() for a in menu.actions())

    probe = Probe(w)
    next(a for a in menu.actions() if a.text() == "Redo with new seed").trigger()
    probe.wait_outcome(qtbot)
    redone = w.model.job
    assert set(redone.section_seeds) == {1} and redone.section_seeds[1] != job.seed
    assert probe.sampled() == {1, 0}                  # original: section 1 and the one sampled after it
    assert [s.takes for s in w.model.sections] == [2, 2, 1]

    takes_menu = next(a.menu() for a in w.work.section_menu(1).actions() if a.menu())
    assert "(2)" in takes_menu.title()
    entries = [a for a in takes_menu.actions() if a.isCheckable()]
    assert [a.isChecked() for a in entries] == [False, True]
    assert entries[0].text().startswith("Keep this take") and f"seed {job.seed}" in entries[0].text()
    shoot_menu = w.work.section_menu(1)
    shoot(shoot_menu, "section-menu.png")
    probe = Probe(w)
    entries[0].trigger()
    probe.wait_outcome(qtbot)
    assert probe.sampled() == set()                   # every take is on disk: no sampling
    assert w.model.job == job                         # back to the job without overrides

    w.work.ask_section_prompt = lambda section, current: "a fox jumps"
    probe = Probe(w)
    w.work.redo_section_prompt(2)
    probe.wait_outcome(qtbot)
    assert w.model.job.section_prompts == {2: "a fox jumps"} and not w.model.job.section_seeds
    assert probe.sampled() == {2, 1, 0} and w.model.sections[2].prompt == "a fox jumps"

    # Clean up: delete the takes this video does not use (asked first; "no" keeps them).
    prune = next(a for a in next(a.menu() for a in w.work.section_menu(2).actions() if a.menu()).actions()
                 if a.text().startswith("Delete the takes"))
    w.work.confirm_prune = lambda: False
    prune.trigger()
    assert [s.takes for s in w.model.sections] == [3, 3, 2]
    w.work.confirm_prune = lambda: True
    prune.trigger()
    qtbot.waitUntil(lambda: w.tasks.idle)
    assert [s.takes for s in w.model.sections] == [1, 1, 1] and w.status_text.text().startswith("Deleted 5 takes")


def test_extend_a_finished_video_and_continue_from_a_frame(open_window, qtbot, finished, out_dir, tmp_path):
    job = copy_of(finished, out_dir)
    w = open_window()
    run_shown(w, qtbot, job)
    assert w.stage.extend.isVisibleTo(w)
    w.work.ask_extension = lambda: (0.4, "")
    seen = {}

    def at_start(e):
        if isinstance(e, ev.JobStarted):
            seen["ready"] = (w.model.ready_start, w.model.ready_end)
            seen["first"] = w.model.sections[0].start_frame
            seen["number"] = w.model.number(w.model.sections[0])     # counted along the whole video

    probe = Probe(w, at_start)
    w.stage.extend.click()
    probe.wait_outcome(qtbot)
    ext = w.model.job
    assert ext.extend_from and ext.extend_frames == job.num_frames and ext.variant == "f1"
    assert seen["ready"] == (0, job.num_frames) and seen["first"] == job.num_frames
    assert seen["number"] == job.num_sections + 1
    video = probe.of(ev.Finished)[0].video
    assert Path(video).name == "fox-ext.mp4" and probe_video(video).frames == ext.num_frames > job.num_frames

    w.user_seek(5)
    w.work.continue_from_frame()
    start = Path(w.sidebar.start.path)
    assert start.is_file() and start.parent == w.paths.inputs_dir
    with FrameStore.open(ext.job_dir / "frames") as store:
        assert np.array_equal(np.asarray(Image.open(start).convert("RGB")), store.read(5))
    assert w.sidebar.prompt.text() == "a fox runs"
    built = w.form_job()
    assert built.image == str(start) and built.variant == "f1" and not built.extend_from


def test_extend_dialog_asks_seconds_and_prompt(qtbot):
    from framepack_desktop.ui.extend_dialog import ExtendDialog

    theme.apply(QApplication.instance(), "dark")
    d = ExtendDialog("fox.mp4")
    qtbot.addWidget(d)
    d.seconds.setValue(3.5)
    d.prompt.setPlainText("  the fox sits down \n")
    assert d.choice() == (3.5, "the fox sits down")
    d.show()
    shoot(d, "extend-dialog.png")


def test_a_dropped_clip_from_anywhere_is_continued_with_the_forms_settings(open_window, qtbot, out_dir, tmp_path):
    from PySide6.QtCore import QMimeData, QUrl

    from clips import make_clip

    clip = tmp_path / "phone.mov"
    make_clip(clip, 20, 90, 120, fps=24, container_format="mov")
    w = open_window()
    w.sidebar.load_job(Job(image="", prompt="the shapes go on", output="", window=3, resolution=128, steps=2,
                           variant="f1"))
    asked = []
    w.work.ask_continuation = lambda name: asked.append(name) or (0.4, "")
    probe = Probe(w)
    mime = QMimeData()
    mime.setUrls([QUrl.fromLocalFile(str(clip))])
    w.handle_drop(mime)
    probe.wait_outcome(qtbot)
    job = w.model.job
    assert asked == ["phone.mov"] and job.video == str(clip) and job.prompt == "the shapes go on"
    assert job.extend_frames == 25 and w.model.origin == "Continues phone.mov"
    video = probe.of(ev.Finished)[0].video
    assert Path(video) == out_dir / "phone-more.mp4" and probe_video(video).frames == 25 + 12
