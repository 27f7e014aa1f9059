"""How much memory each model and each step needs: the numbers the memory policy decides with.

Weights are counted, not guessed: `measure` reads the safetensors headers of the models on disk
(parameter counts, which tensors fp8 storage keeps in the compute dtype by diffusers' skip rules,
the largest block). `REAL` holds the same counts for the released models (checked against the
classes built on `meta` in the tests), so the policy can be exercised for any machine without the
40 GB of files.

Activations are estimated from the token count of the packed context (DESIGN.md section 4) and
from the VAE's widest full-resolution layer. These two formulas are estimates that could not be
calibrated on a GPU yet (docs/BENCHMARKS.md, models section): their factors are deliberately on the
generous side, and the user's "GPU memory to keep free" sits on top of them.
"""
from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, replace
from pathlib import Path

from .layout import locate, weight_files
from .safetensors_io import read_header
from .sources import Source

GIB = 1024 ** 3

# diffusers' default layerwise-casting skip patterns plus the FramePack class's own list.
TRANSFORMER_FP8_SKIP = ("pos_embed", "patch_embed", "norm", "^proj_in$", "^proj_out$", "x_embedder", "context_embedder")
LLAMA_FP8_SKIP = ("pos_embed", "patch_embed", "norm", "^proj_in$", "^proj_out$", "embed_tokens")

# Live tensors of hidden width per token at the transformer's peak (attention q/k/v/out, the 4x
# MLP and its activation, residuals, modulation): generous; see the module notes.
ACTIVATION_WIDTHS = 20
# CUDA context, cuBLAS workspaces and allocator slack that no tensor accounts for.
CUDA_OVERHEAD = int(0.8 * GIB)
# Live full-resolution feature maps during a VAE decode, of twice the first block's width (the
# last up-sampling convolution runs at full resolution with that many channels). Calibrated on the
# CPU with the demo VAE (19 latents at 416x960: measured peak 3.7-4.3 GB in one pass, 1.25-1.4 GB by
# frames over two runs; this gives 4.5 and 1.3); not yet on a GPU with the real VAE.
VAE_LIVE_MAPS = 4.5
VAE_TILE = 256
VAE_TILE_FRAMES = 17
TEXT_TOKENS = 512
IMAGE_TOKENS = 729
LLAMA_PROMPT_TOKENS = 351


@dataclass(frozen=True)
class Sizes:
    """Parameter counts of every part (and the transformer's storage on disk)."""

    transformer: int
    transformer_fp8_kept: int
    transformer_block: int
    transformer_nonblock: int
    hidden: int
    llama: int
    llama_fp8_kept: int
    llama_layer: int
    llama_nonlayer: int
    llama_hidden: int
    clip: int
    siglip: int
    vae: int
    vae_channels: int
    transformer_stored: str = "bf16"
    transformer_file_bytes: int = 0

    def transformer_bytes(self, precision: str) -> int:
        if precision == "gguf":
            return self.transformer_file_bytes
        # int8/nf4 keep only the embedders, norm_out and proj_out (transformer.QUANT_SKIP), about
        # the non-block part; fp8 also keeps every norm and modulation layer.
        kept = self.transformer_nonblock if precision in ("int8", "nf4") else self.transformer_fp8_kept
        return weight_bytes(precision, self.transformer, kept)

    def transformer_in_flight(self, precision: str) -> int:
        """VRAM of the transformer under group offloading: the non-block part and two blocks."""
        if precision == "gguf":
            share = self.transformer_file_bytes / max(self.transformer, 1)
            return int((self.transformer_nonblock + 2 * self.transformer_block) * share)
        ratio = self.transformer_bytes(precision) / self.transformer
        return int(self.transformer_nonblock * 2 + 2 * self.transformer_block * ratio)

    def llama_bytes(self, precision: str) -> int:
        kept = self.llama_nonlayer if precision in ("int8", "nf4") else self.llama_fp8_kept
        return weight_bytes(precision, self.llama, kept)

    def llama_in_flight(self, precision: str) -> int:
        ratio = self.llama_bytes(precision) / self.llama
        return int(self.llama_nonlayer * 2 + 2 * self.llama_layer * ratio)

    def encoders_bytes(self, dtype_bytes: int = 2) -> int:
        """CLIP, SigLIP and the VAE together (plain dtype)."""
        return (self.clip + self.siglip + self.vae) * dtype_bytes


def weight_bytes(precision: str, params: int, kept: int) -> int:
    """Bytes of weights: plain dtypes; fp8 / int8 / nf4 (~4.1 bits) keep `kept` parameters in 16 bit."""
    if precision == "fp32":
        return params * 4
    if precision in ("bf16", "fp16"):
        return params * 2
    if precision in ("fp8", "int8"):
        return (params - kept) + kept * 2
    if precision == "nf4":
        return int((params - kept) * 0.52) + kept * 2
    raise ValueError(f"unknown precision {precision!r}")


REAL = Sizes(
    transformer=12_874_314_816,
    transformer_fp8_kept=3_741_326_400,
    transformer_block=339_831_296,
    transformer_nonblock=414_016_576,
    hidden=3072,
    llama=7_505_186_816,
    llama_fp8_kept=525_864_960,
    llama_layer=218_112_000,
    llama_nonlayer=525_602_816,
    llama_hidden=4096,
    clip=123_060_480,
    siglip=428_225_600,
    vae=246_478_803,
    vae_channels=128,
)


def fp8_kept(tensors: dict[str, tuple[int, ...]], patterns: tuple[str, ...]) -> int:
    """Parameters fp8 layerwise casting leaves in the compute dtype, from tensor names and shapes.

    The rules of diffusers' `apply_layerwise_casting`: a module whose path (or an ancestor's)
    matches a pattern is skipped with everything under it; otherwise only layers with a weight of
    two or more dimensions (linear, convolution, embedding) are cast, with their bias.
    """
    castable = {name.rsplit(".", 1)[0] for name, shape in tensors.items() if name.endswith(".weight") and len(shape) >= 2}
    kept = 0
    for name, shape in tensors.items():
        module = name.rsplit(".", 1)[0] if "." in name else ""
        if module not in castable or _skipped(module, patterns):
            kept += math.prod(shape)
    return kept


def _skipped(module: str, patterns: tuple[str, ...]) -> bool:
    parts = module.split(".")
    prefixes = [".".join(parts[: i + 1]) for i in range(len(parts))]
    return any(re.search(p, prefix) for prefix in prefixes for p in patterns)


def measure(models_dir: Path, variant: str, source: Source) -> Sizes:
    """The `Sizes` of the models on disk (headers and configs only)."""
    t = _shapes(list(source.files)) if source.kind != "gguf" else {}
    llama = _shapes(weight_files(models_dir, "text_encoder"))
    config = _config(locate(models_dir, "transformer", variant))
    llama_config = _config(locate(models_dir, "text_encoder"))
    vae_config = _config(locate(models_dir, "vae"))
    blocks = _blocks(t, ("transformer_blocks.", "single_transformer_blocks."))
    layers = _blocks(llama, ("layers.",))
    hidden = config.get("num_attention_heads", 24) * config.get("attention_head_dim", 128)
    sizes = Sizes(
        transformer=_numel(t) or REAL.transformer,
        transformer_fp8_kept=fp8_kept(t, TRANSFORMER_FP8_SKIP) if t else REAL.transformer_fp8_kept,
        transformer_block=max(blocks.values(), default=REAL.transformer_block),
        transformer_nonblock=(_numel(t) - sum(blocks.values())) if t else REAL.transformer_nonblock,
        hidden=hidden,
        llama=_numel(llama),
        llama_fp8_kept=fp8_kept(llama, LLAMA_FP8_SKIP),
        llama_layer=max(layers.values(), default=0),
        llama_nonlayer=_numel(llama) - sum(layers.values()),
        llama_hidden=llama_config.get("hidden_size", 4096),
        clip=_numel(_shapes(weight_files(models_dir, "text_encoder_2"))),
        siglip=_numel(_shapes(weight_files(models_dir, "image_encoder"))),
        vae=_numel(_shapes(weight_files(models_dir, "vae"))),
        vae_channels=(vae_config.get("block_out_channels") or [128])[0],
        transformer_stored=source.stored,
        transformer_file_bytes=source.nbytes,
    )
    return sizes


def with_source(sizes: Sizes, source: Source) -> Sizes:
    return replace(sizes, transformer_stored=source.stored, transformer_file_bytes=source.nbytes)


def transformer_tokens(height: int, width: int, window: int) -> int:
    """Tokens of one transformer call: noisy window, 1x/2x/4x context, image and text."""
    lh, lw = height // 8, width // 8
    per_frame = math.ceil(lh / 2) * math.ceil(lw / 2)
    two = math.ceil(lh / 4) * math.ceil(lw / 4)
    four = math.ceil(16 / 4) * math.ceil(lh / 8) * math.ceil(lw / 8)
    return (window + 2) * per_frame + two + four + IMAGE_TOKENS + TEXT_TOKENS


def transformer_activation_bytes(sizes: Sizes, height: int, width: int, window: int, dtype_bytes: int = 2) -> int:
    return transformer_tokens(height, width, window) * sizes.hidden * dtype_bytes * ACTIVATION_WIDTHS


def llama_activation_bytes(sizes: Sizes, dtype_bytes: int = 2) -> int:
    """The Llama runs once over ~351 tokens, keeping every hidden state (the runner takes [-3])."""
    return LLAMA_PROMPT_TOKENS * sizes.llama_hidden * dtype_bytes * (ACTIVATION_WIDTHS + 33)


def decode_frames(window: int) -> int:
    """Video frames of the largest decode a section makes (the last: 2w + 1 latents)."""
    return (2 * window + 1 - 1) * 4 + 1


def vae_decode_bytes(
    sizes: Sizes, height: int, width: int, window: int, dtype_bytes: int, framewise: bool, tiled: bool
) -> int:
    """Peak memory of one section's decode, one pass / frame-chunked / spatially tiled."""
    frames = min(decode_frames(window), VAE_TILE_FRAMES) if framewise else decode_frames(window)
    h, w = (min(height, VAE_TILE), min(width, VAE_TILE)) if tiled else (height, width)
    live = frames * h * w * 2 * sizes.vae_channels * dtype_bytes * VAE_LIVE_MAPS
    output = decode_frames(window) * height * width * 3 * 4
    return int(live + output)


def _shapes(files: list[Path]) -> dict[str, tuple[int, ...]]:
    shapes: dict[str, tuple[int, ...]] = {}
    for path in files:
        header = read_header(path)
        shapes.update({name: info.shape for name, info in header.tensors.items()})
    return shapes


def _numel(shapes: dict[str, tuple[int, ...]]) -> int:
    return sum(math.prod(s) for s in shapes.values())


def _blocks(shapes: dict[str, tuple[int, ...]], prefixes: tuple[str, ...]) -> dict[str, int]:
    blocks: dict[str, int] = {}
    for name, shape in shapes.items():
        for prefix in prefixes:
            if name.startswith(prefix):
                key = prefix + name[len(prefix):].split(".", 1)[0]
                blocks[key] = blocks.get(key, 0) + math.prod(shape)
    return blocks


def _config(folder: Path) -> dict:
    path = Path(folder) / "config.json"
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return {}

