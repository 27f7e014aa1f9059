"""Keyframes (original model, eichi's method): which sections each anchors, where its latent goes,
and what a moved keyframe samples again."""
import threading

import numpy as np
import pytest
import torch
from PIL import Image

from framepack_desktop.engine import events as ev
from framepack_desktop.engine.conditioning import encode_latent
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.images import fit_to_bucket, load_image, to_model_tensor
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import SectionFiles
from framepack_desktop.engine.plan import Plan
from framepack_desktop.engine.runner import _JobRun, run_job
from framepack_desktop.engine.session import ModelSession


@pytest.fixture
def pictures(tmp_path):
    rng = np.random.default_rng(3)
    for name in ("start", "a", "b"):
        Image.fromarray(rng.integers(0, 255, (96, 128, 3), dtype=np.uint8)).save(tmp_path / f"{name}.png")
    return tmp_path


def job_with(folder, keyframes, demo_models="demo", name="k"):
    # window 3: a section is 12 frames, 0.4 s; 2 s make 5 sections, sampled from the end (4, 3, 2, 1, 0)
    return Job(image=str(folder / "start.png"), prompt="a walk", output=str(folder / f"{name}.mp4"), seconds=2,
               window=3, resolution=128, steps=2, models=str(demo_models),
               keyframes={t: str(folder / f"{image}.png") for t, image in keyframes.items()})


def test_a_keyframe_anchors_its_section_and_the_later_ones_up_to_the_next(pictures):
    plan = Plan.of(job_with(pictures, {0.9: "a", 1.7: "b"}))
    a, b = str(pictures / "a.png"), str(pictures / "b.png")
    assert [s.anchor for s in plan.sections] == [None, None, a, a, b]
    assert [s.anchor for s in Plan.of(job_with(pictures, {1.7: "b", 0.0: "a"})).sections] == [a, a, a, a, b]


def test_a_moved_keyframe_changes_the_fingerprints_from_the_first_section_it_affects_in_sampling_order(pictures):
    before = Plan.of(job_with(pictures, {0.9: "a", 1.7: "b"}))
    after = Plan.of(job_with(pictures, {0.9: "a", 1.3: "b"}))   # b moves from section 4 to 3
    # Section 4 (sampled first) keeps its anchor b; section 3 changes from a to b; sections 2..0
    # are sampled after it, on its latents: their links change too.
    assert after.prints[4] == before.prints[4]
    assert all(after.prints[s] != before.prints[s] for s in (3, 2, 1, 0))
    moved_early = Plan.of(job_with(pictures, {0.5: "a", 1.7: "b"}))  # a moves from section 2 to 1
    assert [moved_early.prints[s] == before.prints[s] for s in range(5)] == [False, False, True, True, True]


def test_keyframes_are_checked(pictures):
    with pytest.raises(BadSettings, match="original model"):
        job_with(pictures, {1.0: "a"}).replace(variant="f1").validate()
    with pytest.raises(BadSettings, match="outside"):
        job_with(pictures, {2.5: "a"}).validate()
    assert Job.from_json(job_with(pictures, {0.9: "a"}).to_json()).keyframes == {0.9: str(pictures / "a.png")}


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_keyframe_latents_land_in_the_anchor_slot_and_a_moved_one_resamples_only_what_it_affects(
        pictures, demo_models):
    session = ModelSession()
    job = job_with(pictures, {0.9: "a", 1.7: "b"}, demo_models)
    run = _JobRun(job, threading.Event(), session)
    try:
        run.check_inputs()
        for stage in (run.announce, run.encode_prompts, run.encode_images):
            list(stage())
        history = run.seed.history(run.variant, run.cond.start_latent, run.vae)

        def latent(name):
            return encode_latent(run.vae, to_model_tensor(fit_to_bucket(load_image(pictures / name), run.height, run.width)))

        expected = {0: latent("start.png"), 1: latent("start.png"), 2: latent("a.png"), 3: latent("a.png"), 4: latent("b.png")}
        for section in run.plan.sections:
            slot = run.section_inputs(section, history, 0).context.latents_clean[:, :, :1]
            assert torch.equal(slot, expected[section.section]), section.section
    finally:
        run.close()

    assert isinstance(list(run_job(job, session=session))[-1], ev.Finished)
    first = {s: SectionFiles(job.job_dir).load(s, Plan.of(job).prints[s]) for s in range(5)}
    moved = job.replace(keyframes={0.9: str(pictures / "a.png"), 1.3: str(pictures / "b.png")})
    events = list(run_job(moved, session=session))
    assert isinstance(events[-1], ev.Finished) and events[0].resumed_sections == (4,)
    again = {s: SectionFiles(job.job_dir).load(s, Plan.of(moved).prints[s]) for s in range(5)}
    assert torch.equal(again[4], first[4])
    assert not torch.equal(again[3], first[3])  # anchored by b now
