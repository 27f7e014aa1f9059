"""Reading safetensors headers ourselves: sizes, dtypes and truncation, without torch.

A safetensors file is an 8-byte little-endian header length, a JSON header naming every tensor's
dtype, shape and byte range, then the data. The header alone tells whether the file is complete
(its last byte range must end exactly at the end of the file), how many parameters a component
has and in which dtype they are stored, all in microseconds and without reading gigabytes: the
basis of `models verify`, the memory estimates and the choice of a loading path.
"""
from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from pathlib import Path

MAX_HEADER = 100 * 1024 * 1024

# Bytes per element of each safetensors dtype code.
DTYPE_BYTES = {
    "F64": 8, "I64": 8, "U64": 8,
    "F32": 4, "I32": 4, "U32": 4,
    "F16": 2, "BF16": 2, "I16": 2, "U16": 2,
    "F8_E4M3": 1, "F8_E5M2": 1, "I8": 1, "U8": 1, "BOOL": 1,
}
# What each precision name of the app means as a safetensors dtype.
PRECISION_OF_DTYPE = {"F32": "fp32", "BF16": "bf16", "F16": "fp16", "F8_E4M3": "fp8", "F8_E5M2": "fp8_e5m2"}


class DamagedFile(ValueError):
    """The file is not a complete safetensors file; the message says how."""


@dataclass(frozen=True)
class TensorInfo:
    dtype: str
    shape: tuple[int, ...]
    begin: int
    end: int

    @property
    def numel(self) -> int:
        return math.prod(self.shape)


@dataclass(frozen=True)
class Header:
    path: Path
    tensors: dict[str, TensorInfo]
    metadata: dict[str, str]
    data_start: int
    file_size: int

    def numel_by_dtype(self) -> dict[str, int]:
        counts: dict[str, int] = {}
        for t in self.tensors.values():
            counts[t.dtype] = counts.get(t.dtype, 0) + t.numel
        return counts


def read_header(path: Path) -> Header:
    """Parse and check a safetensors header; DamagedFile says what is wrong.

    Checked: the header is readable JSON of tensor entries, each byte range matches its dtype and
    shape, and the data ends exactly where the file ends (a shorter file is a cut-off download, a
    longer one is not what was written).
    """
    path = Path(path)
    size = path.stat().st_size
    if size < 8:
        raise DamagedFile(f"{path} has {size} bytes: too short to be a safetensors file")
    with open(path, "rb") as f:
        (length,) = struct.unpack("<Q", f.read(8))
        if length > MAX_HEADER or 8 + length > size:
            raise DamagedFile(
                f"{path} is not a safetensors file or is cut off: its header claims {length} bytes "
                f"but the file has {size}"
            )
        raw = f.read(length)
    try:
        entries = json.loads(raw)
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFile(f"{path} has an unreadable safetensors header ({exc})") from exc
    if not isinstance(entries, dict):
        raise DamagedFile(f"{path} has an unreadable safetensors header (not a JSON object)")
    metadata = entries.pop("__metadata__", None) or {}
    tensors = {name: _tensor_info(path, name, entry) for name, entry in entries.items()}
    data_start = 8 + length
    end = max((t.end for t in tensors.values()), default=0)
    if data_start + end != size:
        state = "cut off" if data_start + end > size else "longer than its header says"
        raise DamagedFile(f"{path} is {state}: it has {size} bytes, its header describes {data_start + end}")
    return Header(path, tensors, dict(metadata), data_start, size)


def _tensor_info(path: Path, name: str, entry) -> TensorInfo:
    try:
        dtype = entry["dtype"]
        shape = tuple(int(d) for d in entry["shape"])
        begin, end = (int(o) for o in entry["data_offsets"])
    except (KeyError, TypeError, ValueError) as exc:
        raise DamagedFile(f"{path}: the header entry of {name} is malformed ({exc})") from exc
    width = DTYPE_BYTES.get(dtype)
    if width is None:
        raise DamagedFile(f"{path}: {name} has an unknown dtype {dtype}")
    if end - begin != math.prod(shape) * width or begin < 0:
        raise DamagedFile(f"{path}: the byte range of {name} does not match its shape {shape} in {dtype}")
    return TensorInfo(dtype, shape, begin, end)


def read_index(path: Path) -> dict[str, str]:
    """The weight map (tensor name -> shard file) of a `*.safetensors.index.json`."""
    try:
        data = json.loads(Path(path).read_text(encoding="utf-8"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise DamagedFile(f"{path} is not valid JSON ({exc})") from exc
    weight_map = data.get("weight_map") if isinstance(data, dict) else None
    if not isinstance(weight_map, dict) or not weight_map:
        raise DamagedFile(f"{path} has no weight map")
    for shard in weight_map.values():
        if not is_plain_shard_name(shard):
            raise DamagedFile(f"{path} names a shard outside its folder ({str(shard)[:80]!r}): the index is damaged "
                              "or was not made for this model")
    return {str(k): str(v) for k, v in weight_map.items()}


def is_plain_shard_name(name: object) -> bool:
    """A shard is a file beside its index: a plain file name, never a path that leads elsewhere."""
    return (isinstance(name, str) and name.endswith(".safetensors") and "/" not in name and "\\" not in name
            and ":" not in name and not name.startswith("."))
