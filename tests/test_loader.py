"""Loading every component with the real classes, and the errors a user sees (`demo_models`: conftest.py)."""
import json
import shutil

import numpy as np
import pytest
import torch
from PIL import Image

from framepack_desktop.engine.errors import ModelsMissing
from framepack_desktop.engine.models import loader
from framepack_desktop.engine.models.layout import component_dir

TEMPLATE = (
    "<|start_header_id|>system<|end_header_id|>\n\nDescribe the video by detailing the following aspects: "
    "1. The main content and theme of the video.<|eot_id|><|start_header_id|>user<|end_header_id|>\n\n{}<|eot_id|>"
)
FIX = "framepack-desktop models"

pytestmark = pytest.mark.usefixtures("no_grad")


@pytest.fixture(scope="module")
def transformer(demo_models):
    return loader.load_transformer(demo_models, "original", "cpu", torch.float32)


@pytest.fixture
def demo_copy(demo_models, tmp_path):
    return shutil.copytree(demo_models, tmp_path / "models")


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _framepack_inputs(model, height=8, width=8, window=3, seed=0):
    """One original-variant call: [1 start | window noisy | 1 post | 2 (2x) | 16 (4x)] indices."""
    g = torch.Generator().manual_seed(seed)
    cfg = model.config
    start, noisy, post, ix2, ix4 = torch.arange(1 + window + 1 + 2 + 16).split([1, window, 1, 2, 16])

    def lat(frames):
        return torch.randn(1, cfg.in_channels, frames, height, width, generator=g)

    return dict(
        hidden_states=lat(window),
        timestep=torch.tensor([900.0]),
        encoder_hidden_states=torch.randn(1, 7, cfg.text_embed_dim, generator=g),
        encoder_attention_mask=torch.ones(1, 7, dtype=torch.bool),
        pooled_projections=torch.randn(1, cfg.pooled_projection_dim, generator=g),
        image_embeds=torch.randn(1, 64, cfg.image_proj_dim, generator=g),
        indices_latents=noisy,
        guidance=torch.tensor([10000.0]),
        latents_clean=lat(2),
        indices_latents_clean=torch.cat([start, post]),
        latents_history_2x=lat(2),
        indices_latents_history_2x=ix2,
        latents_history_4x=lat(16),
        indices_latents_history_4x=ix4,
        return_dict=False,
    )


def test_text_encoders_give_the_widths_the_transformer_takes(demo_models, transformer):
    enc = loader.load_text_encoders(demo_models, "cpu", torch.float32)
    tokens = enc.llama_tokenizer(
        TEMPLATE.format("A cat walks on the grass."), max_length=160, padding="max_length",
        truncation=True, return_tensors="pt",
    )
    assert tokens.input_ids[0, 0].item() == enc.llama_tokenizer.bos_token_id
    length = int(tokens.attention_mask.sum())
    assert 0 < length < 160
    assert enc.llama_tokenizer.decode(tokens.input_ids[0, :length]).endswith("A cat walks on the grass.<|eot_id|>")
    assert enc.llama_tokenizer.convert_tokens_to_ids("<|eot_id|>") in tokens.input_ids[0].tolist()
    hidden = enc.llama(**tokens, output_hidden_states=True).hidden_states[-3]
    assert hidden.shape == (1, 160, transformer.config.text_embed_dim)

    clip_tokens = enc.clip_tokenizer(
        ["A cat walks on the grass."], max_length=77, padding="max_length", truncation=True, return_tensors="pt"
    )
    assert clip_tokens.input_ids.shape == (1, 77)
    assert int(clip_tokens.input_ids.max()) == enc.clip.config.eos_token_id
    pooled = enc.clip(clip_tokens.input_ids).pooler_output
    assert pooled.shape == (1, transformer.config.pooled_projection_dim)


def test_image_encoder_embeds_have_the_transformer_image_width(demo_models, transformer):
    enc = loader.load_image_encoder(demo_models, "cpu", torch.float32)
    image = Image.fromarray(np.random.default_rng(0).integers(0, 255, (90, 130, 3), dtype=np.uint8))
    pixels = enc.processor(images=image, return_tensors="pt").pixel_values
    size = enc.model.config.image_size
    assert pixels.shape == (1, 3, size, size)
    assert -1.0 <= float(pixels.min()) and float(pixels.max()) <= 1.0
    embeds = enc.model(pixel_values=pixels).last_hidden_state
    assert embeds.shape[-1] == transformer.config.image_proj_dim


def test_vae_compresses_4x_in_time_and_8x_in_space(demo_models, transformer):
    vae = loader.load_vae(demo_models, "cpu", torch.float32)
    video = torch.rand(1, 3, 5, 64, 48) * 2 - 1
    latents = vae.encode(video).latent_dist.mode()
    assert latents.shape == (1, transformer.config.in_channels, 2, 8, 6)
    assert vae.decode(latents).sample.shape == video.shape


def test_transformer_takes_the_packed_context(transformer):
    inputs = _framepack_inputs(transformer)
    (velocity,) = transformer(**inputs)
    assert velocity.shape == inputs["hidden_states"].shape
    assert torch.isfinite(velocity).all()
    for stream in ("latents_clean", "latents_history_2x", "latents_history_4x", "image_embeds"):
        changed = dict(inputs, **{stream: inputs[stream] + 1})
        assert not transformer(**changed)[0].equal(velocity), f"{stream} has no effect"


def test_each_variant_loads_its_own_weights(demo_models, transformer):
    f1 = loader.load_transformer(demo_models, "f1", "cpu", torch.float32)
    assert not f1.proj_out.weight.equal(transformer.proj_out.weight)


def test_proj_out_stays_float32_under_bf16(demo_models):
    model = loader.load_transformer(demo_models, "original", "cpu", torch.bfloat16)
    assert model.proj_out.weight.dtype == torch.float32
    assert model.x_embedder.proj.weight.dtype == torch.bfloat16
    assert model.transformer_blocks[0].attn.to_q.weight.dtype == torch.bfloat16

    seen = {}
    model.norm_out.register_forward_hook(lambda module, args, out: seen.update(normed=out))
    inputs = {
        k: v.to(torch.bfloat16) if isinstance(v, torch.Tensor) and v.is_floating_point() else v
        for k, v in _framepack_inputs(model).items()
    }
    (velocity,) = model(**inputs)
    assert seen["normed"].dtype == torch.bfloat16
    assert velocity.dtype == torch.float32

    expected = torch.nn.functional.linear(seen["normed"].float(), model.proj_out.weight, model.proj_out.bias)
    in_bf16 = torch.nn.functional.linear(
        seen["normed"], model.proj_out.weight.to(torch.bfloat16), model.proj_out.bias.to(torch.bfloat16)
    )
    b, c, t, h, w = velocity.shape
    tokens = velocity.reshape(b, c, t, h // 2, 2, w // 2, 2).permute(0, 2, 3, 5, 1, 4, 6).reshape(b, -1, c * 4)
    assert torch.equal(tokens, expected)
    assert not torch.equal(tokens, in_bf16.float())

    model.to(torch.bfloat16)  # a later whole-model cast must not undo the rule
    assert model(**inputs)[0].dtype == torch.float32
    assert model.proj_out.weight.dtype == torch.float32


def test_models_load_in_the_requested_dtype(demo_models):
    vae = loader.load_vae(demo_models, "cpu", torch.bfloat16)
    assert {p.dtype for p in vae.parameters()} == {torch.bfloat16}
    assert not any(p.requires_grad for p in vae.parameters())
    assert not vae.training


def test_a_complete_folder_passes_the_upfront_check(demo_models):
    for variant in ("original", "f1"):
        loader.require_models(demo_models, variant)
        assert loader.check_component(demo_models, "transformer", variant).is_dir()


def test_missing_models_folder_is_named(tmp_path):
    missing = tmp_path / "nowhere"
    with pytest.raises(ModelsMissing, match="nowhere") as err:
        loader.load_vae(missing, "cpu", torch.float32)
    assert FIX in str(err.value)
    with pytest.raises(ModelsMissing, match="nowhere"):
        loader.require_models(missing)


def test_missing_component_file_is_named(demo_copy):
    config = component_dir(demo_copy, "image_encoder") / "config.json"
    config.unlink()
    with pytest.raises(ModelsMissing) as err:
        loader.load_image_encoder(demo_copy, "cpu", torch.float32)
    assert str(config) in str(err.value) and FIX in str(err.value)
    with pytest.raises(ModelsMissing, match="image_encoder"):
        loader.require_models(demo_copy, "f1")


def test_missing_tokenizer_file_is_named(demo_copy):
    (component_dir(demo_copy, "tokenizer") / "tokenizer.json").unlink()
    with pytest.raises(ModelsMissing, match="tokenizer.json"):
        loader.load_text_encoders(demo_copy, "cpu", torch.float32)


@pytest.mark.parametrize(
    "damage",
    [
        lambda data: data[: len(data) // 2],
        lambda data: data[:-1],
        lambda data: b"<html>502 Bad Gateway</html>",
        lambda data: b"",
    ],
    ids=["half", "one-byte-short", "error-page", "empty"],
)
def test_damaged_weights_are_named(demo_copy, damage):
    weights = component_dir(demo_copy, "transformer", "f1") / "diffusion_pytorch_model.safetensors"
    weights.write_bytes(damage(weights.read_bytes()))
    with pytest.raises(ModelsMissing, match="damaged") as err:
        loader.load_transformer(demo_copy, "f1", "cpu", torch.float32)
    assert str(weights) in str(err.value) and FIX in str(err.value)


def test_damaged_config_is_named(demo_copy):
    config = component_dir(demo_copy, "text_encoder_2") / "config.json"
    config.write_text('{"hidden_size": 2')
    with pytest.raises(ModelsMissing, match="damaged") as err:
        loader.load_text_encoders(demo_copy, "cpu", torch.float32)
    assert str(config) in str(err.value)


def test_missing_shard_is_named(demo_copy):
    folder = component_dir(demo_copy, "vae")
    (folder / "diffusion_pytorch_model.safetensors").unlink()
    index = {"weight_map": {"decoder.conv_out.conv.weight": "diffusion_pytorch_model-00002-of-00002.safetensors"}}
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    with pytest.raises(ModelsMissing, match="00002-of-00002"):
        loader.load_vae(demo_copy, "cpu", torch.float32)


def test_demo_spec_builds_the_set_in_the_app_data_folder(demo_models, tmp_path, monkeypatch):
    monkeypatch.setenv("FRAMEPACK_DESKTOP_HOME", str(tmp_path))
    resolved = loader.resolve_models_dir("demo")
    assert resolved == tmp_path / "data" / "models-demo"
    assert _files(resolved) == _files(demo_models)
    assert loader.resolve_models_dir(" Demo ") == resolved


def test_other_specs_are_paths(tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert loader.resolve_models_dir(str(tmp_path / "m")) == tmp_path / "m"
    assert loader.resolve_models_dir("~/models") == tmp_path / "models"
    assert not (tmp_path / "models").exists()
