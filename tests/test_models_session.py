"""The model session applying a placement: offloading modes, VAE decoding, the prompt-embedding disk cache.

CUDA streams need a GPU; everything else of group and model offloading runs here with the CPU as
the "GPU", which checks the wiring (hooks, the resident first block, TeaCache) and that outputs
are unchanged.
"""
from dataclasses import replace

import pytest
import torch

from framepack_desktop.engine.models.offload import OneOnGpu, Offload
from framepack_desktop.engine.models.policy import base_placement
from framepack_desktop.engine.models.prompt_cache import PromptCache
from framepack_desktop.engine.sampling.teacache import step_cache
from framepack_desktop.engine.session import ModelSession
from test_loader import _framepack_inputs

CPU = base_placement(torch.device("cpu"))
PROMPTS = ["A cat walks on the grass.", "The girl dances gracefully."]


pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_grad")


def has_group_hook(module):
    registry = getattr(module, "_diffusers_hook", None)
    return registry is not None and registry.get_hook("group_offloading") is not None


def test_prompt_embeddings_of_an_earlier_run_come_from_disk(demo_models, tmp_path):
    first = ModelSession(prompt_cache_dir=tmp_path / "cache")
    encoded = first.prompt_embeds(demo_models, PROMPTS, CPU)
    assert first.text_encoder_loads == 1 and len(list((tmp_path / "cache").glob("*.safetensors"))) == 2
    again = first.prompt_embeds(demo_models, PROMPTS[:1], CPU)
    assert first.text_encoder_loads == 1 and again[PROMPTS[0]] is encoded[PROMPTS[0]]

    later = ModelSession(prompt_cache_dir=tmp_path / "cache")  # a new process, the same cache folder
    cached = later.prompt_embeds(demo_models, PROMPTS, CPU)
    assert later.text_encoder_loads == 0
    for p in PROMPTS:
        for field in ("llama", "mask", "pooled"):
            assert torch.equal(getattr(cached[p], field), getattr(encoded[p], field))

    other = later.prompt_embeds(demo_models, PROMPTS[:1], replace(CPU, text_precision="fp8"))
    assert later.text_encoder_loads == 1  # another precision gives other embeddings: not taken from the cache
    assert not torch.equal(other[PROMPTS[0]].llama, encoded[PROMPTS[0]].llama)


def test_the_cache_key_follows_the_text_encoder_files(demo_models, tmp_path):
    import shutil

    models = shutil.copytree(demo_models, tmp_path / "models")
    ModelSession(prompt_cache_dir=tmp_path / "cache").prompt_embeds(models, PROMPTS[:1], CPU)
    clip = models / "hunyuanvideo-community/HunyuanVideo/text_encoder_2/model.safetensors"
    clip.write_bytes(clip.read_bytes())  # replaced (new modification time): the old entry is stale
    session = ModelSession(prompt_cache_dir=tmp_path / "cache")
    session.prompt_embeds(models, PROMPTS[:1], CPU)
    assert session.text_encoder_loads == 1


def test_a_damaged_or_unwritable_cache_never_fails_a_job(demo_models, tmp_path):
    session = ModelSession(prompt_cache_dir=tmp_path / "cache")
    good = session.prompt_embeds(demo_models, PROMPTS[:1], CPU)[PROMPTS[0]]
    (entry,) = (tmp_path / "cache").glob("*.safetensors")
    entry.write_bytes(b"garbage")
    fresh = ModelSession(prompt_cache_dir=tmp_path / "cache")
    assert torch.equal(fresh.prompt_embeds(demo_models, PROMPTS[:1], CPU)[PROMPTS[0]].llama, good.llama)
    assert fresh.text_encoder_loads == 1 and entry.stat().st_size > 100  # re-encoded and stored again

    (tmp_path / "blocked").write_text("a file where the cache folder should be")
    blocked = ModelSession(prompt_cache_dir=tmp_path / "blocked")
    assert torch.equal(blocked.prompt_embeds(demo_models, PROMPTS[:1], CPU)[PROMPTS[0]].llama, good.llama)


def test_the_cache_stays_within_its_budget(tmp_path, demo_models):
    session = ModelSession(prompt_cache_dir=tmp_path / "cache")
    session.prompt_cache = PromptCache(tmp_path / "cache", max_bytes=1)
    session.prompt_embeds(demo_models, PROMPTS, CPU)
    assert len(list((tmp_path / "cache").glob("*.safetensors"))) <= 1


@pytest.mark.parametrize("offload", [Offload(use_stream=True, pinned=False),
                                     Offload(use_stream=True, pinned=True, blocks_per_group=2, record_stream=True)])
def test_group_offloading_keeps_the_outputs_and_the_first_block_resident(demo_models, offload):
    plain = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", CPU)
    place = replace(CPU, memory="group_offload", offload=offload)
    model = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", place)
    assert not has_group_hook(model.transformer_blocks[0])
    assert all(has_group_hook(b) for b in model.single_transformer_blocks)
    assert len(model.transformer_blocks) == len(plain.transformer_blocks)
    inputs = _framepack_inputs(plain, window=3)
    assert torch.equal(model(**inputs)[0], plain(**inputs)[0])
    # TeaCache calls the first block's norm1 on its own: it works with the blocks offloaded
    with step_cache(plain, 0.15, 2) as a, step_cache(model, 0.15, 2) as b:
        assert torch.equal(model(**inputs)[0], plain(**inputs)[0])
        assert a.step == b.step == 1


def test_model_offloading_gives_the_device_to_one_model_at_a_time(demo_models):
    place = replace(CPU, memory="model_offload")
    session = ModelSession(prompt_cache_dir=None)
    transformer = session.transformer(demo_models, "original", place)
    vae = session.vae(demo_models, place)
    share = session._gpu_share
    assert isinstance(share, OneOnGpu) and share.members == [transformer, vae] and share.active is None
    inputs = _framepack_inputs(transformer, window=3)
    transformer(**inputs)
    assert share.active is transformer
    vae.decode(torch.randn(1, 16, 2, 4, 4))
    assert share.active is vae
    session.prompt_embeds(demo_models, PROMPTS[:1], place)
    assert share.active is None  # emptied for the text encoders


def test_vae_decoding_follows_the_placement(demo_models):
    session = ModelSession(prompt_cache_dir=None)
    one_pass = session.vae(demo_models, replace(CPU, vae_framewise=False, vae_tiling=False))
    assert not one_pass.use_framewise_decoding and not one_pass.use_tiling
    tiled = session.vae(demo_models, replace(CPU, vae_framewise=True, vae_tiling=True))
    assert tiled is one_pass and tiled.use_framewise_decoding and tiled.use_tiling


def test_the_llama_can_stream_through_the_device_while_it_encodes(demo_models):
    plain = ModelSession(prompt_cache_dir=None).prompt_embeds(demo_models, PROMPTS[:1], CPU)[PROMPTS[0]]
    streamed = ModelSession(prompt_cache_dir=None).prompt_embeds(
        demo_models, PROMPTS[:1], replace(CPU, text_memory="group_offload"))[PROMPTS[0]]
    assert torch.equal(streamed.llama, plain.llama) and torch.equal(streamed.pooled, plain.pooled)


def test_an_image_encoder_not_kept_is_loaded_per_job(demo_models):
    session = ModelSession(prompt_cache_dir=None)
    kept = session.image_encoder(demo_models, CPU)
    assert session.image_encoder(demo_models, CPU) is kept
    place = replace(CPU, keep_image_encoder=False)
    first = session.image_encoder(demo_models, place)
    assert session.image_encoder(demo_models, place) is not first
    assert not [k for k in session._models if k[0] == "image_encoder"]


@pytest.mark.slow
def test_speed_settings_are_applied_at_load_and_a_change_reloads(demo_models, monkeypatch):
    from framepack_desktop.engine import speed

    # This CPU stands in for an fp8-capable GPU (torch's fp8 matmul runs on the CPU too); the
    # hardware check and the cached quality verdict are tested in test_speed.py.
    monkeypatch.setattr(speed.fp8_quality, "fp8_unavailable", lambda device, config: None)
    session = ModelSession(prompt_cache_dir=None)
    fast = session.transformer(demo_models, "original", replace(CPU, fp8_compute=True, compile=True))
    blocks = len(fast.transformer_blocks) + len(fast.single_transformer_blocks)
    assert speed.count_fp8_linears(fast) > 0 and speed.fp8_layers(fast) == []  # every eligible layer is fp8
    assert speed.count_compiled_blocks(fast) == blocks
    assert session.transformer(demo_models, "original", replace(CPU, fp8_compute=True, compile=True)) is fast

    eager = session.transformer(demo_models, "original", replace(CPU, fp8_compute=True))
    assert eager is fast and speed.count_compiled_blocks(eager) == 0  # compile off: no reload
    plain = session.transformer(demo_models, "original", CPU)  # fp8 off: other weights, a fresh model
    assert plain is not fast
    assert speed.count_fp8_linears(plain) == 0 and speed.count_compiled_blocks(plain) == 0
    assert speed.count_compiled_blocks(session.transformer(demo_models, "original", replace(CPU, compile=True))) == blocks

    fp8 = session.transformer(demo_models, "original", replace(CPU, fp8_compute=True))
    inputs = _framepack_inputs(plain, window=3)
    error = speed.relative_error(fp8(**inputs)[0], plain(**inputs)[0])
    assert 0 < error < speed.FP8_MAX_RELATIVE_ERROR


def test_fp8_compute_with_group_offloading_keeps_fp8_weights_in_ram_between_calls(demo_models, monkeypatch):
    from framepack_desktop.engine import speed

    monkeypatch.setattr(speed.fp8_quality, "fp8_unavailable", lambda device, config: None)
    place = replace(CPU, fp8_compute=True, memory="group_offload", offload=Offload(use_stream=True, pinned=False))
    model = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", place)
    layer = next(m for m in model.single_transformer_blocks[0].modules() if isinstance(m, speed.Float8Linear))
    assert layer.weight.dtype == speed.E4M3 and has_group_hook(model.single_transformer_blocks[0])
    plain = ModelSession(prompt_cache_dir=None).transformer(demo_models, "original", CPU)
    inputs = _framepack_inputs(plain, window=3)
    assert speed.relative_error(model(**inputs)[0], plain(**inputs)[0]) < speed.FP8_MAX_RELATIVE_ERROR
