"""The plain pictures a text-only video starts from (no start image).

The start latent anchors every section of the original model and opens F1's history, so a video
without an image still needs one: a flat colour (black, white, grey, chroma green) gives the
prompt a blank stage, seeded noise leaves the model the most freedom (Studio offers the same set).
The picture is 16:9 landscape and goes through the same bucket fit as a photo would.
torch-free, like the Job.
"""
from __future__ import annotations

import numpy as np

from .choices import BACKGROUNDS

SIZE = (720, 1280)  # height, width: the bucket nearest 16:9 is chosen from it
_COLOURS = {"black": (0, 0, 0), "white": (255, 255, 255), "grey": (128, 128, 128), "green": (0, 177, 64)}


def background(name: str, seed: int) -> np.ndarray:
    """The background `name` as uint8 H x W x 3 RGB; "noise" is drawn from `seed` (same job, same picture)."""
    BACKGROUNDS.check(name)
    if name == "noise":
        return np.random.default_rng(seed).integers(0, 256, (*SIZE, 3), dtype=np.uint8)
    return np.full((*SIZE, 3), _COLOURS[name], dtype=np.uint8)
