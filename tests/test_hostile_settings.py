"""Settings validation (issue 14): every number finite and in range, devices checked against what
torch can use, all before any model loads; one plain line each, no job folder left behind."""
import pytest

from framepack_desktop.app import main


@pytest.fixture
def base(tmp_path, make_image, demo_models):
    image = make_image(tmp_path / "in.png", (96, 64))
    return ["render", "--image", str(image), "--prompt", "a fox", "--out", str(tmp_path / "out.mp4"),
            "--models", str(demo_models), "--resolution", "128", "--steps", "1", "--seconds", "0.4"]


@pytest.mark.parametrize("args, words", [
    (["--gs", "nan"], "gs"),
    (["--gs", "inf"], "gs"),
    (["--gs", "500"], "gs"),
    (["--cfg", "nan"], "cfg"),
    (["--cfg", "1e30"], "cfg"),
    (["--rescale", "nan"], "rescale"),
    (["--rescale", "2"], "rescale"),
    (["--teacache", "nan"], "TeaCache"),
    (["--seed", str(2 ** 64)], "seed"),
    (["--seed", "-1"], "seed"),
    (["--keep-free-gb", "nan"], "keep free"),
    (["--keep-free-gb", "-3"], "keep free"),
    (["--seconds", "nan"], "length"),
    (["--device", "gpu"], "Unknown device 'gpu'"),
    (["--device", "cuda:x"], "Unknown device"),
])
def test_impossible_settings_are_one_plain_line_before_anything_loads(base, tmp_path, capsys, args, words):
    assert main([*base, *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith("error:") and words in err[-1], err
    assert "Traceback" not in "\n".join(err) and "Unexpected" not in "\n".join(err)
    assert not (tmp_path / "out.job").exists()


def test_cuda_where_torch_has_none_is_a_plain_message(base, tmp_path, capsys):
    import torch

    if torch.cuda.is_available():
        n = torch.cuda.device_count()
        args, words = ["--device", f"cuda:{n}"], f"{n} CUDA GPU"
    else:
        args, words = ["--device", "cuda"], "cannot be used"
    assert main([*base, *args]) == 1
    err = capsys.readouterr().err.strip().splitlines()[-1]
    assert err.startswith("error:") and words in err
    assert not (tmp_path / "out.job").exists()
