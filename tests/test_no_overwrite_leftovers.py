"""Issue 14 leftovers: what Stop and "continue from a frame" write beside an output never replaces
a file the user made some other way."""
import threading

import pytest

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.extend import job_from_frame
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.video.mp4 import probe
from framepack_desktop.ui.disk import drop_partial

pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # demo generations


@pytest.fixture
def job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (160, 128), seed=4)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.8, window=3,
               resolution=128, steps=2, models=str(demo_models))


def stopped(job):
    """Run `job` and press Stop once its first section is decoded; the Cancelled event."""
    cancel = threading.Event()
    for e in run_job(job, cancel):
        if isinstance(e, ev.SectionDecoded):
            cancel.set()
        last = e
    assert isinstance(last, ev.Cancelled), last
    return last


def test_stop_never_replaces_a_partial_video_it_did_not_write(job, tmp_path):
    mine = tmp_path / "out-partial.mp4"
    mine.write_bytes(b"the user's own video")
    first = stopped(job)
    assert mine.read_bytes() == b"the user's own video"
    assert first.video == str(tmp_path / "out-partial-2.mp4") and probe(first.video).frames == first.num_frames

    again = stopped(job.replace(seed=job.seed))       # the same job stopped again: its own partial is updated
    assert again.video == first.video and mine.read_bytes() == b"the user's own video"
    assert not (tmp_path / "out-partial-3.mp4").exists()


def test_a_finished_job_deletes_only_its_own_partial_video(job, tmp_path):
    ours = stopped(job)
    assert ours.video == str(tmp_path / "out-partial.mp4")
    assert drop_partial(job.output) == tmp_path / "out-partial.mp4" and not (tmp_path / "out-partial.mp4").exists()
    other = tmp_path / "other-partial.mp4"
    other.write_bytes(b"not made by a stop of other.mp4")
    assert drop_partial(tmp_path / "other.mp4") is None and other.read_bytes() == b"not made by a stop of other.mp4"


def test_continue_from_a_frame_never_replaces_an_existing_start_image(job, tmp_path):
    finished = list(run_job(job))[-1]
    assert isinstance(finished, ev.Finished), finished
    taken = tmp_path / "next-start.png"
    taken.write_bytes(b"a picture the user keeps")
    new = job_from_frame(job.output, 3, tmp_path / "next.mp4")
    assert taken.read_bytes() == b"a picture the user keeps"
    assert new.image == str(tmp_path / "next-start-2.png")
    assert (tmp_path / "next-start-2.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
