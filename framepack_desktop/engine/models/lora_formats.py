"""LoRA files in the formats found in the wild, read into one form: diffusers/PEFT keys of the FramePack transformer.

Four spellings of the same thing, told apart by their keys:

- diffusers/PEFT: `transformer.<diffusers module>.lora_A.weight` / `.lora_B.weight`;
- the original HunyuanVideo layout: `diffusion_model.double_blocks.N.img_attn_qkv.lora_A.weight`, with
  fused q/k/v (and, in the single blocks, q/k/v/mlp) projections;
- kohya-style (`.lora_down.weight` / `.lora_up.weight` / `.alpha`, module names flattened with `_` under
  `lora_unet_`) over the HunyuanVideo names (`lora_unet_double_blocks_0_img_attn_qkv`) or over the diffusers
  names (`lora_unet_transformer_blocks_0_attn_to_q`: musubi-tuner, which trains most FramePack LoRAs).

diffusers' `HunyuanVideoLoraLoaderMixin.lora_state_dict` converts the second one, but splits the single
blocks' fused projection at a hard-coded width of 3072 (the real model's; not the demo's), swaps the
halves of the final modulation's down matrix as well as its up matrix (which scrambles B·A; only the up
matrix's rows are shift/scale), splits the token refiner's fused q/k/v down matrix along the rank, and
reads neither kohya spelling. So the conversion is done here, from the model's own layer list (a skeleton on `meta`, built
from its config): every name and width comes from the model the LoRA is for. The FramePack-only modules
(history embedders, image projection) have no HunyuanVideo name; a HunyuanVideo LoRA leaves them alone.

Everything is decided from the file's header (names, shapes, metadata) before any tensor or model is read:
a LoRA for another model (Flux, Wan, Stable Diffusion...) or one whose keys match nothing is refused with
what it looks like; a partial match says how many of its layers apply. The result bakes each layer's
`alpha / rank` into `lora_B`, so PEFT applies it with scale 1: W' = W + weight · (alpha/rank) · B · A.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path
from typing import TYPE_CHECKING

from ..errors import BadSettings

if TYPE_CHECKING:
    import torch

DIFFUSERS, HUNYUAN, KOHYA_HUNYUAN, KOHYA_DIFFUSERS = "diffusers", "hunyuan", "kohya-hunyuan", "kohya-diffusers"
FORMAT_NAMES = {
    DIFFUSERS: "diffusers/PEFT",
    HUNYUAN: "HunyuanVideo (original layout)",
    KOHYA_HUNYUAN: "kohya (HunyuanVideo names)",
    KOHYA_DIFFUSERS: "kohya (diffusers names, musubi-tuner)",
}
DOWN = (".lora_A.weight", ".lora_down.weight")
UP = (".lora_B.weight", ".lora_up.weight")
ALPHA = ".alpha"
KOHYA_PREFIX = "lora_unet_"
DOTTED_PREFIXES = ("transformer.", "diffusion_model.", "model.diffusion_model.")

# What other models' LoRA keys look like (checked before the names are matched against this model).
OTHER_MODELS = (
    ("Flux", re.compile(r"img_mod[._]lin(\.|_|$)|img_mlp[._][02](\.|_|$)|img_attn\.qkv|txt_attn\.qkv|double_stream_modulation")),
    ("Wan", re.compile(r"(self_attn|cross_attn)[._][qkvo](\.|_|$)|blocks[._]\d+[._](attn1|attn2|ffn)[._]")),
    ("Stable Diffusion (UNet / text encoder)",
     re.compile(r"down_blocks|up_blocks|mid_block|input_blocks|output_blocks|^lora_te\d?_|text_model|lora_unet_(down|up|mid)_")),
    ("LTX-Video", re.compile(r"transformer_blocks[._]\d+[._]attn[12][._]")),
)
# Architecture names written by kohya's and musubi-tuner's trainers (safetensors metadata).
ARCH_KEYS = ("modelspec.architecture", "ss_base_model_version", "ss_architecture")
OWN_ARCH = ("hunyuan", "framepack", "hyvideo")
OTHER_ARCH = (("flux", "Flux"), ("wan", "Wan"), ("sdxl", "Stable Diffusion XL"), ("sd_v", "Stable Diffusion"),
              ("stable-diffusion", "Stable Diffusion"), ("ltx", "LTX-Video"), ("cogvideo", "CogVideoX"),
              ("mochi", "Mochi"), ("sd3", "Stable Diffusion 3"))


@dataclass(frozen=True)
class Piece:
    """Rows of a fused layer's output that one diffusers layer computes: `rows` are (start, end) ranges of
    the fused layer's output, concatenated in order (the final modulation swaps shift and scale)."""

    target: str
    rows: tuple[tuple[int, int], ...]


@dataclass(frozen=True)
class ModelLayers:
    """The linear layers a LoRA may touch, under each naming: diffusers (name -> (out, in)) and the
    HunyuanVideo names (name -> the diffusers pieces of its output)."""

    linears: dict[str, tuple[int, int]]
    hunyuan: dict[str, tuple[Piece, ...]]
    flat_diffusers: dict[str, str] = field(default_factory=dict)
    flat_hunyuan: dict[str, str] = field(default_factory=dict)
    double_blocks: int = 0
    single_blocks: int = 0


@dataclass(frozen=True)
class LoraInfo:
    """What a LoRA file is for this model: its format, rank, how many of its layers apply; or why it is refused."""

    path: str
    format: str | None
    rank: int
    layers: int
    applied: int
    nbytes: int
    refused: str | None = None
    unmatched: tuple[str, ...] = ()

    @property
    def format_name(self) -> str:
        return FORMAT_NAMES.get(self.format, "unknown") if self.format else "unknown"

    @property
    def name(self) -> str:
        return Path(self.path).stem

    def describe(self) -> str:
        if self.refused:
            return f"{self.name}: refused: {self.refused}"
        part = "" if self.applied == self.layers else f" (only {self.applied} of its {self.layers} layers apply to this model)"
        return f"{self.name}: {self.format_name}, rank {self.rank}, {self.applied} layers{part}"


@dataclass
class _Module:
    down: str | None = None
    up: str | None = None
    alpha: str | None = None


def model_layers(config: dict) -> ModelLayers:
    """The FramePack transformer's linear layers for `config` (cached: a full-size skeleton takes a moment)."""
    return _model_layers(json.dumps(config, sort_keys=True))


@lru_cache(maxsize=4)
def _model_layers(config_json: str) -> ModelLayers:
    import torch
    from diffusers import HunyuanVideoFramepackTransformer3DModel

    from .checkpoint import empty_model

    config = json.loads(config_json)
    model = empty_model(lambda: HunyuanVideoFramepackTransformer3DModel.from_config(config))
    linears = {n: (m.out_features, m.in_features) for n, m in model.named_modules() if isinstance(m, torch.nn.Linear)}
    hunyuan = {k: v for k, v in _hunyuan_names(config, model).items() if all(p.target in linears for p in v)}
    return ModelLayers(
        linears, hunyuan,
        flat_diffusers={n.replace(".", "_"): n for n in linears},
        flat_hunyuan={n.replace(".", "_"): n for n in hunyuan},
        double_blocks=len(model.transformer_blocks), single_blocks=len(model.single_transformer_blocks),
    )


def _hunyuan_names(config: dict, model) -> dict[str, tuple[Piece, ...]]:
    """HunyuanVideo's layer names and the diffusers layers (and output rows) each one became."""
    inner = config["num_attention_heads"] * config["attention_head_dim"]
    mlp = model.single_transformer_blocks[0].proj_mlp.out_features if len(model.single_transformer_blocks) else 0

    def whole(target: str) -> tuple[Piece, ...]:
        return (Piece(target, ()),)

    def split(targets: list[str], widths: list[int]) -> tuple[Piece, ...]:
        starts = [sum(widths[:i]) for i in range(len(widths))]
        return tuple(Piece(t, ((s, s + w),)) for t, s, w in zip(targets, starts, widths))

    names: dict[str, tuple[Piece, ...]] = {
        "time_in.mlp.0": whole("time_text_embed.timestep_embedder.linear_1"),
        "time_in.mlp.2": whole("time_text_embed.timestep_embedder.linear_2"),
        "guidance_in.mlp.0": whole("time_text_embed.guidance_embedder.linear_1"),
        "guidance_in.mlp.2": whole("time_text_embed.guidance_embedder.linear_2"),
        "vector_in.in_layer": whole("time_text_embed.text_embedder.linear_1"),
        "vector_in.out_layer": whole("time_text_embed.text_embedder.linear_2"),
        "txt_in.input_embedder": whole("context_embedder.proj_in"),
        "txt_in.t_embedder.mlp.0": whole("context_embedder.time_text_embed.timestep_embedder.linear_1"),
        "txt_in.t_embedder.mlp.2": whole("context_embedder.time_text_embed.timestep_embedder.linear_2"),
        "txt_in.c_embedder.linear_1": whole("context_embedder.time_text_embed.text_embedder.linear_1"),
        "txt_in.c_embedder.linear_2": whole("context_embedder.time_text_embed.text_embedder.linear_2"),
        "final_layer.linear": whole("proj_out"),
        # HunyuanVideo's final modulation is (shift, scale), diffusers' AdaLayerNormContinuous (scale, shift).
        "final_layer.adaLN_modulation.1": (Piece("norm_out.linear", ((inner, 2 * inner), (0, inner))),),
    }
    for j in range(len(model.context_embedder.token_refiner.refiner_blocks)):
        hv, df = f"txt_in.individual_token_refiner.blocks.{j}", f"context_embedder.token_refiner.refiner_blocks.{j}"
        names[f"{hv}.self_attn_qkv"] = split([f"{df}.attn.to_{x}" for x in "qkv"], [inner] * 3)
        names[f"{hv}.self_attn_proj"] = whole(f"{df}.attn.to_out.0")
        names[f"{hv}.mlp.fc1"] = whole(f"{df}.ff.net.0.proj")
        names[f"{hv}.mlp.fc2"] = whole(f"{df}.ff.net.2")
        names[f"{hv}.adaLN_modulation.1"] = whole(f"{df}.norm_out.linear")
    for i in range(len(model.transformer_blocks)):
        hv, df = f"double_blocks.{i}", f"transformer_blocks.{i}"
        names[f"{hv}.img_attn_qkv"] = split([f"{df}.attn.to_{x}" for x in "qkv"], [inner] * 3)
        names[f"{hv}.txt_attn_qkv"] = split([f"{df}.attn.add_{x}_proj" for x in "qkv"], [inner] * 3)
        names[f"{hv}.img_attn_proj"] = whole(f"{df}.attn.to_out.0")
        names[f"{hv}.txt_attn_proj"] = whole(f"{df}.attn.to_add_out")
        names[f"{hv}.img_mlp.fc1"] = whole(f"{df}.ff.net.0.proj")
        names[f"{hv}.img_mlp.fc2"] = whole(f"{df}.ff.net.2")
        names[f"{hv}.txt_mlp.fc1"] = whole(f"{df}.ff_context.net.0.proj")
        names[f"{hv}.txt_mlp.fc2"] = whole(f"{df}.ff_context.net.2")
        names[f"{hv}.img_mod.linear"] = whole(f"{df}.norm1.linear")
        names[f"{hv}.txt_mod.linear"] = whole(f"{df}.norm1_context.linear")
    for i in range(len(model.single_transformer_blocks)):
        hv, df = f"single_blocks.{i}", f"single_transformer_blocks.{i}"
        names[f"{hv}.linear1"] = split([f"{df}.attn.to_{x}" for x in "qkv"] + [f"{df}.proj_mlp"], [inner] * 3 + [mlp])
        names[f"{hv}.linear2"] = whole(f"{df}.proj_out")
        names[f"{hv}.modulation.linear"] = whole(f"{df}.norm.linear")
    return names


def read_header(path: Path) -> tuple[dict[str, tuple[int, ...]], dict[str, str]]:
    """Tensor names with their shapes, and the metadata, of a safetensors file (no tensor is read)."""
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt") as f:
            shapes = {k: tuple(f.get_slice(k).get_shape()) for k in f.keys()}
            return shapes, dict(f.metadata() or {})
    except (SafetensorError, OSError) as e:
        raise BadSettings(f"The LoRA file '{path}' cannot be read as safetensors ({e}): it is damaged or not a LoRA.") from e


def _group(keys) -> tuple[dict[str, _Module], list[str]]:
    """Keys by module: its down (A), up (B) and alpha; keys of no LoRA layer (DoRA scales, biases) apart."""
    modules: dict[str, _Module] = {}
    other = []
    for key in keys:
        for suffixes, slot in ((DOWN, "down"), (UP, "up"), ((ALPHA,), "alpha")):
            suffix = next((s for s in suffixes if key.endswith(s)), None)
            if suffix:
                setattr(modules.setdefault(key[: -len(suffix)], _Module()), slot, key)
                break
        else:
            other.append(key)
    return modules, other


def _looks_like(keys, metadata: dict[str, str], layers: ModelLayers) -> str | None:
    """The other model these keys or this metadata name, if any."""
    arch = " ".join(metadata.get(k, "") for k in ARCH_KEYS).lower()
    if arch.strip() and not any(own in arch for own in OWN_ARCH):
        for needle, name in OTHER_ARCH:
            if needle in arch:
                return f"a {name} LoRA (its metadata says '{arch.strip()}')"
    for name, pattern in OTHER_MODELS:
        hit = next((k for k in keys if pattern.search(k)), None)
        if hit:
            return f"a {name} LoRA (keys like '{hit}')"
    # Flux's diffusers layer names are HunyuanVideo's; only its depth differs (19 + 38 blocks, FramePack 20 + 40).
    doubles = {int(m.group(1)) for k in keys if (m := re.search(r"(?<!single_)transformer_blocks[._](\d+)[._]", k))}
    singles = {int(m.group(1)) for k in keys if (m := re.search(r"single_transformer_blocks[._](\d+)[._]", k))}
    if doubles and singles and (max(doubles), max(singles)) == (18, 37) != (layers.double_blocks - 1, layers.single_blocks - 1):
        return "a Flux LoRA (19 double and 38 single blocks; FramePack has 20 and 40)"
    return None


def _resolve(module: str, layers: ModelLayers) -> tuple[str | None, tuple[Piece, ...]]:
    """The format a module name is written in and the diffusers pieces it lands on (none: no such layer)."""
    if module.startswith(KOHYA_PREFIX):
        flat = module[len(KOHYA_PREFIX):]
        if flat in layers.flat_diffusers:
            return KOHYA_DIFFUSERS, (Piece(layers.flat_diffusers[flat], ()),)
        if flat in layers.flat_hunyuan:
            return KOHYA_HUNYUAN, layers.hunyuan[layers.flat_hunyuan[flat]]
        return None, ()
    name = next((module[len(p):] for p in DOTTED_PREFIXES if module.startswith(p)), module)
    if name in layers.linears:
        return DIFFUSERS, (Piece(name, ()),)
    if name in layers.hunyuan:
        return HUNYUAN, layers.hunyuan[name]
    return None, ()


def _fits(pieces: tuple[Piece, ...], a_shape: tuple[int, ...], b_shape: tuple[int, ...], layers: ModelLayers) -> bool:
    if len(a_shape) != 2 or len(b_shape) != 2 or a_shape[0] != b_shape[1]:
        return False
    fused_rows = [end for p in pieces for _, end in p.rows]
    out = max(fused_rows) if fused_rows else layers.linears[pieces[0].target][0]
    return b_shape[0] == out and all(layers.linears[p.target][1] == a_shape[1] for p in pieces)


def inspect_lora(path: str | Path, config: dict) -> LoraInfo:
    """What the file at `path` is for the transformer of `config`, from its header alone."""
    path = Path(path)
    shapes, metadata = read_header(path)
    nbytes = path.stat().st_size
    layers = model_layers(config)
    modules, _ = _group(shapes)
    looks = _looks_like(list(shapes), metadata, layers)
    if looks:
        return LoraInfo(str(path), None, 0, len(modules), 0, nbytes, f"this is {looks}, not one for FramePack/HunyuanVideo")
    pairs = {m: k for m, k in modules.items() if k.down and k.up}
    if not pairs:
        first = next(iter(shapes), "none")
        return LoraInfo(str(path), None, 0, len(modules), 0, nbytes,
                        f"no LoRA layers in it (no lora_A/lora_B or lora_down/lora_up pairs; first key: '{first}')")
    formats: dict[str, int] = {}
    unmatched, ranks, applied = [], [], 0
    for module, keys in pairs.items():
        fmt, pieces = _resolve(module, layers)
        if fmt and _fits(pieces, shapes[keys.down], shapes[keys.up], layers):
            formats[fmt] = formats.get(fmt, 0) + 1
            ranks.append(shapes[keys.down][0])
            applied += 1
        else:
            unmatched.append(module)
    if not applied:
        return LoraInfo(str(path), None, 0, len(pairs), 0, nbytes, _no_match(pairs, shapes, unmatched, layers), tuple(unmatched))
    fmt = max(formats, key=formats.get)
    return LoraInfo(str(path), fmt, max(set(ranks), key=ranks.count), len(pairs), applied, nbytes, None, tuple(unmatched))


def _no_match(pairs: dict[str, _Module], shapes, unmatched: list[str], layers: ModelLayers) -> str:
    named = [m for m in unmatched if _resolve(m, layers)[0]]
    if not named:
        return f"none of its {len(pairs)} layers matches a layer of the FramePack transformer (first: '{unmatched[0]}')"
    m = named[0]
    wide = shapes[pairs[m].down][-1]
    own = layers.linears[_resolve(m, layers)[1][0].target][1]
    if wide != own:
        return (f"its layers are named like this model's but sized for another one ('{m}' takes {wide} inputs, "
                f"this model's {own}): it is for a model of another width")
    return f"its layers are named like this model's but their shapes do not fit them (first: '{m}')"


def load_lora(path: str | Path, config: dict) -> tuple[dict[str, "torch.Tensor"], LoraInfo]:
    """The file's layers that apply, as a PEFT state dict (`<diffusers module>.lora_A/B.weight`, float32,
    alpha/rank baked into B), and its `LoraInfo`; a refused file raises BadSettings saying why."""
    import torch
    from safetensors.torch import load_file

    info = inspect_lora(path, config)
    if info.refused:
        raise BadSettings(f"The LoRA '{info.name}' cannot be used: {info.refused}.")
    layers = model_layers(config)
    tensors = load_file(str(path))
    modules, _ = _group(tensors)
    state: dict[str, torch.Tensor] = {}
    for module, keys in modules.items():
        if module in info.unmatched or not (keys.down and keys.up):
            continue
        _, pieces = _resolve(module, layers)
        down, up = tensors[keys.down].float(), tensors[keys.up].float()
        rank = down.shape[0]
        scale = float(tensors[keys.alpha].float()) / rank if keys.alpha else 1.0
        for piece in pieces:
            rows = torch.cat([up[a:b] for a, b in piece.rows]) if piece.rows else up
            state[f"{piece.target}.lora_A.weight"] = down
            state[f"{piece.target}.lora_B.weight"] = rows * scale
    return state, info
