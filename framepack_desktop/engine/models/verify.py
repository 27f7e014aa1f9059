"""`models verify`: find missing, cut-off and damaged model files, and name each one.

Cheap checks read only headers and sizes, so verifying 40 GB takes a second: every file a
component needs is there, JSON files parse, each safetensors header is intact and its data ends
exactly at the end of the file, a shard index and its shards agree on every tensor, and files that
`models download` fetched still have the size it recorded. With `hashes=True` the recorded
SHA-256 checksums are recomputed too (minutes for the full set). Single-file transformer
checkpoints and saved quantized forms are checked the same way.
"""
from __future__ import annotations

import json
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from ..hashing import file_sha256
from .download import RECORD, git_blob_oid, read_record
from .layout import COMPONENT_NAMES, component, locate, missing_files, transformer_files, weight_files
from .safetensors_io import DamagedFile, read_header, read_index
from .store import PREPARED_DIR


@dataclass(frozen=True)
class Problem:
    component: str
    path: Path
    detail: str

    def __str__(self) -> str:
        return f"{self.component}: {self.detail}"


def verify_models(
    models_dir: Path,
    variants: tuple[str, ...] = ("original", "f1"),
    hashes: bool = False,
    on_file: Callable[[Path], None] | None = None,
) -> list[Problem]:
    """Every problem found in what `variants` need (shared components checked once)."""
    models_dir = Path(models_dir)
    problems: list[Problem] = []
    seen: set[Path] = set()
    for variant in variants:
        for name in COMPONENT_NAMES:
            label = f"transformer ({variant})" if name == "transformer" else name
            for path in missing_files(models_dir, name, variant):
                problems.append(Problem(label, path, f"{path} is missing"))
            singles = transformer_files(models_dir, variant) if name == "transformer" else []
            files = singles or _component_files(models_dir, name, variant)
            for path in files:
                if path in seen or not path.is_file():
                    continue
                seen.add(path)
                if on_file is not None:
                    on_file(path)
                problems.extend(Problem(label, path, d) for d in _check_file(models_dir, path, hashes))
            if not singles:
                problems.extend(Problem(label, p, d) for p, d in _check_index(models_dir, name, variant))
    prepared = models_dir / PREPARED_DIR
    for shard in sorted(prepared.glob("*/*.safetensors")) if prepared.is_dir() else []:
        problems.extend(Problem(f"saved form {shard.parent.name}", shard, f"{d} (it is made again on the next load "
                                "once deleted)") for d in _check_file(models_dir, shard, False))
    problems.extend(_post_models(models_dir, hashes, on_file))
    return list(dict.fromkeys(problems))  # shared components are met once per variant


def _post_models(models_dir: Path, hashes: bool, on_file: Callable[[Path], None] | None) -> list[Problem]:
    """The optional RIFE / upscaler files (engine/post/files.py) that are present; those that
    `models download --finishing` fetched also against its record."""
    from ..post.files import file_problem, present_files

    problems = []
    for path in present_files(models_dir):
        if on_file is not None:
            on_file(path)
        details = [file_problem(path)] + _check_record(models_dir, path, hashes)
        problems.extend(Problem("finishing models", path, d) for d in details if d)
    return problems


def _component_files(models_dir: Path, name: str, variant: str) -> list[Path]:
    part = component(name, variant)
    folder = locate(models_dir, name, variant)
    listed = [folder / f for f in part.files] + weight_files(models_dir, name, variant)
    if part.weights and (folder / part.index_name).is_file():
        listed.append(folder / part.index_name)
    return listed


def _check_file(models_dir: Path, path: Path, hashes: bool) -> list[str]:
    if path.suffix == ".json":
        try:
            json.loads(path.read_text(encoding="utf-8"))
        except (UnicodeDecodeError, json.JSONDecodeError) as exc:
            return [f"{path} is damaged: not valid JSON ({exc})"]
    elif path.suffix == ".safetensors":
        try:
            read_header(path)
        except DamagedFile as exc:
            return [str(exc)]
    return _check_record(models_dir, path, hashes)


def _record_entry(models_dir: Path, path: Path) -> dict | None:
    """What `models download` recorded for this file; None when it did not fetch it."""
    for repo in (p for p in path.parents if (p / RECORD).is_file()):
        if not repo.is_relative_to(models_dir):
            break
        return read_record(repo).get("files", {}).get(path.relative_to(repo).as_posix())
    return None


def has_checksum(models_dir: Path, path: Path) -> bool:
    """Whether `--hashes` has a recorded checksum to compare this file with."""
    entry = _record_entry(Path(models_dir), path)
    return bool(entry and (entry.get("sha256") or entry.get("git_oid")))


def _check_record(models_dir: Path, path: Path, hashes: bool) -> list[str]:
    """Compare with what `models download` recorded for this file, if it fetched it."""
    entry = _record_entry(models_dir, path)
    if entry is not None:
        if path.stat().st_size != entry["size"]:
            return [f"{path} has {path.stat().st_size} bytes; the download was {entry['size']}"]
        if hashes and entry.get("sha256") and file_sha256(path) != entry["sha256"]:
            return [f"{path} does not match its SHA-256 checksum: it changed or was damaged since the download"]
        if hashes and entry.get("git_oid") and git_blob_oid(path) != entry["git_oid"]:
            return [f"{path} does not match its checksum: it changed or was damaged since the download"]
    return []


def _check_index(models_dir: Path, name: str, variant: str) -> list[tuple[Path, str]]:
    """A shard index and its shards must name the same tensors."""
    part = component(name, variant)
    if part.weights is None:
        return []
    index = locate(models_dir, name, variant) / part.index_name
    if not index.is_file():
        return []
    try:
        weight_map = read_index(index)
    except DamagedFile as exc:
        return [(index, str(exc))]
    found: list[tuple[Path, str]] = []
    for shard_name in sorted(set(weight_map.values())):
        shard = index.parent / shard_name
        try:
            header = read_header(shard)
        except (OSError, DamagedFile):
            continue
        listed = {k for k, v in weight_map.items() if v == shard_name}
        absent = sorted(listed - set(header.tensors))
        if absent:
            found.append((shard, f"{shard} lacks {len(absent)} tensors its index lists (first: {', '.join(absent[:3])})"))
    return found
