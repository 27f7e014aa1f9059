"""The fingerprint follows from the Job's field declarations, and existing job folders keep theirs."""
import dataclasses

import pytest
from PIL import Image

from framepack_desktop.engine.fingerprint import unclassified_fields
from framepack_desktop.engine.job import FRAMES, LATENTS, NEITHER, Job
from framepack_desktop.engine.plan import Plan


def images(tmp_path):
    img, end = tmp_path / "in.png", tmp_path / "end.png"
    Image.new("RGB", (64, 48), (200, 10, 10)).save(img)
    Image.new("RGB", (64, 48), (10, 200, 10)).save(end)
    return str(img), str(end)


def test_every_job_field_says_what_changing_it_changes():
    """A new Job field (a LoRA, a keyframe) must declare whether it changes the latents: one that
    does not would be silently reused from stale sections."""
    assert unclassified_fields(Job) == []


def test_an_undeclared_field_is_caught():
    with_new = dataclasses.make_dataclass("WithLora", [("lora", str, dataclasses.field(default=""))], bases=(Job,),
                                          frozen=True)
    assert unclassified_fields(with_new) == ["lora"]


def changed(value):
    if value is None:  # an optional number left to its default
        return 0.5
    if isinstance(value, bool):
        return not value
    if isinstance(value, (int, float)):
        return value + 1
    if isinstance(value, str):
        return value + "x"
    pytest.fail(f"no changed value for {value!r}")


@pytest.mark.parametrize("field", [f for f in dataclasses.fields(Job)
                                   if f.metadata["changes"] in (FRAMES, NEITHER)
                                   or f.metadata["digest"] in ("value", "if_changed")],
                         ids=lambda f: f.name)
def test_a_field_changes_the_fingerprint_exactly_when_it_says_it_changes_the_latents(tmp_path, field):
    img, _ = images(tmp_path)
    job = Job(image=img, prompt="a cat", output=str(tmp_path / "o.mp4"), seconds=2)
    other = job.replace(**{field.name: changed(getattr(job, field.name))})
    same = Plan(other, Plan.of(job).prompts).prints == Plan.of(job).prints
    assert same == (field.metadata["changes"] != LATENTS)


# Computed by the hand-kept field list this replaced (commit 22a1d4b): root and last-sampled
# fingerprint (it chains every section) of an original job with an end image and overrides, an F1
# job with fp8 compute, and an extension of that F1 job. Job folders made before must keep them.
GOLDEN = {
    "original": ("c7dc3a6ccb058da3051c34ce5c2e92963225a17e56a23caaf1a527de24257f9a",
                 "60bb63b26f7a003838118be8376d23ed6c5fcd25f8df6d662713cd72020fcbce"),
    "f1": ("4cc2436558b88649c2a16a14611669d921ec7408ee253cb9dd46658b9b52584e",
           "f43f1749096863238e0f1a3056666945139a576417fa51f8e868d0672d154295"),
    "extension": ("5485682d48251c8ac2b6e69abae42c8659e6e7843bf9f1070e2953b043d5ba1e",
                  "2c9b82496f29af5ee8b75a35f283debee56146e56b5ec13d2bf4f22498ff344a"),
}


def test_fingerprints_of_existing_job_folders_are_unchanged(tmp_path):
    img, end = images(tmp_path)
    jobs = {
        "original": Job(image=img, prompt="a cat\n[2s] a dog", output=str(tmp_path / "a.mp4"), seconds=6, end_image=end,
                        section_seeds={1: 5}, section_prompts={3: "a bird"}),
        "f1": Job(image=img, prompt="a cat", output=str(tmp_path / "b.mp4"), seconds=4, variant="f1", fp8_compute=True,
                  steps=10),
    }
    old = jobs["f1"]
    old.job_dir.mkdir(parents=True)
    (old.job_dir / "job.json").write_text(old.to_json())
    jobs["extension"] = Job(image=img, prompt="runs", output=str(tmp_path / "c.mp4"), seconds=3, variant="f1",
                            extend_from=str(old.job_dir), extend_frames=old.num_frames)
    for name, job in jobs.items():
        plan = Plan.of(job)
        assert (plan.root, plan.last_print) == GOLDEN[name], name
