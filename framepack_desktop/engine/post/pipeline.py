"""Run a PostPlan on a video: frames stream from the source through the steps into the writer.

Never in place and never over a file the user did not choose to replace: the output must differ
from the source, and an existing output is refused unless `overwrite` is given. The writer works
under a hidden temporary name (see export.py), so cancelling (checked before every frame) or a
failure leaves no partial file. Progress is reported per written frame against the exact count
`PostPlan.frames_out` predicts.
"""
from __future__ import annotations

import itertools
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..errors import BadSettings, JobCancelled
from . import weights
from .export import export
from .interpolate import Between, FlowInterpolator, RifeInterpolator, interpolate
from .loop import crossfade_loop, crossfade_overlap, pingpong
from .plan import PostPlan
from .source import Source, open_source, read_frames
from .upscale import ModelUpscaler, lanczos


@dataclass(frozen=True)
class PostProgress:
    done: int
    total: int
    seconds: float


def run_post(source: str | Path, out: str | Path, plan: PostPlan, *, models_dir: Path | None = None,
             cancel: threading.Event | None = None, progress: Callable[[PostProgress], None] | None = None,
             overwrite: bool = False) -> Path:
    """Write `plan` applied to `source` to `out`; returns `out`. Raises UserError, JobCancelled."""
    # 1. Check everything that can be checked before any frame is decoded.
    plan.check()
    src = open_source(source)
    out = Path(out)
    if out.resolve() == src.path.resolve():
        raise BadSettings(f"The result would replace its source {out}; choose another output name.")
    if out.exists() and not overwrite:
        raise BadSettings(f"{out} already exists; choose another name, or allow replacing it (--overwrite).")
    total, fps = plan.frames_out(src.frames, src.fps)
    start, end = plan.trim_range(src.frames, src.fps)

    # 2. Load the models the plan needs (a wrong file fails here, before any work).
    upscale = _upscaler(plan, models_dir)
    between = _interpolator(plan, models_dir)

    # 3. Chain the steps; the writer pulls frames through them one by one.
    frames: Iterator[np.ndarray] = itertools.islice(read_frames(src.path), start, end)
    if plan.loop == "pingpong":
        frames = pingpong(frames, spool_dir=out.parent)
    elif plan.loop == "crossfade":
        frames = crossfade_loop(frames, crossfade_overlap(end - start))
    if upscale is not None:
        frames = map(upscale, frames)
    if between is not None:
        frames = interpolate(frames, plan.interpolate, between)
    if plan.every > 1:
        frames = itertools.islice(frames, 0, None, plan.every)
    frames = _watched(frames, total, cancel, progress)

    # 4. Write.
    return export(plan.format, out, frames, src.width * plan.upscale, src.height * plan.upscale, fps, src.job_json)


def preview(source: str | Path, plan: PostPlan, index: int, models_dir: Path | None = None
            ) -> tuple[np.ndarray, np.ndarray]:
    """(before, after) for frame `index`: the frame, and what the plan's per-frame steps make of it.

    With interpolation the "after" is the first new frame between `index` and the next one.
    """
    src: Source = open_source(source)
    index = min(max(index, 0), src.frames - 1)
    pair = list(itertools.islice(read_frames(src.path), index, index + 2))
    before = pair[0]
    after = before
    upscale = _upscaler(plan, models_dir)
    between = _interpolator(plan, models_dir)
    if between is not None and len(pair) == 2:
        after = between(pair[0], pair[1], [1 / plan.interpolate])[0]
    if upscale is not None:
        after = upscale(after)
    return before, after


def _upscaler(plan: PostPlan, models_dir: Path | None) -> Callable[[np.ndarray], np.ndarray] | None:
    if plan.upscale == 1:
        return None
    if plan.upscaler == "lanczos":
        return lambda frame: lanczos(frame, plan.upscale)
    if plan.upscaler == "realesrgan":
        path = weights.default_upscaler(_need(models_dir, "Real-ESRGAN"), plan.upscale)
        if not path.is_file():
            raise BadSettings(f"Real-ESRGAN's weights are not in {path}: put {path.name} there, or upscale "
                              "with 'lanczos' (no download).")
    else:
        path = Path(plan.upscaler).expanduser()
    model, model_scale = weights.load_upscaler(path)
    return ModelUpscaler(model, model_scale, plan.upscale)


def _interpolator(plan: PostPlan, models_dir: Path | None) -> Between | None:
    if plan.interpolate == 1:
        return None
    if plan.interpolator == "flow":
        return FlowInterpolator()
    if plan.interpolator == "rife":
        path = weights.default_rife(_need(models_dir, "RIFE"))
        if not path.is_file():
            raise BadSettings(f"RIFE's weights are not in {path}: put Practical-RIFE 4.x's flownet.pkl there, "
                              "or interpolate with 'flow' (no download).")
    else:
        path = Path(plan.interpolator).expanduser()
    return RifeInterpolator(weights.load_rife(path))


def _need(models_dir: Path | None, name: str) -> Path:
    if models_dir is None:
        raise BadSettings(f"{name} is read from the models folder; choose one, or a method that needs no download.")
    return Path(models_dir)


def _watched(frames: Iterator[np.ndarray], total: int, cancel: threading.Event | None,
             progress: Callable[[PostProgress], None] | None) -> Iterator[np.ndarray]:
    started = time.monotonic()
    done = 0
    for frame in frames:
        if cancel is not None and cancel.is_set():
            raise JobCancelled
        yield frame
        done += 1
        if progress is not None:
            progress(PostProgress(done, total, time.monotonic() - started))
