"""Whether fp8 compute is good enough here: fp8 is offered only where a check against bf16 on the
same random weights and inputs keeps the relative error of the predicted velocity under
`FP8_MAX_RELATIVE_ERROR`; the verdict is cached per GPU model and library versions.
"""
from __future__ import annotations

import json
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from . import common, fp8

# e4m3 rounds each matmul to ~3.5 %; through FramePack's 60 blocks with random weights that
# accumulates to 6-7 % (docs/BENCHMARKS.md). Well above that means a broken kernel or activations
# whose outliers per-token scales cannot hold.
FP8_MAX_RELATIVE_ERROR = 0.10


@dataclass(frozen=True)
class Fp8Check:
    """Relative error of the fp8 velocity prediction against bf16 on the same weights and inputs."""

    relative_error: float
    threshold: float
    linears: int
    rowwise: bool

    @property
    def passed(self) -> bool:
        return self.relative_error <= self.threshold


@torch.no_grad()
def fp8_check(transformer: nn.Module, inputs: Mapping, rowwise: bool = True,
              threshold: float = FP8_MAX_RELATIVE_ERROR) -> Fp8Check:
    """Predict with `transformer` as it is (bf16), convert it to fp8 in place, predict again, compare.

    `inputs` are the transformer's keyword arguments (hidden_states, timestep, ... as the runner
    passes them). The transformer stays converted: build it for the check (random weights) or
    reload it when the check fails.
    """
    reference = transformer(**inputs, return_dict=False)[0].float()
    linears = fp8.convert_to_fp8(transformer, rowwise)
    value = transformer(**inputs, return_dict=False)[0].float()
    return Fp8Check(common.relative_error(value, reference), threshold, linears, rowwise)


def random_inputs(config: Mapping, device: torch.device, dtype: torch.dtype, latent_height: int,
                  latent_width: int, window: int = 9, text_tokens: int = 64, image_tokens: int = 729,
                  seed: int = 0) -> dict[str, torch.Tensor]:
    """Keyword arguments of one FramePack transformer call with random values, laid out as the
    original model's first section (start + 1x clean latents, 2x and 4x history)."""
    gen = torch.Generator("cpu").manual_seed(seed)
    c = config["in_channels"]

    def rand(*shape: int) -> torch.Tensor:
        return torch.randn(*shape, generator=gen).to(device=device, dtype=dtype)

    size = (latent_height, latent_width)
    return {
        "hidden_states": rand(1, c, window, *size),
        "timestep": torch.tensor([900.0], device=device, dtype=dtype),
        "guidance": torch.tensor([10000.0], device=device, dtype=dtype),
        "encoder_hidden_states": rand(1, text_tokens, config["text_embed_dim"]),
        "encoder_attention_mask": torch.ones(1, text_tokens, device=device, dtype=dtype),
        "pooled_projections": rand(1, config["pooled_projection_dim"]),
        "image_embeds": rand(1, image_tokens, config["image_proj_dim"]),
        "indices_latents": torch.arange(1, 1 + window, device=device),
        "latents_clean": rand(1, c, 2, *size),
        "indices_latents_clean": torch.tensor([0, window + 1], device=device),
        "latents_history_2x": rand(1, c, 2, *size),
        "indices_latents_history_2x": torch.arange(window + 2, window + 4, device=device),
        "latents_history_4x": rand(1, c, 16, *size),
        "indices_latents_history_4x": torch.arange(window + 4, window + 20, device=device),
    }


def build_random(factory: Callable[[], nn.Module], device: str | torch.device, dtype: torch.dtype,
                 seed: int = 0) -> nn.Module:
    """A model with random weights made directly on `device` in `dtype`, never whole on the CPU.

    The model is constructed with its parameters on the meta device (buffers such as rotary
    tables stay real), then every parameter is allocated on `device` and filled: matrices and
    kernels from N(0, 1/fan_in), norm scales 1, biases 0, so activations keep their size through
    the depth as in a trained model. That is how a 13B transformer is measured without its weights.
    """
    from accelerate import init_empty_weights

    device = torch.device(device)
    with init_empty_weights(include_buffers=False):
        model = factory()
    gen = torch.Generator(device).manual_seed(seed)
    for module in model.modules():
        for name, param in list(module._parameters.items()):
            if param is None:
                continue
            data = torch.empty(param.shape, device=device, dtype=dtype)
            if data.ndim >= 2:
                data.normal_(0.0, (data[0].numel()) ** -0.5, generator=gen)
            elif name == "weight":
                data.fill_(1.0)
            else:
                data.zero_()
            module._parameters[name] = nn.Parameter(data, requires_grad=False)
    return model.to(device).eval()


def fp8_verdict(device: torch.device, config: Mapping, cache_file: Path | None = None) -> Fp8Check:
    """The fp8 quality check for this GPU, run once and cached per GPU model and library versions.

    The check model has the full depth and head size of `config` (error accumulates with depth)
    but 2 heads instead of 24: the rounding error of a matmul does not depend on its width, and
    the model then fits beside anything on any fp8-capable card. The benchmark runs the check at
    full size too.
    """
    import diffusers

    cache_file = cache_file or common.speed_cache_dir() / "fp8-check.json"
    key = "|".join([common.device_name(device), torch.__version__, diffusers.__version__, str(FP8_MAX_RELATIVE_ERROR)])
    cached = common.read_json(cache_file)
    if key in cached:
        return Fp8Check(**cached[key])
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    narrow = {k: v for k, v in dict(config).items() if not k.startswith("_")}
    narrow["num_attention_heads"] = 2
    model = build_random(lambda: HunyuanVideoFramepackTransformer3DModel(**narrow), device, torch.bfloat16)
    check = fp8_check(model, random_inputs(narrow, device, torch.bfloat16, 32, 32), fp8.fp8_rowwise_works(device),
                      threshold=FP8_MAX_RELATIVE_ERROR)
    del model
    cached[key] = {"relative_error": check.relative_error, "threshold": check.threshold,
                   "linears": check.linears, "rowwise": check.rowwise}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cached, indent=1), encoding="utf-8")
    return check


def fp8_unavailable(device: torch.device, config: Mapping) -> str | None:
    """Why fp8 compute is not offered on `device`, or None when it is (hardware and quality check)."""
    problem = fp8.fp8_hardware(device)
    if problem:
        return problem
    check = fp8_verdict(device, config)
    if not check.passed:
        return (f"on this GPU fp8 changes the model's prediction by {check.relative_error:.1%} "
                f"(more than the {check.threshold:.0%} allowed)")
    return None
