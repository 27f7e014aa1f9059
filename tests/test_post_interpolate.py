"""Interpolation: the in-between square sits halfway; counts, rate and the RIFE path."""
from fractions import Fraction

import av
import numpy as np
import pytest
from post_clips import SQUARE, decode, moving_square, square_centre, square_frame

from framepack_desktop.engine.post import PostPlan, run_post
from framepack_desktop.engine.post.interpolate import FlowInterpolator, interpolate


def test_flow_puts_the_square_halfway(tmp_path):
    src = moving_square(tmp_path / "in.mp4", n=5, step=8)
    out = decode(run_post(src, tmp_path / "out.mp4", PostPlan(interpolate=2)))
    originals = decode(src)
    assert len(out) == 9
    for i in range(4):
        (x0, y0), (x1, y1) = square_centre(originals[i]), square_centre(originals[i + 1])
        x, y = square_centre(out[2 * i + 1])
        assert abs(x - (x0 + x1) / 2) <= 1 and abs(y - (y0 + y1) / 2) <= 1, (i, x, y)
        # and it is a square, not two half-bright ghosts at both ends
        assert (out[2 * i + 1][..., 0] > 150).sum() == pytest.approx(SQUARE * SQUARE, rel=0.15)


def test_flow_at_quarter_times_moves_a_quarter():
    a, b = square_frame(20, 20), square_frame(36, 28)
    frames = FlowInterpolator()(a, b, [0.25, 0.5, 0.75])
    xs = [square_centre(f)[0] for f in frames]
    assert xs == pytest.approx([35.5, 39.5, 43.5], abs=1)


@pytest.mark.parametrize("factor", [2, 4])
def test_count_is_k_times_gaps_plus_one_and_fps_multiplies(tmp_path, factor):
    src = moving_square(tmp_path / "in.mp4", n=4, step=4, fps=30)
    out = run_post(src, tmp_path / "out.mp4", PostPlan(interpolate=factor))
    with av.open(str(out)) as c:
        stream = c.streams.video[0]
        assert stream.average_rate == Fraction(30 * factor)
        frames = [f for f in c.decode(stream)]
    assert len(frames) == factor * 3 + 1
    times = [float(f.time) for f in frames]
    assert np.allclose(np.diff(times), 1 / (30 * factor), atol=1e-3)


def test_originals_stay_in_place():
    frames = [np.full((8, 8, 3), v, np.uint8) for v in (0, 100, 200)]
    out = list(interpolate(iter(frames), 2, lambda a, b, ts: [((a.astype(int) + b) // 2).astype(np.uint8)]))
    assert [int(f[0, 0, 0]) for f in out] == [0, 50, 100, 150, 200]


@pytest.mark.slow
def test_rife_from_the_demo_file_runs_with_exact_counts(tmp_path):
    from framepack_desktop.engine.post.demo import write_post_models

    write_post_models(tmp_path / "models")
    src = moving_square(tmp_path / "in.mp4", n=3, step=4)
    out = decode(run_post(src, tmp_path / "out.mp4", PostPlan(interpolate=4, interpolator="rife"),
                          models_dir=tmp_path / "models"))
    assert len(out) == 9 and out[0].shape == (96, 160, 3)


def test_rife_blends_identical_frames_to_themselves(tmp_path):
    """Between two identical flat frames any flow and mask give back the frame: the warp and blend are sound."""
    from framepack_desktop.engine.post.demo import write_post_models
    from framepack_desktop.engine.post.interpolate import RifeInterpolator
    from framepack_desktop.engine.post.weights import load_rife

    rife = load_rife(write_post_models(tmp_path / "models")[0])
    flat = np.full((40, 70, 3), 77, np.uint8)
    (mid,) = RifeInterpolator(rife)(flat, flat, [0.5])
    assert mid.shape == flat.shape and np.abs(mid.astype(int) - 77).max() <= 1
