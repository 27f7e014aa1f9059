"""Loading a model from safetensors files one tensor at a time, into a skeleton built on `meta`.

This is the loading path for everything `from_pretrained` cannot do for us: a single-file
checkpoint (community exports of the transformer, bf16 or fp8), fp8 storage built from bf16
weights, and the saved fp8 form. The model is first built without memory (`init_empty_weights`,
buffers real), its parameters given the dtypes they must be stored in (so fp8 layerwise casting
is decided by diffusers' own rules, applied to the skeleton), and then each tensor is read from
its memory-mapped file, cast only if its stored dtype differs, moved to the target device and put
in place. Peak RAM is one tensor plus what stays on the CPU; a tensor whose dtype already matches
stays a view of the file's pages on the CPU (safetensors maps files), which the OS can drop and
re-read instead of swapping.

Before any tensor moves, the file's keys and shapes are compared with the model's, and a mismatch
is a `CheckpointMismatch` that names the file and the first differences.
"""
from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from pathlib import Path
from typing import TYPE_CHECKING

from .errors import CheckpointMismatch
from .safetensors_io import DamagedFile, read_header

if TYPE_CHECKING:
    import torch

SHOWN = 5
# Keys a checkpoint may carry that no model of ours uses (a causal-LM head saved with the Llama).
IGNORED_PREFIXES = ("lm_head.",)


def empty_model(build: Callable[[], "torch.nn.Module"]) -> "torch.nn.Module":
    """`build()` with parameters on `meta` (no memory) and real buffers (rotary tables)."""
    from accelerate import init_empty_weights

    with init_empty_weights(include_buffers=False):
        return build()


def checkpoint_keys(files: Iterable[Path]) -> dict[str, tuple[Path, tuple[int, ...]]]:
    """Every tensor name of the files, with its file and shape (headers only)."""
    keys: dict[str, tuple[Path, tuple[int, ...]]] = {}
    for path in files:
        try:
            header = read_header(path)
        except DamagedFile as exc:
            raise CheckpointMismatch(f"{exc}. Delete it and download it again.") from exc
        keys.update({name: (Path(path), info.shape) for name, info in header.tensors.items()})
    return keys


def key_map(model: "torch.nn.Module", keys: dict[str, tuple[Path, tuple[int, ...]]], label: Path) -> dict[str, str]:
    """Model tensor name -> checkpoint tensor name, or CheckpointMismatch naming the differences.

    A checkpoint saved from a wrapper (`model.` before every name) is accepted as is.
    """
    expected = {name: tuple(t.shape) for name, t in model.state_dict().items()}
    prefix = _common_prefix(keys, expected)
    mapping = {name: prefix + name for name in expected}
    missing = [name for name, key in mapping.items() if key not in keys]
    used = set(mapping.values())
    unexpected = [k for k in keys if k not in used and not k.startswith(IGNORED_PREFIXES)]
    wrong = [
        f"{name} is {list(keys[key][1])} in the file, {list(shape)} in the model"
        for name, shape in expected.items()
        if (key := mapping[name]) in keys and tuple(keys[key][1]) != shape
    ]
    if missing or unexpected or wrong:
        raise CheckpointMismatch(_mismatch_message(label, type(model).__name__, missing, unexpected, wrong))
    return mapping


def cast_tensors(model: "torch.nn.Module", files: list[Path], label: Path | None = None) -> Iterator[tuple[str, "torch.Tensor"]]:
    """(model tensor name, CPU tensor in the dtype of its skeleton slot), one file at a time.

    Keys and shapes are checked first (`key_map`); a tensor whose stored dtype already matches
    is a view of the mapped file, others are cast copies.
    """
    from safetensors import safe_open

    keys = checkpoint_keys(files)
    mapping = key_map(model, keys, label or files[0])
    targets = {name: t.dtype for name, t in model.state_dict(keep_vars=True).items()}
    by_file: dict[Path, list[str]] = {}
    for name, key in mapping.items():
        by_file.setdefault(keys[key][0], []).append(name)
    for path, names in by_file.items():
        with safe_open(str(path), framework="pt", device="cpu") as f:
            for name in names:
                tensor = f.get_tensor(mapping[name])
                yield name, tensor if tensor.dtype == targets[name] else tensor.to(targets[name])


def load_into(
    model: "torch.nn.Module", files: list[Path], device: "str | torch.device", label: Path | None = None
) -> "torch.nn.Module":
    """Fill a skeleton from `files`, each tensor cast to the dtype its skeleton slot has."""
    for name, tensor in cast_tensors(model, files, label):
        _put(model, name, tensor.to(device))
    model.eval().requires_grad_(False)
    left = [n for n, p in model.named_parameters() if p.device.type == "meta"]
    if left:
        raise CheckpointMismatch(f"{label or files[0]} left {len(left)} tensors unset, first {left[:SHOWN]}.")
    return model


def _put(model: "torch.nn.Module", name: str, value: "torch.Tensor") -> None:
    import torch

    owner_name, _, attr = name.rpartition(".")
    owner = model.get_submodule(owner_name) if owner_name else model
    if attr in owner._parameters:
        owner._parameters[attr] = torch.nn.Parameter(value, requires_grad=False)
    else:
        owner._buffers[attr] = value


def _common_prefix(keys: dict, expected: dict) -> str:
    if any(name in keys for name in expected):
        return ""
    for prefix in ("model.", "transformer.", "diffusion_model."):
        if any(prefix + name in keys for name in expected):
            return prefix
    return ""


def _mismatch_message(label: Path, model_name: str, missing: list, unexpected: list, wrong: list) -> str:
    parts = []
    if missing:
        parts.append(f"{len(missing)} weights the model needs are not in it (first: {', '.join(missing[:SHOWN])})")
    if unexpected:
        parts.append(f"{len(unexpected)} tensors in it are not in the model (first: {', '.join(unexpected[:SHOWN])})")
    if wrong:
        parts.append(f"{len(wrong)} have other shapes (first: {'; '.join(wrong[:SHOWN])})")
    return (
        f"{label} does not match {model_name}: " + "; ".join(parts) + ". It is probably a checkpoint of "
        "another model or in another key format (only checkpoints with the diffusers key names load). "
        "Remove it, or replace it with a FramePack export in the diffusers format."
    )
