"""The memory policy on simulated machines: 6/8/12/24/80 GB of VRAM x 16/32/64 GB of RAM, and more.

The released models' sizes (`estimates.REAL`) against machines described by numbers: nothing here
needs a GPU. Simulated machines have their desktop using 0.4 GB of the GPU and 3/4 of their RAM
available. Each decision is asserted with the reason the plan gives for it.
"""
import re

import pytest
import torch

from framepack_desktop.engine import speed
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.job import Job
from framepack_desktop.engine.models import estimates
from framepack_desktop.engine.models.errors import NotEnoughMemory
from framepack_desktop.engine.models.estimates import GIB, REAL
from framepack_desktop.engine.models.machine import Machine
from framepack_desktop.engine.models.policy import base_placement, choose_placement, plan_job
from framepack_desktop.engine.models.preflight import Wishes, effective_keep_free, plan

CUDA = base_placement(torch.device("cuda"))
CPU = base_placement(torch.device("cpu"))
WIDE = Wishes(height=416, width=960)  # the largest bucket of the 640 class


pytestmark = pytest.mark.usefixtures("one_torch_thread")


def machine(vram_gb, ram_gb, *, windows=False, commit_gb=None, disk_gb=500, bitsandbytes=False):
    available = int(0.75 * ram_gb * GIB)
    return Machine(
        "cuda", f"{vram_gb} GB GPU", int(vram_gb * GIB), int((vram_gb - 0.4) * GIB), int(ram_gb * GIB), available,
        int(commit_gb * GIB) if commit_gb is not None else available, int(disk_gb * GIB), windows, bitsandbytes,
    )


# (VRAM, RAM) -> (transformer precision, memory mode, weights pinned in RAM)
# - 80 GB: everything resident in bf16, as the original's high-VRAM mode.
# - 24 GB: bf16 (25.7 GB) cannot be resident; fp8 (16.6 GB) can, beside 6 GB kept free. With 64 GB of RAM
#   bf16 can instead stream from pinned RAM: the original's quality comes first when RAM allows it.
# - 6-12 GB: streaming block by block. bf16 needs its 25.7 GB cached in RAM (64 GB machines); with 16 or 32 GB
#   fp8 streams instead. On 6 GB even bf16's blocks in flight do not fit beside the activations: fp8.
EXPECTED = {
    (6, 16): ("fp8", "group_offload", False), (6, 32): ("fp8", "group_offload", False),
    (6, 64): ("fp8", "group_offload", True),
    (8, 16): ("fp8", "group_offload", False), (8, 32): ("fp8", "group_offload", False),
    (8, 64): ("bf16", "group_offload", True),
    (12, 16): ("fp8", "group_offload", False), (12, 32): ("fp8", "group_offload", False),
    (12, 64): ("bf16", "group_offload", True),
    (24, 16): ("fp8", "gpu", None), (24, 32): ("fp8", "gpu", None), (24, 64): ("bf16", "group_offload", True),
    (80, 16): ("bf16", "gpu", None), (80, 32): ("bf16", "gpu", None), (80, 64): ("bf16", "gpu", None),
}


@pytest.mark.parametrize("vram, ram", sorted(EXPECTED))
def test_simulated_machines(vram, ram):
    m = machine(vram, ram)
    result = plan(WIDE, m, REAL, CUDA)
    place, needs = result.placement, result.needs
    precision, mode, pinned = EXPECTED[(vram, ram)]
    assert (place.transformer_precision or "bf16", place.memory) == (precision, mode)
    if pinned is not None:
        assert place.offload.pinned is pinned
    first = place.reasons[0]
    assert first.startswith(f"{precision} transformer") and mode.replace("_", " ") in first
    assert f"{m.vram_free / GIB:.1f} of {vram:.1f} GB GPU memory free" in first
    # what the plan needs fits what the machine has, with the memory kept free on top
    assert needs.vram <= m.vram_free
    assert needs.ram <= m.holdable
    weights = REAL.transformer_bytes(precision)
    if mode == "gpu":
        assert weights + REAL.vae * 2 <= m.vram_free - result.keep_free
        assert place.transformer_dtype == torch.bfloat16
    if mode == "group_offload" and not pinned:
        assert any("memory-mapped" in r for r in place.reasons)
    if mode == "group_offload" and pinned:
        assert needs.ram >= weights and any("pinned in RAM" in r for r in place.reasons)
    # the Llama (15 GB in fp16) never has to fit beside a resident transformer: it streams instead
    llama = REAL.llama_bytes(place.text_precision)
    if place.text_memory == "gpu":
        assert llama + (weights if mode == "gpu" else 0) < m.vram_free
    else:
        assert any("streams through the GPU layer by layer" in r for r in place.reasons)


@pytest.mark.parametrize("vram, expected", [(6, 3.0), (8, 3.0), (12, 4.2), (16, 5.6), (24, 6.0), (80, 6.0)])
def test_keep_free_is_capped_on_small_cards_and_never_below_the_activations(vram, expected):
    activations = estimates.transformer_activation_bytes(REAL, 416, 960, 9)
    keep = effective_keep_free(6.0, vram * GIB, activations)
    assert keep / GIB == pytest.approx(expected, abs=0.05)
    assert keep >= activations + estimates.CUDA_OVERHEAD
    assert effective_keep_free(0.0, vram * GIB, activations) == activations + estimates.CUDA_OVERHEAD
    result = plan(WIDE, machine(vram, 32), REAL, CUDA)
    assert result.keep_free == keep
    if expected < 6:
        assert any(re.search(rf"kept free lowered to {expected:.1f} GB on this {vram} GB GPU", r) for r in result.placement.reasons)


def test_more_memory_kept_free_pushes_the_transformer_off_the_gpu():
    resident = plan(WIDE, machine(24, 32), REAL, CUDA).placement
    assert resident.memory == "gpu"
    streamed = plan(Wishes(height=416, width=960, keep_free_gb=10), machine(24, 32), REAL, CUDA).placement
    assert streamed.memory == "group_offload" and streamed.transformer_precision == "fp8"


def test_an_explicit_precision_is_honoured_with_a_warning_when_it_is_slow():
    place = plan(Wishes(precision="bf16", height=416, width=960), machine(8, 16), REAL, CUDA).placement
    assert place.transformer_precision is None and place.memory == "group_offload"
    assert any("read from disk again every step" in r for r in place.reasons)


def test_an_explicit_memory_mode_that_does_not_fit_falls_back_with_the_reason():
    place = plan(Wishes(memory="gpu", height=416, width=960), machine(8, 32), REAL, CUDA).placement
    assert place.memory == "group_offload"
    assert any(re.fullmatch(r"memory mode gpu does not fit \(bf16 gpu: 24\.4 GB of weights > 4\.6 GB\)", r)
               for r in place.reasons)
    offload = plan(Wishes(memory="model_offload", height=416, width=960), machine(48, 64), REAL, CUDA).placement
    assert offload.memory == "model_offload" and offload.transformer_precision is None


def test_nf4_without_bitsandbytes_says_so_and_nf4_with_it_stays_on_the_gpu():
    place = plan(Wishes(precision="nf4", height=416, width=960), machine(16, 16), REAL, CUDA).placement
    assert place.transformer_precision == "fp8"
    assert any("nf4 needs bitsandbytes, which is not installed" in r for r in place.reasons)
    with_bnb = plan(Wishes(precision="nf4", height=416, width=960), machine(16, 16, bitsandbytes=True), REAL, CUDA)
    assert with_bnb.placement.transformer_precision == "nf4" and with_bnb.placement.memory == "gpu"
    assert with_bnb.placement.text_precision == "nf4"
    assert REAL.transformer_bytes("nf4") / 1e9 == pytest.approx(7.3, abs=0.1)
    # quantized weights are never offloaded: on 8 GB nf4 does not fit resident, fp8 streams instead
    small = plan(Wishes(precision="nf4", height=416, width=960), machine(8, 16, bitsandbytes=True), REAL, CUDA)
    assert (small.placement.transformer_precision, small.placement.memory) == ("fp8", "group_offload")
    assert "precision fp8: nf4 does not fit" in small.placement.reasons


def test_only_an_fp8_checkpoint_on_disk_means_fp8():
    place = plan(Wishes(height=416, width=960, transformer_forms=("fp8",)), machine(80, 64), REAL, CUDA).placement
    assert place.transformer_precision == "fp8" and place.memory == "gpu"


def test_a_gguf_transformer_is_planned_by_its_file_size():
    sizes = estimates.with_source(REAL, estimates.Source("gguf", None, (), "gguf", int(7.2 * GIB)))
    result = plan(Wishes(height=416, width=960, gguf=True), machine(16, 16), sizes, CUDA)
    assert result.placement.transformer_precision == "gguf" and result.placement.memory == "gpu"
    assert result.placement.reasons[0].startswith("gguf transformer (7.2 GB)")


def test_a_transformer_that_fits_only_alone_gets_model_offloading():
    """12 GB card, 7.2 GB GGUF: 7.4 GB left beside the 4.2 GB kept free holds it, but not with the VAE too."""
    sizes = estimates.with_source(REAL, estimates.Source("gguf", None, (), "gguf", int(7.2 * GIB)))
    result = plan(Wishes(height=416, width=960, gguf=True), machine(12, 16), sizes, CUDA)
    assert result.placement.memory == "model_offload"
    assert "gguf transformer (7.2 GB), model offload" in result.placement.reasons[0]


def test_a_4_gb_card_is_told_what_to_change():
    with pytest.raises(NotEnoughMemory) as err:
        plan(WIDE, machine(4, 32), REAL, CUDA)
    text = str(err.value)
    assert "3.6 GB are free" in text and "Even at the 320 class with latent window 5 it needs" in text
    assert "Tried: bf16 gpu" in text
    with pytest.raises(NotEnoughMemory, match="Choose a smaller resolution class"):
        plan(Wishes(height=416, width=960, window=9), machine(5, 32), REAL, CUDA)
    small = plan(Wishes(height=256, width=448, window=5), machine(5, 32), REAL, CUDA)  # the 320 class
    assert small.placement.memory == "group_offload"


def test_windows_commit_limit_decides_and_the_message_names_the_pagefile():
    tight = machine(8, 16, windows=True, commit_gb=14)
    with pytest.raises(NotEnoughMemory, match="Windows pagefile"):
        plan(WIDE, tight, REAL, CUDA)
    roomy = plan(WIDE, machine(8, 16, windows=True, commit_gb=40), REAL, CUDA)
    assert roomy.placement.memory == "group_offload" and roomy.needs.ram > REAL.transformer_bytes("fp8")


def test_no_room_on_disk_for_the_saved_fp8_form_is_said_and_not_fatal():
    result = plan(WIDE, machine(24, 32, disk_gb=5), REAL, CUDA)
    assert result.placement.transformer_precision == "fp8" and result.needs.disk == 0
    assert any("not saved for the next start" in r for r in result.placement.reasons)
    assert plan(WIDE, machine(24, 32), REAL, CUDA).needs.disk == REAL.transformer_bytes("fp8")


def test_vae_tiling_only_when_the_decode_would_not_fit():
    # tiled where a resident transformer (24 GB, fp8) or a small card (8 GB) leaves too little for
    # a decode by frames (~13 GB); not where the transformer streams on a 24 GB card, nor on 80 GB
    for vram, ram, tiled in ((8, 64, True), (24, 32, True), (24, 64, False), (80, 64, False)):
        place = plan(WIDE, machine(vram, ram), REAL, CUDA).placement
        assert place.vae_tiling is tiled and place.vae_framewise
        assert any(r.startswith("VAE decode tiled") for r in place.reasons) is tiled


def test_cpu_plans_put_everything_in_ram_and_decode_in_one_pass_when_it_fits():
    cpu = Machine("cpu", ram_total=64 * GIB, ram_available=48 * GIB, commit_available=48 * GIB)
    result = plan(WIDE, cpu, REAL, CPU)
    place = result.placement
    assert place.memory == "cpu" and place.transformer_dtype == torch.bfloat16  # fp32 (51 GB) does not fit
    assert place.vae_tiling  # the real VAE's one-pass decode needs ~120 GB in fp32
    small = estimates.Sizes(**{**REAL.__dict__, "transformer": 10**6, "transformer_fp8_kept": 10**5,
                               "llama": 10**6, "llama_fp8_kept": 10**5, "vae_channels": 4})
    tiny = plan(WIDE, cpu, small, CPU).placement
    assert tiny.transformer_dtype == torch.float32 and not tiny.vae_framewise and not tiny.vae_tiling
    assert "VAE decode in one pass (fastest on the CPU)" in tiny.reasons
    with pytest.raises(NotEnoughMemory, match="add swap space"):
        plan(WIDE, Machine("cpu", ram_total=8 * GIB, ram_available=6 * GIB, commit_available=6 * GIB), REAL, CPU)


def test_choose_placement_on_the_demo_set_runs_on_this_cpu(demo_models):
    job = Job(image="x.png", prompt="p", output="o.mp4", models=str(demo_models), device="cpu")
    place = choose_placement(job)
    assert place.device.type == "cpu" and place.transformer_dtype == torch.float32
    assert not place.vae_framewise and not place.vae_tiling
    assert place.prepared_root == demo_models / "prepared"
    fp8 = plan_job(job.replace(precision="fp8")).placement
    assert fp8.transformer_precision == "fp8" and fp8.text_precision == "fp8"
    gpu = plan_job(job.replace(device="cuda"), machine=machine(8, 16)).placement
    assert gpu.memory == "gpu" and gpu.transformer_dtype == torch.bfloat16 and gpu.text_dtype == torch.float16


def test_real_sizes_match_the_released_architectures():
    from accelerate import init_empty_weights
    from diffusers import AutoencoderKLHunyuanVideo, HunyuanVideoFramepackTransformer3DModel
    from transformers import LlamaConfig, LlamaModel

    from framepack_desktop.engine.models.demo import REAL_TRANSFORMER_CONFIG
    from framepack_desktop.engine.models.quantize import LLAMA_FP8_SKIP, fp8_skeleton

    with init_empty_weights(include_buffers=False):
        transformer = HunyuanVideoFramepackTransformer3DModel.from_config(REAL_TRANSFORMER_CONFIG)
        llama = LlamaModel(LlamaConfig(vocab_size=128320, hidden_size=4096, intermediate_size=14336,
                                       num_hidden_layers=32, num_attention_heads=32, num_key_value_heads=8))
        vae = AutoencoderKLHunyuanVideo()
    shapes = {k: tuple(v.shape) for k, v in transformer.state_dict().items()}
    assert sum(p.numel() for p in transformer.parameters()) == REAL.transformer
    assert estimates.fp8_kept(shapes, estimates.TRANSFORMER_FP8_SKIP) == REAL.transformer_fp8_kept
    assert max(sum(p.numel() for p in b.parameters()) for b in transformer.transformer_blocks) == REAL.transformer_block
    assert sum(p.numel() for p in llama.parameters()) == REAL.llama
    assert sum(p.numel() for p in vae.parameters()) == REAL.vae and vae.config.block_out_channels[0] == REAL.vae_channels
    # the header-based count of what fp8 keeps in 16 bit is exactly what layerwise casting does
    fp8_skeleton(transformer, torch.bfloat16)
    fp8_skeleton(llama, torch.float16, LLAMA_FP8_SKIP)
    assert sum(p.numel() for p in transformer.parameters() if p.dtype != torch.float8_e4m3fn) == REAL.transformer_fp8_kept
    assert sum(p.numel() for p in llama.parameters() if p.dtype != torch.float8_e4m3fn) == REAL.llama_fp8_kept
    assert REAL.transformer_bytes("bf16") / 1e9 == pytest.approx(25.7, abs=0.1)
    assert REAL.transformer_bytes("fp8") / 1e9 == pytest.approx(16.6, abs=0.1)


def test_measured_sizes_of_the_demo_set_match_the_loaded_models(demo_models):
    from framepack_desktop.engine.models import loader
    from framepack_desktop.engine.models.sources import pick, transformer_sources

    sizes = estimates.measure(demo_models, "original", pick(transformer_sources(demo_models, "original"), "bf16"))
    fp8 = loader.load_transformer(demo_models, "original", "cpu", torch.float32, precision="fp8")
    assert sizes.transformer == sum(p.numel() for p in fp8.parameters())
    assert sizes.transformer_fp8_kept == sum(p.numel() for p in fp8.parameters() if p.dtype != torch.float8_e4m3fn)
    assert sizes.transformer_block == max(sum(p.numel() for p in b.parameters()) for b in fp8.transformer_blocks)
    assert sizes.vae_channels == 4 and sizes.hidden == 32


def test_token_count_follows_the_packed_context():
    """DESIGN.md section 4: at 544x704 ~13.5k noisy, ~3k 1x, ~0.4k 2x, ~0.4k 4x, 729 image, <=512 text."""
    assert estimates.transformer_tokens(544, 704, 9) == 13464 + 2992 + 374 + 4 * 9 * 11 + 729 + 512


def test_fp8_compute_plans_fp8_sized_weights_made_from_the_bf16_ones(demo_models, monkeypatch):
    monkeypatch.setattr(speed.fp8, "fp8_hardware", lambda device: None)  # as on an Ada/Hopper GPU
    job = Job(image="x.png", prompt="p", output="o.mp4", models=str(demo_models), device="cuda", fp8_compute=True)
    small = plan_job(job, machine=machine(8, 16))
    place = small.placement
    assert place.fp8_compute and place.transformer_precision is None and place.transformer_dtype == torch.bfloat16
    assert small.needs.disk == 0  # nothing saved: fp8 is made from bf16 while loading
    assert "fp8 compute" in place.summary() and any(r.startswith("fp8 compute:") for r in place.reasons)
    # the same job without fp8 compute on the same machine plans plain bf16 (the demo set is tiny)
    assert not plan_job(job.replace(fp8_compute=False), machine=machine(8, 16)).placement.fp8_compute


def test_fp8_compute_that_would_not_fit_in_fp8_is_refused(monkeypatch):
    from framepack_desktop.engine.models.policy import with_fp8_compute

    # 16 GB of VRAM but only 8 GB of RAM on Windows: fp8 neither fits on the card nor streams; nf4 does
    nf4 = plan(Wishes(precision="fp8"), machine(16, 8, windows=True, commit_gb=5, bitsandbytes=True), REAL, CUDA)
    assert nf4.placement.transformer_precision == "nf4"
    with pytest.raises(BadSettings, match="fp8 weights to fit"):
        with_fp8_compute(nf4)
    fits = with_fp8_compute(plan(Wishes(precision="fp8"), machine(24, 32), REAL, CUDA))
    assert fits.placement.memory == "gpu" and fits.placement.fp8_compute


def test_speed_settings_this_computer_cannot_run_are_refused_before_loading(demo_models, monkeypatch):
    job = Job(image="x.png", prompt="p", output="o.mp4", models=str(demo_models), device="cpu")
    with pytest.raises(BadSettings, match="fp8 compute is not available: fp8 compute needs an NVIDIA GPU"):
        plan_job(job.replace(fp8_compute=True))
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr("shutil.which", lambda name: None)
    with pytest.raises(BadSettings, match="Cannot compile the model: .*C\\+\\+ compiler"):
        plan_job(job.replace(compile=True))
    with pytest.raises(BadSettings, match="cannot be combined with precision nf4"):
        job.replace(fp8_compute=True, precision="nf4").validate()
