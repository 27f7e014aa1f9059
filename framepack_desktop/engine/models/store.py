"""The model store: where models are kept by default, what is there, and where derived files go.

The default models folder is the app's (`AppPaths.models_dir`: the per-user data folder from
platformdirs, or under FRAMEPACK_DESKTOP_HOME); the settings and `--models DIR` choose another.
Any folder is read through `layout.locate`, which also finds repos in a Hugging Face hub cache.

`inventory` answers `models list` and the window's models dialog: every component of each
variant, whether it is complete, where it was found (this folder or a hub cache), its size on
disk, and what a download still has to fetch. Derived files (saved quantized forms, the prompt
embedding cache) are kept beside the models when that folder is ours and writable, else under the
app's data folder: a hub cache shared with other programs is never written to.
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from ..paths import AppPaths
from . import hubcache
from .layout import COMPONENT_NAMES, component, is_demo, locate, missing_files, transformer_files, weight_files

PREPARED_DIR = "prepared"
# Download size of each component (bytes, from the public repos), for `models list` before a download.
EXPECTED_BYTES = {
    "transformer": 25_700_000_000,
    "text_encoder": 15_010_000_000,
    "text_encoder_2": 246_000_000,
    "tokenizer": 9_100_000,
    "tokenizer_2": 3_600_000,
    "vae": 493_000_000,
    "image_encoder": 857_000_000,
    "feature_extractor": 1_000,
}


def app_paths():
    return AppPaths.default()


def default_models_dir() -> Path:
    return app_paths().models_dir


def prompt_cache_dir() -> Path:
    return app_paths().data_dir / "prompt-embeds"


def prepared_root(models_dir: Path) -> Path:
    """Where saved quantized forms go for `models_dir`."""
    models_dir = Path(models_dir)
    if hubcache.cache_root(models_dir) is None and _writable(models_dir):
        return models_dir / PREPARED_DIR
    return default_models_dir() / PREPARED_DIR


def _writable(folder: Path) -> bool:
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return os.access(probe, os.W_OK)


@dataclass(frozen=True)
class Entry:
    """One component of one variant, as found on disk."""

    name: str
    variant: str
    present: bool
    where: Path
    size: int                  # bytes on disk of what is there
    expected: int              # bytes of the complete component (download size)
    missing: tuple[Path, ...]
    in_hub_cache: bool


def inventory(models_dir: Path, variants: tuple[str, ...] = ("original", "f1")) -> list[Entry]:
    """Every component each variant needs; shared components are listed once."""
    entries: list[Entry] = []
    seen: set[str] = set()
    for variant in variants:
        for name in COMPONENT_NAMES:
            key = name if name != "transformer" else f"transformer-{variant}"
            if key in seen:
                continue
            seen.add(key)
            entries.append(_entry(Path(models_dir), name, variant))
    return entries


def _entry(models_dir: Path, name: str, variant: str) -> Entry:
    missing = tuple(missing_files(models_dir, name, variant))
    singles = transformer_files(models_dir, variant) if name == "transformer" else []
    where = singles[0] if singles else locate(models_dir, name, variant)
    files = singles[:1] or _files_of(models_dir, name, variant, where)
    size = sum(p.stat().st_size for p in files if p.is_file())
    demo = is_demo(models_dir)
    expected = size if demo or not missing else EXPECTED_BYTES[name]
    in_cache = not Path(where).is_relative_to(models_dir) or hubcache.cache_root(models_dir) is not None
    return Entry(name, variant, not missing, Path(where), size, expected, missing, in_cache and not missing)


def _files_of(models_dir: Path, name: str, variant: str, folder: Path) -> list[Path]:
    part = component(name, variant)
    listed = [folder / f for f in part.files] + weight_files(models_dir, name, variant)
    if part.weights and (folder / part.index_name).is_file():
        listed.append(folder / part.index_name)
    return listed


def to_download(entries: list[Entry]) -> int:
    """Bytes still to fetch for the missing components."""
    return sum(max(e.expected - e.size, 0) for e in entries if not e.present)
