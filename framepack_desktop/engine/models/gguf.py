"""GGUF checkpoints of the transformer, on top of diffusers' GGUF support and the `gguf` package.

diffusers' `from_single_file` only knows the classes it has key converters for, and the FramePack
transformer is not one of them; but everything it uses for GGUF is there: `GGUFParameter` (a
tensor that keeps its quantized blocks and their type), `GGUFLinear` (dequantizes on the fly, on
any device; with CUDA kernels when the `kernels` package is installed) and the `GGUFQuantizer`
that swaps the linear layers in. This module reads the file and wires those together.

The file is memory-mapped: each tensor is a read-only view of its bytes until it moves to the
device (on the CPU it stays a view), so loading costs no RAM copy of the whole file. Tensor names
must be the diffusers ones (exports of lllyasviel's repo keep them); others are a clear mismatch.
Quantization types diffusers cannot dequantize are refused with the list of those it can.
"""
from __future__ import annotations

import warnings
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import SHOWN, empty_model
from .errors import CheckpointMismatch

if TYPE_CHECKING:
    import torch

# Dequantized once at load: FramePack runs its (top-level) output projection in float32. Done on
# the state dict, because diffusers' `modules_to_not_convert` matches child names at every depth
# and would also dequantize the 40 single blocks' own `proj_out` layers (1.9B parameters).
FLOAT32_TENSORS = ("proj_out.weight", "proj_out.bias")


def read_gguf(path: Path) -> dict[str, "torch.Tensor"]:
    """Tensor name -> tensor (GGUFParameter for quantized types), as views of the mapped file."""
    import gguf
    import numpy as np
    import torch
    from diffusers.quantizers.gguf.utils import SUPPORTED_GGUF_QUANT_TYPES, GGUFParameter

    try:
        reader = gguf.GGUFReader(str(path))
    except (ValueError, OSError) as exc:
        raise CheckpointMismatch(f"{path} is not a readable GGUF file ({exc}). Download it again.") from exc
    plain = (gguf.GGMLQuantizationType.F32, gguf.GGMLQuantizationType.F16)
    tensors: dict[str, torch.Tensor] = {}
    for tensor in reader.tensors:
        kind = tensor.tensor_type
        if kind not in plain and kind not in SUPPORTED_GGUF_QUANT_TYPES:
            known = ", ".join(t.name for t in SUPPORTED_GGUF_QUANT_TYPES)
            raise CheckpointMismatch(
                f"{path}: tensor {tensor.name} is quantized as {kind.name}, which cannot be loaded here "
                f"(supported: F32, F16, {known}). Use an export in one of those types."
            )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", UserWarning)  # read-only mapping: never written to
            data = torch.from_numpy(np.asarray(tensor.data))
        tensors[tensor.name] = data if kind in plain else GGUFParameter(data, quant_type=kind)
    return tensors


def load_gguf_transformer(path: Path, config: dict, device: "str | torch.device", compute_dtype: "torch.dtype"):
    """The FramePack transformer from a GGUF file, computing in `compute_dtype` on `device`."""
    import torch
    from diffusers import GGUFQuantizationConfig, HunyuanVideoFramepackTransformer3DModel
    from diffusers.models.model_loading_utils import load_model_dict_into_meta
    from diffusers.quantizers.gguf import GGUFQuantizer

    from diffusers.quantizers.gguf.utils import GGUFParameter, dequantize_gguf_tensor

    state = read_gguf(Path(path))
    model = empty_model(lambda: HunyuanVideoFramepackTransformer3DModel.from_config(config))
    _check_names(path, model, state)
    for name in FLOAT32_TENSORS:
        if isinstance(state.get(name), GGUFParameter):
            state[name] = dequantize_gguf_tensor(state[name]).to(torch.float32)
    quantizer = GGUFQuantizer(GGUFQuantizationConfig(compute_dtype=compute_dtype))
    quantizer.preprocess_model(model=model, device_map=None, state_dict=state, keep_in_fp32_modules=[])
    try:
        load_model_dict_into_meta(
            model, state, dtype=compute_dtype, device_map={"": torch.device(device)}, hf_quantizer=quantizer,
            keep_in_fp32_modules=[], unexpected_keys=[],
        )
    except ValueError as exc:
        raise CheckpointMismatch(f"{path} does not match the FramePack transformer: {exc}") from exc
    quantizer.postprocess_model(model)
    model.hf_quantizer = quantizer
    return model.eval().requires_grad_(False)


def _check_names(path: Path, model, state: dict) -> None:
    expected = set(model.state_dict())
    missing = sorted(expected - set(state))
    unexpected = sorted(set(state) - expected)
    if missing or unexpected:
        raise CheckpointMismatch(
            f"{path} does not match HunyuanVideoFramepackTransformer3DModel: "
            f"{len(missing)} weights missing (first: {', '.join(missing[:SHOWN]) or '-'}), "
            f"{len(unexpected)} unknown tensors (first: {', '.join(unexpected[:SHOWN]) or '-'}). Only GGUF "
            "exports with the diffusers key names load; remove it or use such an export."
        )
