"""Speed settings (engine/speed/) and the FLOP counter behind the benchmark's MFU (benchmarks/flops.py).

Everything runs on the CPU: the attention chooser's fallback, torch.compile of the blocks with
inductor, the fp8 layers through torch._scaled_mm (which has a CPU kernel) and the quality check.
"""
import pytest
import torch
from diffusers import HunyuanVideoFramepackTransformer3DModel
from torch import nn
from torch.nn.attention import SDPBackend, sdpa_kernel
from torch.utils.flop_counter import FlopCounterMode

from benchmarks.bench_models import FULL_VAE_CONFIG
from benchmarks.flops import mfu, packed_tokens, transformer_flops, vae_decode_flops
from framepack_desktop.engine import speed
from framepack_desktop.engine.speed import attention, common, compiling, fp8, fp8_quality
from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.models.demo import TRANSFORMER_CONFIG
from framepack_desktop.engine.sampling.teacache import step_cache

CPU = torch.device("cpu")
WIDER = {**TRANSFORMER_CONFIG, "num_layers": 2, "num_single_layers": 3, "mlp_ratio": 2.0, "num_refiner_layers": 2}


def tiny(config=TRANSFORMER_CONFIG, dtype=torch.float32, seed=0):
    return speed.build_random(lambda: HunyuanVideoFramepackTransformer3DModel(**config), CPU, dtype, seed)


def inputs(config=TRANSFORMER_CONFIG, dtype=torch.float32, size=(8, 8), window=2, text=8, image=4):
    return speed.random_inputs(config, CPU, dtype, *size, window=window, text_tokens=text, image_tokens=image)


def backends(model):
    """The attention backend each attention module of the model dispatches to."""
    return {m.processor._attention_backend.value for m in model.modules()
            if getattr(getattr(m, "processor", None), "_attention_backend", None) is not None}


def predict(model, kwargs):
    with torch.no_grad():
        return model(**kwargs, return_dict=False)[0]


# ----- FLOP counter -----
def test_a_section_decode_costs_as_much_as_a_sampling_step_and_chunking_adds_work():
    # 2w = 18 latents at the 544x704 bucket -> 69 frames (meta tensors: shapes only, nothing allocated)
    one_pass = vae_decode_flops(FULL_VAE_CONFIG, 18, 68, 88, framewise=False, tiled=False)
    by_frames = vae_decode_flops(FULL_VAE_CONFIG, 18, 68, 88, framewise=True, tiled=False)
    assert 4e14 < one_pass < by_frames   # overlapping frame chunks are computed twice
    half = vae_decode_flops(FULL_VAE_CONFIG, 9, 68, 88, framewise=False, tiled=False)
    assert 0.4 < half / one_pass < 0.6


def test_cudnn_autotuning_is_switched_on_for_gpus_only(monkeypatch):
    monkeypatch.setattr(torch.backends.cudnn, "benchmark", False)
    assert not speed.tune_convolutions(CPU) and torch.backends.cudnn.benchmark is False
    assert speed.tune_convolutions(torch.device("cuda")) and torch.backends.cudnn.benchmark is True


@pytest.mark.parametrize("config", [TRANSFORMER_CONFIG, WIDER], ids=["demo", "deeper"])
def test_flop_count_equals_torch_flop_counter(config):
    """Every matmul, convolution and attention of the forward, counted from shapes alone."""
    model = tiny(config)
    kwargs = inputs(config, size=(16, 24), window=3, text=20, image=5)
    kwargs["encoder_attention_mask"][:, 13:] = 0  # 13 real text tokens of 20 fed
    counter = FlopCounterMode(display=False)
    with torch.no_grad(), counter, sdpa_kernel(SDPBackend.MATH):  # the math kernel's matmuls are counted
        model(**kwargs)
    tokens = packed_tokens(config, 16, 24, window=3, image_tokens=5, text_fed=20, text=13)
    assert transformer_flops(config, tokens) == counter.get_total_flops()


@pytest.mark.slow
def test_packed_tokens_match_the_models_sequence_at_the_640_bucket():
    """544 x 704 is 68 x 88 latents: the noisy window and the 1x/2x/4x history the model packs."""
    model = tiny()
    seen = []
    model.transformer_blocks[0].register_forward_pre_hook(lambda m, args: seen.append(args[0].shape[1]))
    predict(model, inputs(size=(68, 88), window=9))
    tokens = packed_tokens(TRANSFORMER_CONFIG, 68, 88, window=9)
    assert tokens.latent == seen[0]
    assert tokens.noisy == 9 * 34 * 44  # hand count: (1, 2, 2) patches of a 9 x 68 x 88 window


def test_mfu_is_achieved_over_peak():
    assert mfu(4e14, 1.0, 8e14) == pytest.approx(0.5)
    assert mfu(4e14, 2.0, 8e14) == pytest.approx(0.25)
    assert mfu(4e14, 1.0, None) is None


# ----- attention backend -----
def test_auto_attention_is_pytorch_sdpa_on_the_cpu():
    model = tiny()
    assert speed.choose_attention(model, CPU, "auto") == "native"
    assert backends(model) == {"native"}


def test_auto_attention_falls_back_when_no_faster_backend_is_installed(monkeypatch):
    """The GPU candidates are tried through diffusers' own checks; none is installed here."""
    monkeypatch.setattr(attention, "attention_candidates", lambda device: ["sage", "flash", "xformers", "native"])
    model = tiny()
    expected = predict(model, inputs())
    assert speed.choose_attention(model, CPU, "auto") == "native"
    assert torch.equal(predict(model, inputs()), expected)


def test_auto_attention_skips_a_backend_whose_probe_fails(monkeypatch):
    """A backend that is installed but computes wrong results (or crashes) is not used."""
    monkeypatch.setattr(attention, "attention_candidates", lambda device: ["_native_math", "native"])
    monkeypatch.setattr(attention, "probe_attention", lambda name, device: "differs" if name == "_native_math" else None)
    assert speed.choose_attention(tiny(), CPU, "auto") == "native"


def test_auto_attention_takes_the_fastest_usable_backend_and_remembers_it(monkeypatch, tmp_path):
    monkeypatch.setattr(attention, "attention_candidates", lambda device: ["flash", "_native_math", "native"])
    timed = []

    def fake_timing(name, device):      # measured speeds differ per GPU; here they are given
        timed.append(name)
        return {"_native_math": 0.004, "native": 0.009}[name]

    monkeypatch.setattr(attention, "time_attention", fake_timing)
    monkeypatch.setattr(common, "speed_cache_dir", lambda: tmp_path)
    model = tiny()
    assert speed.choose_attention(model, CPU, "auto") == "_native_math"
    assert backends(model) == {"_native_math"} and sorted(timed) == ["_native_math", "native"]  # flash: not installed
    timed.clear()
    assert speed.choose_attention(tiny(), CPU, "auto") == "_native_math" and timed == []       # from the cache
    setup = speed.prepare_transformer(tiny(), CPU, "auto")    # the job log records the measured gain
    assert setup.attention_seconds == (("_native_math", 0.004), ("native", 0.009))
    assert "attention _native_math (timed: _native_math 4.00 ms, native 9.00 ms)" in setup.describe()
    monkeypatch.setattr(attention, "time_attention", lambda name, device: {"_native_math": 0.02, "native": 0.01}[name])
    (tmp_path / "attention-choice.json").unlink()
    assert speed.choose_attention(tiny(), CPU, "auto") == "native"


def test_attention_timing_runs_the_backend_and_returns_seconds(monkeypatch):
    from diffusers.models import attention_dispatch

    calls = []
    real = attention_dispatch.dispatch_attention_fn
    monkeypatch.setattr(attention_dispatch, "dispatch_attention_fn",
                        lambda *a, **kw: (calls.append(kw["backend"]), real(*a, **kw))[1])
    seconds = speed.time_attention("_native_math", CPU, repeats=2)
    assert calls == ["_native_math"] * 3 and seconds > 0   # one untimed warm-up, two timed


def test_an_explicit_backend_is_applied_and_gives_the_same_prediction():
    model = tiny()
    expected = predict(model, inputs())
    assert speed.choose_attention(model, CPU, "_native_math") == "_native_math"
    assert backends(model) == {"_native_math"}
    torch.testing.assert_close(predict(model, inputs()), expected, rtol=1e-4, atol=1e-5)


def test_probe_accepts_a_correct_backend():
    assert speed.probe_attention("_native_math", CPU) is None


@pytest.mark.parametrize("name,words", [("warp9", "Unknown attention backend"), ("flash", "does not work here")])
def test_explicit_backends_that_cannot_work_are_refused(name, words):
    with pytest.raises(BadSettings, match=words):
        speed.choose_attention(tiny(), CPU, name)


# ----- regional torch.compile -----
@pytest.mark.slow
def test_compiled_blocks_match_eager_and_use_the_given_cache(tmp_path, monkeypatch):
    """Inductor compiles each block (one graph per block class), output within float tolerance,
    with TeaCache's wrapper too, and its kernels land in our cache folder."""
    monkeypatch.delenv("TORCHINDUCTOR_CACHE_DIR", raising=False)
    model = tiny()
    kwargs = inputs()
    eager = predict(model, kwargs)
    with torch.no_grad(), step_cache(model, 0.0, 2):
        eager_cached = model(**kwargs, return_dict=False)[0]

    count = speed.compile_blocks(model, CPU, cache_dir=tmp_path / "cache")
    assert count == TRANSFORMER_CONFIG["num_layers"] + TRANSFORMER_CONFIG["num_single_layers"]
    assert all(b._compiled_call_impl is not None for b in [*model.transformer_blocks, *model.single_transformer_blocks])
    torch.testing.assert_close(predict(model, kwargs), eager, rtol=1e-4, atol=1e-5)
    with torch.no_grad(), step_cache(model, 0.0, 2):
        torch.testing.assert_close(model(**kwargs, return_dict=False)[0], eager_cached, rtol=1e-4, atol=1e-5)
    assert any((tmp_path / "cache").rglob("*.py")), "inductor wrote no kernels into the cache folder"


def test_the_first_call_after_compiling_is_announced_once(monkeypatch, tmp_path):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path))
    model = tiny()
    assert not speed.compiles_at_next_call(model)                  # eager
    speed.set_compiled(model, CPU, True)                           # lazy: nothing compiled yet
    assert speed.compiles_at_next_call(model)
    speed.mark_compiled_run(model)
    assert not speed.compiles_at_next_call(model)                  # the kernels exist now
    speed.set_compiled(model, CPU, False)
    assert not speed.compiles_at_next_call(model)
    speed.set_compiled(model, CPU, True)                           # compiled again: announced again
    assert speed.compiles_at_next_call(model)


def test_compile_without_a_compiler_is_refused_clearly(monkeypatch):
    monkeypatch.delenv("CXX", raising=False)
    monkeypatch.setattr(compiling.shutil, "which", lambda name: None)
    with pytest.raises(BadSettings, match="C\\+\\+ compiler"):
        speed.compile_blocks(tiny(), CPU)


def test_the_user_s_inductor_cache_choice_wins(tmp_path, monkeypatch):
    monkeypatch.setenv("TORCHINDUCTOR_CACHE_DIR", str(tmp_path / "mine"))
    assert speed.use_compile_cache(tmp_path / "ours") == tmp_path / "mine"


# ----- fp8 compute -----
@pytest.mark.parametrize("rowwise", [True, False])
def test_float8_linear_is_close_to_the_linear_but_quantised(rowwise):
    gen = torch.Generator().manual_seed(0)
    linear = nn.Linear(64, 48).to(torch.bfloat16)
    x = torch.randn(3, 7, 64, generator=gen).to(torch.bfloat16)
    fp8 = speed.Float8Linear.from_linear(linear, rowwise)
    with torch.no_grad():
        y, expected = fp8(x), linear(x)
    assert y.shape == expected.shape and y.dtype == torch.bfloat16
    error = speed.relative_error(y, expected)
    assert 0.005 < error < 0.06  # e4m3 has 3 mantissa bits: a few percent, never exact
    fp8.to(torch.bfloat16)  # a whole-model cast must not undo the quantisation
    assert fp8.weight.dtype == speed.E4M3
    assert torch.equal(fp8(x), y)


def test_fp8_takes_the_block_matmuls_but_not_the_modulation():
    model = tiny()
    converted = speed.convert_to_fp8(model)
    # double block: q, k, v, added q, k, v, two output projections, two 2-layer MLPs; single: q, k, v, mlp, out
    assert converted == 12 * TRANSFORMER_CONFIG["num_layers"] + 5 * TRANSFORMER_CONFIG["num_single_layers"]
    names = [n for n, m in model.named_modules() if isinstance(m, speed.Float8Linear)]
    assert not any(".norm" in n for n in names)
    assert isinstance(model.transformer_blocks[0].norm1.linear, nn.Linear)
    assert isinstance(model.proj_out, nn.Linear)


def test_fp8_check_passes_on_random_weights():
    check = speed.fp8_check(tiny(WIDER, torch.bfloat16), inputs(WIDER, torch.bfloat16))
    assert check.linears == 12 * 2 + 5 * 3
    assert 0 < check.relative_error < check.threshold
    assert check.passed


def test_fp8_check_fails_when_the_kernel_mishandles_scales(monkeypatch):
    """A scaled matmul that ignores the weight scales (a real class of kernel bug) fails the check."""
    real = torch._scaled_mm

    def ignores_weight_scale(a, b, scale_a, scale_b, out_dtype):
        return real(a, b, scale_a=scale_a, scale_b=torch.ones_like(scale_b), out_dtype=out_dtype)

    monkeypatch.setattr(torch, "_scaled_mm", ignores_weight_scale)
    check = speed.fp8_check(tiny(WIDER, torch.bfloat16), inputs(WIDER, torch.bfloat16))
    assert not check.passed


def test_fp8_verdict_is_computed_once_and_cached(tmp_path, monkeypatch):
    cache = tmp_path / "fp8.json"
    first = speed.fp8_verdict(CPU, TRANSFORMER_CONFIG, cache)
    assert first.passed and cache.exists()
    monkeypatch.setattr(fp8_quality, "fp8_check", lambda *a, **k: pytest.fail("the cached verdict was not used"))
    assert speed.fp8_verdict(CPU, TRANSFORMER_CONFIG, cache) == first


def test_fp8_is_not_offered_without_fp8_tensor_cores():
    with pytest.raises(BadSettings, match="NVIDIA GPU"):
        speed.enable_fp8(tiny(), CPU)


# ----- random weights, the runner's call -----
def test_random_weights_are_real_seeded_and_scaled():
    a, b, c = tiny(seed=1), tiny(seed=1), tiny(seed=2)
    assert not any(p.is_meta for p in a.parameters())
    assert all(p.dtype == torch.float32 for p in a.parameters())
    assert torch.equal(a.proj_out.weight, b.proj_out.weight)
    assert not torch.equal(a.proj_out.weight, c.proj_out.weight)
    w = a.single_transformer_blocks[0].proj_mlp.weight
    assert w.std().item() == pytest.approx(w.shape[1] ** -0.5, rel=0.1)
    assert torch.equal(a.transformer_blocks[0].attn.norm_q.weight, torch.ones_like(a.transformer_blocks[0].attn.norm_q.weight))
    assert torch.isfinite(predict(a, inputs())).all()


def test_prepare_transformer_on_the_cpu_records_what_it_did():
    setup = speed.prepare_transformer(tiny(), CPU)
    assert setup == speed.SpeedSetup(attention="native", compiled_blocks=0, fp8_linears=0)
    assert setup.describe() == "attention native, eager, no fp8 compute"


def test_prepare_transformer_reports_what_the_model_carries():
    """A transformer kept between jobs keeps earlier fp8 layers; the record says so."""
    model = tiny()
    converted = speed.convert_to_fp8(model)
    assert speed.prepare_transformer(model, CPU).fp8_linears == converted


def test_speed_caches_live_under_the_app_home_when_it_is_set(monkeypatch, tmp_path):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path))
    assert speed.speed_cache_dir() == tmp_path / "cache"
    assert speed.compile_cache_dir() == tmp_path / "cache" / "torch-compile"
    monkeypatch.delenv("FRAMEPACK_DESKTOP_HOME")
    assert speed.speed_cache_dir() != tmp_path / "cache"


@pytest.mark.slow
def test_the_window_offers_fp8_compute_only_where_its_quality_check_passes(demo_models, monkeypatch, tmp_path):
    monkeypatch.setattr(fp8, "fp8_hardware", lambda device: None)   # this CPU stands in for an Ada/Hopper GPU
    monkeypatch.setattr(common, "speed_cache_dir", lambda: tmp_path)
    assert speed.support(CPU, models=str(demo_models))[1] is None     # the check passed (and is cached)
    assert (tmp_path / "fp8-check.json").is_file()
    monkeypatch.setattr(fp8_quality, "FP8_MAX_RELATIVE_ERROR", 1e-6)         # a GPU whose fp8 is far off
    assert "changes the model's prediction by" in speed.support(CPU, models=str(demo_models))[1]
    assert speed.support(CPU, models=str(tmp_path / "no-models"))[1] is None   # nothing to check yet


def test_the_start_up_check_never_builds_the_demo_models(monkeypatch, tmp_path):
    from framepack_desktop.engine.models import loader

    monkeypatch.setattr(loader, "demo_models_dir", lambda: tmp_path / "demo")
    assert speed.transformer_config("demo") is None and not (tmp_path / "demo").exists()
