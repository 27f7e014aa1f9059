"""Every closed choice a Job makes, named once: the value a job stores, the label a window shows,
and the one-line message for a value that is not one of them.

The Job's checks, the window's combo boxes, the command line's help and the model layout all read
these registries, so a new sampler or variant is one line here (plus the code that does it).
torch-free, like the Job.
"""
from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass

from .errors import BadSettings


@dataclass(frozen=True)
class Choice:
    name: str       # what a job stores
    label: str      # what the window shows


@dataclass(frozen=True)
class Registry:
    """The options of one setting, in the order a window offers them."""

    what: str                       # the setting's name in messages ("variant", "memory mode")
    options: tuple[Choice, ...]

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(c.name for c in self.options)

    def labels(self) -> dict[str, str]:
        return {c.name: c.label for c in self.options}

    def __contains__(self, name: object) -> bool:
        return name in self.names

    def __iter__(self) -> Iterator[str]:
        return iter(self.names)

    def check(self, name: str) -> None:
        """BadSettings naming the bad value and the good ones."""
        if name not in self.names:
            quoted = [f"'{n}'" for n in self.names]
            listing = " or ".join(quoted) if len(quoted) == 2 else "one of " + ", ".join(self.names)
            raise BadSettings(f"Unknown {self.what} '{name}': use {listing}.")


VARIANTS = Registry("variant", (
    Choice("original", "Original (anti-drifting)"),
    Choice("f1", "F1 (forward)"),
))
SAMPLERS = Registry("sampler", (
    Choice("unipc", "UniPC"),
    Choice("euler", "Euler"),
))
PRECISIONS = Registry("precision", (
    Choice("auto", "Automatic"), *(Choice(p, p) for p in ("bf16", "fp16", "fp32", "fp8", "int8", "nf4")),
))
MEMORY_MODES = Registry("memory mode", (
    Choice("auto", "Automatic"),
    Choice("gpu", "All on GPU"),
    Choice("model_offload", "Offload models"),
    Choice("group_offload", "Offload layer groups (least VRAM)"),
))
# Step caches (engine/sampling/stepcache.py) and the threshold each starts from when none is given.
STEP_CACHES = ("teacache", "magcache", "fbcache", "off")
STEP_CACHE_DEFAULTS = {"teacache": 0.15, "magcache": 0.06, "fbcache": 0.05}
# What a text-only video (no start image) starts from (engine/backgrounds.py draws them).
BACKGROUNDS = Registry("background", (
    Choice("black", "Black"),
    Choice("white", "White"),
    Choice("grey", "Grey"),
    Choice("green", "Green screen"),
    Choice("noise", "Noise"),
))
RESOLUTIONS = (320, 480, 640, 720)
# Seeds a window or a redo draws: what a CPU generator's 31-bit seed holds in every tool people share seeds with.
SEED_MIN, SEED_MAX = 0, 2 ** 31 - 1
