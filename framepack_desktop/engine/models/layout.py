"""Where each model component lives in a models directory.

A models directory mirrors the public repos, `<models>/<org>/<repo>/<subfolder>/`, so a plain
download of those repos into it is a valid models directory, the demo set is written in the
same shape, and one loader serves both. This module only knows paths and file names; it never
imports torch, so the CLI and the window can ask "what is missing?" cheaply.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..job import VARIANTS

DEMO_MARKER = "DEMO_MODELS.txt"

COMPONENT_NAMES = (
    "transformer",
    "text_encoder",
    "text_encoder_2",
    "tokenizer",
    "tokenizer_2",
    "vae",
    "image_encoder",
    "feature_extractor",
)


@dataclass(frozen=True)
class Component:
    """One loadable part: which public repo folder holds it and which class reads it.

    `files` must all be present; `weights` is the safetensors base name (`<weights>.safetensors`,
    or shards listed in `<weights>.safetensors.index.json` as the big real repos ship them),
    None for tokenizers and processors, which have no weights.
    """

    name: str
    repo_id: str
    subfolder: str
    class_name: str
    files: tuple[str, ...]
    weights: str | None = None

    def path(self, models_dir: Path) -> Path:
        folder = Path(models_dir) / self.repo_id
        return folder / self.subfolder if self.subfolder else folder

    @property
    def index_name(self) -> str:
        return f"{self.weights}.safetensors.index.json"

    @property
    def single_weights_name(self) -> str:
        return f"{self.weights}.safetensors"


_HUNYUAN = "hunyuanvideo-community/HunyuanVideo"
_REDUX = "lllyasviel/flux_redux_bfl"
_DIFFUSERS_WEIGHTS = "diffusion_pytorch_model"
_TRANSFORMERS_WEIGHTS = "model"

TRANSFORMERS = {
    "original": Component(
        "transformer", "lllyasviel/FramePackI2V_HY", "", "HunyuanVideoFramepackTransformer3DModel",
        ("config.json",), _DIFFUSERS_WEIGHTS,
    ),
    "f1": Component(
        "transformer", "lllyasviel/FramePack_F1_I2V_HY_20250503", "", "HunyuanVideoFramepackTransformer3DModel",
        ("config.json",), _DIFFUSERS_WEIGHTS,
    ),
}

SHARED_COMPONENTS = {
    "text_encoder": Component(
        "text_encoder", _HUNYUAN, "text_encoder", "LlamaModel", ("config.json",), _TRANSFORMERS_WEIGHTS
    ),
    "text_encoder_2": Component(
        "text_encoder_2", _HUNYUAN, "text_encoder_2", "CLIPTextModel", ("config.json",), _TRANSFORMERS_WEIGHTS
    ),
    "tokenizer": Component(
        "tokenizer", _HUNYUAN, "tokenizer", "PreTrainedTokenizerFast", ("tokenizer.json", "tokenizer_config.json")
    ),
    "tokenizer_2": Component(
        "tokenizer_2", _HUNYUAN, "tokenizer_2", "CLIPTokenizer",
        ("vocab.json", "merges.txt", "tokenizer_config.json"),
    ),
    "vae": Component("vae", _HUNYUAN, "vae", "AutoencoderKLHunyuanVideo", ("config.json",), _DIFFUSERS_WEIGHTS),
    "image_encoder": Component(
        "image_encoder", _REDUX, "image_encoder", "SiglipVisionModel", ("config.json",), _TRANSFORMERS_WEIGHTS
    ),
    "feature_extractor": Component(
        "feature_extractor", _REDUX, "feature_extractor", "SiglipImageProcessor", ("preprocessor_config.json",)
    ),
}


def component(name: str, variant: str = "original") -> Component:
    """The table row of one component; the transformer depends on the model variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}; expected one of {VARIANTS}")
    if name == "transformer":
        return TRANSFORMERS[variant]
    if name not in SHARED_COMPONENTS:
        raise ValueError(f"unknown model component {name!r}; expected one of {COMPONENT_NAMES}")
    return SHARED_COMPONENTS[name]


def component_dir(models_dir: Path, name: str, variant: str = "original") -> Path:
    return component(name, variant).path(models_dir)


def weight_files(models_dir: Path, name: str, variant: str = "original") -> list[Path]:
    """The safetensors files a component's weights are in, whether or not they exist yet.

    A sharded checkpoint's index names its shards; an index that cannot be read names none,
    and `missing_files` reports the index itself.
    """
    part = component(name, variant)
    if part.weights is None:
        return []
    folder = part.path(models_dir)
    index = folder / part.index_name
    if not index.is_file():
        return [folder / part.single_weights_name]
    shards = _shards(index)
    return [folder / shard for shard in shards] if shards else []


def missing_files(models_dir: Path, name: str, variant: str = "original") -> list[Path]:
    """Files a component needs that are absent (or, for a shard index, unreadable)."""
    part = component(name, variant)
    folder = part.path(models_dir)
    missing = [folder / f for f in part.files if not (folder / f).is_file()]
    if part.weights is not None:
        index = folder / part.index_name
        if index.is_file() and not _shards(index):
            missing.append(index)
        missing.extend(p for p in weight_files(models_dir, name, variant) if not p.is_file())
    return missing


def missing_components(models_dir: Path, variant: str = "original") -> list[str]:
    """Names of the components a generation with `variant` needs that are not complete on disk."""
    return [name for name in COMPONENT_NAMES if missing_files(models_dir, name, variant)]


def is_demo(models_dir: Path) -> bool:
    """True for a demo set (tiny random weights): the UI warns that its videos are noise."""
    return (Path(models_dir) / DEMO_MARKER).is_file()


def _shards(index: Path) -> list[str]:
    try:
        data = json.loads(index.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return []
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict):
        return []
    return sorted({shard for shard in weight_map.values() if isinstance(shard, str)})
