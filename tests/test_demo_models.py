"""The models directory layout and the demo model set built in it (`demo_models`: conftest.py)."""
import json
import re
import shutil

import pytest
from safetensors import safe_open

from framepack_desktop.engine.errors import BadSettings
from framepack_desktop.engine.models import demo
from framepack_desktop.engine.models.demo import build_demo_models
from framepack_desktop.engine.models.layout import (
    COMPONENT_NAMES,
    DEMO_MARKER,
    component,
    component_dir,
    is_demo,
    missing_components,
    missing_files,
    weight_files,
)


@pytest.fixture
def demo_copy(demo_models, tmp_path):
    return shutil.copytree(demo_models, tmp_path / "models")


def _files(root):
    return {p.relative_to(root).as_posix(): p.read_bytes() for p in sorted(root.rglob("*")) if p.is_file()}


def _config(models_dir, name, variant="original"):
    return json.loads((component_dir(models_dir, name, variant) / "config.json").read_text())


def test_components_live_where_the_public_repos_put_them(tmp_path):
    rel = {name: component_dir(tmp_path, name).relative_to(tmp_path).as_posix() for name in COMPONENT_NAMES}
    assert rel == {
        "transformer": "lllyasviel/FramePackI2V_HY",
        "text_encoder": "hunyuanvideo-community/HunyuanVideo/text_encoder",
        "text_encoder_2": "hunyuanvideo-community/HunyuanVideo/text_encoder_2",
        "tokenizer": "hunyuanvideo-community/HunyuanVideo/tokenizer",
        "tokenizer_2": "hunyuanvideo-community/HunyuanVideo/tokenizer_2",
        "vae": "hunyuanvideo-community/HunyuanVideo/vae",
        "image_encoder": "lllyasviel/flux_redux_bfl/image_encoder",
        "feature_extractor": "lllyasviel/flux_redux_bfl/feature_extractor",
    }
    f1 = component_dir(tmp_path, "transformer", "f1").relative_to(tmp_path).as_posix()
    assert f1 == "lllyasviel/FramePack_F1_I2V_HY_20250503"
    assert component("vae").class_name == "AutoencoderKLHunyuanVideo"
    with pytest.raises(ValueError):
        component("transformer", "f2")


def test_an_empty_folder_misses_everything(tmp_path):
    assert missing_components(tmp_path, "original") == list(COMPONENT_NAMES)
    assert not is_demo(tmp_path)


def test_demo_set_is_complete_for_both_variants(demo_models):
    assert missing_components(demo_models, "original") == []
    assert missing_components(demo_models, "f1") == []
    assert is_demo(demo_models)
    assert "noise" in (demo_models / DEMO_MARKER).read_text()


def test_a_folder_without_its_files_counts_as_missing(demo_copy):
    (component_dir(demo_copy, "tokenizer_2") / "merges.txt").unlink()
    (component_dir(demo_copy, "transformer", "f1") / "diffusion_pytorch_model.safetensors").unlink()
    assert missing_components(demo_copy, "original") == ["tokenizer_2"]
    assert missing_components(demo_copy, "f1") == ["transformer", "tokenizer_2"]


def test_sharded_weights_count_only_with_every_shard(demo_copy):
    folder = component_dir(demo_copy, "vae")
    shard_1 = folder / "diffusion_pytorch_model-00001-of-00002.safetensors"
    (folder / "diffusion_pytorch_model.safetensors").rename(shard_1)
    index = {"metadata": {}, "weight_map": {
        "encoder.conv_in.conv.weight": "diffusion_pytorch_model-00001-of-00002.safetensors",
        "decoder.conv_out.conv.weight": "diffusion_pytorch_model-00002-of-00002.safetensors",
    }}
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text(json.dumps(index))
    assert missing_files(demo_copy, "vae") == [folder / "diffusion_pytorch_model-00002-of-00002.safetensors"]
    assert [p.name for p in weight_files(demo_copy, "vae")] == [
        "diffusion_pytorch_model-00001-of-00002.safetensors",
        "diffusion_pytorch_model-00002-of-00002.safetensors",
    ]
    (folder / "diffusion_pytorch_model.safetensors.index.json").write_text("{not json")
    assert missing_files(demo_copy, "vae") == [folder / "diffusion_pytorch_model.safetensors.index.json"]


def test_demo_build_is_deterministic(demo_models, tmp_path):
    again = build_demo_models(tmp_path / "again", seed=0)
    assert _files(again) == _files(demo_models)


def test_each_component_has_its_own_random_weights(demo_models):
    def first_tensor(variant):
        path = weight_files(demo_models, "transformer", variant)[0]
        with safe_open(str(path), "pt") as f:
            return f.get_tensor("proj_out.weight")

    assert not first_tensor("original").equal(first_tensor("f1"))


def test_a_complete_set_is_not_rewritten(demo_models):
    before = {p: p.stat().st_mtime_ns for p in demo_models.rglob("*") if p.is_file()}
    assert build_demo_models(demo_models) == demo_models
    assert {p: p.stat().st_mtime_ns for p in demo_models.rglob("*") if p.is_file()} == before


def test_a_damaged_demo_set_is_rebuilt(demo_models, demo_copy):
    (component_dir(demo_copy, "vae") / "diffusion_pytorch_model.safetensors").unlink()
    (component_dir(demo_copy, "text_encoder") / "config.json").write_text("{}")
    (demo_copy / DEMO_MARKER).write_text("format: 0\n")
    build_demo_models(demo_copy)
    assert _files(demo_copy) == _files(demo_models)
    assert not [p for p in demo_copy.parent.iterdir() if ".building-" in p.name]


def test_a_folder_with_other_files_is_never_overwritten(tmp_path):
    real = tmp_path / "models"
    weights = component_dir(real, "vae") / "diffusion_pytorch_model.safetensors"
    weights.parent.mkdir(parents=True)
    weights.write_bytes(b"precious")
    with pytest.raises(BadSettings, match=re.escape(str(real))):
        build_demo_models(real)
    assert weights.read_bytes() == b"precious"
    assert [p.name for p in tmp_path.iterdir()] == ["models"]


def test_dimensions_agree_between_components(demo_models):
    transformer = _config(demo_models, "transformer")
    llama = _config(demo_models, "text_encoder")
    clip = _config(demo_models, "text_encoder_2")
    siglip = _config(demo_models, "image_encoder")
    vae = _config(demo_models, "vae")
    assert sum(transformer["rope_axes_dim"]) == transformer["attention_head_dim"]
    assert transformer["text_embed_dim"] == llama["hidden_size"]
    assert transformer["pooled_projection_dim"] == clip["hidden_size"]
    assert transformer["image_proj_dim"] == siglip["hidden_size"]
    assert transformer["in_channels"] == transformer["out_channels"] == vae["latent_channels"] == 16
    assert (transformer["patch_size"], transformer["patch_size_t"]) == (2, 1)
    assert transformer["has_image_proj"] and transformer["has_clean_x_embedder"] and transformer["guidance_embeds"]
    assert (vae["spatial_compression_ratio"], vae["temporal_compression_ratio"]) == (8, 4)
    assert len(vae["block_out_channels"]) == 4
    # Distinct widths, so a conditioning tensor wired to the wrong input fails loudly.
    assert len({llama["hidden_size"], clip["hidden_size"], siglip["hidden_size"]}) == 3


def test_demo_transformer_has_the_real_config_keys(demo_models):
    saved = {k for k in _config(demo_models, "transformer", "f1") if not k.startswith("_")}
    assert saved == set(demo.REAL_TRANSFORMER_CONFIG) == set(demo.TRANSFORMER_CONFIG)
    real = demo.REAL_TRANSFORMER_CONFIG
    assert sum(real["rope_axes_dim"]) == real["attention_head_dim"]
    assert real["num_attention_heads"] * real["attention_head_dim"] == 3072


def test_image_processor_matches_the_siglip_input(demo_models):
    processor_config = component_dir(demo_models, "feature_extractor") / "preprocessor_config.json"
    processor = json.loads(processor_config.read_text())
    siglip = _config(demo_models, "image_encoder")
    assert processor["size"] == {"height": siglip["image_size"], "width": siglip["image_size"]}
    assert processor["image_processor_type"] == "SiglipImageProcessor"
