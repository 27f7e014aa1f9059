"""Precisions of the heavy components (transformer, Llama) and how each is realised.

- bf16 / fp16 / fp32: plain dtypes.
- fp8: weights stored as float8 e4m3fn, each layer upcast to the compute dtype (bf16) just for its
  own forward, with diffusers' layerwise casting. Halves the weights of the linear layers at a
  small cost in quality; it works on every GPU and on the CPU, because no fp8 arithmetic happens.
  Norms, embedders, modulation and the output projection stay in the compute dtype (diffusers'
  skip rules plus the class's own list), so an fp8 transformer is 16.6 GB rather than 12.9.
- int8: torchao int8 weight-only when torchao is installed (fast fused dequantisation, works
  with torch.compile), else bitsandbytes LLM.int8 (slower: mixed-precision decomposition). CUDA only.
- nf4: bitsandbytes 4-bit NormalFloat with bf16 compute. CUDA only.

The checks here run before anything loads, so a missing package or GPU is one clear message.
"""
from __future__ import annotations

import importlib.util
from dataclasses import dataclass
from typing import TYPE_CHECKING

from .errors import QuantizationUnavailable

if TYPE_CHECKING:
    import torch

PLAIN = ("fp32", "bf16", "fp16")
QUANTIZED = ("int8", "nf4")
# Modules of the Llama kept in the compute dtype under fp8 storage: its token embeddings (a
# lookup, not a matmul: fp8 there costs quality and saves little) and its RMS norms.
LLAMA_FP8_SKIP = ("embed_tokens", "norm")


@dataclass(frozen=True)
class Precision:
    """How one component's weights are stored: a plain dtype name, "fp8", "int8" or "nf4"."""

    name: str

    @property
    def quantized(self) -> bool:
        return self.name in QUANTIZED


def dtype_of(name: str) -> "torch.dtype":
    import torch

    return {"fp32": torch.float32, "bf16": torch.bfloat16, "fp16": torch.float16}[name]


def name_of(dtype: "torch.dtype") -> str:
    import torch

    return {torch.float32: "fp32", torch.bfloat16: "bf16", torch.float16: "fp16"}[dtype]


def has_package(name: str) -> bool:
    return importlib.util.find_spec(name) is not None


def int8_backend() -> str:
    """Which library realises int8: torchao when installed (faster kernels), else bitsandbytes."""
    return "torchao" if has_package("torchao") else "bitsandbytes"


def require_backend(precision: Precision, device: "torch.device") -> None:
    """QuantizationUnavailable when this machine cannot run `precision` on `device`."""
    if not precision.quantized:
        return
    backend = "bitsandbytes" if precision.name == "nf4" else int8_backend()
    if device.type != "cuda":
        raise QuantizationUnavailable(
            f"{precision.name} weights need an NVIDIA GPU ({backend} runs on CUDA only); this job runs on "
            f"{device.type}. Choose precision fp8 or bf16."
        )
    if not has_package(backend):
        raise QuantizationUnavailable(
            f"{precision.name} weights need the '{backend}' package, which is not installed. Install it "
            f"(pip install {backend}, or the app's 'quant' extra: pip install framepack-desktop[quant]), "
            "or choose precision fp8, which needs no extra package."
        )


def fp8_skeleton(model: "torch.nn.Module", compute_dtype: "torch.dtype", extra_skip: tuple[str, ...] = ()) -> None:
    """Give a model (a skeleton on meta, or a loaded one) fp8 storage with `compute_dtype` compute.

    diffusers' own rules pick the layers (its default patterns, the class's
    `_skip_layerwise_casting_patterns`); `extra_skip` adds more. The hooks cast each layer's weights
    for its forward only, so the model's inputs and outputs stay in `compute_dtype`.
    """
    import torch
    from diffusers.hooks import apply_layerwise_casting
    from diffusers.hooks.layerwise_casting import DEFAULT_SKIP_MODULES_PATTERN

    patterns = tuple(DEFAULT_SKIP_MODULES_PATTERN) + tuple(extra_skip)
    patterns += tuple(getattr(model, "_skip_layerwise_casting_patterns", None) or ())
    patterns += tuple(getattr(model, "_keep_in_fp32_modules", None) or ())
    torch.nn.Module.to(model, compute_dtype)  # diffusers' own .to() warns about fp32 modules it has none of
    apply_layerwise_casting(model, torch.float8_e4m3fn, compute_dtype, tuple(dict.fromkeys(patterns)))


def bnb_config(precision: Precision, library: str, skip: tuple[str, ...]):
    """A bitsandbytes quantization config of diffusers or transformers (`library`)."""
    import torch

    module = importlib.import_module(library)
    if precision.name == "nf4":
        return module.BitsAndBytesConfig(
            load_in_4bit=True, bnb_4bit_quant_type="nf4", bnb_4bit_compute_dtype=torch.bfloat16,
            llm_int8_skip_modules=list(skip),
        )
    return module.BitsAndBytesConfig(load_in_8bit=True, llm_int8_skip_modules=list(skip))


def quantization_config(precision: Precision, library: str, skip: tuple[str, ...]):
    """The `quantization_config` for `from_pretrained` realising int8 / nf4."""
    if precision.name == "int8" and int8_backend() == "torchao":
        from torchao.quantization import Int8WeightOnlyConfig

        module = importlib.import_module(library)
        return module.TorchAoConfig(Int8WeightOnlyConfig(), modules_to_not_convert=list(skip))
    return bnb_config(precision, library, skip)
