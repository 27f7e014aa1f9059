"""Regional torch.compile: the 60 transformer blocks are two classes repeated; compiling each block
(not the whole model) compiles each class once (keeping compile time short), and leaves the code
around the blocks (history packing, TeaCache's skip decision, offloading hooks) eager. Inductor's
cache lives in the user cache folder, so later starts reuse the kernels.
"""
from __future__ import annotations

import os
import shutil
import sys
import weakref
from pathlib import Path

import torch
from torch import nn

from ..errors import BadSettings
from . import common


def compile_cache_dir() -> Path:
    """Where inductor keeps compiled kernels between runs."""
    return common.speed_cache_dir() / "torch-compile"


def use_compile_cache(folder: Path | None = None) -> Path:
    """Point inductor's on-disk caches at `folder` (default `compile_cache_dir()`), unless the user
    already chose one with TORCHINDUCTOR_CACHE_DIR. Must run before the first compilation."""
    chosen = Path(os.environ.get("TORCHINDUCTOR_CACHE_DIR") or folder or compile_cache_dir())
    chosen.mkdir(parents=True, exist_ok=True)
    os.environ["TORCHINDUCTOR_CACHE_DIR"] = str(chosen)
    return chosen


def compile_unavailable(device: torch.device) -> str | None:
    """Why torch.compile cannot work on `device`, or None: inductor needs Triton on the GPU and a
    C++ compiler on the CPU."""
    if device.type == "cuda":
        from torch.utils._triton import has_triton

        if not has_triton():
            hint = "pip install triton-windows" if sys.platform == "win32" else "pip install triton"
            return f"torch.compile on the GPU needs Triton, which is not installed ({hint})"
        return None
    if device.type == "cpu":
        if os.environ.get("CXX") or any(shutil.which(c) for c in ("g++", "c++", "clang++", "cl")):
            return None
        return "torch.compile on the CPU needs a C++ compiler (g++, clang++ or MSVC's cl) on the PATH"
    return f"torch.compile is not supported by this app on {device.type}"


def count_compiled_blocks(transformer: nn.Module) -> int:
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    return sum(getattr(b, "_compiled_call_impl", None) is not None for b in blocks)


# Transformers whose compiled blocks have run once: their next call does not compile.
_compiled_runs: "weakref.WeakSet[nn.Module]" = weakref.WeakSet()


def compiles_at_next_call(transformer: nn.Module) -> bool:
    """Whether the next call will compile (compiled blocks that have not run yet): the runner says
    so, as that first step takes from seconds (kernels cached) to minutes."""
    return count_compiled_blocks(transformer) > 0 and transformer not in _compiled_runs


def mark_compiled_run(transformer: nn.Module) -> None:
    if count_compiled_blocks(transformer):
        _compiled_runs.add(transformer)


def set_compiled(transformer: nn.Module, device: torch.device, on: bool) -> int:
    """Compile the blocks, or return them to eager, in place; returns how many are compiled.

    A model kept between jobs changes mode without reloading its weights: compiling is lazy (the
    first call compiles), and going back to eager only drops the compiled wrappers.
    """
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    if on and count_compiled_blocks(transformer) < len(blocks):
        _compiled_runs.discard(transformer)
        compile_blocks(transformer, device)
    elif not on:
        for block in blocks:
            block._compiled_call_impl = None
    return count_compiled_blocks(transformer)


def compile_blocks(transformer: nn.Module, device: torch.device, cache_dir: Path | None = None,
                   **options) -> int:
    """Compile every double and single transformer block in place; returns how many.

    Compilation itself happens at the first call (the first sampling step is slow, later ones
    and later starts are fast). `options` go to torch.compile (e.g. mode="max-autotune-no-cudagraphs").
    Blocks keep their identity, so hooks on them and TeaCache's wrapper keep working.
    """
    problem = compile_unavailable(torch.device(device))
    if problem:
        raise BadSettings(f"Cannot compile the model: {problem}. Turn compilation off.")
    use_compile_cache(cache_dir)
    blocks = [*transformer.transformer_blocks, *transformer.single_transformer_blocks]
    for block in blocks:
        block.compile(**options)
    return len(blocks)
