"""Damaged job folders are reported and repaired from what is intact; takes; unfinished jobs.

One finished job (3 sections) is made once; every test works on a copy of its folder, which also
shows that a job folder keeps working when it is moved (its output becomes the MP4 beside it).
"""
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import (
    JobBusy, JobFolder, SectionFiles, find_unfinished_jobs, job_with_take, list_takes, load_job,
    prune_takes,
)
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.engine.video.framestore import FrameStore


pytestmark = [pytest.mark.usefixtures("one_torch_thread"), pytest.mark.slow]  # whole demo generations, interrupted and continued


@pytest.fixture(scope="module")
def session():
    """Models loaded once for the module's runs, as the window keeps them between jobs."""
    return ModelSession()


def run(job, session):
    return list(run_job(job, session=session))


@pytest.fixture(scope="module")
def finished(demo_models, tmp_path_factory, one_torch_thread, session):
    folder = tmp_path_factory.mktemp("finished")
    rng = np.random.default_rng(4)
    Image.fromarray(rng.integers(0, 255, (150, 200, 3), dtype=np.uint8)).save(folder / "in.png")
    job = Job(image=str(folder / "in.png"), prompt="a fox runs", output=str(folder / "done.mp4"),
              seconds=1.2, window=3, resolution=128, steps=2, models=str(demo_models))
    events = run(job, session)
    assert isinstance(events[-1], ev.Finished), events[-1]
    with FrameStore.open(job.job_dir / "frames") as store:
        frames = store.read_range(0, job.num_frames)
    return job, frames


def copy_of(finished, tmp_path, name="copy"):
    """A copy of the finished job's folder (without its MP4: the job is unfinished there)."""
    job, _ = finished
    target = tmp_path / f"{name}.job"
    shutil.copytree(job.job_dir, target, ignore=shutil.ignore_patterns(".lock", "state.json"))
    return load_job(target)


def frames_of(job):
    with FrameStore.open(job.job_dir / "frames") as store:
        return store.read_range(0, job.num_frames)


def sampled(events):
    return {e.section for e in events if isinstance(e, ev.StepProgress)}


def notices(events):
    return [e.text for e in events if isinstance(e, ev.Status) and e.notice]


def test_a_moved_job_folder_keeps_its_sections_and_gets_the_mp4_beside_it(finished, tmp_path, session):
    job = copy_of(finished, tmp_path)
    assert job.output == str(tmp_path / "copy.mp4")
    events = run(job, session)
    assert isinstance(events[-1], ev.Finished) and events[-1].video == job.output
    assert sampled(events) == set() and not notices(events)
    assert not [e for e in events if isinstance(e, ev.SectionDecoded)]  # the frames were kept too
    started = events[0]
    assert (started.ready_start, started.ready_end) == (0, job.num_frames)


def test_a_truncated_section_is_reported_and_only_it_is_sampled_again(finished, tmp_path, session):
    job = copy_of(finished, tmp_path)
    chain = Plan.of(job)
    path = SectionFiles(job.job_dir).find(1, chain.prints[1])
    original = SectionFiles(job.job_dir).load(1, chain.prints[1])
    path.write_bytes(path.read_bytes()[:-100])

    events = run(job, session)
    assert isinstance(events[-1], ev.Finished)
    assert 1 not in events[0].resumed_sections
    assert sampled(events) == {1}
    assert any("section 2" in n and "damaged" in n for n in notices(events))
    assert "damaged" in (job.job_dir / "log.txt").read_text()
    assert torch.equal(SectionFiles(job.job_dir).load(1, chain.prints[1]), original)
    assert np.array_equal(frames_of(job), finished[1])


@pytest.mark.parametrize("damage", ["frames.bin truncated", "frames.json garbage", "decoded.json missing"])
def test_damaged_frame_store_is_reported_and_decoded_again_without_sampling(finished, tmp_path, damage, session):
    job = copy_of(finished, tmp_path)
    frames = job.job_dir / "frames"
    if damage == "frames.bin truncated":
        data = (frames / "frames.bin").read_bytes()
        (frames / "frames.bin").write_bytes(data[: len(data) // 3])
    elif damage == "frames.json garbage":
        (frames / "frames.json").write_text("{not json")
    else:
        (job.job_dir / "decoded.json").unlink()

    events = run(job, session)
    assert isinstance(events[-1], ev.Finished), events[-1]
    assert sampled(events) == set()
    assert [e.section for e in events if isinstance(e, ev.SectionDecoded)] == [2, 1, 0]
    assert len(notices(events)) == 1 and "saved sections" in notices(events)[0]
    assert np.array_equal(frames_of(job), finished[1])


def test_a_frame_store_that_lost_frames_is_decoded_again_from_where_they_are_missing(finished, tmp_path, session):
    job = copy_of(finished, tmp_path)
    index = job.job_dir / "frames" / "frames.json"
    data = json.loads(index.read_text())
    data["valid"] = [[job.num_frames - 5, job.num_frames]]
    index.write_text(json.dumps(data))
    events = run(job, session)
    assert sampled(events) == set() and notices(events)
    assert [e.section for e in events if isinstance(e, ev.SectionDecoded)] == [2, 1, 0]
    assert np.array_equal(frames_of(job), finished[1])


def test_resume_rebuilds_a_missing_job_file_from_the_sections(finished, tmp_path, capsys):
    job = copy_of(finished, tmp_path)
    (job.job_dir / "job.json").unlink()
    assert main(["resume", str(job.job_dir)]) == 0
    err = capsys.readouterr().err
    assert "note: The job file" in err and "was missing" in err
    assert "3 already done" in err
    assert load_job(job.job_dir) == job


def test_a_folder_with_nothing_usable_is_reported(tmp_path, capsys):
    (tmp_path / "empty.job").mkdir()
    assert main(["resume", str(tmp_path / "empty.job")]) == 1
    assert "no readable job.json and no saved sections" in capsys.readouterr().err


def test_one_job_folder_runs_in_one_process_at_a_time(finished, tmp_path, session):
    job = copy_of(finished, tmp_path)
    holder = JobFolder(job)
    with pytest.raises(JobBusy, match="already running"):
        JobFolder(job)
    events = run(job, session)
    assert isinstance(events[-1], ev.Failed) and "already running" in events[-1].message
    holder.close()
    JobFolder(job).close()


# ----- unfinished jobs -----
def test_find_unfinished_jobs_offers_interrupted_stopped_and_failed_jobs_only(finished, tmp_path):
    done, _ = finished
    shutil.copytree(done.job_dir, tmp_path / "done.job", ignore=shutil.ignore_patterns(".lock"))
    shutil.copy(done.output, tmp_path / "done.mp4")
    crashed = copy_of(finished, tmp_path, "crashed")
    (crashed.job_dir / "state.json").write_text(json.dumps({"state": "running"}))
    stopped = copy_of(finished, tmp_path / "sub", "stopped")
    folder = JobFolder(stopped)
    folder.set_state("stopped")
    folder.close()
    half = copy_of(finished, tmp_path, "half")
    for path in sorted((half.job_dir / "sections").glob("*.safetensors"))[:2]:
        path.unlink()
    busy = copy_of(finished, tmp_path, "busy")
    holder = JobFolder(busy)

    found = {u.job_dir.name: u for u in find_unfinished_jobs(tmp_path)}
    holder.close()
    assert set(found) == {"crashed.job", "stopped.job", "half.job"}
    assert found["crashed.job"].state == "interrupted" and found["stopped.job"].state == "stopped"
    assert (found["half.job"].finished_sections, found["half.job"].num_sections) == (1, 3)
    assert found["crashed.job"].job == crashed


# ----- takes -----
def test_every_take_is_kept_and_switching_back_reuses_the_old_chain(finished, tmp_path, session):
    job = copy_of(finished, tmp_path)
    first = list_takes(job.job_dir)
    assert {s: len(t) for s, t in first.items()} == {0: 1, 1: 1, 2: 1}
    assert all(t[0].active and t[0].seed == job.seed and t[0].prompt == "a fox runs" for t in first.values())

    redo = job.replace(section_seeds={1: 99}, section_prompts={1: "a fox flies"})
    events = run(redo, session)
    assert sampled(events) == {1, 0}  # section 1 and the one sampled after it
    takes = list_takes(redo.job_dir)
    assert {s: len(t) for s, t in takes.items()} == {0: 2, 1: 2, 2: 1}
    new = next(t for t in takes[1] if t.active)
    assert (new.seed, new.prompt) == (99, "a fox flies") and new.created > takes[1][0].created
    assert takes[0][1].active and not takes[0][0].active

    old = next(t for t in takes[1] if not t.active)
    made_on_redo = next(t for t in takes[0] if t.active)
    back = job_with_take(redo, old)
    assert back == job  # no overrides left: the original take of every section
    events = run(back, session)
    assert isinstance(events[-1], ev.Finished) and sampled(events) == set()
    assert np.array_equal(frames_of(back), finished[1])
    assert [t.active for t in list_takes(job.job_dir)[1]] == [True, False]
    # Section 0's newer take was made on section 1's seed-99 take: choosing it brings that back too.
    assert job_with_take(back, made_on_redo) == redo


def test_cli_lists_the_takes_and_marks_the_active_ones(finished, tmp_path, session, capsys):
    job = copy_of(finished, tmp_path)
    run(job.replace(section_seeds={0: 7}), session)
    assert main(["takes", str(job.job_dir)]) == 0
    lines = capsys.readouterr().out.splitlines()
    section_1 = lines[lines.index("section 1:") + 1: lines.index("section 2:")]
    listed = [(ln.strip().startswith("*"), ln.split("seed")[1].split()[0]) for ln in section_1]
    assert listed == [(False, "31337"), (True, "7")]
    assert all(ln.rstrip().endswith("a fox runs") for ln in section_1)


def test_pruning_deletes_only_the_takes_the_video_does_not_use(finished, tmp_path, session, capsys):
    job = copy_of(finished, tmp_path)
    redo = job.replace(section_seeds={1: 99})
    run(redo, session)                                    # sections 1 and 0 get a second take
    assert {s: len(t) for s, t in list_takes(redo.job_dir).items()} == {0: 2, 1: 2, 2: 1}
    holder = JobFolder(redo)                              # a job running in the folder
    with pytest.raises(JobBusy, match="being generated"):
        prune_takes(redo.job_dir)
    holder.close()
    before = frames_of(redo)
    assert main(["takes", str(redo.job_dir), "--prune"]) == 0
    assert capsys.readouterr().out.startswith("deleted 2 takes the video does not use")
    kept = list_takes(redo.job_dir)
    assert {s: len(t) for s, t in kept.items()} == {0: 1, 1: 1, 2: 1} and all(t[0].active for t in kept.values())
    events = run(redo, session)                           # the video is still whole: nothing sampled
    assert isinstance(events[-1], ev.Finished) and sampled(events) == set()
    assert np.array_equal(frames_of(redo), before)
    assert prune_takes(redo.job_dir) == (0, 0)
