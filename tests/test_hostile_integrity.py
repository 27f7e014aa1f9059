"""Integrity (issue 14): a damaged section or frame is found by its checksum and made again, never
reused; non-finite latents are never saved, and sampling that makes them stops with a message."""
import shutil
import threading

import numpy as np
import pytest
import torch
from safetensors.torch import load_file, save_file

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.errors import UserError
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import DamagedTake, JobFolder, SectionFiles
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.video.framestore import FrameStore


@pytest.fixture
def job(tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (160, 128), seed=7)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=1.2, window=3,
               resolution=128, steps=1, models="demo")


def flip_a_data_byte(path):
    """Change one byte of the tensor data (after the header): same size, readable header."""
    data = bytearray(path.read_bytes())
    header = int.from_bytes(data[:8], "little")
    data[8 + header + 5] ^= 0x5A
    path.write_bytes(bytes(data))


def test_a_section_with_a_flipped_byte_fails_its_checksum_and_is_set_aside(job):
    latents = torch.randn(1, 16, 3, 4, 5)
    folder = JobFolder(job)
    try:
        fp = folder.plan.prints[2]
        folder.save_section(2, latents, fp)
        path = SectionFiles(job.job_dir).find(2, fp)
        flip_a_data_byte(path)
        with pytest.raises(DamagedTake, match="checksum"):
            SectionFiles(job.job_dir).load(2, fp)
        assert folder.load_section(2, fp) is None
        assert any("section 3" in n and "damaged" in n for n in folder.notes)
        assert not path.exists() and path.with_name(path.name + ".damaged").exists()
    finally:
        folder.close()


def test_non_finite_latents_are_never_saved(job):
    folder = JobFolder(job)
    try:
        bad = torch.randn(1, 16, 3, 4, 5)
        bad[0, 3, 1, 2, 2] = float("nan")
        with pytest.raises(UserError, match="NaN"):
            folder.save_section(1, bad, folder.plan.prints[1])
        assert not list(SectionFiles(job.job_dir).dir.glob("*.safetensors"))
    finally:
        folder.close()


def test_a_take_that_holds_nan_is_damaged_even_without_a_checksum(job):
    """Files saved before checksums existed: NaN in them is still never reused."""
    fp = Plan.of(job).prints[0]
    files = SectionFiles(job.job_dir)
    files.dir.mkdir(parents=True)
    bad = torch.full((1, 16, 3, 4, 5), float("inf"))
    save_file({"latents": bad}, str(files.path(0, fp)), metadata={"fingerprint": fp, "section": "0"})
    with pytest.raises(DamagedTake, match="not finite"):
        files.load(0, fp)


def test_the_frame_store_finds_frames_whose_bytes_were_zeroed(tmp_path):
    store = FrameStore.create(tmp_path / "frames", 10, 4, 6)
    rng = np.random.default_rng(0)
    store.write(2, rng.integers(1, 255, (8, 4, 6, 3), dtype=np.uint8))
    store.close()
    frame_bytes = 4 * 6 * 3
    with open(tmp_path / "frames" / "frames.bin", "r+b") as f:
        f.seek(5 * frame_bytes + 3)
        f.write(bytes(frame_bytes))          # frame 5 zeroed, and the start of frame 6
    with FrameStore.open(tmp_path / "frames") as store:
        assert store.drop_damaged() == [5, 6]
        assert store.valid_ranges == ((2, 5), (7, 10))
    with FrameStore.open(tmp_path / "frames") as store:
        assert store.valid_ranges == ((2, 5), (7, 10)) and store.drop_damaged() == []


def poison(models_dir):
    """Make the original transformer's output projection NaN (a real, damaged weights file)."""
    path = next((models_dir / "lllyasviel" / "FramePackI2V_HY").glob("*.safetensors"))
    tensors = load_file(str(path))
    name = next(k for k in tensors if k.startswith("proj_out") and k.endswith("weight"))
    tensors[name] = torch.full_like(tensors[name], float("nan"))
    save_file(tensors, str(path), metadata={"format": "pt"})


@pytest.mark.slow
def test_sampling_that_makes_nan_stops_with_a_message_and_keeps_the_good_sections(job, demo_models, tmp_path,
                                                                                   one_torch_thread):
    models = tmp_path / "models"
    shutil.copytree(demo_models, models)
    job = job.replace(models=str(models), gs=31.0)
    cancel = threading.Event()
    for e in run_job(job, cancel):
        if isinstance(e, ev.SectionDecoded):
            cancel.set()
    plan = Plan.of(job)
    kept = SectionFiles(job.job_dir).load(2, plan.prints[2])
    assert kept is not None

    poison(models)
    events = list(run_job(job))
    failed = events[-1]
    assert isinstance(failed, ev.Failed), failed
    assert "NaN" in failed.message and "gs 31" in failed.message and "finished section" in failed.message
    assert not failed.detail           # a message, not a traceback
    files = SectionFiles(job.job_dir)
    assert torch.equal(files.load(2, plan.prints[2]), kept)
    assert [t.section for t in files.takes()] == [2]


@pytest.mark.slow
def test_zeroed_frames_are_decoded_again_from_the_latents_and_the_video_is_whole(job, demo_models, one_torch_thread):
    job = job.replace(models=str(demo_models))
    assert isinstance(list(run_job(job))[-1], ev.Finished)
    with FrameStore.open(job.job_dir / "frames") as store:
        reference = store.read_range(0, job.num_frames)
        frame_bytes = store.frame_bytes
    with open(job.job_dir / "frames" / "frames.bin", "r+b") as f:
        f.seek(4 * frame_bytes)
        f.write(bytes(2 * frame_bytes))
    (job.job_dir / "state.json").unlink()

    events = list(run_job(job.replace()))
    assert isinstance(events[-1], ev.Finished), events[-1]
    assert not any(isinstance(e, ev.StepProgress) for e in events)      # nothing sampled again
    assert any(isinstance(e, ev.Status) and e.notice and "checksum" in e.text for e in events)
    with FrameStore.open(job.job_dir / "frames") as store:
        assert np.array_equal(store.read_range(0, job.num_frames), reference)
