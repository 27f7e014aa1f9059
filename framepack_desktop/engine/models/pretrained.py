"""A component's files checked before a library sees them, then loaded: what every loader shares.

What the user gets for a missing folder or a truncated download is a `ModelsMissing` that names
the file and the command that fixes it, not a library traceback. Its own module so that the
loader (`loader.py`) and the special forms it delegates to (`transformer.py`, `text_encoder.py`)
import it without importing each other.
"""
from __future__ import annotations

import json
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..errors import ModelsMissing
from .layout import component, locate, missing_in_folder, weight_files

if TYPE_CHECKING:
    import torch

FIX_HINT = (
    "Run `framepack-desktop models download` to get the models, "
    "or `framepack-desktop models demo` for the tiny demo set."
)
# For a file that is there but damaged (cut off, overwritten): find them all, then fetch them again.
VERIFY_HINT = ("Check every model file with `framepack-desktop models verify`, delete the damaged ones, then "
               "download them again: `framepack-desktop models download`.")


def load_pretrained(
    cls: type,
    models_dir: Path,
    name: str,
    variant: str = "original",
    *,
    device: str | torch.device | None = None,
    dtype: torch.dtype | None = None,
    **options: Any,
):
    """Check a component's files, then `cls.from_pretrained` its folder.

    Models (device and dtype given) are memory-mapped straight onto `device` in `dtype`;
    tokenizers and processors take neither. `options` go to `from_pretrained` unchanged: the
    place for quantization configs and other precision choices.
    """
    folder = check_component(models_dir, name, variant)
    if device is not None:
        options["device_map"] = str(device)
    if dtype is not None:
        options["torch_dtype" if cls.__module__.startswith("diffusers") else "dtype"] = dtype
    from safetensors import SafetensorError

    try:
        loaded = cls.from_pretrained(folder, **options)
    except (SafetensorError, OSError) as exc:
        raise ModelsMissing(f"Could not load {name} from {folder}: {exc}. {FIX_HINT}") from exc
    if device is not None:
        loaded.eval().requires_grad_(False)
    return loaded


def check_component(models_dir: Path, name: str, variant: str = "original") -> Path:
    """The component's folder, once its files are all there and readable; else ModelsMissing.

    JSON files must parse and weights must have an intact safetensors header that covers the
    whole file: that is what a cut-off download or a saved error page fails.
    """
    models_dir = require_dir(models_dir)
    part = component(name, variant)
    folder = locate(models_dir, name, variant)
    missing = missing_in_folder(models_dir, name, variant)
    if missing:
        where = f"{part.repo_id}" + (f", subfolder {part.subfolder}" if part.subfolder else "")
        raise ModelsMissing(
            f"The {name} model is incomplete: {', '.join(str(p) for p in missing)} "
            f"{'is' if len(missing) == 1 else 'are'} missing ({where}). {FIX_HINT}"
        )
    for json_file in [folder / f for f in part.files if f.endswith(".json")]:
        _check_json(json_file)
    for weights in weight_files(models_dir, name, variant):
        _check_safetensors(weights)
    return folder


def require_dir(models_dir: Path) -> Path:
    models_dir = Path(models_dir)
    if not models_dir.is_dir():
        raise ModelsMissing(f"The models folder {models_dir} does not exist. {FIX_HINT}")
    return models_dir


def _check_json(path: Path) -> None:
    try:
        json.loads(path.read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise ModelsMissing(f"{path} is damaged (not valid JSON: {exc}). Delete it, then: {FIX_HINT}") from exc


def _check_safetensors(path: Path) -> None:
    from safetensors import SafetensorError, safe_open

    try:
        with safe_open(str(path), framework="pt"):
            pass
    except SafetensorError as exc:
        raise ModelsMissing(
            f"{path} is damaged: truncated or not a safetensors file ({exc}). {VERIFY_HINT}"
        ) from exc
