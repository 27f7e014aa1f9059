"""Loading the Llama text encoder (15 GB in fp16, the second-heaviest part) in a chosen precision.

fp16/bf16/fp32 go through `from_pretrained`. fp8 builds the model as a skeleton with layerwise
casting (token embeddings and norms kept in the compute dtype) and streams the fp16 shards into it
tensor by tensor, writing the saved fp8 form on the way, so RAM never holds the fp16 copy; the
next start maps the 7.6 GB fp8 form directly. int8/nf4 quantize through `from_pretrained` with a
torchao or bitsandbytes config (CUDA only). The encoder runs once per new prompt and is freed
right after (`session.py`); the prompt-embedding cache makes that rare.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from . import prepared
from .checkpoint import empty_model
from .layout import locate, weight_files
from .pretrained import check_component, load_pretrained
from .quantize import LLAMA_FP8_SKIP, PLAIN, Precision, dtype_of, fp8_skeleton, quantization_config, require_backend

if TYPE_CHECKING:
    import torch


def load_llama(
    models_dir: Path,
    device: "str | torch.device",
    compute_dtype: "torch.dtype",
    precision: str,
    prepared_root: Path | None = None,
):
    import torch
    from transformers import LlamaConfig, LlamaModel

    device = torch.device(device)
    if precision in PLAIN:
        return load_pretrained(LlamaModel, models_dir, "text_encoder", device=device, dtype=dtype_of(precision))
    wanted = Precision(precision)
    if wanted.quantized:
        require_backend(wanted, device)
        config = quantization_config(wanted, "transformers", ())
        return load_pretrained(
            LlamaModel, models_dir, "text_encoder", device=device, dtype=compute_dtype, quantization_config=config
        )
    folder = check_component(models_dir, "text_encoder")
    config = LlamaConfig.from_pretrained(locate(models_dir, "text_encoder"))
    skeleton = empty_model(lambda: LlamaModel(config))
    fp8_skeleton(skeleton, compute_dtype, LLAMA_FP8_SKIP)
    target = prepared.folder_for(prepared_root, "text_encoder", None, "fp8") if prepared_root else None
    return prepared.load_or_prepare(
        skeleton, weight_files(models_dir, "text_encoder"), device, target, "fp8", config.to_dict(), label=folder
    )
