"""Saved sections are reused exactly when everything they depended on is unchanged."""
import torch
from PIL import Image

from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import JobFolder, job_fingerprint, section_fingerprints


def make_job(tmp_path, **kw):
    img = tmp_path / "in.png"
    if not img.exists():
        Image.new("RGB", (64, 48), (200, 10, 10)).save(img)
    return Job(image=str(img), prompt="a cat", output=str(tmp_path / "out.mp4"), seconds=6, **kw)


def test_redo_of_one_section_changes_it_and_those_sampled_after_it(tmp_path):
    job = make_job(tmp_path)
    orders = [4, 3, 2, 1, 0]
    prompts = ["a cat"] * 5
    base = section_fingerprints(job, orders, prompts)
    redo = section_fingerprints(job.replace(section_seeds={2: 7}), orders, prompts)
    assert [base[s] == redo[s] for s in orders] == [True, True, False, False, False]
    reprompt = section_fingerprints(job, orders, ["a cat", "a cat", "a cat", "a dog", "a cat"])
    assert [base[s] == reprompt[s] for s in orders] == [True, False, False, False, False]


def test_output_only_settings_keep_sections_but_generation_settings_do_not(tmp_path):
    job = make_job(tmp_path)
    orders, prompts = [0, 1], ["a cat"] * 2
    base = section_fingerprints(job, orders, prompts)
    assert section_fingerprints(job.replace(crf=30, device="cpu"), orders, prompts) == base
    assert section_fingerprints(job.replace(steps=10), orders, prompts)[0] != base[0]
    Image.new("RGB", (64, 48), (0, 10, 10)).save(job.image)  # same path, other pixels
    assert section_fingerprints(job, orders, prompts)[0] != base[0]


def test_speed_settings_keep_sections_but_fp8_compute_does_not(tmp_path):
    job = make_job(tmp_path)
    orders, prompts = [0, 1], ["a cat"] * 2
    base = section_fingerprints(job, orders, prompts)
    assert section_fingerprints(job.replace(compile=True, attention="flash"), orders, prompts) == base
    assert section_fingerprints(job.replace(fp8_compute=True), orders, prompts)[0] != base[0]


def test_fingerprints_of_jobs_saved_before_the_speed_settings_existed_are_unchanged(tmp_path):
    # The value this job had in version 0.1 (before compile/fp8_compute were Job fields): job
    # folders made then must keep their sections after an update.
    job = make_job(tmp_path)
    assert job_fingerprint(job) == "5af8511be7da21a8a0263a174d2dd5950badf004031894b966e5bbd58601bcbf"


def test_section_round_trip_and_damaged_files(tmp_path):
    folder = JobFolder(make_job(tmp_path))
    x = torch.randn(1, 4, 9, 2, 3)
    folder.save_section(3, x, "abc")
    assert torch.equal(folder.load_section(3, "abc"), x)
    assert folder.has_section(3, "abc") and not folder.has_section(3, "other")
    assert folder.load_section(3, "other") is None
    path = folder.sections.path(3, "abc")
    data = path.read_bytes()
    path.write_bytes(data[: len(data) // 2])
    assert folder.load_section(3, "abc") is None
    assert "damaged" in (folder.path / "log.txt").read_text() and folder.notes
    assert not path.exists() and path.with_name(path.name + ".damaged").exists()
    path.write_bytes(b"garbage")
    assert not folder.has_section(3, "abc") and not folder.check_section(3, "abc")
    folder.close()


def test_sections_saved_by_earlier_versions_are_still_found(tmp_path):
    """Before takes, a section was saved as sections/<time index>.safetensors; resume still uses it."""
    from safetensors.torch import save_file

    folder = JobFolder(make_job(tmp_path))
    x = torch.randn(1, 4, 9, 2, 3)
    save_file({"latents": x}, str(folder.sections.dir / "0002.safetensors"), metadata={"fingerprint": "old"})
    assert folder.has_section(2, "old") and torch.equal(folder.load_section(2, "old"), x)
    assert folder.load_section(2, "other") is None
    folder.close()


def test_job_json_written_by_an_earlier_version_loads(tmp_path):
    job = make_job(tmp_path)
    old = {k: v for k, v in job.to_dict().items() if k not in ("extend_from", "extend_frames")}
    assert Job.from_dict(old) == job
