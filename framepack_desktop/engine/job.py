"""The Job: one immutable value describing a whole generation.

Everything a generation needs is here, so the same JSON re-runs the same video: the CLI's
`render --from`, the queue, crash resume and "load settings from this video" all go through
`Job.from_json`. Paths are stored as given (strings); the runner resolves them.
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import BadSettings

VARIANTS = ("original", "f1")
SAMPLERS = ("unipc", "euler")
RESOLUTIONS = (320, 480, 640, 720)
PRECISIONS = ("auto", "bf16", "fp16", "fp32", "fp8", "int8", "nf4")
MEMORY_MODES = ("auto", "gpu", "model_offload", "group_offload")
# Step caches (engine/sampling/stepcache.py) and the threshold each starts from when none is given.
STEP_CACHES = ("teacache", "magcache", "fbcache", "off")
STEP_CACHE_DEFAULTS = {"teacache": 0.15, "magcache": 0.06, "fbcache": 0.05}
FORMAT_VERSION = 1


@dataclass(frozen=True)
class Job:
    image: str
    prompt: str
    output: str
    end_image: str | None = None
    negative_prompt: str = ""
    seconds: float = 5.0
    variant: str = "original"
    resolution: int = 640
    steps: int = 25
    gs: float = 10.0
    cfg: float = 1.0
    rescale: float = 0.0
    window: int = 9
    sampler: str = "unipc"
    teacache: float = 0.15
    seed: int = 31337
    crf: int = 16
    fps: int = 30
    end_influence: float = 0.5
    models: str = "demo"
    precision: str = "auto"
    memory: str = "auto"
    keep_free_gb: float = 6.0
    device: str = "auto"
    attention: str = "auto"
    # Speed (engine/speed.py): regional torch.compile of the transformer blocks, and fp8 matmuls on
    # GPUs with fp8 tensor cores. Neither is on by default: compiling costs a minute on first use,
    # and fp8 compute changes the result slightly (it is part of the sections' fingerprint).
    compile: bool = False
    fp8_compute: bool = False
    # Step cache (engine/sampling/stepcache.py). `teacache` above stays TeaCache's threshold (0 = off),
    # so job files from before the choice existed load and fingerprint as before. The threshold of
    # MagCache / First-Block Cache is `step_cache_threshold` (None: STEP_CACHE_DEFAULTS).
    step_cache: str = "teacache"
    step_cache_threshold: float | None = None
    section_seeds: dict[int, int] = field(default_factory=dict)
    section_prompts: dict[int, str] = field(default_factory=dict)
    # Extension of a finished video (engine/extend.py): the job folder whose latents are the F1
    # history, and that video's frame count; `seconds` is then the length ADDED to it.
    extend_from: str | None = None
    extend_frames: int = 0

    # ----- derived timing (the method's arithmetic, DESIGN.md section 4) -----
    @property
    def num_sections(self) -> int:
        return max(round(self.seconds * 30 / (4 * self.window)), 1)

    @property
    def num_frames(self) -> int:
        """Frames of the final video (for an extension: the old video's plus the new ones)."""
        if self.extend_from:
            return self.extend_frames + 4 * self.window * self.num_sections
        return 4 * self.window * self.num_sections + 1

    def section_frames(self, section: int) -> tuple[int, int]:
        """[start, end) of a section's (time index) frames in the final video.

        Sections are 4·window frames long; the start frame belongs to the first section and the
        last one ends at the last frame. An extension's sections follow the old video's frames.
        """
        span = 4 * self.window
        first = self.extend_frames if self.extend_from else 0
        start = first + span * section
        end = self.num_frames if section == self.num_sections - 1 else start + span
        return start, end

    @property
    def duration(self) -> float:
        return self.num_frames / self.fps

    @property
    def step_cache_choice(self) -> tuple[str, float]:
        """(cache, threshold) the sections sample with; ("off", 0.0) when no step is to be skipped."""
        if self.step_cache == "off" or (self.step_cache == "teacache" and self.teacache == 0):
            return "off", 0.0
        if self.step_cache == "teacache":
            return "teacache", self.teacache
        threshold = self.step_cache_threshold
        return self.step_cache, STEP_CACHE_DEFAULTS[self.step_cache] if threshold is None else threshold

    def seed_for(self, section: int) -> int:
        """Seed of one section (time index); overrides let a section be redone on its own."""
        return self.section_seeds.get(section, self.seed)

    # ----- checks -----
    def validate(self) -> "Job":
        def bad(msg: str) -> BadSettings:
            return BadSettings(msg)

        if not isinstance(self.seconds, (int, float)) or not math.isfinite(self.seconds) or self.seconds <= 0:
            raise bad(f"Video length must be more than 0 seconds (got {self.seconds}).")
        if self.seconds > 600:
            raise bad(f"Video length {self.seconds:g} s is more than the 600 s this app supports; split it into parts.")
        if self.variant not in VARIANTS:
            raise bad(f"Unknown variant '{self.variant}': use 'original' or 'f1'.")
        if self.sampler not in SAMPLERS:
            raise bad(f"Unknown sampler '{self.sampler}': use 'unipc' or 'euler'.")
        if self.resolution < 128 or self.resolution > 1280:
            raise bad(f"Resolution class {self.resolution} is out of range: use 320, 480, 640 or 720.")
        if self.end_image and self.variant == "f1":
            raise bad("An end image works only with the original model; choose variant 'original' or drop the end image.")
        if not 1 <= self.steps <= 200:
            raise bad(f"Steps must be between 1 and 200 (got {self.steps}).")
        if not 1 <= self.window <= 33:
            raise bad(f"Latent window must be between 1 and 33 (got {self.window}).")
        if self.gs < 0 or self.cfg < 0 or self.rescale < 0 or self.rescale > 1:
            raise bad("Guidance must be non-negative and rescale between 0 and 1.")
        if self.teacache < 0:
            raise bad("TeaCache threshold must be 0 or more (0 or 'off' turns it off).")
        if self.step_cache not in STEP_CACHES:
            raise bad(f"Unknown step cache '{self.step_cache}': use one of {', '.join(STEP_CACHES)}.")
        if self.step_cache_threshold is not None and not self.step_cache_threshold >= 0:
            raise bad(f"Step-cache threshold must be 0 or more (got {self.step_cache_threshold}).")
        if not 0 <= self.crf <= 51:
            raise bad(f"CRF must be between 0 and 51 (got {self.crf}).")
        if not 0 <= self.end_influence <= 1:
            raise bad(f"End-image influence must be between 0 and 1 (got {self.end_influence}).")
        if self.precision not in PRECISIONS:
            raise bad(f"Unknown precision '{self.precision}': use one of {', '.join(PRECISIONS)}.")
        if self.memory not in MEMORY_MODES:
            raise bad(f"Unknown memory mode '{self.memory}': use one of {', '.join(MEMORY_MODES)}.")
        if self.fp8_compute and self.precision in ("fp16", "fp32", "int8", "nf4"):
            raise bad(f"fp8 compute replaces the transformer's matmuls with fp8 ones and cannot be combined with "
                      f"precision {self.precision}: choose precision auto, bf16 or fp8, or turn fp8 compute off.")
        if self.extend_from and self.variant != "f1":
            raise bad("Extending a video works with the F1 (forward) model: set variant to 'f1'.")
        if self.extend_from and self.extend_frames < 1:
            raise bad("An extension needs the frame count of the video it extends: build it with extend_job().")
        if not self.prompt.strip() and not self.section_prompts:
            raise bad("The prompt is empty: describe the motion you want.")
        for s in list(self.section_seeds) + list(self.section_prompts):
            if not 0 <= s < self.num_sections:
                raise bad(f"Section override {s} is outside the video's {self.num_sections} sections.")
        return self

    # ----- JSON -----
    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["section_seeds"] = {str(k): v for k, v in self.section_seeds.items()}
        d["section_prompts"] = {str(k): v for k, v in self.section_prompts.items()}
        d["format"] = FORMAT_VERSION
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Job":
        d = dict(d)
        d.pop("format", None)
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - known)
        if unknown:
            raise BadSettings(f"This job file has settings this version does not know: {', '.join(unknown)}.")
        d["section_seeds"] = {int(k): int(v) for k, v in d.get("section_seeds", {}).items()}
        d["section_prompts"] = {int(k): str(v) for k, v in d.get("section_prompts", {}).items()}
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Job":
        try:
            return cls.from_dict(json.loads(text))
        except (json.JSONDecodeError, TypeError) as e:
            raise BadSettings(f"The job file is not valid job JSON ({e}).") from e

    def replace(self, **changes: Any) -> "Job":
        return dataclasses.replace(self, **changes)

    # ----- where its files live -----
    @property
    def job_dir(self) -> Path:
        """Working folder beside the output: job.json, section latents, frame store, log."""
        out = Path(self.output)
        return out.parent / (out.stem + ".job")
