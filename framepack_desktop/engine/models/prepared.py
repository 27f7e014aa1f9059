"""Quantized models saved once, so the next start loads them instead of quantizing again.

A prepared form lives in `<prepared root>/<component>-<variant>-<precision>/`: the weights as
the model stores them (for fp8: float8 linear weights, bf16 norms, the float32 output projection)
in safetensors shards, the model's `config.json`, and `prepared.json`, which records the format
and a fingerprint (name, size, modification time) of the files it was made from. A prepared form
whose fingerprint no longer matches its source (the source was re-downloaded or replaced) is
ignored and made again. The folder is written under a temporary name and renamed into place, so a
crash never leaves a half form that looks finished.

The fp8 form is made by streaming the bf16 weights through the cast into shards (RAM: at most one
shard), and the model is then loaded from it. Reading it maps the fp8 files as they are: half the
bytes of bf16 to read, nothing to cast, and weights left on the CPU stay views of the files.
"""
from __future__ import annotations

import json
import logging
import os
import shutil
from pathlib import Path
from typing import TYPE_CHECKING

from .checkpoint import cast_tensors, load_into
from .safetensors_io import DamagedFile, read_header

if TYPE_CHECKING:
    import torch

log = logging.getLogger(__name__)

FORMAT = 1
MANIFEST = "prepared.json"
SHARD_BYTES = 1024 ** 3
WEIGHTS = "model"


def folder_for(root: Path, component: str, variant: str | None, precision: str) -> Path:
    name = "-".join(part for part in (component, variant, precision) if part)
    return Path(root) / name


def fingerprint(files: list[Path]) -> list[list]:
    """What identifies the source: each file's name, size and modification time."""
    out = []
    for path in files:
        stat = Path(path).stat()
        out.append([Path(path).name, stat.st_size, stat.st_mtime_ns])
    return out


def find(folder: Path, source: list[Path], precision: str) -> list[Path] | None:
    """The prepared shards in `folder` if they were made from exactly `source` and are intact."""
    manifest = Path(folder) / MANIFEST
    if not manifest.is_file():
        return None
    try:
        data = json.loads(manifest.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError):
        return None
    if data.get("format") != FORMAT or data.get("precision") != precision or data.get("source") != fingerprint(source):
        return None
    shards = [Path(folder) / name for name in data.get("shards", [])]
    if not shards:
        return None
    try:
        for shard in shards:
            read_header(shard)
    except (OSError, DamagedFile):
        return None
    return shards


def staging_for(folder: Path) -> Path:
    """An empty temporary folder beside `folder`, to be sealed into place."""
    staging = Path(folder).with_name(f".{Path(folder).name}.partial-{os.getpid()}")
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir(parents=True)
    return staging


def seal(staging: Path, folder: Path, source: list[Path], precision: str) -> Path:
    """Record what `staging` was made from, then move it onto `folder` in one rename."""
    shards = sorted(p.name for p in Path(staging).glob("*.safetensors"))
    manifest = {"format": FORMAT, "precision": precision, "source": fingerprint(source), "shards": shards}
    (Path(staging) / MANIFEST).write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    shutil.rmtree(folder, ignore_errors=True)
    os.replace(staging, folder)
    return Path(folder)


def has_room(folder: Path, nbytes: int) -> bool:
    """Whether the drive of `folder` takes `nbytes` more and keeps 1 GB free."""
    probe = Path(folder)
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    return shutil.disk_usage(probe).free >= nbytes + 1024 ** 3


def load_or_prepare(
    skeleton: "torch.nn.Module",
    source: list[Path],
    device: "str | torch.device",
    folder: Path | None,
    precision: str,
    config: dict,
    label: Path,
    save: bool = True,
) -> "torch.nn.Module":
    """Fill `skeleton` from its prepared form in `folder` if one matches `source`, else make it.

    Making it streams the source through the cast into shards on disk (RAM: one shard), then
    loads those: the model's CPU-side weights are then views of the new files, not copies in RAM.
    Without room on the drive (or `save` off, or no `folder`) the cast copies are loaded directly.
    """
    shards = find(folder, source, precision) if folder is not None else None
    if shards:
        return load_into(skeleton, shards, device, label=folder)
    if save and folder is not None:
        nbytes = sum(t.numel() * t.element_size() for t in skeleton.state_dict().values())
        if has_room(folder, nbytes):
            writer = ShardWriter(folder, source, precision)
            try:
                for name, tensor in cast_tensors(skeleton, source, label):
                    writer.add(name, tensor)
                writer.finish(config)
            except BaseException:
                writer.abandon()
                raise
            return load_into(skeleton, find(folder, source, precision) or [], device, label=folder)
        log.warning("not saving the %s form in %s: the drive has less than %.1f GB free", precision, folder,
                    nbytes / 1024 ** 3 + 1)
    return load_into(skeleton, source, device, label=label)


class ShardWriter:
    """Collects tensors into safetensors shards in a staging folder; `finish` moves it into place."""

    def __init__(self, folder: Path, source: list[Path], precision: str, shard_bytes: int = SHARD_BYTES):
        self.folder = Path(folder)
        self.staging = staging_for(self.folder)
        self.source = list(source)
        self.precision = precision
        self.shard_bytes = shard_bytes
        self.pending: dict[str, "torch.Tensor"] = {}
        self.pending_bytes = 0
        self.shards: list[str] = []
        self.weight_map: dict[str, str] = {}

    def add(self, name: str, tensor: "torch.Tensor") -> None:
        self.pending[name] = tensor.detach().to("cpu").contiguous()
        self.pending_bytes += tensor.numel() * tensor.element_size()
        if self.pending_bytes >= self.shard_bytes:
            self._flush()

    def _flush(self) -> None:
        from safetensors.torch import save_file

        if not self.pending:
            return
        name = f"{WEIGHTS}-{len(self.shards) + 1:05d}.safetensors"
        save_file(self.pending, str(self.staging / name), metadata={"format": "pt"})
        self.shards.append(name)
        self.weight_map.update({key: name for key in self.pending})
        self.pending, self.pending_bytes = {}, 0

    def finish(self, config: dict) -> Path:
        self._flush()
        (self.staging / "config.json").write_text(json.dumps(config, indent=2, sort_keys=True), encoding="utf-8")
        (self.staging / f"{WEIGHTS}.safetensors.index.json").write_text(
            json.dumps({"metadata": {}, "weight_map": self.weight_map}, indent=2, sort_keys=True), encoding="utf-8"
        )
        return seal(self.staging, self.folder, self.source, self.precision)

    def abandon(self) -> None:
        shutil.rmtree(self.staging, ignore_errors=True)
