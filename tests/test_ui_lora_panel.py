"""The LoRA panel: the watched folder, weights and switches, refused files explained, the window's job."""
import pytest
import torch
from safetensors.torch import save_file

from desktop_recorder import Recorder
from framepack_desktop.engine.lora_set import judge_lora
from framepack_desktop.engine.models.demo import TRANSFORMER_CONFIG
from framepack_desktop.engine.models.lora_demo import write_demo_loras
from framepack_desktop.settings import AppPaths, Settings, load_settings, save_settings
from framepack_desktop.ui.lora_panel import LoraPanel, Verdict
from framepack_desktop.ui.main_window import MainWindow

CONFIG = dict(TRANSFORMER_CONFIG)


@pytest.fixture
def panel(qtbot, tmp_path, demo_models):
    def judge(path):
        info = judge_lora(path, str(demo_models))
        return Verdict(info.refused or info.describe(), bool(info.refused))

    p = LoraPanel(tmp_path / "loras", judge)
    qtbot.addWidget(p)
    return p


def flux_file(path):
    save_file({"lora_unet_double_blocks_0_img_mod_lin.lora_down.weight": torch.zeros(4, 3072),
               "lora_unet_double_blocks_0_img_mod_lin.lora_up.weight": torch.zeros(18432, 4)}, str(path))
    return path


def test_new_files_in_the_folder_appear_without_a_restart(qtbot, panel):
    assert panel.available == []
    files = write_demo_loras(panel.folder / "demo", CONFIG)       # a new subfolder, then files in it
    qtbot.waitUntil(lambda: set(panel.available) == set(files), timeout=5000)
    labels = [a.text() for a in panel.menu.actions()]
    assert "demo/demo-kohya-diffusers" in labels and labels[-1] == "Other file…"


def test_rows_give_weights_and_switches_and_refused_files_are_explained(qtbot, panel, tmp_path):
    files = write_demo_loras(tmp_path / "elsewhere", CONFIG)
    good = panel.add_file(files[3], 0.5)
    bad = panel.add_file(flux_file(tmp_path / "flux-style.safetensors"))
    qtbot.waitUntil(lambda: "Checking" not in good.verdict.text() and "Checking" not in bad.verdict.text(), timeout=20000)
    assert "kohya (diffusers names, musubi-tuner)" in good.verdict.text()
    assert bad.refused and "Flux LoRA" in bad.verdict.text() and not bad.on.isEnabled()
    good.slider.setValue(-75)
    refs = panel.refs()
    assert [(r.name, r.weight, r.enabled) for r in refs] == [("demo-kohya-diffusers", -0.75, True),
                                                            ("flux-style", 1.0, False)]
    assert panel.summary() == "LoRA: demo-kohya-diffusers ×-0.75"
    good.on.setChecked(False)
    assert panel.summary() == "" and not panel.refs()[0].enabled


def test_the_window_puts_the_set_in_the_job_and_the_status_bar(qtbot, tmp_path, demo_models):
    paths = AppPaths.under(tmp_path / "home").ensure()
    save_settings(paths, Settings(models_dir=str(demo_models), random_seed=False))
    window = MainWindow(paths, load_settings(paths), desktop=Recorder())
    qtbot.addWidget(window)
    assert window.loras.folder == paths.loras_dir
    files = write_demo_loras(paths.loras_dir, CONFIG)
    qtbot.waitUntil(lambda: len(window.loras.available) == 4, timeout=5000)
    window.loras.add_file(files[1], 0.8)
    job = window.form_job()
    assert [(r.name, r.weight) for r in job.loras] == [("demo-hunyuan", 0.8)]
    assert window.loras.status_label.text() == "LoRA: demo-hunyuan ×0.8"
    window.loras.set_refs(())
    window.apply_job(job)                       # "load settings from this video" brings the set back
    assert window.form_job().loras == job.loras
