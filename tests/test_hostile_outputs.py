"""Outputs (issue 14): nothing is overwritten unless the user says so, a job read from a file never
chooses where to write, and input and output are never the same file."""
import os

import numpy as np
import pytest

from framepack_desktop.app import main
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.paths import AppPaths
from framepack_desktop.engine.video.mp4 import read_job_metadata, write_mp4


@pytest.fixture
def job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (160, 128), seed=5)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.4, window=3,
               resolution=128, steps=1, models=str(demo_models))


def render_args(job, *extra):
    return ["render", "--image", job.image, "--prompt", job.prompt, "--out", job.output, "--models", job.models,
            "--seconds", "0.4", "--window", "3", "--resolution", "128", "--steps", "1", *extra]


def last_error(capsys):
    return capsys.readouterr().err.strip().splitlines()[-1]


def shared_video(path, embedded: Job):
    """A video someone else made, whose metadata names `embedded.output` as its output."""
    frames = [np.full((64, 64, 3), 90, np.uint8)] * 3
    write_mp4(path, frames, 64, 64, fps=30, crf=30, metadata=embedded.to_json())
    return path


def test_an_existing_output_is_refused_without_overwrite(job, tmp_path, capsys):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"precious")
    assert main(render_args(job)) == 1
    err = last_error(capsys)
    assert err.startswith("error:") and "already exists" in err and "--overwrite" in err
    assert out.read_bytes() == b"precious"
    assert not (tmp_path / "out.job").exists()


def test_an_existing_json_beside_the_output_is_refused_too(job, tmp_path, capsys):
    beside = tmp_path / "out.json"
    beside.write_text('{"name": "my package"}')
    assert main(render_args(job)) == 1
    assert "out.json" in last_error(capsys)
    assert beside.read_text() == '{"name": "my package"}'


def test_the_output_can_never_be_the_input_image(job, tmp_path, capsys):
    image = tmp_path / "in.mp4"
    os.replace(job.image, image)
    before = image.read_bytes()
    args = render_args(job.replace(image=str(image), output=str(image)), "--overwrite")
    assert main(args) == 1
    assert "is also an input" in last_error(capsys)
    assert image.read_bytes() == before


def test_an_output_that_is_a_folder_is_named(job, tmp_path, capsys):
    folder = tmp_path / "videos.mp4"
    folder.mkdir()
    assert main(render_args(job.replace(output=str(folder)))) == 1
    err = last_error(capsys)
    assert "is a folder" in err and err.startswith("error:")


def test_from_a_video_and_its_own_output_is_refused(job, tmp_path, capsys):
    video = shared_video(tmp_path / "shared.mp4", job)
    before = video.read_bytes()
    assert main(["render", "--from", str(video), "--out", str(video), "--overwrite"]) == 1
    assert "is also an input" in last_error(capsys)
    assert video.read_bytes() == before


def test_a_refused_image_leaves_an_unfinished_job_untouched_and_no_new_folder(job, tmp_path, capsys):
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    assert main(render_args(job.replace(image=str(bad), output=str(tmp_path / "fresh.mp4")))) == 1
    assert "bad.png" in last_error(capsys)
    assert not (tmp_path / "fresh.job").exists()


@pytest.mark.slow
def test_from_a_shared_video_never_writes_where_its_metadata_says(job, tmp_path, capsys, monkeypatch,
                                                                 one_torch_thread):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path / "home"))
    victim_dir = tmp_path / "victim"
    victim_dir.mkdir()
    important = victim_dir / "important.mp4"
    important.write_bytes(b"holiday")
    (victim_dir / "important.json").write_text("notes")
    (tmp_path / "downloads").mkdir()
    shared = shared_video(tmp_path / "downloads" / "shared.mp4", job.replace(output=str(important)))
    monkeypatch.chdir(tmp_path)

    assert main(["render", "--from", str(shared)]) == 0
    assert important.read_bytes() == b"holiday" and (victim_dir / "important.json").read_text() == "notes"
    assert not (victim_dir / "important.job").exists()
    made = AppPaths.default().outputs_dir / "shared.mp4"
    assert Job.from_json(read_job_metadata(made)).output == str(made)
    assert str(made) in capsys.readouterr().err

    # a second render from the same video takes a fresh name, never the first one's
    assert main(["render", "--from", str(shared)]) == 0
    assert (AppPaths.default().outputs_dir / "shared-2.mp4").exists()


@pytest.mark.slow
def test_a_relative_output_in_a_job_json_is_ignored(job, tmp_path, monkeypatch, one_torch_thread):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path / "home"))
    project = tmp_path / "project"
    project.mkdir()
    (project / "package.json").write_text("{}")
    job_json = tmp_path / "job.json"
    job_json.write_text(job.replace(output="package.mp4").to_json())
    monkeypatch.chdir(project)
    assert main(["render", "--from", str(job_json)]) == 0
    assert (project / "package.json").read_text() == "{}" and not (project / "package.mp4").exists()
    assert (tmp_path / "home" / "outputs" / "job.mp4").exists()


@pytest.mark.slow
def test_overwrite_replaces_an_existing_output(job, tmp_path, one_torch_thread):
    out = tmp_path / "out.mp4"
    out.write_bytes(b"old")
    assert main(render_args(job, "--overwrite")) == 0
    assert read_job_metadata(out) is not None


def test_a_failed_render_never_rewrites_the_unfinished_job_at_its_output(job, tmp_path, capsys):
    (job.job_dir / "sections").mkdir(parents=True)
    (job.job_dir / "job.json").write_text(job.to_json())
    before = (job.job_dir / "job.json").read_text()
    bad = tmp_path / "bad.png"
    bad.write_text("not a picture")
    other = job.replace(image=str(bad), prompt="another")
    assert main(render_args(other)) == 1
    err = last_error(capsys)
    assert "another job's work" in err and "framepack-desktop resume" in err
    assert main(render_args(other, "--overwrite")) == 1          # told to: still the image is refused first
    assert "bad.png" in last_error(capsys)
    assert (job.job_dir / "job.json").read_text() == before
    assert sorted(p.name for p in job.job_dir.iterdir()) == ["job.json", "sections"]
