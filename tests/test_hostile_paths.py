"""Paths (issue 14): a job names its images by absolute path and pins their bytes (sha256); resume
finds them from any folder and says clearly when one is gone or was changed."""
import hashlib
import json
import shutil

import pytest

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfile import read_job
from framepack_desktop.engine.runner import run_job


def sha256(path):
    return hashlib.sha256(path.read_bytes()).hexdigest()


@pytest.fixture
def pinned(tmp_path, make_image, demo_models):
    """An unfinished job folder whose job pins its image's bytes."""
    image = make_image(tmp_path / "in.png", (160, 128), seed=1)
    job = Job(image=str(image), prompt="a fox", output=str(tmp_path / "out.mp4"), seconds=0.4, window=3,
              resolution=128, steps=1, models=str(demo_models), image_sha256=sha256(image))
    (job.job_dir / "sections").mkdir(parents=True)
    (job.job_dir / "job.json").write_text(job.to_json())
    return job


def last_error(capsys):
    return capsys.readouterr().err.strip().splitlines()[-1]


def test_resume_says_when_the_image_was_changed(pinned, make_image, capsys):
    make_image(pinned.image, (160, 128), seed=99)           # another picture under the same name
    assert main(["resume", str(pinned.job_dir)]) == 1
    err = last_error(capsys)
    assert err.startswith("error:") and "changed" in err and "--image" in err and pinned.image in err
    assert json.loads((pinned.job_dir / "job.json").read_text())["image_sha256"] == pinned.image_sha256


def test_resume_says_when_the_image_is_gone(pinned, capsys):
    image = pinned.image
    shutil.move(image, image + ".moved")
    assert main(["resume", str(pinned.job_dir)]) == 1
    err = last_error(capsys)
    assert "is gone" in err and "--image" in err and image in err


def test_the_runner_refuses_a_changed_image_before_anything_is_written(pinned, make_image):
    make_image(pinned.image, (160, 128), seed=98)
    events = list(run_job(pinned))
    assert isinstance(events[-1], ev.Failed) and "changed" in events[-1].message
    assert sorted(p.name for p in pinned.job_dir.iterdir()) == ["job.json", "sections"]


def test_a_job_files_relative_images_are_read_beside_it_not_in_the_current_folder(tmp_path, monkeypatch):
    other = tmp_path / "elsewhere"
    other.mkdir()
    monkeypatch.chdir(other)
    (tmp_path / "job.json").write_text(Job(image="img/base.png", prompt="x", output="x.mp4").to_json())
    assert read_job(tmp_path / "job.json").image == str(tmp_path / "img" / "base.png")


@pytest.mark.slow
def test_a_job_stores_absolute_paths_and_resumes_from_any_folder(tmp_path, make_image, demo_models, monkeypatch,
                                                                 one_torch_thread):
    project = tmp_path / "project"
    (project / "img").mkdir(parents=True)
    make_image(project / "img" / "base.png", (160, 128), seed=4)
    monkeypatch.chdir(project)
    assert main(["render", "--image", "img/base.png", "--prompt", "a fox", "--out", "out.mp4",
                 "--models", str(demo_models), "--seconds", "0.4", "--window", "3", "--resolution", "128",
                 "--steps", "1"]) == 0
    stored = json.loads((project / "out.job" / "job.json").read_text())
    assert stored["image"] == str(project / "img" / "base.png") and stored["output"] == str(project / "out.mp4")
    assert stored["image_sha256"] == sha256(project / "img" / "base.png")

    # from another folder, where img/base.png names a different picture, the job still means its own
    (project / "out.mp4").unlink()
    elsewhere = tmp_path / "elsewhere"
    (elsewhere / "img").mkdir(parents=True)
    make_image(elsewhere / "img" / "base.png", (160, 128), seed=5)
    monkeypatch.chdir(elsewhere)
    log = project / "out.job" / "log.txt"
    sampled_before = log.read_text().count("sampling")
    assert main(["resume", str(project / "out.job")]) == 0
    assert log.read_text().count("sampling") == sampled_before        # every section was reused

    # the image moved: the same picture, chosen where it is now, keeps every section
    moved = tmp_path / "moved.png"
    shutil.move(project / "img" / "base.png", moved)
    (project / "out.mp4").unlink()
    assert main(["resume", str(project / "out.job"), "--image", str(moved)]) == 0
    assert log.read_text().count("sampling") == sampled_before
