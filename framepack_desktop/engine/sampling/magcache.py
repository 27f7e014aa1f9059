"""MagCache's calibrated magnitude ratios: where they live, how they are recorded and used.

MagCache decides from a table: for each step, the mean over tokens of |residual(step)| /
|residual(step - 1)|, where the residual is what all the transformer's blocks add to their input.
The table belongs to a model (it differs between the original transformer and F1) and to the
sampler's sigma schedule, not to a prompt, so it is measured once per variant by a calibration
run (`framepack-desktop models calibrate-magcache`) and stored in the models folder as
`magcache/<variant>.json`. diffusers' MagCache hooks measure it (their calibration mode); while a
`recording()` is active, every section's step cache runs in that mode and its ratios are kept.
Tables of a different step count are resampled by diffusers (nearest step) to the job's steps.
"""
from __future__ import annotations

import contextlib
import contextvars
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from ..atomic import atomic_write_text
from ..errors import BadSettings

FOLDER = "magcache"
# diffusers' defaults, kept explicit because they are part of what a threshold means here:
# no skipping in the first 20 % of steps, at most 3 skipped steps in a row.
RETENTION_RATIO = 0.2
MAX_SKIP_STEPS = 3

_recording: contextvars.ContextVar["Recording | None"] = contextvars.ContextVar("magcache_recording", default=None)


def ratios_file(models_dir: Path, variant: str) -> Path:
    return Path(models_dir) / FOLDER / f"{variant}.json"


def load_ratios(models_dir: Path | None, variant: str) -> list[float]:
    """The ratios calibrated for `variant`; a clear message when there are none yet."""
    path = ratios_file(models_dir, variant) if models_dir is not None else None
    if path is None or not path.is_file():
        raise BadSettings(
            f"MagCache needs magnitude ratios calibrated for the {variant} model and there are none"
            f"{'' if path is None else f' in {path.parent}'}: run `framepack-desktop models calibrate-magcache "
            f"--variant {variant}` once (a few minutes), or choose another step cache."
        )
    try:
        ratios = json.loads(path.read_text(encoding="utf-8"))["ratios"]
    except (json.JSONDecodeError, KeyError, TypeError) as e:
        raise BadSettings(f"The MagCache ratios in {path} are damaged ({e}): run "
                          f"`framepack-desktop models calibrate-magcache --variant {variant}` again.") from e
    if not ratios or not all(isinstance(r, (int, float)) and r > 0 for r in ratios):
        raise BadSettings(f"The MagCache ratios in {path} are not positive numbers: calibrate again.")
    return [float(r) for r in ratios]


def save_ratios(models_dir: Path, variant: str, ratios: list[float], sections: int, steps: int) -> Path:
    path = ratios_file(models_dir, variant)
    path.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(path, json.dumps({"variant": variant, "steps": steps, "sections": sections,
                                        "ratios": ratios}, indent=1) + "\n")
    return path


def inference_config(ratios: list[float], threshold: float, steps: int):
    """diffusers' MagCache for a section of `steps` steps. At threshold 0 no step may be skipped:
    diffusers skips while the accumulated error is `<=` the threshold, which a ratio of exactly 1
    would meet, so 0 also sets the consecutive-skip limit to 0."""
    from diffusers.hooks import MagCacheConfig

    return MagCacheConfig(threshold=threshold, max_skip_steps=MAX_SKIP_STEPS if threshold > 0 else 0,
                          retention_ratio=RETENTION_RATIO, num_inference_steps=steps, mag_ratios=list(ratios))


def calibration_config(steps: int):
    """diffusers' MagCache in calibration mode. Its step counter clears the recorded ratios when it
    reaches `num_inference_steps`, so it is given one more than the section has: the ratios of all
    `steps` calls are still there when the section ends and are read then."""
    from diffusers.hooks import MagCacheConfig

    return MagCacheConfig(calibrate=True, num_inference_steps=steps + 1)


@dataclass
class Recording:
    """The ratios of every section sampled while recording; their per-step mean is the table."""

    sections: list[list[float]] = field(default_factory=list)

    def add(self, ratios: list[float]) -> None:
        if ratios:
            self.sections.append([float(r) for r in ratios])

    def table(self) -> list[float]:
        if not self.sections:
            raise BadSettings("The calibration sampled no section, so there are no ratios to save.")
        steps = min(len(s) for s in self.sections)
        return [sum(s[i] for s in self.sections) / len(self.sections) for i in range(steps)]


def active_recording() -> Recording | None:
    return _recording.get()


@contextlib.contextmanager
def recording() -> Iterator[Recording]:
    """While active (in this thread), every step cache records MagCache ratios instead of skipping."""
    record = Recording()
    token = _recording.set(record)
    try:
        yield record
    finally:
        _recording.reset(token)
