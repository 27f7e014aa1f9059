"""The Job: one immutable value describing a whole generation.

Everything a generation needs is here, so the same JSON re-runs the same video: the CLI's
`render --from`, the queue, crash resume and "load settings from this video" all go through
`Job.from_json`. Paths are stored absolute (the CLI and the window make them so; a job file's
relative paths are read relative to that file, `engine/jobfile.py`).
"""
from __future__ import annotations

import dataclasses
import json
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .choices import BACKGROUNDS, MEMORY_MODES, PRECISIONS, RESOLUTIONS, SAMPLERS, STEP_CACHE_DEFAULTS, STEP_CACHES, VARIANTS
from .errors import BadSettings
from .lora_ref import LoraRef, check_weight

FORMAT_VERSION = 1
# Guidance beyond this makes noise, then NaN: the window's sliders stop at it too.
GUIDANCE_MAX = 32


# Every field says what changing it changes (the fingerprint of saved sections follows from this,
# engine/fingerprint.py; tests/test_fingerprint.py fails for a field that does not say):
# - latents: the sampled latents, so saved sections no longer fit. DIGEST says how it enters the
#   fingerprint: "value" (as it is), "if_changed" (only when not the default: fields added after
#   job folders existed, so older folders keep their sections), "file" (the bytes of the file it
#   names), "new_file" (the bytes of the file it names, only when one is named: file fields added
#   after job folders existed), "section" (each section's own link: prompt, seed and keyframe, with
#   their per-section overrides), "extension" (the latents or frames of the video it continues),
#   "loras" (the active LoRA files' hashes and weights, only when there are any).
# - frames: only the decoded frames or the video file; saved sections are reused.
# - neither: where or how fast the job runs; saved sections are reused.
CHANGES, DIGEST = "changes", "digest"
LATENTS, FRAMES, NEITHER = "latents", "frames", "neither"
_NO_DEFAULT = object()


def _declared(changes: str, digest: str, default: Any, factory: Any, compare: bool = True) -> Any:
    meta = {CHANGES: changes, DIGEST: digest}
    if factory is not None:
        return field(default_factory=factory, metadata=meta, compare=compare)
    if default is _NO_DEFAULT:
        return field(metadata=meta, compare=compare)
    return field(default=default, metadata=meta, compare=compare)


def latents(digest: str, default: Any = _NO_DEFAULT, factory: Any = None) -> Any:
    return _declared(LATENTS, digest, default, factory)


def frames(default: Any = _NO_DEFAULT) -> Any:
    return _declared(FRAMES, "", default, None)


def neither(default: Any = _NO_DEFAULT, compare: bool = True) -> Any:
    return _declared(NEITHER, "", default, None, compare)


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _sections_of(check: Any) -> Any:
    def ok(v: Any) -> bool:
        return isinstance(v, dict) and all(str(k).isdigit() and check(x) for k, x in v.items())
    return ok


def _times_to_text(v: Any) -> bool:
    def is_time(k: Any) -> bool:
        try:
            return float(k) >= 0
        except (TypeError, ValueError):
            return False
    return isinstance(v, dict) and all(is_time(k) and isinstance(x, str) for k, x in v.items())


def _lora_records(v: Any) -> bool:
    return isinstance(v, (list, tuple)) and all(isinstance(x, dict) and isinstance(x.get("path"), str)
                                                and isinstance(x.get("sha256"), str) and _number(x.get("weight", 1.0))
                                                for x in v)


# What a job JSON value must be, by the field's annotation; `Job.from_dict` names each mismatch.
_KINDS = {
    "str": (lambda v: isinstance(v, str), "text"),
    "str | None": (lambda v: v is None or isinstance(v, str), "text or null"),
    "float": (_number, "a number"),
    "int": (_whole, "a whole number"),
    "bool": (lambda v: isinstance(v, bool), "true or false"),
    "dict[int, int]": (_sections_of(_whole), "a mapping of section numbers to whole numbers"),
    "dict[int, str]": (_sections_of(lambda v: isinstance(v, str)), "a mapping of section numbers to text"),
    "float | None": (lambda v: v is None or _number(v), "a number or null"),
    "dict[float, str]": (_times_to_text, "a mapping of times in seconds to image files"),
    "tuple[LoraRef, ...]": (_lora_records, "a list of LoRA records (path, sha256, weight)"),
}


@dataclass(frozen=True)
class Job:
    # The start image; "" for a text-only video, which starts from `background` instead.
    image: str = latents("file")
    prompt: str = latents("section")
    output: str = neither()
    end_image: str | None = latents("file", None)
    negative_prompt: str = latents("value", "")
    seconds: float = latents("value", 5.0)
    variant: str = latents("value", "original")
    resolution: int = latents("value", 640)
    steps: int = latents("value", 25)
    gs: float = latents("value", 10.0)
    cfg: float = latents("value", 1.0)
    rescale: float = latents("value", 0.0)
    window: int = latents("value", 9)
    sampler: str = latents("value", "unipc")
    teacache: float = latents("value", 0.15)
    seed: int = latents("section", 31337)
    crf: int = frames(16)
    # The frame rate of the MP4; prompt timestamps are in seconds, so it moves where a timed prompt
    # starts, which each section's own prompt (its link in the chain) already records.
    fps: int = frames(30)
    end_influence: float = latents("value", 0.5)
    models: str = latents("value", "demo")
    precision: str = latents("value", "auto")
    memory: str = neither("auto")
    keep_free_gb: float = neither(6.0)
    device: str = neither("auto")
    # torch.compile and the attention kernel change rounding, not the method: sections are kept.
    attention: str = neither("auto")
    # Speed (engine/speed/): regional torch.compile of the transformer blocks, and fp8 matmuls on
    # GPUs with fp8 tensor cores. Neither is on by default: compiling costs a minute on first use,
    # and fp8 compute changes the result slightly (it is part of the sections' fingerprint).
    compile: bool = neither(False)
    fp8_compute: bool = latents("if_changed", False)
    # Step cache (engine/sampling/stepcache.py). `teacache` above stays TeaCache's threshold (0 = off),
    # so job files from before the choice existed load and fingerprint as before. The threshold of
    # MagCache / First-Block Cache is `step_cache_threshold` (None: STEP_CACHE_DEFAULTS).
    step_cache: str = latents("if_changed", "teacache")
    step_cache_threshold: float | None = latents("if_changed", None)
    section_seeds: dict[int, int] = latents("section", factory=dict)
    section_prompts: dict[int, str] = latents("section", factory=dict)
    # Extension of a finished video (engine/extend.py): the job folder whose latents are the F1
    # history, and that video's frame count; `seconds` is then the length ADDED to it.
    extend_from: str | None = latents("extension", None)
    extend_frames: int = latents("extension", 0)
    # LoRA (engine/lora_ref.py, engine/models/lora.py): files by content hash, each with a weight and
    # an on/off switch; the active ones (hash and weight) enter the fingerprint when there are any.
    loras: tuple[LoraRef, ...] = latents("loras", ())
    # Any video continued with F1 (engine/any_video.py): its frames resampled to `fps` are the first
    # `extend_frames` frames of the result; the history is its last `context_frames` (0: as many as
    # the packed history holds). `join` False writes only the new part to the MP4.
    video: str | None = latents("new_file", None)
    context_frames: int = latents("if_changed", 0)
    join: bool = frames(True)
    # Text only (no start image): the plain picture the start latent is made from.
    background: str = latents("if_changed", "black")
    # Keyframes (original model, eichi's method): time in seconds -> image; the image is the anchor
    # of the section holding that time and of the later ones up to the next keyframe (plan.py).
    keyframes: dict[float, str] = latents("section", factory=dict)
    # Prompt blending: over this many sections after a timed prompt's change, the text embeddings
    # move from the previous prompt to the new one instead of switching at once (0: a hard switch).
    prompt_blend: int = latents("section", 0)
    # The sha256 of each input image's bytes, recorded when the job first runs (engine/inputs.py),
    # so that resuming says when a picture is gone or was changed instead of silently making another
    # video. The bytes already enter the fingerprint ("file"); these only name the problem, and two
    # jobs that differ only here are the same job.
    image_sha256: str = neither("", compare=False)
    end_image_sha256: str = neither("", compare=False)

    # ----- derived timing (the method's arithmetic, DESIGN.md section 4) -----
    @property
    def num_sections(self) -> int:
        return max(round(self.seconds * 30 / (4 * self.window)), 1)

    @property
    def num_frames(self) -> int:
        """Frames of the final video (for a continued video: the old video's plus the new ones)."""
        if self.continues:
            return self.extend_frames + 4 * self.window * self.num_sections
        return 4 * self.window * self.num_sections + 1

    def section_frames(self, section: int) -> tuple[int, int]:
        """[start, end) of a section's (time index) frames in the final video.

        Sections are 4·window frames long; the start frame belongs to the first section and the
        last one ends at the last frame. An extension's sections follow the old video's frames.
        """
        span = 4 * self.window
        first = self.extend_frames if self.continues else 0
        start = first + span * section
        end = self.num_frames if section == self.num_sections - 1 else start + span
        return start, end

    @property
    def continues(self) -> bool:
        """Whether the job goes on from a video (ours, or any clip) rather than from a picture."""
        return bool(self.extend_from or self.video)

    @property
    def output_frames(self) -> tuple[int, int]:
        """[start, end) of the frames the MP4 holds: all, or only the new part (`join` False)."""
        return (0 if self.join or not self.continues else self.extend_frames), self.num_frames

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
        VARIANTS.check(self.variant)
        SAMPLERS.check(self.sampler)
        if self.resolution < 128 or self.resolution > 1280:
            raise bad(f"Resolution class {self.resolution} is out of range: use {', '.join(map(str, RESOLUTIONS[:-1]))} "
                      f"or {RESOLUTIONS[-1]}.")
        if self.end_image and self.variant == "f1":
            raise bad("An end image works only with the original model; choose variant 'original' or drop the end image.")
        if not 1 <= self.steps <= 200:
            raise bad(f"Steps must be between 1 and 200 (got {self.steps}).")
        if not 1 <= self.window <= 33:
            raise bad(f"Latent window must be between 1 and 33 (got {self.window}).")
        for name, lo, hi, what in (("gs", 0, GUIDANCE_MAX, "Distilled guidance (gs)"),
                                   ("cfg", 0, GUIDANCE_MAX, "CFG scale (cfg)"),
                                   ("rescale", 0, 1, "CFG rescale (rescale)")):
            value = getattr(self, name)
            if not math.isfinite(value) or not lo <= value <= hi:
                raise bad(f"{what} must be a number from {lo} to {hi} (got {value}).")
        if not math.isfinite(self.teacache) or self.teacache < 0:
            raise bad(f"TeaCache threshold must be 0 or more (0 or 'off' turns it off; got {self.teacache}).")
        if not math.isfinite(self.keep_free_gb) or not 0 <= self.keep_free_gb <= 1024:
            raise bad(f"GPU memory to keep free must be from 0 to 1024 GB (got {self.keep_free_gb}).")
        for s, seed in [(None, self.seed), *self.section_seeds.items()]:
            if not 0 <= seed < 2 ** 64:
                where = "" if s is None else f" of section {s + 1}"
                raise bad(f"The seed{where} must be a whole number from 0 to 2^64 - 1 (got {seed}).")
        if self.step_cache not in STEP_CACHES:
            raise bad(f"Unknown step cache '{self.step_cache}': use one of {', '.join(STEP_CACHES)}.")
        if self.step_cache_threshold is not None and not (math.isfinite(self.step_cache_threshold)
                                                          and self.step_cache_threshold >= 0):
            raise bad(f"Step-cache threshold must be 0 or more (got {self.step_cache_threshold}).")
        if not 0 <= self.crf <= 51:
            raise bad(f"CRF must be between 0 and 51 (got {self.crf}).")
        if not math.isfinite(self.end_influence) or not 0 <= self.end_influence <= 1:
            raise bad(f"End-image influence must be between 0 and 1 (got {self.end_influence}).")
        PRECISIONS.check(self.precision)
        MEMORY_MODES.check(self.memory)
        if self.fp8_compute and self.precision in ("fp16", "fp32", "int8", "nf4"):
            raise bad(f"fp8 compute replaces the transformer's matmuls with fp8 ones and cannot be combined with "
                      f"precision {self.precision}: choose precision auto, bf16 or fp8, or turn fp8 compute off.")
        if self.extend_from and self.variant != "f1":
            raise bad("Extending a video works with the F1 (forward) model: set variant to 'f1'.")
        if self.extend_from and self.extend_frames < 1:
            raise bad("An extension needs the frame count of the video it extends: build it with extend_job().")
        for lora in self.loras:
            check_weight(lora.weight, lora.name)
        if self.video and (self.variant != "f1" or self.extend_from or self.image):
            raise bad("Continuing a video works with the F1 model and no start image: set variant 'f1' and leave "
                      "out the image.")
        if self.video and self.extend_frames < 1:
            raise bad("A video to continue needs its frame count: build the job with video_job().")
        if not 0 <= self.prompt_blend <= 20:
            raise bad(f"Prompt blending must be between 0 and 20 sections (got {self.prompt_blend}).")
        if self.context_frames < 0:
            raise bad(f"Context frames must be 0 (as many as the history holds) or more (got {self.context_frames}).")
        BACKGROUNDS.check(self.background)
        if self.keyframes and self.variant != "original":
            raise bad("Keyframes work with the original model: set variant to 'original' or drop the keyframes.")
        for t in self.keyframes:
            if not 0 <= t <= self.seconds:
                raise bad(f"The keyframe at {t:g} s is outside the video's {self.seconds:g} s.")
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
        d["loras"] = [lora.to_dict() for lora in self.loras]
        d["keyframes"] = {str(float(k)): v for k, v in self.keyframes.items()}
        d["format"] = FORMAT_VERSION
        return d

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2, sort_keys=True)

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "Job":
        """The job a JSON object holds, read strictly: every unknown setting and every value of the
        wrong type is named, one line each (ranges are `validate`'s)."""
        if not isinstance(d, dict):
            raise BadSettings(f"The job file holds {type(d).__name__}, not a job.")
        d = dict(d)
        version = d.pop("format", FORMAT_VERSION)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        unknown = sorted(set(d) - set(fields))
        if unknown:
            raise BadSettings(f"This job file has settings this version does not know: {', '.join(unknown)}.")
        problems = [] if version == FORMAT_VERSION else [f"'format' is {version!r}: this version reads format "
                                                        f"{FORMAT_VERSION}"]
        problems += [f"'{name}' is missing" for name, f in fields.items()
                     if name not in d and f.default is dataclasses.MISSING
                     and f.default_factory is dataclasses.MISSING]
        for name, value in d.items():
            check, wanted = _KINDS.get(fields[name].type, (lambda v: True, ""))
            if not check(value):
                problems.append(f"'{name}' must be {wanted}, not {json.dumps(value)[:60]}")
        if problems:
            raise BadSettings("The job file has wrong settings:\n" + "\n".join(f"  {p}" for p in problems))
        d["section_seeds"] = {int(k): v for k, v in d.get("section_seeds", {}).items()}
        d["section_prompts"] = {int(k): v for k, v in d.get("section_prompts", {}).items()}
        d["loras"] = tuple(LoraRef.from_dict(x) for x in d.get("loras", ()))
        d["keyframes"] = {float(k): str(v) for k, v in d.get("keyframes", {}).items()}
        return cls(**d)

    @classmethod
    def from_json(cls, text: str) -> "Job":
        try:
            return cls.from_dict(json.loads(text))
        except json.JSONDecodeError as e:
            raise BadSettings(f"The job file is not valid job JSON ({e}).") from e

    def replace(self, **changes: Any) -> "Job":
        """A changed copy; a new image path drops that image's recorded digest (it pinned the old file)."""
        for name in ("image", "end_image"):
            if name in changes and changes[name] != getattr(self, name):
                changes.setdefault(f"{name}_sha256", "")
        return dataclasses.replace(self, **changes)

    # ----- where its files live -----
    @property
    def job_dir(self) -> Path:
        """Working folder beside the output: job.json, section latents, frame store, log."""
        out = Path(self.output)
        return out.parent / (out.stem + ".job")
