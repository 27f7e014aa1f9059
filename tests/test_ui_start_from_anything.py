"""Issue 17 in the window: text only, prompt blending, keyframes moved on the timeline, batches
as one queue group, each driven as a user does (offscreen Qt, demo models)."""
from __future__ import annotations

from PySide6.QtCore import QPoint, Qt

from framepack_desktop.engine.job import Job
from test_ui_window_basics import image, open_window, paths, urls  # noqa: F401 (fixtures)


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


def test_a_keyframe_dragged_along_the_timeline_moves_and_only_the_sections_it_affects_are_planned_again(
        open_window, qtbot, tmp_path):
    from PySide6.QtCore import QPointF
    from PySide6.QtGui import QDropEvent
    from framepack_desktop.engine.plan import Plan
    from framepack_desktop.ui.timeline_model import DONE, PLANNED

    w = open_window()
    w.resize(1200, 800)
    w.show()
    w.sidebar.start.load(image(tmp_path / "a.png"))
    w.sidebar.settings.seconds.setValue(5)                  # original, 4 sections of 1.2 s, sampled 3, 2, 1, 0
    w.sidebar.prompt.set_text("walks")
    w.update_plan()
    tl = w.stage.timeline
    pose = image(tmp_path / "pose.png", value=200)
    mime = urls(pose)
    blocks_y = tl._rows()["blocks"].center().y()
    tl.dropEvent(QDropEvent(QPointF(tl.x_of(w.model.num_frames * 0.6), blocks_y), Qt.DropAction.CopyAction, mime,
                            Qt.MouseButton.LeftButton, Qt.KeyboardModifier.NoModifier))
    w.update_plan()
    (seconds, _), = w.keyframes.items.items()
    assert [s.anchor for s in w.model.sections] == [None, None, pose, pose]
    # A made video of this job is on the stage: every section done.
    job = w.form_job(str(tmp_path / "v.mp4")).validate()
    (tmp_path / "v.mp4").write_bytes(b"")
    w.model.show_video(Plan.of(job), str(tmp_path / "frames"), (0, job.num_frames), (64, 64), str(tmp_path / "v.mp4"), True)
    assert w.shows_video() and [s.state for s in w.model.sections] == [DONE] * 4
    marker = tl.markers.rects(w.model.keyframes, tl._x_of_seconds, tl._rows()["blocks"])[seconds].center().toPoint()
    target = QPoint(int(tl.x_of(w.model.num_frames * 0.4)), marker.y())          # into section 1
    qtbot.mousePress(tl, Qt.MouseButton.LeftButton, pos=marker)
    qtbot.mouseMove(tl, target)
    qtbot.mouseRelease(tl, Qt.MouseButton.LeftButton, pos=target)
    (moved, path), = w.keyframes.items.items()
    assert path == pose and abs(moved - 0.4 * job.num_frames / 30) < 0.05
    assert w.playback.position == 0                                            # dragging a marker is no seek
    assert [s.anchor for s in w.model.sections] == [None, pose, pose, pose] and w.model.keyframes == {moved: pose}
    # Sections 3 and 2 (sampled first, same anchor) keep their latents; 1 and 0 are made again.
    assert [s.state for s in w.model.sections] == [PLANNED, PLANNED, DONE, DONE]
    assert "2 of 4 sections" in w.status_text.text()
    w.update_plan()
    assert w.form_job().keyframes == {moved: pose}


def test_images_dropped_together_are_one_queue_group_that_can_be_held_or_removed_with_undo(open_window, paths, tmp_path):
    w = open_window()
    w.queue_panel.pause.click()
    w.sidebar.prompt.set_text("a lone job")
    w.sidebar.start.load(image(tmp_path / "solo.png"))
    w.enqueue()                                                   # one job on its own, first in line
    w.sidebar.prompt.set_text("turns around")
    files = [image(tmp_path / f"{name}.png") for name in ("dog", "cat", "owl")]
    w.handle_drop(urls(*files))
    q, panel = w.controller.queue, w.queue_panel
    groups = [i.group for i in q.items]
    assert groups[0] == "" and len(set(groups[1:])) == 1 and groups[1]
    batch = groups[1]
    assert all(i.job == i.job.replace() and "group" not in i.job.to_dict() for i in q.items)   # not in the Job
    rows = [panel.list.item(k).text() for k in range(panel.list.count())]
    assert rows[0].startswith("a lone job") and rows[1].startswith(f"Batch {batch} · 1/3 · ")
    assert rows[3].startswith(f"Batch {batch} · 3/3 · ")
    # Hold the batch from a row's menu: the lone job runs first, then nothing (the batch waits).
    menu = panel.context_menu(q.items[2].id)
    hold, = [a for a in menu.actions() if a.text().startswith(f"Hold batch {batch}")]
    hold.trigger()
    assert all(i.held for i in q.items[1:]) and "held" in panel.list.item(2).text()
    assert q.take_next().prompt == "a lone job" and q.take_next() is None
    q.finish_running()
    again = open_window()                                          # groups and holds survive a restart
    assert [(i.group, i.held) for i in again.controller.queue.items] == [(batch, True)] * 3
    let_run, = [a for a in panel.context_menu(q.items[0].id).actions() if a.text() == f"Let batch {batch} run"]
    let_run.trigger()
    assert not any(i.held for i in q.items)
    # Remove the whole batch from the menu, then Undo puts all three back in order.
    remove, = [a for a in panel.context_menu(q.items[1].id).actions() if a.text().startswith(f"Remove batch {batch}")]
    remove.trigger()
    assert len(q) == 0 and f"Removed batch {batch} (3 jobs)" == panel.undo_text.text()
    panel.undo.click()
    assert [i.job.image for i in q.items] == files and {i.group for i in q.items} == {batch}
