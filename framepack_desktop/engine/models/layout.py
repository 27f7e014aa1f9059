"""Where each model component lives in a models directory.

A models directory mirrors the public repos, `<models>/<org>/<repo>/<subfolder>/`, so a plain
download of those repos into it is a valid models directory, the demo set is written in the
same shape, and one loader serves both. This module only knows paths and file names; it never
imports torch, so the CLI and the window can ask "what is missing?" cheaply.

Where a component is read from is decided per repo folder (`locate`): the models directory's own
`<org>/<repo>` first, then the snapshots of a Hugging Face hub cache, either the models directory
itself (when it is one) or the environment's default cache (hubcache.py). A demo set never looks
elsewhere: its tiny weights must not be silently mixed with real ones. `component_dir` stays the
place a component is written to.

The transformer may also come as one file: a user's own checkpoint in
`<models>/checkpoints/<variant>/` (safetensors in bf16 or fp8, or GGUF), or a known community
export kept in its repo's layout (`COMMUNITY_TRANSFORMERS`). Either makes the diffusers folder's
weights optional.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..choices import VARIANTS
from . import hubcache
from .safetensors_io import is_plain_shard_name

DEMO_MARKER = "DEMO_MODELS.txt"
CHECKPOINTS_DIR = "checkpoints"
CHECKPOINT_SUFFIXES = (".safetensors", ".gguf")

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


# Single-file exports of the transformer that use the diffusers key names (DESIGN.md section 3),
# by (variant, storage precision): (repo, file). Names as published by their author; they are
# fetched by `models download --precision fp8`.
COMMUNITY_REPO = "Kijai/HunyuanVideo_comfy"
COMMUNITY_TRANSFORMERS = {
    ("original", "fp8"): (COMMUNITY_REPO, "FramePackI2V_HY_fp8_e4m3fn.safetensors"),
    ("original", "bf16"): (COMMUNITY_REPO, "FramePackI2V_HY_bf16.safetensors"),
    ("f1", "fp8"): (COMMUNITY_REPO, "FramePack_F1_I2V_HY_20250503_fp8_e4m3fn.safetensors"),
}


def component(name: str, variant: str = "original") -> Component:
    """The table row of one component; the transformer depends on the model variant."""
    if variant not in VARIANTS:
        raise ValueError(f"unknown model variant {variant!r}; expected one of {VARIANTS.names}")
    if name == "transformer":
        return TRANSFORMERS[variant]
    if name not in SHARED_COMPONENTS:
        raise ValueError(f"unknown model component {name!r}; expected one of {COMPONENT_NAMES}")
    return SHARED_COMPONENTS[name]


def component_dir(models_dir: Path, name: str, variant: str = "original") -> Path:
    """Where the component belongs in `models_dir` (where a download or the demo writes it)."""
    return component(name, variant).path(models_dir)


def repo_candidates(models_dir: Path, repo_id: str) -> list[Path]:
    """Folders that may hold `repo_id` in its public layout, in the order they are preferred."""
    models_dir = Path(models_dir)
    found = [models_dir / repo_id]
    if is_demo(models_dir):
        return found
    own_cache = hubcache.cache_root(models_dir) if models_dir.is_dir() else None
    caches = [own_cache] if own_cache else []
    default = hubcache.default_hub_cache()
    if default.is_dir() and default.resolve() not in {c.resolve() for c in caches}:
        caches.append(default)
    for cache in caches:
        found.extend(hubcache.snapshots(cache, repo_id))
    return found


def locate(models_dir: Path, name: str, variant: str = "original") -> Path:
    """The folder a component is read from: the first candidate where it is complete.

    When it is complete nowhere, the place it belongs in `models_dir`, so that what is reported
    missing is where the user would put it.
    """
    part = component(name, variant)
    for root in repo_candidates(models_dir, part.repo_id):
        folder = root / part.subfolder if part.subfolder else root
        if folder.is_dir() and not _missing_in(folder, part):
            return folder
    return part.path(models_dir)


def user_checkpoints(models_dir: Path, variant: str) -> list[Path]:
    """Single-file transformer checkpoints the user put in `<models>/checkpoints/<variant>/`."""
    folder = Path(models_dir) / CHECKPOINTS_DIR / variant
    if not folder.is_dir():
        return []
    return sorted(p for p in folder.iterdir() if p.is_file() and p.suffix.lower() in CHECKPOINT_SUFFIXES)


def community_checkpoint(models_dir: Path, variant: str, precision: str) -> Path | None:
    """The known community export for (variant, precision) when it is on disk, else None."""
    entry = COMMUNITY_TRANSFORMERS.get((variant, precision))
    if entry is None:
        return None
    repo_id, filename = entry
    for root in repo_candidates(models_dir, repo_id):
        if (root / filename).is_file():
            return root / filename
    return None


def transformer_files(models_dir: Path, variant: str) -> list[Path]:
    """Every single-file transformer checkpoint on disk for `variant`: the user's first."""
    community = [community_checkpoint(models_dir, v, p) for (v, p) in COMMUNITY_TRANSFORMERS if v == variant]
    return user_checkpoints(models_dir, variant) + [p for p in community if p is not None]


def weight_files(models_dir: Path, name: str, variant: str = "original") -> list[Path]:
    """The safetensors files a component's weights are in, whether or not they exist yet.

    A sharded checkpoint's index names its shards; an index that cannot be read names none,
    and `missing_files` reports the index itself.
    """
    part = component(name, variant)
    if part.weights is None:
        return []
    return _weights_in(locate(models_dir, name, variant), part)


def _weights_in(folder: Path, part: Component) -> list[Path]:
    index = folder / part.index_name
    if not index.is_file():
        return [folder / part.single_weights_name]
    shards = _shards(index)
    return [folder / shard for shard in shards] if shards else []


def missing_files(models_dir: Path, name: str, variant: str = "original") -> list[Path]:
    """Files a component needs that are absent (or, for a shard index, unreadable).

    A transformer with a single-file checkpoint on disk misses nothing: the file holds the
    weights and the configuration is known (loader).
    """
    if name == "transformer" and transformer_files(models_dir, variant):
        return []
    return missing_in_folder(models_dir, name, variant)


def missing_in_folder(models_dir: Path, name: str, variant: str = "original") -> list[Path]:
    """What the component's repo folder lacks, whatever single-file checkpoints exist."""
    return _missing_in(locate(models_dir, name, variant), component(name, variant))


def _missing_in(folder: Path, part: Component) -> list[Path]:
    missing = [folder / f for f in part.files if not (folder / f).is_file()]
    if part.weights is not None:
        index = folder / part.index_name
        if index.is_file() and not _shards(index):
            missing.append(index)
        missing.extend(p for p in _weights_in(folder, part) if not p.is_file())
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
    if not isinstance(weight_map, dict) or not all(is_plain_shard_name(s) for s in weight_map.values()):
        return []   # an index naming files elsewhere is damaged: it names no shard, and is reported
    return sorted(set(weight_map.values()))
