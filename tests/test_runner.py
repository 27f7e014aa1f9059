"""The section loop end to end on the demo models: frames, events, cancel, resume, CLI errors."""
import threading

import numpy as np
import pytest

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.video.framestore import FrameStore
from framepack_desktop.engine.video.mp4 import probe, read_job_metadata


pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # whole demo generations


@pytest.fixture
def job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (240, 180), seed=3)
    return Job(image=str(image), prompt="[0s] a fox sits\n[0.5s] the fox jumps", output=str(tmp_path / "out.mp4"),
               seconds=1.6, window=3, resolution=128, steps=3, models=str(demo_models))


def test_original_model_fills_the_video_from_the_end(job):
    events = list(run_job(job))
    started, finished = events[0], events[-1]
    assert isinstance(started, ev.JobStarted) and isinstance(finished, ev.Finished), events[-1]
    n, w = job.num_sections, job.window
    assert n == 4 and started.num_frames == 4 * w * n + 1
    assert [p.prompt for p in started.sections] == ["a fox sits", "a fox sits", "the fox jumps", "the fox jumps"]
    decoded = [e for e in events if isinstance(e, ev.SectionDecoded)]
    assert [d.section for d in decoded] == [3, 2, 1, 0]
    assert [d.ready_end for d in decoded] == [started.num_frames] * n
    starts = [d.ready_start for d in decoded]
    assert starts == sorted(starts, reverse=True) and starts[-1] == 0
    steps = [e for e in events if isinstance(e, ev.StepProgress)]
    assert len(steps) == n * job.steps and steps[0].preview.dtype == np.uint8

    info = probe(finished.video)
    assert (info.frames, info.width, info.height) == (started.num_frames, started.width, started.height)
    assert info.pix_fmt == "yuv420p" and info.codec == "h264" and info.fps == 30
    assert Job.from_json(read_job_metadata(finished.video)) == job
    assert Job.from_json(open(finished.job_json).read()) == job


def test_f1_fills_the_video_from_the_start(job):
    events = list(run_job(job.replace(variant="f1", output=job.output.replace("out", "f1"))))
    decoded = [e for e in events if isinstance(e, ev.SectionDecoded)]
    assert [d.section for d in decoded] == [0, 1, 2, 3]
    assert [d.ready_start for d in decoded] == [0] * 4
    ends = [d.ready_end for d in decoded]
    assert ends == sorted(ends) and ends[-1] == 4 * job.window * 4 + 1
    assert isinstance(events[-1], ev.Finished)


def run_until(job, stop_when):
    cancel = threading.Event()
    seen = []
    for e in run_job(job, cancel):
        seen.append(e)
        if stop_when(e):
            cancel.set()
    return seen


def test_stop_takes_effect_within_one_step_and_leaves_a_playable_video(job):
    seen = run_until(job, lambda e: isinstance(e, ev.StepProgress) and e.order == 1 and e.step == 1)
    stop = next(i for i, e in enumerate(seen) if isinstance(e, ev.StepProgress) and e.order == 1)
    assert not any(isinstance(e, ev.StepProgress) for e in seen[stop + 1:])
    cancelled = seen[-1]
    assert isinstance(cancelled, ev.Cancelled)
    assert cancelled.finished_sections == (3,)
    assert probe(cancelled.video).frames == cancelled.num_frames == 4 * job.window - 3


def test_resume_keeps_finished_sections_and_gives_the_same_video(job, tmp_path):
    whole = list(run_job(job.replace(output=str(tmp_path / "whole.mp4"))))
    reference = FrameStore.open(tmp_path / "whole.job" / "frames").read_range(0, job.num_frames)

    interrupted = run_until(job, lambda e: isinstance(e, ev.SectionDecoded) and e.order == 1)
    assert isinstance(interrupted[-1], ev.Cancelled)
    resumed = list(run_job(job))
    assert set(resumed[0].resumed_sections) == {3, 2}
    sampled = {e.section for e in resumed if isinstance(e, ev.StepProgress)}
    assert sampled == {1, 0}
    assert isinstance(resumed[-1], ev.Finished) and isinstance(whole[-1], ev.Finished)
    frames = FrameStore.open(tmp_path / "out.job" / "frames").read_range(0, job.num_frames)
    assert np.array_equal(frames, reference)


def test_redo_one_section_with_a_new_seed_redoes_it_and_those_sampled_after(job):
    list(run_job(job))
    redo = list(run_job(job.replace(section_seeds={2: 99})))
    sampled = [e.section for e in redo if isinstance(e, ev.StepProgress) and e.step == 1]
    assert sampled == [2, 1, 0]
    assert isinstance(redo[-1], ev.Finished)


@pytest.mark.parametrize("variant, section, redone", [("original", 1, [1, 0]), ("f1", 2, [2, 3])])
def test_a_redo_decodes_only_the_changed_sections_and_gives_the_frames_of_a_fresh_run(
        job, tmp_path, variant, section, redone):
    job = job.replace(variant=variant)
    list(run_job(job))
    redo = job.replace(section_seeds={section: 99})
    events = list(run_job(redo))
    assert [e.section for e in events if isinstance(e, ev.StepProgress) and e.step == 1] == redone
    decoded = [e for e in events if isinstance(e, ev.SectionDecoded)]
    assert [e.section for e in decoded] == redone
    assert all(e.latency_s is not None and e.latency_s > 0 for e in decoded)  # sampled now: timed
    started = events[0]
    unchanged = [s for s in range(job.num_sections) if s not in redone]
    first, last = redo.section_frames(min(unchanged)), redo.section_frames(max(unchanged))
    # the untouched sections' frames are ready at once (short of the overlap the redo re-blends)
    assert started.ready_end > started.ready_start
    assert started.ready_start <= first[0] + 4 * job.window and started.ready_end >= last[1] - 4 * job.window
    fresh = redo.replace(output=str(tmp_path / "fresh.mp4"))
    assert isinstance(list(run_job(fresh))[-1], ev.Finished)
    ours = FrameStore.open(tmp_path / "out.job" / "frames").read_range(0, job.num_frames)
    theirs = FrameStore.open(tmp_path / "fresh.job" / "frames").read_range(0, job.num_frames)
    assert np.array_equal(ours, theirs)


def test_sections_decoded_from_saved_latents_have_no_sampling_latency(job, tmp_path):
    list(run_job(job))
    (tmp_path / "out.job" / "decoded.json").unlink()
    events = list(run_job(job))
    decoded = [e for e in events if isinstance(e, ev.SectionDecoded)]
    assert len(decoded) == job.num_sections and all(e.latency_s is None for e in decoded)
    assert not any(isinstance(e, ev.StepProgress) for e in events)


@pytest.mark.parametrize("args,words", [
    (["--seconds", "0"], "more than 0 seconds"),
    (["--variant", "sideways"], "Unknown variant"),
    (["--variant", "f1", "--end-image", "IMG"], "only with the original model"),
    (["--models", "/nonexistent/models"], "does not exist"),
    (["--models", "MODELS", "--device", "cpu", "--fp8-compute"], "fp8 compute is not available"),
    (["--fp8-compute", "--precision", "nf4"], "cannot be combined with precision nf4"),
])
def test_cli_rejects_impossible_settings_with_one_clear_line(job, capsys, args, words):
    args = [a.replace("IMG", job.image).replace("MODELS", job.models) for a in args]
    code = main(["render", "--image", job.image, "--prompt", "x", "--out", job.output, "--resolution", "128", *args])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 1
    assert words in err[-1] and err[-1].startswith("error:")


def test_cli_rejects_a_file_that_is_not_an_image(job, tmp_path, capsys):
    bad = tmp_path / "notes.png"
    bad.write_text("hello")
    code = main(["render", "--image", str(bad), "--prompt", "x", "--out", job.output, "--models", job.models])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and "notes.png" in err and err.startswith("error:")


def test_cli_rejects_an_unwritable_output(job, tmp_path, capsys):
    blocker = tmp_path / "file"
    blocker.write_text("not a folder")
    code = main(["render", "--image", job.image, "--prompt", "x", "--out", str(blocker / "out.mp4"),
                 "--models", job.models])
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert code == 1 and "Choose an output folder" in err


def test_cli_renders_and_rerenders_from_the_video(job, tmp_path, capsys):
    code = main(["render", "--image", job.image, "--prompt", "a fox", "--out", job.output, "--models", job.models,
                 "--seconds", "0.4", "--window", "3", "--resolution", "128", "--steps", "2"])
    assert code == 0
    printed = capsys.readouterr()
    lines = (printed.out + printed.err).splitlines()
    assert any(line.startswith("plan: CPU: transformer float32") for line in lines)   # what the policy chose
    assert any(line.startswith("Video model ready: attention native") for line in lines)
    assert (tmp_path / "out.job" / "log.txt").read_text().count("memory plan: CPU:") == 1
    again = tmp_path / "again.mp4"
    assert main(["render", "--from", job.output, "--out", str(again), "--seed", "5"]) == 0
    rerun = Job.from_json(read_job_metadata(again))
    assert rerun.seed == 5 and rerun.prompt == "a fox" and rerun.steps == 2


def test_the_first_model_call_does_not_skew_the_remaining_time():
    from framepack_desktop.engine.section_sampler import StepTimer

    eta = StepTimer()
    assert eta.remaining(10, 0) is None
    eta.step(60.0)                              # compiling, CUDA start-up, autotuning
    assert eta.remaining(10, 0) == 600.0        # all there is to go on yet
    eta.step(1.0)
    assert eta.remaining(10, 0) == 10.0         # the warm-up is dropped, not averaged in
    eta.step(2.0)
    assert eta.remaining(10, 0) == pytest.approx(12.0)   # then smoothed


@pytest.mark.slow
def test_two_runs_of_one_job_write_the_same_mp4_bytes(job, tmp_path):
    """Same job, same bytes: users and tests compare videos by hash. The first run's video and
    working folder are moved away so that the second samples and encodes everything again."""
    import hashlib
    import shutil

    digests = []
    for k in range(2):
        assert isinstance(list(run_job(job))[-1], ev.Finished)
        out = tmp_path / "out.mp4"
        digests.append(hashlib.sha256(out.read_bytes()).hexdigest())
        shutil.move(out, tmp_path / f"run{k}.mp4")
        shutil.move(tmp_path / "out.job", tmp_path / f"run{k}.job")
    assert digests[0] == digests[1]


def test_a_run_makes_its_plan_once(job, monkeypatch):
    """Making a plan hashes the input images (and an extension's whole video): the runner makes it
    once and hands it to the job folder instead of each making its own."""
    from framepack_desktop.engine.plan import Plan

    made = []
    of = Plan.of.__func__

    def counting(cls, *args, **kwargs):
        made.append(args[0])
        return of(cls, *args, **kwargs)

    monkeypatch.setattr(Plan, "of", classmethod(counting))
    assert isinstance(list(run_job(job))[-1], ev.Finished)
    assert len(made) == 1
