"""One LoRA of a job, as the Job records it: which file (by content), how strong, on or off.

The file's sha256 is what identifies it: the sections' fingerprint uses it (a retrained file with the
same name means new sections), and `render --from` finds the file again by it when the path moved
(`find_by_hash`). The path is only where it was last seen. No torch here: the Job, the settings and
the window's panel use these records without loading anything.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .errors import BadSettings
from .hashing import file_sha256

LORA_SUFFIXES = (".safetensors",)


@dataclass(frozen=True)
class LoraRef:
    path: str
    sha256: str
    weight: float = 1.0
    enabled: bool = True

    @property
    def name(self) -> str:
        return Path(self.path).stem

    @property
    def active(self) -> bool:
        """Whether it changes the model: on, with a weight other than 0 (weight 0 is exactly no LoRA)."""
        return self.enabled and self.weight != 0

    @property
    def adapter_name(self) -> str:
        """The adapter's name on the model: one per file content, so two copies of a file are one adapter."""
        return "lora_" + self.sha256[:16]

    def describe(self) -> str:
        return f"{self.name} ×{self.weight:g}" + ("" if self.enabled else " (off)")

    def to_dict(self) -> dict[str, Any]:
        return {"path": self.path, "sha256": self.sha256, "weight": self.weight, "enabled": self.enabled}

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> "LoraRef":
        try:
            return cls(str(d["path"]), str(d["sha256"]), float(d.get("weight", 1.0)), bool(d.get("enabled", True)))
        except (KeyError, TypeError, ValueError) as e:
            raise BadSettings(f"A LoRA entry of this job is damaged ({e}): it needs a path, a sha256 and a weight.") from e


def lora_ref(path: str | Path, weight: float = 1.0, enabled: bool = True) -> LoraRef:
    """The record of the LoRA file at `path` (hashed now); a missing file is a BadSettings."""
    path = Path(path).expanduser()
    if not path.is_file():
        raise BadSettings(f"The LoRA file '{path}' does not exist: check the path or put it in the LoRA folder.")
    if path.suffix.lower() not in LORA_SUFFIXES:
        raise BadSettings(f"'{path.name}' is not a .safetensors file: LoRAs are read from safetensors files only.")
    check_weight(weight, path.name)
    return LoraRef(str(path), file_sha256(path), float(weight), enabled)


def check_weight(weight: float, name: str) -> None:
    if not isinstance(weight, (int, float)) or not math.isfinite(weight) or abs(weight) > 10:
        raise BadSettings(f"The weight of LoRA '{name}' must be a number between -10 and 10 (got {weight}).")


def parse_lora_arg(text: str) -> tuple[str, float]:
    """`PATH[:WEIGHT]` of the command line into (path, weight); the weight defaults to 1 and may be negative.

    Only a last `:part` that reads as a number is a weight, so Windows paths (`C:\\loras\\x.safetensors`)
    keep their drive letter.
    """
    path, sep, tail = text.rpartition(":")
    if sep and path:
        try:
            return path, float(tail)
        except ValueError:
            pass
    return text, 1.0


def find_by_hash(ref: LoraRef, folders: list[Path]) -> Path | None:
    """Where the file of `ref` is now: its recorded path if the content still matches, else the first
    file with that content in `folders`."""
    recorded = Path(ref.path)
    if recorded.is_file() and file_sha256(recorded) == ref.sha256:
        return recorded
    for folder in folders:
        if not folder.is_dir():
            continue
        for candidate in sorted(folder.rglob("*")):
            if candidate.suffix.lower() in LORA_SUFFIXES and candidate.is_file() and file_sha256(candidate) == ref.sha256:
                return candidate
    return None


def relocate(refs: tuple[LoraRef, ...], folders: list[Path]) -> tuple[LoraRef, ...]:
    """`refs` with each path pointing at where its content is now; the first missing one is a BadSettings
    naming it and where it was looked for."""
    found = []
    for ref in refs:
        if not ref.enabled:
            found.append(ref)
            continue
        path = find_by_hash(ref, folders)
        if path is None:
            where = ", ".join(str(f) for f in folders) or "no LoRA folder"
            raise BadSettings(
                f"The LoRA '{ref.name}' (sha256 {ref.sha256[:12]}…) of this job is missing: it is neither at "
                f"'{ref.path}' nor in {where}. Put that file in the LoRA folder, or turn it off."
            )
        found.append(LoraRef(str(path), ref.sha256, ref.weight, ref.enabled))
    return tuple(found)


def lora_fingerprint(refs: tuple[LoraRef, ...]) -> list[list]:
    """What of a LoRA set changes the sampled latents: each active file's content hash and weight, in
    content order (where a file lives, its name and the listing order do not)."""
    return sorted([ref.sha256, float(ref.weight)] for ref in refs if ref.active)
