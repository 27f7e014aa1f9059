"""Every loading path of the heavy models on the demo set: folder, single files, fp8, saved forms, GGUF.

Outputs are compared with the float32 model loaded from the public-repo folder; fp8 and GGUF Q8_0
may differ by their rounding (a few per mille here), nothing else.
"""
import json
import shutil

import gguf
import numpy as np
import pytest
import torch
from safetensors.torch import save_file

from framepack_desktop.engine.errors import ModelsMissing
from framepack_desktop.engine.models import loader, prepared, quantize
from framepack_desktop.engine.models.errors import CheckpointMismatch, QuantizationUnavailable
from framepack_desktop.engine.models.layout import CHECKPOINTS_DIR, COMMUNITY_TRANSFORMERS, component_dir
from framepack_desktop.engine.models.quantize import Precision, require_backend
from framepack_desktop.engine.models.sources import pick, transformer_sources
from test_loader import _framepack_inputs

FP8 = torch.float8_e4m3fn


pytestmark = pytest.mark.usefixtures("one_torch_thread", "no_grad")


@pytest.fixture(scope="module")
def reference(demo_models):
    """The float32 transformer from the folder, the inputs of one call and its output."""
    with torch.no_grad():
        model = loader.load_transformer(demo_models, "original", "cpu", torch.float32)
        inputs = _framepack_inputs(model)
        return model, inputs, model(**inputs)[0]


@pytest.fixture
def models(demo_models, tmp_path):
    return shutil.copytree(demo_models, tmp_path / "models")


def checkpoint(models, name, variant="original"):
    folder = models / CHECKPOINTS_DIR / variant
    folder.mkdir(parents=True, exist_ok=True)
    return folder / name


def relative_error(a, b):
    return float((a.float() - b.float()).norm() / b.float().norm())


def dtypes(model):
    return {p.dtype for p in model.parameters()}


def test_fp8_storage_computes_in_the_compute_dtype_with_fp8_weights(models, reference):
    ref, inputs, expected = reference
    model = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8")
    block = model.transformer_blocks[0]
    assert block.attn.to_q.weight.dtype == FP8 and block.ff.net[2].weight.dtype == FP8
    # diffusers' skip rules: norms, modulation, embedders stay in the compute dtype; proj_out in float32
    assert block.norm1.linear.weight.dtype == torch.float32
    assert model.x_embedder.proj.weight.dtype == torch.float32
    assert model.proj_out.weight.dtype == torch.float32
    out = model(**inputs)[0]
    assert out.dtype == torch.float32
    assert 0 < relative_error(out, expected) < 0.02
    # the weights really are the folder's weights rounded to fp8
    assert torch.equal(block.attn.to_q.weight, ref.transformer_blocks[0].attn.to_q.weight.to(FP8))


def test_saved_fp8_form_round_trip(models, reference, tmp_path):
    _, inputs, _ = reference
    root = tmp_path / "prepared"
    in_memory = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8")
    first = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8", prepared_root=root)
    form = prepared.folder_for(root, "transformer", "original", "fp8")
    manifest = json.loads((form / prepared.MANIFEST).read_text())
    assert manifest["precision"] == "fp8" and manifest["shards"]
    stored = {t.dtype for t in _tensors(form)}
    assert FP8 in stored
    # the next start reads the saved form, not the bf16/fp32 source: take the source away
    source = component_dir(models, "transformer") / "diffusion_pytorch_model.safetensors"
    stamp = form.joinpath(prepared.MANIFEST).stat().st_mtime_ns
    again = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8", prepared_root=root)
    assert form.joinpath(prepared.MANIFEST).stat().st_mtime_ns == stamp
    expected = in_memory(**inputs)[0]
    assert torch.equal(first(**inputs)[0], expected) and torch.equal(again(**inputs)[0], expected)
    # a changed source makes the saved form stale: it is made again
    source.write_bytes(source.read_bytes())
    loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8", prepared_root=root)
    assert form.joinpath(prepared.MANIFEST).stat().st_mtime_ns != stamp


def test_a_damaged_saved_form_is_ignored_and_made_again(models, reference, tmp_path):
    _, inputs, _ = reference
    root = tmp_path / "prepared"
    first = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8", prepared_root=root)
    expected = first(**inputs)[0]
    del first  # its weights map the shard about to be damaged
    form = prepared.folder_for(root, "transformer", "original", "fp8")
    shard = sorted(form.glob("*.safetensors"))[0]
    shard.write_bytes(shard.read_bytes()[:-10])
    again = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8", prepared_root=root)
    assert torch.equal(again(**inputs)[0], expected)
    assert prepared.find(form, list(transformer_sources(models, "original")[0].files), "fp8")


def test_single_file_bf16_checkpoint(models, reference):
    ref, inputs, expected = reference
    save_file({k: v.to(torch.bfloat16) for k, v in ref.state_dict().items()}, str(checkpoint(models, "fp_bf16.safetensors")))
    # the folder's weights may be gone entirely: the single file is enough
    (component_dir(models, "transformer") / "diffusion_pytorch_model.safetensors").unlink()
    loader.require_models(models, "original")
    model = loader.load_transformer(models, "original", "cpu", torch.bfloat16)
    assert model.transformer_blocks[0].attn.to_q.weight.dtype == torch.bfloat16
    assert model.proj_out.weight.dtype == torch.float32
    assert torch.equal(model.transformer_blocks[0].attn.to_q.weight, ref.transformer_blocks[0].attn.to_q.weight.bfloat16())
    assert relative_error(model(**{k: v.bfloat16() if torch.is_tensor(v) and v.is_floating_point() else v
                                   for k, v in inputs.items()})[0], expected) < 0.05


def test_single_file_fp8_checkpoint_keeps_its_fp8_weights(models, reference):
    """A community fp8 export: the layers diffusers casts are fp8 in the file; loaded as they are."""
    _, inputs, expected = reference
    fp8_model = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8")
    path = checkpoint(models, "FramePack_fp8_e4m3fn.safetensors")
    save_file({"model." + k: v.contiguous() for k, v in fp8_model.state_dict().items()}, str(path))  # wrapper prefix
    (source,) = [s for s in transformer_sources(models, "original") if s.user]
    assert source.stored == "fp8"
    model = loader.load_transformer(models, "original", "cpu", torch.float32)  # asked for plain: the file is fp8
    assert model.transformer_blocks[0].attn.to_q.weight.dtype == FP8
    assert torch.equal(model(**inputs)[0], fp8_model(**inputs)[0])


def test_known_community_export_in_its_repo_layout(models, reference):
    """`models download --precision fp8` puts Kijai's export at <models>/Kijai/HunyuanVideo_comfy/<file>."""
    repo, name = COMMUNITY_TRANSFORMERS[("f1", "fp8")]
    fp8_model = loader.load_transformer(models, "f1", "cpu", torch.float32, precision="fp8")
    (models / repo).mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in fp8_model.state_dict().items()}, str(models / repo / name))
    sources = transformer_sources(models, "f1")
    assert [s.kind for s in sources] == ["folder", "safetensors"]
    assert pick(sources, "fp8").path == models / repo / name
    assert pick(sources, "bf16").kind == "folder"


@pytest.mark.parametrize(
    "damage, words",
    [
        (lambda sd: {k: v for k, v in sd.items() if "norm_out" not in k}, "weights the model needs are not in it"),
        (lambda sd: {**sd, "lora_unet_extra.weight": torch.zeros(2)}, "tensors in it are not in the model"),
        (lambda sd: {**sd, "proj_out.weight": torch.zeros(3, 3)}, "proj_out.weight is [3, 3] in the file"),
        (lambda sd: {"double_blocks.0.img_attn.qkv.weight": torch.zeros(4, 4)}, "weights the model needs"),
    ],
    ids=["missing-keys", "unexpected-keys", "wrong-shape", "other-key-format"],
)
def test_mismatched_single_file_names_the_file_and_the_first_differences(models, reference, damage, words):
    ref, _, _ = reference
    path = checkpoint(models, "other.safetensors")
    save_file({k: v.contiguous() for k, v in damage(dict(ref.state_dict())).items()}, str(path))
    with pytest.raises(CheckpointMismatch) as err:
        loader.load_transformer(models, "original", "cpu", torch.float32)
    assert str(path) in str(err.value) and words in str(err.value)


@pytest.mark.parametrize("cut", [lambda b: b[: len(b) // 2], lambda b: b[:-1], lambda b: b + b"x", lambda b: b"<html>"])
def test_truncated_or_foreign_single_file_names_the_file(models, reference, cut):
    ref, _, _ = reference
    path = checkpoint(models, "cut.safetensors")
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(path))
    path.write_bytes(cut(path.read_bytes()))
    with pytest.raises(ModelsMissing) as err:
        loader.load_transformer(models, "original", "cpu", torch.float32)
    assert str(path) in str(err.value)


def test_two_user_checkpoints_are_ambiguous(models, reference):
    ref, _, _ = reference
    for name in ("a.safetensors", "b.safetensors"):
        save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(checkpoint(models, name)))
    with pytest.raises(ModelsMissing, match="a.safetensors.*b.safetensors.*Keep one"):
        loader.load_transformer(models, "original", "cpu", torch.float32)


def write_gguf(path, state_dict, quant=gguf.GGMLQuantizationType.Q8_0):
    writer = gguf.GGUFWriter(str(path), arch="framepack")
    for name, tensor in state_dict.items():
        array = tensor.float().numpy()
        if tensor.ndim == 2 and tensor.shape[1] % 32 == 0:
            blocks = gguf.quants.quantize(array, quant)
            writer.add_tensor(name, blocks, raw_shape=blocks.shape, raw_dtype=quant)
        else:
            writer.add_tensor(name, array)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()


def test_gguf_checkpoint_loads_with_quantized_linear_layers(models, reference):
    from diffusers.quantizers.gguf.utils import GGUFLinear, GGUFParameter

    ref, inputs, expected = reference
    write_gguf(checkpoint(models, "framepack-Q8_0.gguf"), ref.state_dict())
    model = loader.load_transformer(models, "original", "cpu", torch.float32)
    assert isinstance(model.transformer_blocks[0].attn.to_q, GGUFLinear)
    assert isinstance(model.transformer_blocks[0].attn.to_q.weight, GGUFParameter)
    assert isinstance(model.single_transformer_blocks[0].proj_out, GGUFLinear)  # only the top-level one is float32
    assert type(model.proj_out) is torch.nn.Linear and model.proj_out.weight.dtype == torch.float32
    assert 0 < relative_error(model(**inputs)[0], expected) < 0.02


def test_gguf_with_other_names_or_unsupported_types_is_refused_clearly(models, reference):
    ref, _, _ = reference
    path = checkpoint(models, "renamed.gguf")
    write_gguf(path, {"diffusion_model." + k: v for k, v in ref.state_dict().items()})
    with pytest.raises(CheckpointMismatch, match="renamed.gguf.*diffusers key names"):
        loader.load_transformer(models, "original", "cpu", torch.float32)
    path.unlink()
    path = checkpoint(models, "odd.gguf")
    writer = gguf.GGUFWriter(str(path), arch="framepack")
    writer.add_tensor("proj_out.weight", np.zeros((16, 66), dtype=np.uint8), raw_shape=(16, 66),
                      raw_dtype=gguf.GGMLQuantizationType.IQ2_XXS)
    writer.write_header_to_file()
    writer.write_kv_data_to_file()
    writer.write_tensors_to_file()
    writer.close()
    with pytest.raises(CheckpointMismatch, match="IQ2_XXS.*supported"):
        loader.load_transformer(models, "original", "cpu", torch.float32)


def test_llama_in_fp8_streams_into_fp8_storage_and_is_saved(models, tmp_path):
    root = tmp_path / "prepared"
    plain = loader.load_text_encoders(models, "cpu", torch.float32)
    enc = loader.load_text_encoders(models, "cpu", torch.float32, precision="fp8", prepared_root=root)
    llama = enc.llama
    assert llama.layers[0].mlp.gate_proj.weight.dtype == FP8
    assert llama.embed_tokens.weight.dtype == torch.float32 and llama.norm.weight.dtype == torch.float32
    ids = torch.tensor([[1, 5, 9, 13, 17, 21]])
    out = llama(input_ids=ids, output_hidden_states=True).hidden_states[-3]
    ref = plain.llama(input_ids=ids, output_hidden_states=True).hidden_states[-3]
    assert 0 < relative_error(out, ref) < 0.1
    assert prepared.find(prepared.folder_for(root, "text_encoder", None, "fp8"),
                         [component_dir(models, "text_encoder") / "model.safetensors"], "fp8")


@pytest.mark.parametrize("precision", ["int8", "nf4"])
def test_int8_and_nf4_say_what_this_machine_lacks(models, precision, monkeypatch):
    with pytest.raises(QuantizationUnavailable, match="NVIDIA GPU.*Choose precision fp8"):
        loader.load_transformer(models, "original", "cpu", torch.bfloat16, precision=precision)
    cuda = torch.device("cuda")
    monkeypatch.setattr(quantize, "has_package", lambda name: False)
    with pytest.raises(QuantizationUnavailable, match="'bitsandbytes' package.*pip install bitsandbytes"):
        require_backend(Precision(precision), cuda)
    monkeypatch.setattr(quantize, "has_package", lambda name: name == "torchao")
    if precision == "int8":
        require_backend(Precision(precision), cuda)  # torchao serves int8: nothing missing
        assert quantize.int8_backend() == "torchao"
    else:
        with pytest.raises(QuantizationUnavailable, match="bitsandbytes"):
            require_backend(Precision(precision), cuda)


def test_quantized_precisions_need_the_diffusers_folder(models, reference):
    ref, _, _ = reference
    shutil.rmtree(component_dir(models, "transformer"))
    repo, name = COMMUNITY_TRANSFORMERS[("original", "bf16")]
    (models / repo).mkdir(parents=True)
    save_file({k: v.contiguous() for k, v in ref.state_dict().items()}, str(models / repo / name))
    sources = transformer_sources(models, "original")
    assert [s.kind for s in sources] == ["safetensors"]
    with pytest.raises(ModelsMissing, match="nf4 quantizes the transformer from the diffusers folder"):
        pick(sources, "nf4")


def _tensors(folder):
    from safetensors import safe_open

    for shard in sorted(folder.glob("*.safetensors")):
        with safe_open(str(shard), "pt") as f:
            for key in f.keys():
                yield f.get_tensor(key)


def test_fp8_compute_from_an_fp8_checkpoint_says_its_weights_are_rounded_twice(models, monkeypatch):
    from framepack_desktop.engine import speed
    from framepack_desktop.engine.job import Job
    from framepack_desktop.engine.models.machine import Machine
    from framepack_desktop.engine.models.policy import plan_job

    monkeypatch.setattr(speed.fp8, "fp8_hardware", lambda device: None)  # as on an Ada/Hopper GPU
    gib = 1024 ** 3
    gpu = Machine("cuda", "24 GB GPU", 24 * gib, 23 * gib, 64 * gib, 48 * gib, 48 * gib, 500 * gib)
    job = Job(image="x.png", prompt="p", output="o.mp4", models=str(models), device="cuda", fp8_compute=True)
    assert not any("rounded twice" in r for r in plan_job(job, machine=gpu).placement.reasons)  # bf16 folder
    fp8_model = loader.load_transformer(models, "original", "cpu", torch.float32, precision="fp8")
    path = checkpoint(models, "mine_fp8_e4m3fn.safetensors")
    save_file({k: v.contiguous() for k, v in fp8_model.state_dict().items()}, str(path))
    reasons = plan_job(job, machine=gpu).placement.reasons
    assert any("rounded twice" in r and path.name in r for r in reasons)
