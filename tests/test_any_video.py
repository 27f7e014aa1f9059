"""Continuing any video with F1: clips from anywhere (made here with PyAV), broken inputs."""
import threading

import av
import numpy as np
import pytest

from clips import make_clip, psnr
from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.any_video import video_job
from framepack_desktop.engine.images import fit_to_bucket
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.engine.video.clip import open_clip
from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.engine.video.mp4 import BadVideo, probe


def decoded(path):
    with av.open(str(path)) as container:
        return [f.to_ndarray(format="rgb24") for f in container.decode(video=0)]


def test_a_24_fps_clip_is_read_at_30_fps_upright(tmp_path):
    make_clip(tmp_path / "c.mov", 12, 50, 71, fps=24, rotation=90, container_format="mov")
    raw = decoded(tmp_path / "c.mov")
    clip = open_clip(tmp_path / "c.mov", 30)
    assert (clip.frames, clip.height, clip.width, clip.rotation) == (15, 70, 50, 90)
    frames = list(clip.read())
    assert len(frames) == 15
    # Frame i is the source frame on screen at i/30 s, turned upright (90 degrees counter-clockwise).
    for i, frame in enumerate(frames):
        assert np.array_equal(frame, np.rot90(raw[i * 24 // 30])), i
    assert [f.shape for f in clip.read(13, 99)] == [(70, 50, 3)] * 2


def test_a_30_fps_clip_keeps_every_frame(tmp_path):
    make_clip(tmp_path / "c.mkv", 7, 40, 40)
    raw = decoded(tmp_path / "c.mkv")
    frames = list(open_clip(tmp_path / "c.mkv", 30).read())
    assert len(frames) == 7 and all(np.array_equal(a, b) for a, b in zip(frames, raw))


def broken_inputs(tmp_path):
    make_clip(tmp_path / "sound.m4a", 1, 1, 1, audio_only=True)
    make_clip(tmp_path / "empty.mkv", 0, 32, 32)
    (tmp_path / "corrupt.mp4").write_bytes(b"\x00\x00\x00\x18ftypmp42" + bytes(range(256)) * 40)
    from PIL import Image
    Image.new("RGB", (64, 64), (1, 2, 3)).save(tmp_path / "photo.png")
    return {"sound.m4a": "no video stream", "empty.mkv": "no frames", "corrupt.mp4": "damaged",
            "photo.png": "is an image, not a video", "missing.mp4": "does not exist"}


def test_broken_inputs_get_one_clear_line_each(tmp_path, capsys):
    for name, problem in broken_inputs(tmp_path).items():
        with pytest.raises(BadVideo, match=problem):
            open_clip(tmp_path / name, 30)
        code = main(["render", "--video", str(tmp_path / name), "--prompt", "on", "--seconds", "1",
                     "--out", str(tmp_path / f"{name}-out.mp4")])
        err = capsys.readouterr().err
        assert code == 1 and problem in err and err.count("\n") == 1, err
        assert not (tmp_path / f"{name}-out.mp4").exists() and not (tmp_path / f"{name}-out.job").exists()


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
class TestContinuing:
    """Whole demo generations: a rotated, odd-sized 24 fps clip continued by two F1 sections."""

    @pytest.fixture(scope="class")
    def clip(self, tmp_path_factory):
        path = tmp_path_factory.mktemp("clip") / "phone.mp4"
        make_clip(path, 40, 100, 151, fps=24, rotation=90)
        return path

    @pytest.fixture(scope="class")
    def session(self):
        return ModelSession()

    def job(self, clip, demo_models, out, **kw):
        return video_job(Job(image="", video=str(clip), prompt="the shapes go on", output=str(out), seconds=0.8,
                             window=3, resolution=128, steps=2, models=str(demo_models), **kw))

    def test_the_clip_is_continued_and_joined(self, clip, demo_models, session, tmp_path):
        job = self.job(clip, demo_models, tmp_path / "joined.mp4")
        source = open_clip(clip, 30)
        assert job.extend_frames == source.frames == 50 and job.num_frames == 50 + 2 * 12
        events = list(run_job(job, session=session))
        assert isinstance(events[-1], ev.Finished), events[-1]
        started = events[0]
        assert (started.ready_start, started.ready_end) == (0, 50)
        assert started.sections[0].start_frame == 50

        out = decoded(job.output)
        assert len(out) == job.num_frames
        h, w = out[0].shape[:2]
        assert h > w  # upright: the clip is 151 x 100 stored, shown turned by 90 degrees
        fitted = [fit_to_bucket(f, h, w) for f in source.read()]
        seam = 50 - (4 * job.window - 3)
        assert min(psnr(a, b) for a, b in zip(out[:seam], fitted[:seam])) > 35
        with FrameStore.open(job.job_dir / "frames") as store:  # the store holds the source's own frames
            assert np.array_equal(store.read_range(0, seam), np.stack(fitted[:seam]))

        only_new = self.job(clip, demo_models, tmp_path / "new.mp4", join=False)
        events = list(run_job(only_new, session=session))
        assert events[-1].num_frames == 24 and probe(only_new.output).frames == 24
        with FrameStore.open(only_new.job_dir / "frames") as a, FrameStore.open(job.job_dir / "frames") as b:
            assert np.array_equal(a.read_range(50, 74), b.read_range(50, 74))  # same latents, frames

    def test_resume_after_a_kill(self, clip, demo_models, session, tmp_path):
        whole = self.job(clip, demo_models, tmp_path / "whole.mp4", context_frames=21)
        assert isinstance(list(run_job(whole, session=session))[-1], ev.Finished)
        job = self.job(clip, demo_models, tmp_path / "killed.mp4", context_frames=21)
        cancel = threading.Event()
        for event in run_job(job, cancel, session):
            if isinstance(event, ev.SectionDecoded):
                cancel.set()
        assert isinstance(event, ev.Cancelled)
        events = list(run_job(job, session=session))
        assert events[0].resumed_sections == (0,) and isinstance(events[-1], ev.Finished)
        with FrameStore.open(job.job_dir / "frames") as a, FrameStore.open(whole.job_dir / "frames") as b:
            assert np.array_equal(a.read_range(0, 74), b.read_range(0, 74))
