"""Calibrate MagCache for one model variant: sample a short real job and keep its magnitude ratios.

The ratios must come from the model as a job runs it (its sigma schedule, packed history,
conditioning), so calibration is an ordinary job through the runner, with every section's step
cache in diffusers' calibration mode (sampling/magcache.py `recording`): nothing is skipped, each
section's per-step ratios are recorded, and their mean over the sections is stored in the models
folder (`magcache/<variant>.json`). The job's video is thrown away. Without a start image a
synthetic picture (soft gradients and shapes) stands in: the ratios follow the model and the
schedule far more than the picture.
"""
from __future__ import annotations

import tempfile
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from . import events as ev
from .errors import UserError
from .job import Job
from .runner import run_job
from .sampling import magcache
from .session import ModelSession

PROMPT = "A person walks slowly through a sunny park, leaves move in the wind, the camera follows."


@dataclass(frozen=True)
class Calibration:
    path: Path
    ratios: list[float]
    sections: int


def synthetic_picture(path: Path, width: int = 704, height: int = 544) -> Path:
    """A smooth, structured picture (not noise): gradients, a disc and a band."""
    y, x = np.mgrid[0:height, 0:width].astype(np.float32)
    r = 0.5 + 0.5 * np.sin(x / width * 3.1) * np.cos(y / height * 2.3)
    g = y / height
    b = ((x - width * 0.6) ** 2 + (y - height * 0.45) ** 2 < (height * 0.22) ** 2).astype(np.float32) * 0.8 + 0.1
    band = (np.abs(y - height * 0.8) < height * 0.05)[..., None]
    rgb = np.where(band, 0.2, np.stack([r, g, b], axis=-1))
    Image.fromarray((rgb * 255).clip(0, 255).astype(np.uint8)).save(path)
    return path


def calibrate_magcache(models: str, variant: str, *, image: str | None = None, prompt: str = PROMPT,
                       sections: int = 3, steps: int = 25, resolution: int = 640, device: str = "auto",
                       session: ModelSession | None = None, cancel: threading.Event | None = None,
                       on_event: Callable[[ev.Event], None] | None = None) -> Calibration:
    """Run a `sections`-section job of `variant` and store its MagCache ratios; raises UserError
    with the job's message when it fails or is stopped (nothing is stored then)."""
    from .models.loader import resolve_models_dir

    models_dir = resolve_models_dir(models)
    with tempfile.TemporaryDirectory(prefix="fpd-magcache-") as work:
        start = image or str(synthetic_picture(Path(work) / "start.png"))
        window = Job.__dataclass_fields__["window"].default
        job = Job(image=start, prompt=prompt, output=str(Path(work) / "calibration.mp4"), variant=variant,
                  seconds=sections * 4 * window / 30, steps=steps, resolution=resolution, step_cache="off",
                  models=str(models_dir), device=device).validate()
        with magcache.recording() as record:
            for event in run_job(job, cancel, session):
                if on_event:
                    on_event(event)
                if isinstance(event, ev.Failed):
                    raise UserError(f"Calibration failed: {event.message}")
                if isinstance(event, ev.Cancelled):
                    raise UserError("Calibration stopped; no ratios were stored.")
    ratios = record.table()
    path = magcache.save_ratios(models_dir, variant, ratios, len(record.sections), steps)
    return Calibration(path, ratios, len(record.sections))
