"""Every format decodes with PyAV with the expected frame count; the job travels where it can."""
import json

import av
import pytest
from post_clips import moving_square, square_frame, write_clip

from framepack_desktop.engine.post import PostPlan, run_post
from framepack_desktop.engine.post.source import stored_job

JOB = json.dumps({"prompt": "a square moves", "seed": 7})


@pytest.fixture
def clip(tmp_path):
    return write_clip(tmp_path / "in.mp4", [square_frame(10 + 4 * i, 10) for i in range(6)], metadata=JOB)


def decoded(path):
    with av.open(str(path)) as c:
        stream = c.streams.video[0]
        frames = [f for f in c.decode(stream)]
        return frames, stream.codec_context.name, stored_job(c.metadata)


@pytest.mark.parametrize("fmt, suffix, codec, keeps_job", [
    ("mp4", ".mp4", "h264", True),
    ("webm", ".webm", "vp9", True),
    ("mov-prores", ".mov", "prores", True),
    ("gif", ".gif", "gif", False),
])
def test_each_container_format_decodes_with_the_expected_frames(tmp_path, clip, fmt, suffix, codec, keeps_job):
    out = run_post(clip, tmp_path / f"out{suffix}", PostPlan(format=fmt, interpolate=2))
    frames, name, job = decoded(out)
    assert name == codec
    assert len(frames) == 11
    assert (frames[0].width, frames[0].height) == (160, 96)
    assert (job == JOB) is keeps_job
    if fmt == "gif":   # its own palette per frame keeps the colours: the square stays its yellow
        rgb = frames[0].to_ndarray(format="rgb24")
        assert abs(int(rgb[20, 20, 0]) - 230) < 12 and abs(int(rgb[20, 20, 2]) - 90) < 12


def test_png_folder_holds_every_frame_and_the_job(tmp_path, clip):
    out = run_post(clip, tmp_path / "frames", PostPlan(format="png", trim="1f:5f"))
    names = sorted(p.name for p in out.iterdir())
    assert names == ["frame_00000.png", "frame_00001.png", "frame_00002.png", "frame_00003.png", "job.json"]
    assert (out / "job.json").read_text() == JOB
    with av.open(str(out / "frame_00000.png")) as c:
        assert next(c.decode(video=0)).to_ndarray(format="rgb24").shape == (96, 160, 3)


def test_png_every_kth_frame(tmp_path):
    src = moving_square(tmp_path / "in.mp4", n=7)
    out = run_post(src, tmp_path / "frames", PostPlan(format="png", every=3))
    assert sorted(p.name for p in out.iterdir()) == ["frame_00000.png", "frame_00001.png", "frame_00002.png"]


def test_predicted_count_matches_every_combination(tmp_path, clip):
    plan = PostPlan(trim="1f:", loop="pingpong", upscale=2, interpolate=2, format="webm")
    out = run_post(clip, tmp_path / "out.webm", plan)
    frames, _, _ = decoded(out)
    assert len(frames) == plan.frames_out(6, 30)[0] == 2 * (2 * 5 - 2 - 1) + 1
    assert (frames[0].width, frames[0].height) == (320, 192)
