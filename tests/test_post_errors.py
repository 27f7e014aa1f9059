"""Bad input, wrong model files, cancel and overwrite: one clear line, nothing partial left behind."""
import threading

import pytest
from post_clips import decode, moving_square

from framepack_desktop.app import main
from framepack_desktop.engine.errors import BadSettings, JobCancelled
from framepack_desktop.engine.post import PostPlan, run_post
from framepack_desktop.engine.post.demo import write_post_models
from framepack_desktop.engine.post.weights import BadModelFile, default_rife, default_upscaler


@pytest.fixture(scope="module")
def post_models(tmp_path_factory):
    folder = tmp_path_factory.mktemp("post-models")
    write_post_models(folder)
    return folder


def one_line_error(capsys, argv) -> str:
    assert main(argv) == 1
    err = capsys.readouterr().err.strip()
    assert err.startswith("error: ") and "\n" not in err and "Traceback" not in err
    return err


def test_broken_input_is_one_line(tmp_path, capsys):
    (tmp_path / "broken.mp4").write_bytes(b"not a video at all" * 10)
    err = one_line_error(capsys, ["post", str(tmp_path / "broken.mp4"), "--out", str(tmp_path / "o.mp4")])
    assert "broken.mp4" in err
    assert not (tmp_path / "o.mp4").exists()


def test_missing_input_is_one_line(tmp_path, capsys):
    assert "does not exist" in one_line_error(capsys, ["post", str(tmp_path / "nope.mp4"), "--out", str(tmp_path / "o.mp4")])


def test_an_upscaler_given_as_interpolator_is_named(tmp_path, capsys, post_models):
    src = moving_square(tmp_path / "in.mp4", n=3)
    err = one_line_error(capsys, ["post", str(src), "--out", str(tmp_path / "o.mp4"), "--interpolate", "2",
                                  "--interpolator", str(default_upscaler(post_models, 2))])
    assert "is not a RIFE v4 interpolation model" in err


def test_an_interpolator_given_as_upscaler_is_named(tmp_path, capsys, post_models):
    src = moving_square(tmp_path / "in.mp4", n=3)
    err = one_line_error(capsys, ["post", str(src), "--out", str(tmp_path / "o.mp4"), "--upscale", "2",
                                  "--upscaler", str(default_rife(post_models))])
    assert "is not an ESRGAN-family upscaler" in err


@pytest.mark.parametrize("content", [b"junk" * 100, None])
def test_junk_or_cut_off_model_files(tmp_path, post_models, content):
    bad = tmp_path / "model.pth"
    bad.write_bytes(content if content is not None else default_rife(post_models).read_bytes()[:4000])
    with pytest.raises(BadModelFile, match="model.pth") as e:
        run_post(moving_square(tmp_path / "in.mp4", n=3), tmp_path / "o.mp4", PostPlan(interpolate=2, interpolator=str(bad)))
    assert "\n" not in str(e.value)


def test_rife_missing_from_the_models_folder_says_where_to_put_it(tmp_path):
    with pytest.raises(BadSettings, match="flownet.pkl"):
        run_post(moving_square(tmp_path / "in.mp4", n=3), tmp_path / "o.mp4",
                 PostPlan(interpolate=2, interpolator="rife"), models_dir=tmp_path / "empty")


def test_cancel_leaves_no_partial_file(tmp_path):
    src = moving_square(tmp_path / "in.mp4", n=8)
    cancel = threading.Event()
    seen = []

    def progress(p):
        seen.append(p.done)
        if p.done == 5:
            cancel.set()

    for fmt, name in (("mp4", "o.mp4"), ("png", "frames"), ("gif", "o.gif")):
        with pytest.raises(JobCancelled):
            run_post(src, tmp_path / name, PostPlan(interpolate=2, loop="pingpong", format=fmt), cancel=cancel,
                     progress=progress)
        cancel.clear()
    assert 5 in seen
    assert sorted(p.name for p in tmp_path.iterdir()) == ["in.mp4"]


def test_never_in_place_and_never_over_an_existing_file(tmp_path, capsys):
    src = moving_square(tmp_path / "in.mp4", n=3)
    before = src.read_bytes()
    assert "replace its source" in one_line_error(capsys, ["post", str(src), "--out", str(src), "--overwrite"])
    (tmp_path / "taken.mp4").write_bytes(b"keep me")
    assert "already exists" in one_line_error(capsys, ["post", str(src), "--out", str(tmp_path / "taken.mp4")])
    assert (tmp_path / "taken.mp4").read_bytes() == b"keep me" and src.read_bytes() == before
    assert main(["post", str(src), "--out", str(tmp_path / "taken.mp4"), "--overwrite", "--loop", "pingpong"]) == 0
    assert (tmp_path / "taken.mp4").read_bytes() != b"keep me"


@pytest.mark.slow
def test_cli_runs_every_step_on_the_demo_files(tmp_path, capsys, post_models):
    src = moving_square(tmp_path / "in.mp4", n=4)
    argv = ["post", str(src), "--out", str(tmp_path / "o.webm"), "--trim", "0:3f", "--loop", "crossfade",
            "--upscale", "2", "--upscaler", str(default_upscaler(post_models, 2)), "--interpolate", "2",
            "--interpolator", "rife", "--models", str(post_models), "--format", "webm"]
    assert main(argv) == 0
    assert "wrote" in capsys.readouterr().err
    frames = decode(tmp_path / "o.webm")   # 3 kept, 1 dissolved into the start, x2 in time
    assert len(frames) == 3 and frames[0].shape == (192, 320, 3)
