"""The playhead: seeking, stepping and playing over a span of frames that grows while generating."""
from framepack_desktop.ui.playback import Playback


class Span:
    def __init__(self, a, b):
        self.a, self.b = a, b

    def __call__(self):
        return self.a, self.b


def test_seek_and_step_clamp_to_the_video(qtbot):
    pb = Playback(Span(0, 0))
    pb.set_length(100)
    seen = []
    pb.positionChanged.connect(seen.append)
    pb.seek(250)
    pb.step(-3)
    pb.seek(-5)
    assert seen == [99, 96, 0]


def test_play_runs_through_ready_frames_and_loops(qtbot):
    span = Span(90, 97)
    pb = Playback(span)
    pb.set_length(97)
    pb.set_fps(1000)
    pb.play()
    assert pb.position == 90 and pb.playing
    visited = set()
    pb.positionChanged.connect(visited.add)
    qtbot.waitUntil(lambda: visited >= set(range(90, 97)) and 90 in visited, timeout=3000)
    assert visited <= set(range(90, 97))         # never leaves the frames that exist
    span.a = 60                                   # an earlier section arrived (original model)
    qtbot.waitUntil(lambda: 60 in visited, timeout=3000)
    pb.pause()


def test_without_loop_play_stops_at_the_last_ready_frame(qtbot):
    pb = Playback(Span(0, 5))
    pb.set_length(50)
    pb.set_fps(1000)
    pb.set_loop(False)
    pb.play()
    qtbot.waitUntil(lambda: not pb.playing, timeout=3000)
    assert pb.position == 4


def test_nothing_to_play_keeps_still(qtbot):
    pb = Playback(Span(0, 0))
    pb.set_length(50)
    pb.play()
    assert not pb.playing and pb.position == 0


def test_a_slower_speed_plays_fewer_frames_in_the_same_time(qtbot):
    from framepack_desktop.ui.stage import Stage
    from framepack_desktop.ui.frame_cache import FrameCache
    from framepack_desktop.ui.timeline_model import TimelineModel

    stage = Stage(TimelineModel(), FrameCache())
    qtbot.addWidget(stage)
    p = Playback(lambda: (0, 1000))
    stage.speedChosen.connect(p.set_speed)
    p.set_fps(30)
    p.set_length(1000)
    normal = p._timer.interval()
    quarter = next(a for a in stage.speed_menu().actions() if a.text() == "0.25×")
    quarter.trigger()                                   # right-click on Play, 0.25×
    assert p.speed == 0.25 and p._timer.interval() == round(4000 / 30) and normal == round(1000 / 30)
    assert "0.25×" in stage.play.toolTip()
    p.set_fps(24)                                       # another video keeps the chosen speed
    assert p._timer.interval() == round(1000 / 6)
