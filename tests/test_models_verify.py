"""`models verify` and `models list`: every kind of damage is found and the file is named."""
import argparse
import hashlib
import json
import re
import shutil

import pytest
import torch
from safetensors.torch import save_file

from framepack_desktop.cli_models import EXIT_FAILED, EXIT_OK, add_models_commands, run_models_command
from framepack_desktop.engine.models import loader
from framepack_desktop.engine.models.download import RECORD, git_blob_oid
from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR, component_dir
from framepack_desktop.engine.models.verify import verify_models

WEIGHTS = "diffusion_pytorch_model.safetensors"


pytestmark = pytest.mark.usefixtures("one_torch_thread")


@pytest.fixture(autouse=True)
def isolated(tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path / "app"))


@pytest.fixture
def models(demo_models, tmp_path):
    return shutil.copytree(demo_models, tmp_path / "models")


def details(problems):
    return [p.detail for p in problems]


def cli(*argv):
    parser = argparse.ArgumentParser()
    add_models_commands(parser.add_subparsers(dest="command"))
    return run_models_command(parser.parse_args(["models", *argv]))


def test_a_complete_set_has_no_problems(models, capsys):
    assert verify_models(models) == []
    assert cli("verify", "--models", str(models)) == EXIT_OK
    assert "are complete" in capsys.readouterr().out


def test_missing_files_are_named(models):
    config = component_dir(models, "image_encoder") / "config.json"
    config.unlink()
    (problem,) = verify_models(models)
    assert problem.component == "image_encoder" and problem.path == config and "is missing" in problem.detail


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda b: b[:-1000], "is cut off: it has"),
        (lambda b: b + b"\0" * 10, "is longer than its header says"),
        (lambda b: b"<html>502</html>", "is not a safetensors file or is cut off"),
        (lambda b: b[:5], "too short to be a safetensors file"),
    ],
    ids=["truncated", "trailing-bytes", "error-page", "stub"],
)
def test_damaged_weights_are_named(models, damage, words, capsys):
    path = component_dir(models, "transformer", "f1") / WEIGHTS
    path.write_bytes(damage(path.read_bytes()))
    (problem,) = verify_models(models)
    assert problem.component == "transformer (f1)" and str(path) in problem.detail and words in problem.detail
    assert verify_models(models, ("original",)) == []  # the other variant does not need it
    assert cli("verify", "--models", str(models)) == EXIT_FAILED
    out = capsys.readouterr()
    assert str(path) in out.out and "1 problem in" in out.err


def test_damaged_json_is_named(models):
    config = component_dir(models, "vae") / "config.json"
    config.write_text('{"latent_channels": ')
    (problem,) = verify_models(models)
    assert problem.detail.startswith(f"{config} is damaged: not valid JSON (Expecting value")


def test_an_index_and_its_shards_must_agree(models):
    folder = component_dir(models, "vae")
    (folder / WEIGHTS).rename(folder / "diffusion_pytorch_model-00001-of-00001.safetensors")
    index = {"weight_map": {"decoder.conv_out.conv.weight": "diffusion_pytorch_model-00001-of-00001.safetensors",
                            "decoder.extra.weight": "diffusion_pytorch_model-00001-of-00001.safetensors"}}
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    (problem,) = verify_models(models)
    assert "lacks 1 tensors its index lists (first: decoder.extra.weight)" in problem.detail


def test_downloaded_files_are_checked_against_their_record(models, capsys):
    folder = models / "hunyuanvideo-community/HunyuanVideo"
    path = folder / "text_encoder_2" / "model.safetensors"
    config = folder / "vae" / "config.json"
    record = {"repo": "x", "commit": "c", "files": {
        "text_encoder_2/model.safetensors": {"size": path.stat().st_size, "git_oid": None,
                                             "sha256": hashlib.sha256(path.read_bytes()).hexdigest()},
        "vae/config.json": {"size": config.stat().st_size, "sha256": None, "git_oid": git_blob_oid(config)},
    }}
    (folder / RECORD).write_text(json.dumps(record))
    assert verify_models(models, hashes=True) == []
    data = bytearray(path.read_bytes())
    data[-1] ^= 0xFF  # same size, intact header: only the checksum can tell
    path.write_bytes(bytes(data))
    config.write_text(config.read_text().replace("0.476986", "0.476987"))
    assert verify_models(models) == []
    found = details(verify_models(models, hashes=True))
    assert f"{path} does not match its SHA-256 checksum: it changed or was damaged since the download" in found
    assert f"{config} does not match its checksum: it changed or was damaged since the download" in found
    assert cli("verify", "--models", str(models), "--hashes") == EXIT_FAILED
    path.write_bytes(bytes(data[:-1]))
    assert any("bytes; the download was" in d or "cut off" in d for d in details(verify_models(models)))


def test_single_file_checkpoints_and_saved_forms_are_checked(models, tmp_path):
    with torch.no_grad():
        model = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8",
                                        prepared_root=models / "prepared")
    shard = next((models / "prepared").rglob("*.safetensors"))
    del model
    shard.write_bytes(shard.read_bytes()[:-4])
    single = models / CHECKPOINTS_DIR / "original" / "mine.safetensors"
    single.parent.mkdir(parents=True)
    save_file({"a": torch.zeros(4)}, str(single))
    single.write_bytes(single.read_bytes()[:-2])
    problems = verify_models(models, ("original",))
    assert {p.component for p in problems} == {"transformer (original)", "saved form transformer-original-fp8"}
    assert any(str(single) in p.detail for p in problems)
    assert any(str(shard) in p.detail and "made again on the next load" in p.detail for p in problems)


def test_list_shows_present_and_missing_with_sizes(models, tmp_path, capsys):
    assert cli("list", "--models", str(models)) == EXIT_OK
    out = capsys.readouterr().out
    assert "(demo set: tiny random weights" in out and "Everything is here." in out
    assert re.findall(r" (present|missing|partial) ", out) == ["present"] * 9
    assert cli("list", "--models", str(tmp_path / "empty"), "--variant", "f1") == EXIT_OK
    out = capsys.readouterr().out
    assert "transformer        f1        missing" in out and "(25.7 GB)" in out
    assert "About 42.3 GB to download: framepack-desktop models download --variant f1" in out


def test_the_default_folder_is_the_settings_choice_else_the_apps(tmp_path, monkeypatch):
    from framepack_desktop.settings import models_folder
    from framepack_desktop.engine.models.loader import demo_models_dir
    from framepack_desktop.settings import AppPaths, Settings, save_settings

    paths = AppPaths.default()
    assert models_folder(None) == paths.models_dir == tmp_path / "app" / "models"
    save_settings(paths, Settings(models_dir=str(tmp_path / "mine")))
    assert models_folder(None) == tmp_path / "mine"
    assert models_folder("demo") == demo_models_dir()
    assert models_folder(str(tmp_path / "given")) == tmp_path / "given"


def test_download_errors_are_one_line_and_exit_1(tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    assert cli("download", "--models", str(tmp_path / "m")) == EXIT_FAILED
    err = capsys.readouterr().err
    assert err.startswith("error: Downloads are switched off") and err.count("\n") == 1
