"""LoRA through whole jobs on the demo models: one session across sets, refusals before loading, the CLI."""
import json
import shutil

import numpy as np
import pytest

from framepack_desktop.app import main
from framepack_desktop.engine import events as ev
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.jobfolder import job_fingerprint
from framepack_desktop.engine.lora_ref import LoraRef, lora_ref
from framepack_desktop.engine.models.demo import TRANSFORMER_CONFIG
from framepack_desktop.engine.models.lora_demo import draw_lora, write_demo_loras, write_lora
from framepack_desktop.engine.models.lora_formats import DIFFUSERS
from framepack_desktop.engine.runner import run_job
from framepack_desktop.engine.session import ModelSession
from framepack_desktop.engine.video.mp4 import read_job_metadata

pytestmark = pytest.mark.usefixtures("one_torch_thread")
CONFIG = dict(TRANSFORMER_CONFIG)


@pytest.fixture
def loras(tmp_path):
    files = write_demo_loras(tmp_path / "loras", CONFIG)
    other = write_lora(tmp_path / "loras" / "other.safetensors", draw_lora(CONFIG, seed=7), CONFIG, DIFFUSERS)
    return files, other


@pytest.fixture
def job(demo_models, tmp_path, make_image):
    image = make_image(tmp_path / "in.png", (160, 128), seed=3)
    return Job(image=str(image), prompt="a fox", output=str(tmp_path / "a.mp4"), seconds=0.4, window=3,
               resolution=128, steps=2, teacache=0, models=str(demo_models))


def run(job, session):
    events = list(run_job(job, session=session))
    assert isinstance(events[-1], ev.Finished), events[-1]
    return events


def sampled_latents(job) -> list:
    from framepack_desktop.engine.jobfolder import JobFolder

    folder = JobFolder(job)
    try:
        return [folder.read_section(s) for s in range(job.num_sections)]
    finally:
        folder.close()


def test_switching_lora_sets_between_jobs_reuses_the_loaded_model(job, loras):
    files, other = loras
    session = ModelSession(prompt_cache_dir=None)
    plain = job
    styled = job.replace(output=job.output.replace("a.mp4", "b.mp4"), loras=(lora_ref(files[0], 0.8), lora_ref(other, -0.4)))
    zero = job.replace(output=job.output.replace("a.mp4", "c.mp4"), loras=(lora_ref(files[1], 0.0),))
    run(plain, session)
    events = run(styled, session)
    run(zero, session)
    assert session.transformer_loads == 1
    assert any(isinstance(e, ev.Status) and e.text.startswith("LoRA: demo-diffusers ×0.8, other ×-0.4") for e in events)
    base, with_lora, weight_zero = (sampled_latents(j)[0] for j in (plain, styled, zero))
    assert not np.array_equal(base.numpy(), with_lora.numpy())       # a visible effect on the demo's output
    assert np.array_equal(base.numpy(), weight_zero.numpy())          # weight 0: exactly no LoRA
    recorded = Job.from_json(read_job_metadata(styled.output))
    assert recorded.loras == styled.loras
    assert json.loads(open(styled.output.replace(".mp4", ".json")).read())["loras"][0]["weight"] == 0.8


def test_refused_or_missing_lora_stops_the_job_before_any_model_loads(job, tmp_path, loras):
    from safetensors.torch import save_file
    import torch

    flux = tmp_path / "flux-style.safetensors"
    save_file({"lora_unet_double_blocks_0_img_mod_lin.lora_down.weight": torch.zeros(4, 3072),
               "lora_unet_double_blocks_0_img_mod_lin.lora_up.weight": torch.zeros(18432, 4)}, str(flux))
    session = ModelSession(prompt_cache_dir=None)
    events = list(run_job(job.replace(loras=(lora_ref(flux),)), session=session))
    assert isinstance(events[-1], ev.Failed)
    assert "'flux-style' cannot be used: this is a Flux LoRA" in events[-1].message
    missing = LoraRef(str(tmp_path / "gone.safetensors"), "f" * 64, 1.0)
    events = list(run_job(job.replace(loras=(missing,)), session=session))
    assert isinstance(events[-1], ev.Failed) and "'gone'" in events[-1].message and "missing" in events[-1].message
    assert session.transformer_loads == 0 and session.text_encoder_loads == 0
    assert not any(isinstance(e, ev.StepProgress) for e in events)


def test_fingerprint_of_the_sections_changes_with_lora_content_and_weight(job, loras, tmp_path):
    files, _ = loras
    copy = tmp_path / "copy.safetensors"
    shutil.copy(files[0], copy)
    with_lora = job.replace(loras=(lora_ref(files[0], 1.0),))
    assert job_fingerprint(with_lora) != job_fingerprint(job)
    assert job_fingerprint(with_lora) == job_fingerprint(job.replace(loras=(lora_ref(copy, 1.0),)))
    assert job_fingerprint(with_lora) != job_fingerprint(job.replace(loras=(lora_ref(copy, 0.9),)))
    write_lora(copy, draw_lora(CONFIG, seed=9), CONFIG, DIFFUSERS)
    assert job_fingerprint(with_lora) != job_fingerprint(job.replace(loras=(lora_ref(copy, 1.0),)))
    assert job_fingerprint(job.replace(loras=(lora_ref(copy, 1.0, enabled=False),))) == job_fingerprint(job)


def test_job_json_keeps_the_lora_records(job, loras):
    files, _ = loras
    j = job.replace(loras=(lora_ref(files[2], -0.25), lora_ref(files[3], 1.5, enabled=False)))
    again = Job.from_json(j.to_json())
    assert again == j and isinstance(again.loras, tuple) and again.loras[1].enabled is False


def test_cli_render_takes_loras_and_render_from_names_a_missing_one(job, loras, tmp_path, capsys):
    files, _ = loras
    args = ["render", "--image", job.image, "--prompt", "a fox", "--seconds", "0.4", "--window", "3",
            "--resolution", "128", "--steps", "1", "--models", job.models, "--out", str(tmp_path / "cli.mp4"),
            "--lora", f"{files[3]}:0.6", "--lora", str(files[1])]
    assert main(args) == 0
    made = Job.from_json(read_job_metadata(str(tmp_path / "cli.mp4")))
    assert [(l.name, l.weight) for l in made.loras] == [("demo-kohya-diffusers", 0.6), ("demo-hunyuan", 1.0)]
    files[3].unlink()
    assert main(["render", "--from", str(tmp_path / "cli.mp4"), "--out", str(tmp_path / "again.mp4")]) == 1
    err = capsys.readouterr().err
    assert "The LoRA 'demo-kohya-diffusers'" in err and "is missing" in err
    assert main(["render", "--image", job.image, "--prompt", "x", "--out", str(tmp_path / "x.mp4"),
                 "--lora", str(tmp_path / "nope.safetensors")]) == 1
    assert "nope.safetensors' does not exist" in capsys.readouterr().err


def test_loras_list_shows_format_rank_layers_and_refusals(demo_models, loras, tmp_path, capsys):
    from safetensors.torch import save_file
    import torch

    files, _ = loras
    folder = files[0].parent
    save_file({"lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_down.weight": torch.zeros(4, 8),
               "lora_te1_text_model_encoder_layers_0_mlp_fc1.lora_up.weight": torch.zeros(8, 4)},
              str(folder / "sdxl-thing.safetensors"))
    assert main(["loras", "list", "--models", str(demo_models), "--folder", str(folder)]) == 0
    out = capsys.readouterr().out.splitlines()
    row = next(line for line in out if "demo-kohya-hunyuan" in line)
    assert "kohya (HunyuanVideo names)" in row and " 4 " in row and "13/13" in row and "kB" in row
    assert any("sdxl-thing" in line and "refused" in line and "Stable Diffusion" in line for line in out)


def test_models_demo_writes_the_demo_loras_into_the_lora_folder(tmp_path, capsys):
    from framepack_desktop.settings import lora_folders

    assert main(["models", "demo", str(tmp_path / "demo-set")]) == 0
    written = sorted(p.name for p in (lora_folders()[0] / "demo").iterdir())
    assert written == ["demo-diffusers.safetensors", "demo-hunyuan.safetensors",
                       "demo-kohya-diffusers.safetensors", "demo-kohya-hunyuan.safetensors"]
    assert "demo LoRAs" in capsys.readouterr().out
