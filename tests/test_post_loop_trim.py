"""Loops and trimming: exact frame counts, symmetry, a seamless seam, frame-exact ranges."""
import numpy as np
import pytest
from post_clips import decode, numbered

from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.post import PostPlan, run_post
from framepack_desktop.engine.post.loop import crossfade_loop, crossfade_overlap, pingpong


def levels(frames):
    """Each frame's grey level as its frame number (the clips draw frame i at level 4*i)."""
    return [round(float(f.mean()) / 4, 2) for f in frames]


def test_pingpong_has_2n_minus_2_frames_and_is_symmetric(tmp_path):
    frames = [np.full((4, 4, 3), i, np.uint8) for i in range(6)]
    out = [int(f[0, 0, 0]) for f in pingpong(iter(frames), tmp_path)]
    assert out == [0, 1, 2, 3, 4, 5, 4, 3, 2, 1]
    assert out[1:] == out[1:][::-1]


def test_pingpong_video(tmp_path):
    src = numbered(tmp_path / "in.mp4", 7)
    out = levels(decode(run_post(src, tmp_path / "out.mp4", PostPlan(loop="pingpong"))))
    assert len(out) == 12
    assert out == pytest.approx([0, 1, 2, 3, 4, 5, 6, 5, 4, 3, 2, 1], abs=0.3)


def test_crossfade_loop_ends_leading_into_its_start(tmp_path):
    n = 60
    src = numbered(tmp_path / "in.mp4", n, fps=30)
    out = levels(decode(run_post(src, tmp_path / "out.mp4", PostPlan(loop="crossfade"))))
    m = crossfade_overlap(n)
    assert m == 15 and len(out) == n - m
    steps = np.diff(out + out[:1])            # played as a loop: last frame then first frame
    assert out[0] == pytest.approx(m, abs=0.3)
    # A ramp never loops by itself: played plainly it would jump back 45 frames' worth at the seam.
    # Dissolved over 15 frames, no step anywhere in the loop (the seam included) exceeds two frames'.
    assert abs(out[-1] - out[0]) <= 2
    assert np.abs(steps).max() <= 2


def test_crossfade_generator_blends_end_into_start():
    frames = [np.full((2, 2, 3), 10 * i, np.uint8) for i in range(8)]
    out = [int(f[0, 0, 0]) for f in crossfade_loop(iter(frames), 2)]
    # middle frames 2..5, then frame 6 fading into 0 (1/3), frame 7 into 1 (2/3)
    assert out == [20, 30, 40, 50, 40, 30]


@pytest.mark.parametrize("trim, first, count", [("10f:20f", 10, 10), ("0.5:1", 15, 15), (":5f", 0, 5), ("38f:", 38, 2)])
def test_trim_is_frame_exact(tmp_path, trim, first, count):
    src = numbered(tmp_path / "in.mp4", 40, fps=30)
    out = levels(decode(run_post(src, tmp_path / "out.mp4", PostPlan(trim=trim))))
    assert out == pytest.approx(list(range(first, first + count)), abs=0.3)


@pytest.mark.parametrize("trim", ["5:9", "20f:10f", "1-2", "a:b"])
def test_an_impossible_trim_is_one_clear_line(tmp_path, trim):
    src = numbered(tmp_path / "in.mp4", 10)
    with pytest.raises(BadSettings, match="Trim") as e:
        run_post(src, tmp_path / "out.mp4", PostPlan(trim=trim))
    assert "\n" not in str(e.value)
    assert not (tmp_path / "out.mp4").exists()
