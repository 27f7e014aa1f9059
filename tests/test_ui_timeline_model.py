"""The timeline's data: the plan before a job, and the state it tracks from engine events."""
import numpy as np

from framepack_desktop.engine.events import (
    Cancelled, Finished, JobStarted, SectionDecoded, SectionPlan, StepProgress,
)
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.plan import Plan
from framepack_desktop.ui.timeline_model import (
    CANCELLED, DONE, FINISHED, PENDING, PLANNED, RUNNING, SAMPLING, STOPPED, TimelineModel, plan_sections,
)


def job(**kw):
    return Job(image="a.png", prompt="p", output="o.mp4", **kw)


def test_plan_covers_every_frame_once_and_orders_by_variant():
    for variant, seconds in (("original", 5), ("f1", 5), ("original", 1)):
        j = job(variant=variant, seconds=seconds)
        plan = plan_sections(Plan(j, tuple(f"p{s}" for s in range(j.num_sections))))
        assert plan[0].start_frame == 0 and plan[-1].end_frame == j.num_frames
        assert all(a.end_frame == b.start_frame for a, b in zip(plan, plan[1:]))
        orders = [s.order for s in plan]
        expected = list(range(j.num_sections))
        assert orders == (expected[::-1] if variant == "original" else expected)
        assert [s.prompt for s in plan] == [f"p{s}" for s in range(j.num_sections)]
        assert all(s.state == PLANNED for s in plan)


def _started(j, h=64, w=96):
    n, span = j.num_sections, 4 * j.window
    orders = list(range(n))[::-1] if j.variant == "original" else list(range(n))
    plans = tuple(SectionPlan(s, orders.index(s), s * span, j.num_frames if s == n - 1 else (s + 1) * span, "p", 1)
                  for s in range(n))
    return JobStarted("dir", n, j.num_frames, h, w, j.fps, plans)


def test_events_drive_section_states_and_ready_span():
    j = job(seconds=3, window=3)       # 8 sections of 12 frames, 97 frames
    m = TimelineModel()
    m.begin(j, demo=True)
    assert m.phase == RUNNING and all(s.state == PENDING for s in m.sections)
    m.apply(_started(j))
    last = j.num_sections - 1
    preview = np.zeros((8, 36, 3), np.uint8)
    m.apply(StepProgress(last, 0, 1, 4, False, preview, 0.5, None))
    m.apply(StepProgress(last, 0, 2, 4, True, preview, 1.0, 9.0))
    s = m.sections[last]
    assert (s.state, s.step, s.steps, s.cached_steps, m.eta_s) == (SAMPLING, 2, 4, 1, 9.0)
    assert m.sampling_section is s and s.preview is preview
    frames = np.full((13, 64, 96, 3), 7, np.uint8)
    m.apply(SectionDecoded(last, 0, j.num_frames - 13, frames, j.num_frames - 13, j.num_frames, "store"))
    assert s.state == DONE and s.preview is None
    assert (m.ready_start, m.ready_end, m.ready_count) == (84, 97, 13)
    assert m.is_ready(90) and not m.is_ready(83)
    assert sorted(m.thumbnails) == list(range(84, 97)) and m.thumbnails[90].max() == 7   # every frame of 97
    assert m.missing_thumbnails() == []
    m.apply(Finished("o.mp4", "o.json", 97, 3.0))
    assert (m.phase, m.video) == (FINISHED, "o.mp4")


def test_cancel_marks_open_sections_stopped():
    j = job(seconds=2, window=3)
    m = TimelineModel()
    m.begin(j, demo=False)
    m.apply(_started(j))
    m.apply(StepProgress(2, 1, 1, 4, False, None, 0.1, None))
    m.apply(Cancelled("o-partial.mp4", 13, (4,)))
    assert m.phase == CANCELLED and m.video == "o-partial.mp4"
    assert {s.state for s in m.sections} == {STOPPED}


def test_plan_is_not_replaced_while_running_and_revision_grows():
    m = TimelineModel()
    j = job(seconds=2)
    m.show_plan(Plan(j, ("a",) * j.num_sections), demo=False)
    r = m.revision
    m.begin(j, demo=False)
    m.show_plan(Plan(job(seconds=9), ("b",) * 8), demo=False)
    assert m.job == j and m.revision > r and m.phase == RUNNING


def test_every_engine_event_type_has_a_handler():
    """The model dispatches by an explicit type -> method map: a new event type must be added to it."""
    import typing

    from framepack_desktop.engine import events
    from framepack_desktop.ui.timeline_model import TimelineModel

    assert set(TimelineModel._handlers) == set(typing.get_args(events.Event))


def test_an_extensions_sections_are_numbered_along_the_whole_video():
    from framepack_desktop.engine.job import Job
    from framepack_desktop.engine.plan import Plan
    from framepack_desktop.ui.timeline_model import TimelineModel

    m = TimelineModel()
    m.show_plan(Plan.draft(Job(image="a.png", prompt="x", output="o.mp4", seconds=2.4, window=9)), demo=True)
    assert [m.number(s) for s in m.sections] == [1, 2]
    first, second = m.sections
    # An extension's plan: its sections' time indices start again at 0, their frames after the old video.
    span = first.end_frame - first.start_frame
    for k, s in enumerate(m.sections):
        s.start_frame, s.end_frame = (4 + k) * span, (5 + k) * span
    assert [m.number(s) for s in m.sections] == [5, 6]
