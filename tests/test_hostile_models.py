"""`models` commands and model files (issue 14): plain messages for odd folders, damaged files name
the fix, and a shard index never leads outside its folder."""
import json
import shutil

import pytest

from framepack_desktop.app import main


@pytest.fixture
def models(demo_models, tmp_path):
    copy = tmp_path / "models"
    shutil.copytree(demo_models, copy)
    return copy


def last_line(capsys):
    captured = capsys.readouterr()
    return (captured.out + captured.err).strip().splitlines()[-1]


def test_models_demo_onto_a_file_is_refused_and_the_file_untouched(tmp_path, capsys):
    target = tmp_path / "notes.txt"
    target.write_text("mine")
    assert main(["models", "demo", str(target)]) == 1
    err = last_line(capsys)
    assert err.startswith("error:") and "notes.txt" in err and "file" in err
    assert target.read_text() == "mine"


def test_models_demo_where_no_folder_can_be_made_is_a_plain_message(tmp_path, capsys):
    blocker = tmp_path / "blocker"
    blocker.write_text("x")
    assert main(["models", "demo", str(blocker / "demo")]) == 1
    err = last_line(capsys)
    assert err.startswith("error:") and "Traceback" not in err


def test_models_list_and_verify_of_a_folder_that_does_not_exist_say_so(tmp_path, capsys):
    assert main(["models", "list", "--models", str(tmp_path / "nowhere")]) == 0
    first = capsys.readouterr().out.splitlines()[0]
    assert "does not exist" in first and "nowhere" in first and "models download" in first
    assert main(["models", "verify", "--models", str(tmp_path / "nowhere")]) == 1
    err = last_line(capsys)
    assert err.startswith("error:") and "does not exist" in err


def test_verify_hashes_with_nothing_to_hash_against_does_not_say_complete(models, capsys):
    assert main(["models", "verify", "--models", str(models), "--hashes"]) == 1
    captured = capsys.readouterr()
    text = captured.out + captured.err
    assert "complete" not in text and "no checksums" in text.lower()


def test_a_truncated_model_file_names_models_verify(models, tmp_path, make_image, capsys):
    weights = next((models / "lllyasviel" / "FramePackI2V_HY").glob("*.safetensors"))
    weights.write_bytes(weights.read_bytes()[:-1000])
    image = make_image(tmp_path / "in.png", (64, 64))
    code = main(["render", "--image", str(image), "--prompt", "x", "--out", str(tmp_path / "o.mp4"),
                 "--models", str(models), "--resolution", "128", "--seconds", "0.4", "--steps", "1"])
    err = last_line(capsys)
    assert code == 1 and "models verify" in err and "Unexpected" not in err
    assert not (tmp_path / "o.job").exists()


def test_a_shard_index_naming_a_path_outside_its_folder_is_refused(models, tmp_path, make_image, capsys):
    folder = models / "lllyasviel" / "FramePackI2V_HY"
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(
        {"weight_map": {"x_embedder.proj.weight": "../../../../../../etc/passwd"}}))
    assert main(["models", "verify", "--models", str(models), "--variant", "original"]) == 1
    assert "outside" in capsys.readouterr().out
    image = make_image(tmp_path / "in.png", (64, 64))
    code = main(["render", "--image", str(image), "--prompt", "x", "--out", str(tmp_path / "o.mp4"),
                 "--models", str(models), "--resolution", "128", "--seconds", "0.4", "--steps", "1"])
    err = last_line(capsys)
    assert code == 1 and err.startswith("error:") and "outside" in err
