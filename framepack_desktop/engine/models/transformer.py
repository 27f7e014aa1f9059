"""Loading the FramePack transformer in the precision the memory policy chose, from any of its forms.

- bf16/fp16/fp32 from the diffusers folder or a single file: skeleton + `load_into` (tensors read
  from the mapped files one at a time; left on the CPU, they stay views of the files).
- fp8: skeleton with layerwise casting + `load_into`, from an fp8 file as it is, or from bf16
  weights cast tensor by tensor while the saved fp8 form is written (`prepared.py`); later starts
  read that form.
- int8/nf4: `from_pretrained` with a torchao or bitsandbytes config (CUDA); the bitsandbytes
  result is saved with `save_pretrained` (it serialises pre-quantized weights) and reloaded from
  there next time. torchao's int8 is quantized at each load: its weights only serialise through
  pickle, and per-channel int8 quantization takes seconds.
- GGUF: `gguf.py`.

In every case the output projection runs in float32 (`keep_proj_out_float32`).
"""
from __future__ import annotations

import logging
from pathlib import Path
from typing import TYPE_CHECKING

from . import prepared
from .checkpoint import empty_model, load_into
from .pretrained import check_component
from .quantize import Precision, fp8_skeleton, int8_backend, quantization_config, require_backend
from .sources import Source, loaded_precision, pick, transformer_config, transformer_sources

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

CLASS_NAME = "HunyuanVideoFramepackTransformer3DModel"
# Not quantized to int8/nf4: the embedders and norms (small, precision-critical) and the output
# projection (float32).
QUANT_SKIP = ("proj_out", "x_embedder", "clean_x_embedder", "context_embedder", "image_projection", "norm_out")


def load(
    models_dir: Path,
    variant: str,
    device: "str | torch.device",
    compute_dtype: "torch.dtype",
    precision: str,
    prepared_root: Path | None = None,
):
    """The transformer of `variant` in `precision` ("fp32", "bf16", "fp16", "fp8", "int8", "nf4").

    For fp8, int8 and nf4 `compute_dtype` is the dtype each layer computes in; `prepared_root` is
    where saved quantized forms are kept (None: neither read nor written).
    """
    import torch

    device = torch.device(device)
    source = pick(transformer_sources(models_dir, variant), precision)
    stored = loaded_precision(source, precision)
    if source.kind == "folder":
        check_component(models_dir, "transformer", variant)
    if stored != precision:
        log.info("loading %s as %s: it is the transformer checkpoint on disk", source.describe(), stored)
    config = transformer_config(models_dir, variant)
    if source.kind == "gguf":
        from .gguf import load_gguf_transformer

        model = load_gguf_transformer(source.path, config, device, compute_dtype)
    elif stored in ("int8", "nf4"):
        model = _quantized(source, variant, device, Precision(stored), prepared_root)
    elif stored == "fp8":
        model = _fp8(source, variant, config, device, compute_dtype, prepared_root)
    else:
        model = load_into(_skeleton(config, compute_dtype), list(source.files), device, label=source.path)
    keep_proj_out_float32(model)
    return model


def _skeleton(config: dict, dtype: "torch.dtype", fp8: bool = False):
    import torch
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    model = empty_model(lambda: HunyuanVideoFramepackTransformer3DModel.from_config(config))
    if fp8:
        fp8_skeleton(model, dtype)
    else:
        torch.nn.Module.to(model, dtype)  # diffusers' own .to() warns about fp32 modules it has none of
    model.proj_out.to(torch.float32)
    return model


def _fp8(source: Source, variant: str, config: dict, device, compute_dtype, prepared_root: Path | None):
    skeleton = _skeleton(config, compute_dtype, fp8=True)
    folder = prepared.folder_for(prepared_root, "transformer", variant, "fp8") if prepared_root else None
    saved = {"_class_name": CLASS_NAME, **config}
    return prepared.load_or_prepare(
        skeleton, list(source.files), device, folder, "fp8", saved, label=source.path, save=source.stored != "fp8"
    )


def _quantized(source: Source, variant: str, device, precision: Precision, prepared_root: Path | None):
    """int8 / nf4 through `from_pretrained`; the bitsandbytes result is saved for the next start."""
    import torch
    from diffusers import HunyuanVideoFramepackTransformer3DModel as Model

    require_backend(precision, device)
    saves = int8_backend() == "bitsandbytes" or precision.name == "nf4"
    folder = prepared.folder_for(prepared_root, "transformer", variant, precision.name) if prepared_root else None
    options = dict(torch_dtype=torch.bfloat16, device_map=str(device))
    if folder is not None and prepared.find(folder, list(source.files), precision.name):
        return Model.from_pretrained(folder, **options).eval().requires_grad_(False)
    config = quantization_config(precision, "diffusers", QUANT_SKIP)
    model = Model.from_pretrained(source.path, quantization_config=config, **options).eval().requires_grad_(False)
    if saves and folder is not None and prepared.has_room(folder, source.nbytes // 2):
        staging = prepared.staging_for(folder)
        model.save_pretrained(staging, safe_serialization=True)
        prepared.seal(staging, folder, list(source.files), precision.name)
    return model


def keep_proj_out_float32(transformer) -> None:
    """Run the final projection in float32 whatever the rest runs in, as FramePack does.

    The last linear layer maps features to the predicted velocity; doing it in bf16 costs visible
    quality. Its weights become float32 and its input is cast to float32, so the model's output
    (the velocity the sampler integrates) is float32 too, as in the original. The hook also
    restores float32 weights if a later `.to(dtype)` of the whole model turned them back.
    """
    import torch

    proj_out = transformer.proj_out
    proj_out.to(torch.float32)
    if not getattr(proj_out, "_framepack_fp32", False):
        proj_out.register_forward_pre_hook(_proj_out_in_float32)
        proj_out._framepack_fp32 = True


def _proj_out_in_float32(module, args):
    import torch

    if module.weight.dtype != torch.float32:
        module.to(torch.float32)
    return tuple(a.to(torch.float32) if torch.is_tensor(a) else a for a in args)
