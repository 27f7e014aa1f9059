"""LoRA on the demo transformer: formats, the arithmetic of an adapter, sets, refusals, precisions.

Every LoRA here is a real safetensors file written in the format it tests (`lora_demo.py` spells one
drawn LoRA four ways; other models' files are spelled with their own key names).
"""
import shutil

import pytest
import torch
from safetensors.torch import save_file

from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.lora_ref import (
    LoraRef, lora_fingerprint, lora_ref, parse_lora_arg, relocate,
)
from framepack_desktop.engine.models import loader
from framepack_desktop.engine.models.demo import TRANSFORMER_CONFIG
from framepack_desktop.engine.models.lora import (
    ADAPTER, MERGED, apply_loras, lora_layers, lora_method, merge_key, merge_loras,
)
from framepack_desktop.engine.models.lora_demo import DEMO_FILES, FORMATS, draw_lora, write_lora
from framepack_desktop.engine.models.lora_formats import (
    DIFFUSERS, HUNYUAN, KOHYA_DIFFUSERS, KOHYA_HUNYUAN, inspect_lora, load_lora,
)
from framepack_desktop.engine.session import ModelSession, Placement
from test_loader import _framepack_inputs

pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_grad")
CONFIG = dict(TRANSFORMER_CONFIG)
CPU = torch.device("cpu")


@pytest.fixture(scope="module")
def base(demo_models):
    return loader.load_transformer(demo_models, "original", "cpu", torch.float32)


@pytest.fixture(scope="module")
def lora_files(tmp_path_factory):
    """The same drawn LoRA in all four formats, and a second, different LoRA."""
    folder = tmp_path_factory.mktemp("loras")
    drawn = draw_lora(CONFIG, seed=1, rank=4, alpha=2.0)
    files = {fmt: write_lora(folder / DEMO_FILES[fmt], drawn, CONFIG, fmt) for fmt in FORMATS}
    files["other"] = write_lora(folder / "other.safetensors", draw_lora(CONFIG, seed=2, rank=8, alpha=8.0), CONFIG, DIFFUSERS)
    return files


def fresh(demo_models):
    return loader.load_transformer(demo_models, "original", "cpu", torch.float32)


def plain_weight(model, name):
    layer = model.get_submodule(name)
    return getattr(layer, "base_layer", layer).weight


def merged_weights(demo_models, refs):
    model = fresh(demo_models)
    merge_loras(model, refs, torch.float32)
    assert lora_layers(model) == 0
    return model.state_dict()


def test_each_format_is_detected_from_its_keys(lora_files):
    expected = {DIFFUSERS: "diffusers/PEFT", HUNYUAN: "HunyuanVideo (original layout)",
                KOHYA_HUNYUAN: "kohya (HunyuanVideo names)", KOHYA_DIFFUSERS: "kohya (diffusers names, musubi-tuner)"}
    for fmt, name in expected.items():
        info = inspect_lora(lora_files[fmt], CONFIG)
        assert info.refused is None and info.format == fmt and info.format_name == name
        assert info.rank == 4 and info.applied == info.layers
    # fused q/k/v and linear1 count once in HunyuanVideo's names, as their parts in diffusers'
    assert inspect_lora(lora_files[HUNYUAN], CONFIG).layers == 13
    assert inspect_lora(lora_files[DIFFUSERS], CONFIG).layers == 20


def test_the_four_formats_give_the_same_adapted_model(demo_models, lora_files):
    results = [merged_weights(demo_models, (lora_ref(lora_files[fmt], 0.7),)) for fmt in FORMATS]
    plain = fresh(demo_models).state_dict()
    changed = [k for k in plain if not torch.equal(plain[k], results[0][k])]
    assert len(changed) == 20     # every block layer of the demo model, and nothing else
    for other in results[1:]:
        for key in plain:
            torch.testing.assert_close(other[key], results[0][key], rtol=1e-6, atol=1e-7)


def test_effect_on_a_layer_is_the_weight_times_alpha_over_rank_times_b_a(demo_models, lora_files):
    """Kohya's HunyuanVideo file: fused q/k/v, alpha 2 at rank 4; the q part of the first double block."""
    from safetensors.torch import load_file

    raw = load_file(str(lora_files[KOHYA_HUNYUAN]))
    key = "lora_unet_double_blocks_0_img_attn_qkv"
    down, up, alpha = raw[f"{key}.lora_down.weight"], raw[f"{key}.lora_up.weight"], float(raw[f"{key}.alpha"])
    inner = CONFIG["num_attention_heads"] * CONFIG["attention_head_dim"]
    weight = -0.6
    model = fresh(demo_models)
    w = model.transformer_blocks[0].attn.to_q.weight.clone()
    apply_loras(model, (lora_ref(lora_files[KOHYA_HUNYUAN], weight),), torch.float32)
    layer = model.transformer_blocks[0].attn.to_q
    x = torch.randn(5, inner, generator=torch.Generator().manual_seed(3))
    by_hand = x @ (w + weight * (alpha / down.shape[0]) * up[:inner] @ down).T + layer.base_layer.bias
    torch.testing.assert_close(layer(x), by_hand, rtol=1e-5, atol=1e-6)
    # the k part uses the next rows of the fused up matrix
    k_layer = model.transformer_blocks[0].attn.to_k
    k_hand = x @ (plain_weight(model, "transformer_blocks.0.attn.to_k")
                  + weight * (alpha / 4) * up[inner:2 * inner] @ down).T + k_layer.base_layer.bias
    torch.testing.assert_close(k_layer(x), k_hand, rtol=1e-5, atol=1e-6)


def test_weight_zero_or_off_is_exactly_the_model_without_lora(demo_models, base, lora_files):
    inputs = _framepack_inputs(base)
    expected = base(**inputs)[0]
    model = fresh(demo_models)
    apply_loras(model, (lora_ref(lora_files[DIFFUSERS], 1.0),), torch.float32)
    assert not torch.equal(model(**inputs)[0], expected)           # the LoRA does change the output
    apply_loras(model, (lora_ref(lora_files[DIFFUSERS], 0.0),), torch.float32)
    assert torch.equal(model(**inputs)[0], expected)
    apply_loras(model, (lora_ref(lora_files[DIFFUSERS], 1.0, enabled=False),), torch.float32)
    assert torch.equal(model(**inputs)[0], expected)


def test_two_loras_add(demo_models, lora_files):
    a, b = lora_ref(lora_files[KOHYA_DIFFUSERS], 0.8), lora_ref(lora_files["other"], -0.5)
    plain = fresh(demo_models).state_dict()
    only_a, only_b, both = (merged_weights(demo_models, refs) for refs in ((a,), (b,), (a, b)))
    for key in plain:
        torch.testing.assert_close(both[key] - plain[key], (only_a[key] - plain[key]) + (only_b[key] - plain[key]),
                                   rtol=1e-5, atol=1e-6)
    # listing order does not matter: the set is applied in content order
    assert all(torch.equal(x, y) for x, y in zip(merged_weights(demo_models, (b, a)).values(), both.values()))


def test_switching_sets_and_weights_keeps_the_base_weights_and_frees_old_adapters(demo_models, base, lora_files):
    inputs = _framepack_inputs(base)
    model = fresh(demo_models)
    one, two = lora_ref(lora_files[DIFFUSERS], 1.0), lora_ref(lora_files["other"], 1.0)
    apply_loras(model, (one,), torch.float32)
    first = model(**inputs)[0]
    apply_loras(model, (two,), torch.float32)
    assert set(model.peft_config) == {two.adapter_name}
    apply_loras(model, (one.__class__(one.path, one.sha256, 0.5),), torch.float32)
    half = model(**inputs)[0]
    apply_loras(model, (one,), torch.float32)
    assert torch.equal(model(**inputs)[0], first) and not torch.equal(half, first)
    assert torch.equal(plain_weight(model, "transformer_blocks.0.attn.to_q"), base.transformer_blocks[0].attn.to_q.weight)


def flux_keys():
    return {"lora_unet_double_blocks_0_img_mod_lin.lora_down.weight": torch.zeros(4, 3072),
            "lora_unet_double_blocks_0_img_mod_lin.lora_up.weight": torch.zeros(18432, 4)}


@pytest.mark.parametrize("keys, looks_like", [
    (flux_keys, "Flux"),
    (lambda: {f"diffusion_model.blocks.0.self_attn.q.lora_{x}.weight": torch.zeros(4, 4) for x in "AB"}, "Wan"),
    (lambda: {f"lora_unet_down_blocks_0_attentions_0_proj_in.lora_{x}.weight": torch.zeros(4, 4) for x in ("down", "up")},
     "Stable Diffusion"),
    (lambda: {f"transformer.{b}transformer_blocks.{i}.attn.to_q.lora_{x}.weight": torch.zeros(4, 32)
              for b, n in (("", 19), ("single_", 38)) for i in range(n) for x in "AB"}, "Flux"),
    (lambda: {"lora_unet_decoder_conv_in.lora_down.weight": torch.zeros(4, 4),
              "lora_unet_decoder_conv_in.lora_up.weight": torch.zeros(4, 4)}, "none of its 1 layers matches"),
    (lambda: {"something.weight": torch.zeros(2)}, "no LoRA layers"),
])
def test_files_for_other_models_are_refused_naming_what_they_look_like(tmp_path, keys, looks_like):
    path = tmp_path / "x.safetensors"
    save_file({k: v.contiguous() for k, v in keys().items()}, str(path))
    info = inspect_lora(path, CONFIG)
    assert info.refused and looks_like in info.refused
    with pytest.raises(BadSettings, match="cannot be used"):
        load_lora(path, CONFIG)


def test_metadata_naming_another_model_is_refused(tmp_path, lora_files):
    from safetensors.torch import load_file

    path = tmp_path / "wan.safetensors"
    save_file(load_file(str(lora_files[KOHYA_DIFFUSERS])), str(path), metadata={"ss_base_model_version": "wan2.1_t2v_14B"})
    assert "Wan" in inspect_lora(path, CONFIG).refused


def test_a_lora_for_another_width_and_a_partial_match_say_so(tmp_path, lora_files):
    from safetensors.torch import load_file

    wide = tmp_path / "wide.safetensors"
    save_file({"transformer.transformer_blocks.0.attn.to_q.lora_A.weight": torch.zeros(4, 3072),
               "transformer.transformer_blocks.0.attn.to_q.lora_B.weight": torch.zeros(3072, 4)}, str(wide))
    assert "another width" in inspect_lora(wide, CONFIG).refused
    partial = tmp_path / "partial.safetensors"
    tensors = load_file(str(lora_files[DIFFUSERS]))
    tensors.update({"transformer.transformer_blocks.7.attn.to_q.lora_A.weight": torch.zeros(4, 32),
                    "transformer.transformer_blocks.7.attn.to_q.lora_B.weight": torch.zeros(32, 4)})
    save_file(tensors, str(partial))
    info = inspect_lora(partial, CONFIG)
    assert (info.applied, info.layers) == (20, 21) and "only 20 of its 21 layers apply" in info.describe()
    state, _ = load_lora(partial, CONFIG)
    assert len(state) == 40


def test_fingerprint_follows_file_content_and_weight_not_path_or_order(tmp_path, lora_files):
    a = lora_ref(lora_files[DIFFUSERS], 1.0)
    moved = tmp_path / "moved.safetensors"
    shutil.copy(lora_files[DIFFUSERS], moved)
    assert lora_fingerprint((a,)) == lora_fingerprint((lora_ref(moved, 1.0),))
    assert lora_fingerprint((a,)) != lora_fingerprint((lora_ref(moved, 0.9),))
    write_lora(moved, draw_lora(CONFIG, seed=5), CONFIG, DIFFUSERS)     # retrained, same name
    assert lora_fingerprint((a,)) != lora_fingerprint((lora_ref(moved, 1.0),))
    b = lora_ref(lora_files["other"], 0.3)
    assert lora_fingerprint((a, b)) == lora_fingerprint((b, a))
    assert lora_fingerprint((a, LoraRef(b.path, b.sha256, 0.3, enabled=False))) == lora_fingerprint((a,))
    assert lora_fingerprint((LoraRef(a.path, a.sha256, 0.0),)) == []


def test_lora_arguments_and_relocation_by_hash(tmp_path, lora_files):
    assert parse_lora_arg("style.safetensors") == ("style.safetensors", 1.0)
    assert parse_lora_arg("style.safetensors:-0.5") == ("style.safetensors", -0.5)
    assert parse_lora_arg(r"C:\loras\style.safetensors") == (r"C:\loras\style.safetensors", 1.0)
    assert parse_lora_arg(r"C:\loras\style.safetensors:0.7") == (r"C:\loras\style.safetensors", 0.7)
    ref = lora_ref(lora_files[HUNYUAN], 0.5)
    gone = LoraRef(str(tmp_path / "old" / "renamed.safetensors"), ref.sha256, 0.5)
    folder = tmp_path / "lora-folder"
    (folder / "sub").mkdir(parents=True)
    shutil.copy(lora_files[HUNYUAN], folder / "sub" / "new-name.safetensors")
    assert relocate((gone,), [folder])[0].path == str(folder / "sub" / "new-name.safetensors")
    with pytest.raises(BadSettings, match="'renamed'.*missing.*Put that file in the LoRA folder"):
        relocate((gone,), [tmp_path / "empty"])


def test_precisions_take_the_announced_way(demo_models):
    cpu = Placement(CPU, torch.float32, torch.float32, torch.float32, torch.float32, memory="cpu")
    assert lora_method(cpu).kind == ADAPTER
    for precision in ("fp8", "gguf", "int8", "nf4"):
        assert lora_method(Placement(CPU, torch.bfloat16, torch.float16, torch.float16, torch.float16,
                                     transformer_precision=precision)).kind == ADAPTER
    fp8_compute = Placement(CPU, torch.bfloat16, torch.float16, torch.float16, torch.float16, fp8_compute=True)
    method = lora_method(fp8_compute)
    assert method.kind == MERGED and "reloads" in method.describe()
    one = LoraRef("a.safetensors", "a" * 64, 1.0)
    assert merge_key(cpu, (one,)) == () and merge_key(fp8_compute, (one,)) != merge_key(fp8_compute, ())


def test_fp8_storage_keeps_adapters_in_the_compute_dtype_on_the_fp8_layers(demo_models, lora_files):
    """Layerwise-cast fp8 layers: the adapter wraps the hooked layer, its own weights stay float32."""
    fp8 = Placement(CPU, torch.float32, torch.float32, torch.float32, torch.float32, transformer_precision="fp8", memory="cpu")
    session = ModelSession(prompt_cache_dir=None)
    plain = session.transformer(demo_models, "original", fp8)
    inputs = _framepack_inputs(plain)
    before = plain(**inputs)[0]
    ref = lora_ref(lora_files[KOHYA_HUNYUAN], 1.0)
    model = session.transformer(demo_models, "original", fp8, (ref,))
    layer = model.transformer_blocks[0].attn.to_q
    assert session.transformer_loads == 1 and model is plain
    assert layer.base_layer.weight.dtype == torch.float8_e4m3fn
    assert layer.lora_A[ref.adapter_name].weight.dtype == torch.float32
    state, _ = load_lora(ref.path, CONFIG)
    assert torch.equal(layer.lora_B[ref.adapter_name].weight, state["transformer_blocks.0.attn.to_q.lora_B.weight"])
    after = model(**inputs)[0]
    assert torch.isfinite(after).all() and not torch.equal(after, before)
    assert torch.equal(session.transformer(demo_models, "original", fp8, ())(**inputs)[0], before)


def test_gguf_layers_take_an_adapter(demo_models, tmp_path, lora_files):
    from diffusers.quantizers.gguf.utils import GGUFLinear

    from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR
    from test_models_loading import write_gguf

    models = shutil.copytree(demo_models, tmp_path / "models")
    reference = fresh(demo_models)
    (models / CHECKPOINTS_DIR / "original").mkdir(parents=True)
    write_gguf(models / CHECKPOINTS_DIR / "original" / "framepack-Q8_0.gguf", reference.state_dict())
    gguf = Placement(CPU, torch.float32, torch.float32, torch.float32, torch.float32, transformer_precision="gguf", memory="cpu")
    session = ModelSession(prompt_cache_dir=None)
    inputs = _framepack_inputs(reference)
    before = session.transformer(models, "original", gguf)(**inputs)[0]
    ref = lora_ref(lora_files[DIFFUSERS], 1.0)
    model = session.transformer(models, "original", gguf, (ref,))
    assert isinstance(model.transformer_blocks[0].attn.to_q.base_layer, GGUFLinear)
    # the GGUF model with the LoRA moves like the float32 one with it (up to Q8_0's rounding of the base)
    gguf_delta = model(**inputs)[0] - before
    without = reference(**inputs)[0]
    apply_loras(reference, (ref,), torch.float32)
    float_delta = reference(**inputs)[0] - without
    assert float((gguf_delta - float_delta).norm() / float_delta.norm()) < 0.05
    assert session.transformer_loads == 1


def test_group_offloading_streams_the_adapters_with_their_blocks(demo_models, base, lora_files):
    from diffusers.hooks import apply_group_offloading

    ref = (lora_ref(lora_files[KOHYA_DIFFUSERS], 0.9),)
    resident = fresh(demo_models)
    apply_loras(resident, ref, torch.float32)
    streamed = fresh(demo_models)
    apply_group_offloading(streamed, onload_device=CPU, offload_device=CPU, offload_type="block_level",
                           num_blocks_per_group=1)
    apply_loras(streamed, ref, torch.float32)
    inputs = _framepack_inputs(base)
    assert torch.equal(streamed(**inputs)[0], resident(**inputs)[0])


def test_hunyuan_layout_agrees_with_diffusers_own_conversion(tmp_path):
    """diffusers converts the original layout too (HunyuanVideoLoraLoaderMixin); on the layers where its
    converter does not assume the real model's width (it splits the single blocks at 3072) ours must agree,
    including the final modulation's shift/scale swap of the up matrix. Its down matrix is the exception:
    diffusers' converter swaps halves of that one too, which permutes the rank rows of A without B's
    columns; the product B·A is then wrong, so ours keeps the file's A."""
    from diffusers.loaders.lora_conversion_utils import _convert_hunyuan_video_lora_to_diffusers

    inner = CONFIG["num_attention_heads"] * CONFIG["attention_head_dim"]
    g = torch.Generator().manual_seed(4)
    shapes = {"double_blocks.0.img_attn_qkv": (3 * inner, inner), "double_blocks.0.txt_attn_qkv": (3 * inner, inner),
              "double_blocks.0.img_mlp.fc1": (4 * inner, inner), "double_blocks.0.txt_mod.linear": (6 * inner, inner),
              "final_layer.adaLN_modulation.1": (2 * inner, inner), "final_layer.linear": (4 * 16, inner)}
    tensors = {}
    for name, (out, width) in shapes.items():
        tensors[f"diffusion_model.{name}.lora_A.weight"] = torch.randn(3, width, generator=g)
        tensors[f"diffusion_model.{name}.lora_B.weight"] = torch.randn(out, 3, generator=g)
    path = tmp_path / "hv.safetensors"
    save_file(tensors, str(path))
    ours, info = load_lora(path, CONFIG)
    assert info.format == HUNYUAN and info.applied == len(shapes)
    theirs = {k.removeprefix("transformer."): v for k, v in _convert_hunyuan_video_lora_to_diffusers(dict(tensors)).items()}
    assert set(ours) == set(theirs)
    down = "norm_out.linear.lora_A.weight"
    assert torch.equal(ours[down], tensors["diffusion_model.final_layer.adaLN_modulation.1.lora_A.weight"])
    for key in set(ours) - {down}:
        assert torch.equal(ours[key], theirs[key]), key
