"""Extending a finished video with F1, and starting a new job from one of its frames."""
import av
import numpy as np
import pytest
import torch
from PIL import Image

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.extend import extend_job, extension_base, job_from_frame
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import SectionFiles, load_job
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.engine.video.mp4 import probe, read_job_metadata


pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # whole demo generations, then extended


@pytest.fixture(scope="module")
def session():
    return ModelSession()


@pytest.fixture(scope="module")
def folder(tmp_path_factory):
    path = tmp_path_factory.mktemp("extend")
    rng = np.random.default_rng(9)
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(path / "in.png")
    return path


def make(folder, demo_models, name, **kw):
    settings = dict(image=str(folder / "in.png"), prompt="[0s] a fox sits\n[0.5s] the fox jumps",
                    output=str(folder / f"{name}.mp4"), window=3, resolution=128, steps=2, models=str(demo_models))
    return Job(**{**settings, **kw})


def run(job, session):
    events = list(run_job(job, session=session))
    assert isinstance(events[-1], ev.Finished), events[-1]
    return events


def frames_of(job):
    with FrameStore.open(job.job_dir / "frames") as store:
        return store.read_range(0, job.num_frames).astype(int)


def latents(job, section):
    return SectionFiles(job.job_dir).load(section, Plan.of(job).prints[section])


def test_extending_an_f1_video_gives_what_a_longer_video_would_have_been(folder, demo_models, session):
    short = make(folder, demo_models, "short", variant="f1", seconds=0.8)
    longer = make(folder, demo_models, "longer", variant="f1", seconds=1.2)
    run(short, session)
    run(longer, session)
    job = extend_job(short.output, 0.4, folder / "extended.mp4")
    assert (job.variant, job.extend_from, job.extend_frames) == ("f1", str(short.job_dir), short.num_frames)
    assert job.prompt == "the fox jumps" and job.num_frames == longer.num_frames

    events = run(job, session)
    started = events[0]
    assert (started.ready_start, started.ready_end) == (0, short.num_frames)
    assert (started.sections[0].start_frame, started.sections[0].end_frame) == (short.num_frames, job.num_frames)
    assert torch.equal(latents(job, 0), latents(longer, 2))

    ours, old, reference = frames_of(job), frames_of(short), frames_of(longer)
    overlap = 4 * job.window - 3
    join = short.num_frames - overlap
    assert np.array_equal(ours[:join + 1], old[:join + 1])  # the crossfade starts on the old video's frame
    assert np.array_equal(ours[short.num_frames - 1:], reference[short.num_frames - 1:])
    # In between, the longer run fades from unclipped float frames, the extension from the stored ones.
    assert probe(job.output).frames == job.num_frames
    assert Job.from_json(read_job_metadata(job.output)) == job


def test_cli_extends_a_video_made_by_the_original_model(folder, demo_models, session, capsys):
    original = make(folder, demo_models, "orig", seconds=0.8)
    run(original, session)
    out = folder / "orig-more.mp4"
    assert main(["extend", original.output, "--seconds", "0.8", "--prompt", "the fox lands", "--out", str(out)]) == 0
    job = load_job(folder / "orig-more.job")
    assert job.num_sections == 2 and job.prompt == "the fox lands"
    assert probe(out).frames == original.num_frames + 2 * 4 * job.window
    ours, old = frames_of(job), frames_of(original)
    join = original.num_frames - (4 * job.window - 3)
    assert np.array_equal(ours[:join], old[:join])

    # An extension can be extended again: its history is both jobs' latents.
    again = extend_job(out, 0.4, folder / "orig-more-more.mp4")
    events = run(again, session)
    assert events[0].ready_end == job.num_frames
    assert probe(again.output).frames == job.num_frames + 4 * job.window


def test_an_extension_with_a_window_longer_than_the_old_video_fades_over_all_of_it(folder, demo_models, session):
    tiny = make(folder, demo_models, "tiny", variant="f1", seconds=0.4)
    run(tiny, session)
    assert tiny.num_frames == 13
    job = extend_job(tiny.output, 1.2, folder / "tiny-more.mp4", window=9)
    run(job, session)
    assert job.num_frames == 13 + 36 and probe(job.output).frames == job.num_frames
    assert np.array_equal(frames_of(job)[0], frames_of(tiny)[0])


def test_an_unfinished_video_cannot_be_extended(folder, demo_models, session, capsys):
    half = make(folder, demo_models, "half", seconds=0.4)
    run(half, session)
    for path in (half.job_dir / "sections").glob("0000-*"):
        path.unlink()
    with pytest.raises(BadSettings, match="never finished"):
        extension_base(extend_job(half.job_dir, 0.4, folder / "half-more.mp4"))
    code = main(["extend", half.output, "--seconds", "0.4", "--out", str(folder / "half-more.mp4")])
    assert code == 1 and "resume" in capsys.readouterr().err


def test_continue_from_a_frame_starts_a_job_from_that_exact_frame(folder, demo_models, session):
    source = make(folder, demo_models, "source", seconds=0.8)
    run(source, session)
    job = job_from_frame(source.output, 5, folder / "from5.mp4")
    assert np.array_equal(np.asarray(Image.open(job.image)), frames_of(source)[5])
    assert job.output == str(folder / "from5.mp4") and job.extend_from is None
    assert job.prompt == "[0s] a fox sits\n[0.333s] the fox jumps"
    assert job_from_frame(source.job_dir, 20, folder / "from20.mp4").prompt == "the fox jumps"
    assert isinstance(list(run_job(job.replace(seconds=0.4), session=session))[-1], ev.Finished)

    (source.job_dir / "frames" / "frames.json").unlink()  # no frame store: the frame comes from the video
    from_video = job_from_frame(source.output, 5, folder / "again.mp4")
    with av.open(source.output) as container:
        fifth = next(f for i, f in enumerate(container.decode(video=0)) if i == 5).to_ndarray(format="rgb24")
    assert np.array_equal(np.asarray(Image.open(from_video.image)), fifth)
