"""What the speed settings share: the cache folder of their verdicts, what a verdict is valid for,
and how far a faster computation may drift from the reference."""
from __future__ import annotations

import json
import os
from pathlib import Path

import torch

from ..paths import APP_NAME, HOME_ENV


def speed_cache_dir() -> Path:
    """The user cache folder of the speed settings (compiled kernels, fp8 and attention verdicts);
    under FRAMEPACK_DESKTOP_HOME when that is set, like everything else of the app."""
    import platformdirs

    home = os.environ.get(HOME_ENV)
    return Path(home) / "cache" if home else platformdirs.user_cache_path(APP_NAME, appauthor=False)


def device_name(device: torch.device) -> str:
    """The GPU's model name, or the CPU's architecture: what a cached verdict is valid for."""
    if device.type == "cuda":
        return torch.cuda.get_device_name(device)
    import platform

    return f"{device.type} {platform.machine()}"


def read_json(path: Path) -> dict:
    """A cached verdicts file as a dict; empty when it is missing or unreadable (then measured again)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return {}
    return data if isinstance(data, dict) else {}


def relative_error(value: torch.Tensor, reference: torch.Tensor) -> float:
    """||value - reference|| / ||reference|| in float32 (inf when the value is not finite)."""
    value, reference = value.float(), reference.float()
    if not torch.isfinite(value).all():
        return float("inf")
    return float((value - reference).norm() / reference.norm().clamp(min=1e-30))
