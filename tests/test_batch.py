"""Batches: a folder of images, a prompts file and N seeds become one job each, named so they sort."""
import pytest
from PIL import Image

from framepack_desktop.app import main
from framepack_desktop.engine.batch import batch_jobs, images_of, read_prompts
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.video.mp4 import probe


@pytest.fixture
def folder(tmp_path):
    images = tmp_path / "images"
    images.mkdir()
    for name, colour in (("cat", (200, 0, 0)), ("bird", (0, 200, 0)), ("ant", (0, 0, 200))):
        Image.new("RGB", (64, 48), colour).save(images / f"{name}.png")
    (images / "notes.txt").write_text("not an image")
    return images


def test_a_folder_batch_makes_one_job_per_image_named_so_they_sort(folder, tmp_path):
    base = Job(image="", prompt="moves", output=str(tmp_path / "out" / "clip.mp4"))
    jobs = batch_jobs(base, images_of([str(folder)]))
    assert [j.image for j in jobs] == [str(folder / f"{n}.png") for n in ("ant", "bird", "cat")]
    assert [j.output for j in jobs] == [str(tmp_path / "out" / f"clip-{k}-{n}.mp4")
                                        for k, n in ((1, "ant"), (2, "bird"), (3, "cat"))]
    assert len({j.job_dir for j in jobs}) == 3


def test_prompts_and_seeds_multiply(folder, tmp_path):
    (tmp_path / "prompts.txt").write_text("waves\n\n  jumps  \n")
    base = Job(image=str(folder / "cat.png"), prompt="", output=str(tmp_path / "v.mp4"), seed=7)
    jobs = batch_jobs(base, None, read_prompts(str(tmp_path / "prompts.txt")), seeds=6)
    assert len(jobs) == 12
    assert [(j.prompt, j.seed) for j in jobs[:7]] == [("waves", s) for s in range(7, 13)] + [("jumps", 7)]
    names = [j.output for j in jobs]
    assert names == sorted(names) and names[0].endswith("v-01.mp4") and names[-1].endswith("v-12.mp4")
    assert batch_jobs(base.replace(prompt="one"))[0] == base.replace(prompt="one")  # one job keeps its name


def test_bad_batches_are_refused_in_one_line(tmp_path, capsys):
    (tmp_path / "empty").mkdir()
    with pytest.raises(BadSettings, match="holds no images"):
        images_of([str(tmp_path / "empty")])
    (tmp_path / "blank.txt").write_text("\n \n")
    code = main(["render", "--image", str(tmp_path / "empty"), "--prompts", str(tmp_path / "blank.txt"),
                 "--out", str(tmp_path / "o.mp4")])
    err = capsys.readouterr().err
    assert code == 1 and "is empty" in err and err.count("\n") == 1


@pytest.mark.slow
@pytest.mark.usefixtures("one_torch_thread")
def test_the_cli_runs_a_folder_batch_one_job_after_another(folder, tmp_path, demo_models, capsys):
    (folder / "bird.png").unlink()
    code = main(["render", "--image", str(folder), "--prompt", "moves", "--seconds", "0.4", "--window", "3",
                 "--resolution", "128", "--steps", "2", "--models", str(demo_models), "--out", str(tmp_path / "b.mp4")])
    assert code == 0
    assert "job 2 of 2" in capsys.readouterr().err
    assert probe(tmp_path / "b-1-ant.mp4").frames == probe(tmp_path / "b-2-cat.mp4").frames == 13
