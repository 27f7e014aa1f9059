"""What to do to a finished video: one immutable value, free of Qt and torch, shared by CLI and window.

The steps always run in the same order, chosen for cost and sense:
trim (drop unwanted frames before any work) -> loop (so interpolation also smooths the turn or
the seam) -> upscale (the most expensive step per frame, so it runs before interpolation
multiplies the frames) -> interpolate -> every k-th frame (PNG export only) -> write.
`frames_out` predicts the result's length exactly, which the progress bar and the tests use.
"""
from __future__ import annotations

import math
from dataclasses import dataclass, replace
from fractions import Fraction
from pathlib import Path

from ..errors import BadSettings
from .export import FORMATS, SUFFIXES
from .loop import LOOPS, crossfade_overlap

FACTORS = (1, 2, 4)
BUILTIN_UPSCALERS = ("lanczos", "realesrgan")
BUILTIN_INTERPOLATORS = ("flow", "rife")


@dataclass(frozen=True)
class PostPlan:
    trim: str | None = None          # "START:END" in seconds ("1.5:4") or frames ("45f:120f"); a side may be empty
    loop: str | None = None          # None, "pingpong" or "crossfade"
    upscale: int = 1                 # 1, 2 or 4
    upscaler: str = "lanczos"        # "lanczos", "realesrgan" (the models folder's) or a model file
    interpolate: int = 1             # 1, 2 or 4
    interpolator: str = "flow"       # "flow" (OpenCV, no download), "rife" (the models folder's) or a RIFE file
    format: str = "mp4"
    every: int = 1                   # keep every k-th frame (PNG export of frames)

    def replace(self, **changes) -> "PostPlan":
        return replace(self, **changes)

    def check(self) -> None:
        """Raise BadSettings naming the first impossible choice."""
        if self.format not in FORMATS:
            raise BadSettings(f"Unknown format '{self.format}': choose one of {', '.join(FORMATS)}.")
        if self.loop not in (None, *LOOPS):
            raise BadSettings(f"Unknown loop '{self.loop}': choose pingpong or crossfade.")
        if self.upscale not in FACTORS or self.interpolate not in FACTORS:
            raise BadSettings("Upscale and interpolation factors are 2 or 4.")
        if self.every < 1:
            raise BadSettings("Every k-th frame needs k of 1 or more.")
        if self.every > 1 and self.format != "png":
            raise BadSettings("Keeping every k-th frame is for PNG export; choose --format png.")

    @property
    def does_something(self) -> bool:
        return bool(self.trim or self.loop or self.upscale > 1 or self.interpolate > 1 or self.every > 1
                    or self.format != "mp4")

    def trim_range(self, frames: int, fps: Fraction) -> tuple[int, int]:
        """The kept frames as [start, end) of a clip of `frames` frames."""
        if not self.trim:
            return 0, frames
        if self.trim.count(":") != 1:
            raise BadSettings(f"Trim '{self.trim}' is not START:END, e.g. 1.5:4 (seconds) or 45f:120f (frames).")
        start_text, end_text = (s.strip() for s in self.trim.split(":"))
        start = _frame(start_text, fps, 0, self.trim)
        end = _frame(end_text, fps, frames, self.trim)
        if not 0 <= start < end <= frames:
            raise BadSettings(f"Trim {self.trim} keeps no frames of a {frames}-frame ({float(frames / fps):.2f} s) "
                              "video; choose a range inside it.")
        return start, end

    def frames_out(self, frames: int, fps: Fraction) -> tuple[int, Fraction]:
        """(frame count, frame rate) of the result for a source of `frames` at `fps`."""
        start, end = self.trim_range(frames, fps)
        n = end - start
        if self.loop == "pingpong":
            n = max(2 * n - 2, 1)
        elif self.loop == "crossfade":
            n -= crossfade_overlap(n)
        n = self.interpolate * (n - 1) + 1
        fps = fps * self.interpolate / self.every
        return math.ceil(n / self.every), fps

    def default_output(self, source: Path) -> Path:
        """`<name>-finished.<ext>` beside the source, numbered when that name is taken."""
        source = Path(source)
        suffix = SUFFIXES[self.format]
        candidate = source.with_name(f"{source.stem}-finished{suffix}")
        n = 2
        while candidate.exists():
            candidate = source.with_name(f"{source.stem}-finished-{n}{suffix}")
            n += 1
        return candidate

    def describe(self) -> str:
        parts = []
        if self.trim:
            parts.append(f"trim {self.trim}")
        if self.loop:
            parts.append(self.loop)
        if self.upscale > 1:
            parts.append(f"upscale x{self.upscale} ({Path(self.upscaler).name})")
        if self.interpolate > 1:
            parts.append(f"interpolate x{self.interpolate} ({Path(self.interpolator).name})")
        if self.every > 1:
            parts.append(f"every {self.every}th frame")
        return ", ".join(parts + [self.format])


def _frame(text: str, fps: Fraction, default: int, whole: str) -> int:
    if not text:
        return default
    try:
        if text.lower().endswith("f"):
            return int(text[:-1])
        return round(Fraction(text) * fps)
    except ValueError:
        raise BadSettings(f"Trim '{whole}': '{text}' is neither seconds (2.5) nor a frame number (75f).") from None
