"""Which files the transformer is loaded from, for a requested precision.

The transformer can be on disk in several forms: the diffusers folder of the public repo (bf16,
sharded), a user's single file in `<models>/checkpoints/<variant>/` (safetensors in bf16 or fp8,
or GGUF), or a known community export (`layout.COMMUNITY_TRANSFORMERS`). The rules:

- A file the user put in `checkpoints/<variant>/` wins: putting it there is the choice. More than
  one there is ambiguous and refused with a message naming them.
- Otherwise the form closest to the requested precision: for fp8 an fp8 export (half the bytes
  to read), else bf16 weights cast while loading; for bf16/fp16/fp32 the bf16 folder or export;
  int8/nf4 quantize from the diffusers folder (`from_pretrained` does it).
- An fp8 file can serve a bf16 request (it computes in bf16 with fp8 weights): better than
  nothing, and the placement's reasons say so.

Only headers are read (microseconds), so the memory policy can size the choice before loading.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

from ..errors import ModelsMissing
from .layout import (
    COMMUNITY_TRANSFORMERS,
    community_checkpoint,
    locate,
    missing_in_folder,
    user_checkpoints,
    weight_files,
)
from .safetensors_io import PRECISION_OF_DTYPE, DamagedFile, read_header


@dataclass(frozen=True)
class Source:
    """One loadable form of the transformer."""

    kind: str                   # "folder", "safetensors" or "gguf"
    path: Path                  # the folder or the file
    files: tuple[Path, ...]     # the weight files
    stored: str                 # storage precision of most weights: "bf16", "fp8", "fp16", "fp32", "gguf"
    nbytes: int                 # bytes of weights on disk
    user: bool = False          # put in checkpoints/<variant>/ by the user

    def describe(self) -> str:
        return f"{self.path} ({self.stored})"


def transformer_sources(models_dir: Path, variant: str) -> list[Source]:
    """Every form of the `variant` transformer on disk: the user's file(s), the folder, exports."""
    found = [_file_source(p, user=True) for p in user_checkpoints(models_dir, variant)]
    if not missing_in_folder(models_dir, "transformer", variant):
        files = tuple(weight_files(models_dir, "transformer", variant))
        found.append(Source("folder", locate(models_dir, "transformer", variant), files,
                            _stored(files), sum(p.stat().st_size for p in files)))
    for (v, precision) in COMMUNITY_TRANSFORMERS:
        path = community_checkpoint(models_dir, v, precision) if v == variant else None
        if path is not None:
            found.append(_file_source(path, user=False))
    return found


def pick(sources: list[Source], precision: str) -> Source:
    """The source to load for `precision` (see the module notes for the order)."""
    if not sources:
        raise ModelsMissing("No transformer weights found. Run `framepack-desktop models download`.")
    user = [s for s in sources if s.user]
    if len(user) > 1:
        names = ", ".join(str(s.path) for s in user)
        raise ModelsMissing(f"Several transformer checkpoints are in {user[0].path.parent}: {names}. Keep one there.")
    if user:
        return user[0]
    if precision in ("int8", "nf4"):
        folder = [s for s in sources if s.kind == "folder"]
        if not folder:
            raise ModelsMissing(
                f"{precision} quantizes the transformer from the diffusers folder of the public repo, which is not "
                "here (only single-file checkpoints are). Download it with `framepack-desktop models download`, "
                "or choose precision fp8 or bf16."
            )
        return folder[0]
    wanted = "fp8" if precision == "fp8" else "bf16"
    order = sorted(sources, key=lambda s: (s.stored != wanted, s.kind != "folder"))
    return order[0]


def loaded_precision(source: Source, requested: str) -> str:
    """What the weights will actually be stored in when `source` is loaded for `requested`."""
    if source.kind == "gguf":
        return "gguf"
    if source.stored == "fp8" and requested not in ("int8", "nf4"):
        return "fp8"
    return requested


def transformer_config(models_dir: Path, variant: str) -> dict:
    """The transformer's config: the folder's config.json when present, else the released one."""
    from .demo import REAL_TRANSFORMER_CONFIG

    config = locate(models_dir, "transformer", variant) / "config.json"
    if config.is_file():
        data = json.loads(config.read_text(encoding="utf-8"))
        return {k: v for k, v in data.items() if not k.startswith("_")}
    return dict(REAL_TRANSFORMER_CONFIG)


def _file_source(path: Path, user: bool) -> Source:
    if path.suffix.lower() == ".gguf":
        return Source("gguf", path, (path,), "gguf", path.stat().st_size, user)
    return Source("safetensors", path, (path,), _stored((path,)), path.stat().st_size, user)


def _stored(files: tuple[Path, ...]) -> str:
    """The storage precision, from the headers (bf16 when unreadable).

    Any float8 tensor makes it an fp8 export (its norms and embedders stay in 16 bit); otherwise
    the dtype holding most parameters.
    """
    counts: dict[str, int] = {}
    for path in files:
        try:
            header = read_header(path)
        except (OSError, DamagedFile):
            continue
        for dtype, n in header.numel_by_dtype().items():
            counts[dtype] = counts.get(dtype, 0) + n
    if not counts:
        return "bf16"
    if counts.get("F8_E4M3"):
        return "fp8"
    return PRECISION_OF_DTYPE.get(max(counts, key=counts.get), "bf16")
