"""Applying a job's LoRA set to the loaded transformer, through diffusers' PeftAdapterMixin.

Each LoRA file is one PEFT adapter on the transformer, named by its content (`LoraRef.adapter_name`);
weights are per adapter (`set_adapters`). Adapters stay unfused: the base weights are never changed,
so switching the set or the weights between jobs costs reading the new files (or nothing, for a weight
change), never a reload or re-merge of the base model. The price is one rank-r matmul pair per adapted
layer at each call, small next to the layer's own. We do not fuse for speed even where the weights are
bf16: un-fusing subtracts in bf16, which does not restore the weights exactly, so a later job without
the LoRA would no longer be the same job.

How each precision and memory mode takes an adapter (measured on the demo model; CUDA-only ones follow
the libraries' documented support):

- fp32 / bf16 / fp16, on the device, model offloading or group offloading: adapter (diffusers removes and
  re-applies its group-offloading hooks around the change, so the adapter's weights stream with their block);
- fp8 storage (layerwise casting): adapter on the hooked layer; PEFT would make the adapter's own weights
  fp8 like the base's, so they are put back in the compute dtype, with the file's values;
- GGUF: adapter on diffusers' GGUFLinear (it dequantizes the base, the adapter adds its product);
- int8 / nf4 (bitsandbytes, torchao): adapter on PEFT's quantized-layer classes (CUDA);
- fp8 compute: `Float8Linear` is no layer PEFT can wrap, so the set is merged into the bf16 weights
  before they are quantized to fp8, once per LoRA set: changing the set reloads the transformer (the
  session keys it by the set), changing nothing else does. Until the quantisation the adapted layers
  are bf16 copies in RAM (the loaded weights are views of the mapped files), up to the blocks' 25 GB
  for a LoRA on every layer; the memory plan does not count them yet.
"""
from __future__ import annotations

import logging
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from ..lora_ref import LoraRef
from .lora_formats import LoraInfo, load_lora

if TYPE_CHECKING:
    import torch

    from .placement import Placement

log = logging.getLogger(__name__)

ADAPTER, MERGED = "adapter", "merged"
COMPUTE_DTYPES = ("float32", "bfloat16", "float16")


@dataclass(frozen=True)
class LoraMethod:
    """How a placement takes LoRAs, said before anything loads."""

    kind: str
    reason: str

    def describe(self) -> str:
        if self.kind == MERGED:
            return f"LoRAs are merged into the weights ({self.reason}); a change of LoRA set reloads the video model"
        return f"LoRAs are applied as adapters ({self.reason}); switching them does not reload the video model"


def lora_method(place: "Placement") -> LoraMethod:
    """The way `place` takes LoRAs (see the module's docstring for why)."""
    if place.fp8_compute:
        return LoraMethod(MERGED, "fp8 compute: merged into the bf16 weights before they become fp8, which holds "
                                  "the adapted layers in RAM in bf16 until they are quantised")
    precision = place.transformer_precision
    memory = {"group_offload": ", streamed with their blocks", "model_offload": ", offloaded with the model"}.get(place.memory, "")
    what = {
        "fp8": "on the fp8-stored layers, the adapters in the compute dtype",
        "gguf": "on the GGUF layers",
        "int8": "on the int8 layers",
        "nf4": "on the nf4 layers",
    }.get(precision or "", "unfused")
    return LoraMethod(ADAPTER, what + memory)


def active_set(refs: tuple[LoraRef, ...]) -> dict[str, float]:
    """Adapter name -> weight of the LoRAs that change the model, in a fixed (content) order, so the
    same set gives the same sums whatever order it was listed in. Two copies of a file add their weights."""
    weights: dict[str, float] = {}
    for ref in sorted((r for r in refs if r.active), key=lambda r: r.sha256):
        weights[ref.adapter_name] = weights.get(ref.adapter_name, 0.0) + ref.weight
    return {name: w for name, w in weights.items() if w != 0}


def merge_key(place: "Placement", refs: tuple[LoraRef, ...]) -> tuple:
    """What of the LoRA set is part of the loaded transformer itself: the set when it is merged, else nothing."""
    return tuple(sorted(active_set(refs).items())) if lora_method(place).kind == MERGED else ()


def apply_loras(model, refs: tuple[LoraRef, ...], compute_dtype: "torch.dtype") -> list[LoraInfo]:
    """Make `model`'s adapters exactly the active LoRAs of `refs` with their weights; returns what was newly read.

    Adapters not in the set are deleted (their memory freed), those already loaded are kept, new ones
    are read from their files. With no active LoRA the model computes exactly its base layers.
    """
    wanted = active_set(refs)
    config = model_config(model)
    paths = {ref.adapter_name: ref.path for ref in refs}
    loaded = set(getattr(model, "peft_config", None) or {})
    stale = sorted(loaded - set(wanted))
    if stale:
        model.delete_adapters(stale)
    infos = [_load_adapter(model, name, paths[name], config, compute_dtype) for name in wanted if name not in loaded]
    if infos:
        _restream(model)
    if wanted:
        model.set_adapters(list(wanted), list(wanted.values()))
    model.requires_grad_(False)
    return infos


def merge_loras(model, refs: tuple[LoraRef, ...], compute_dtype: "torch.dtype") -> list[LoraInfo]:
    """Add the active LoRAs of `refs` into `model`'s weights for good (the merged method), leaving plain layers."""
    infos = apply_loras(model, refs, compute_dtype)
    if active_set(refs):
        # safe fusing adds into a copy: the loaded weights may be read-only views of the mapped files.
        model.fuse_lora(safe_fusing=True, adapter_names=list(active_set(refs)))
        model.unload_lora()
    return infos


def model_config(model) -> dict:
    """The transformer's constructor config (what `lora_formats` builds its layer list from)."""
    return {k: v for k, v in model.config.items() if not k.startswith("_")}


def lora_layers(model) -> int:
    """How many layers of `model` carry a PEFT adapter layer now (0: plain model)."""
    from peft.tuners.tuners_utils import BaseTunerLayer

    return sum(isinstance(m, BaseTunerLayer) for m in model.modules())


def _load_adapter(model, name: str, path: str, config: dict, compute_dtype: "torch.dtype") -> LoraInfo:
    state, info = load_lora(path, config)
    with warnings.catch_warnings():
        # PEFT warns whenever a model gets a second adapter: several at once is the point here.
        warnings.filterwarnings("ignore", message="Already found a `peft_config` attribute")
        model.load_lora_adapter(dict(state), prefix=None, adapter_name=name, low_cpu_mem_usage=True)
    _keep_in_compute_dtype(model, name, state, compute_dtype)
    log.info("LoRA %s", info.describe())
    return info


def _restream(model) -> None:
    """Group offloading's hooks hold each block's tensors (and, with CUDA streams, their pinned copies):
    after new adapters they are applied again so the adapters stream with their blocks. diffusers does
    this itself when deleting adapters, and when loading only for a pipeline; here there is none. The
    re-applied offloading covers the whole model, so the first block, kept resident at load, streams too."""
    from diffusers.hooks.group_offloading import _maybe_remove_and_reapply_group_offloading

    _maybe_remove_and_reapply_group_offloading(model)


def _keep_in_compute_dtype(model, name: str, state: dict, compute_dtype: "torch.dtype") -> None:
    """PEFT gives an adapter its base layer's dtype; for fp8-stored layers that would round the LoRA to
    fp8 and fail in the matmul. Such adapters get the compute dtype and the file's values back."""
    from peft.tuners.lora import LoraLayer

    for module_name, module in model.named_modules():
        if not isinstance(module, LoraLayer) or name not in module.lora_A:
            continue
        for part, key in ((module.lora_A[name], "lora_A"), (module.lora_B[name], "lora_B")):
            if str(part.weight.dtype).removeprefix("torch.") in COMPUTE_DTYPES:
                continue
            part.to(compute_dtype)
            part.weight.data.copy_(state[f"{module_name}.{key}.weight"])
