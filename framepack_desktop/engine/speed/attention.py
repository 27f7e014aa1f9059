"""Attention backend: diffusers routes every attention call through its dispatcher, so a faster
kernel (FlashAttention 2/3, SageAttention, cuDNN, xformers) is a setting of the model, not a code
change. "auto" takes the installed ones that suit the GPU and agree with PyTorch's SDPA on a tiny
probe, times each (and SDPA, "native") on one attention call of FramePack's size, and uses the
fastest; the verdict is cached per GPU. The name used is recorded in the job's log.
"""
from __future__ import annotations

import json
from pathlib import Path

import torch
from torch import nn

from ..errors import BadSettings
from . import common

NATIVE = "native"
# The backends "auto" considers on CUDA besides "native" (PyTorch SDPA with its own default pick):
# those installed that suit the GPU and pass the probe are timed, the fastest is used
# (`fastest_attention`). cuDNN's attention is PyTorch's own, so it is always there on CUDA;
# FlashAttention 3 is Hopper-only.
AUTO_ATTENTION = ("sage", "_flash_3", "_native_cudnn", "flash", "xformers")
ATTENTION_MIN_CAPABILITY = {"sage": (8, 0), "_flash_3": (9, 0), "_native_cudnn": (8, 0), "flash": (8, 0),
                            "xformers": (7, 0)}
ATTENTION_MAX_CAPABILITY = {"_flash_3": (9, 0)}
PROBE_MAX_RELATIVE_ERROR = 0.05


def attention_candidates(device: torch.device) -> list[str]:
    """Backends "auto" may try on `device`, best first; always ends with "native"."""
    if device.type != "cuda" or not torch.cuda.is_available():
        return [NATIVE]
    capability = torch.cuda.get_device_capability(device)

    def suits(name: str) -> bool:
        highest = ATTENTION_MAX_CAPABILITY.get(name)
        return capability >= ATTENTION_MIN_CAPABILITY[name] and (highest is None or capability <= highest)

    return [name for name in AUTO_ATTENTION if suits(name)] + [NATIVE]


def choose_attention(transformer: nn.Module, device: torch.device, requested: str = "auto",
                     timings: dict[str, float] | None = None) -> str:
    """Set the transformer's attention backend; returns the name in use.

    An explicit name must work (BadSettings otherwise); "auto" takes, of the candidates that
    diffusers accepts and that pass `probe_attention`, the fastest (`fastest_attention`; their
    seconds go into `timings` when given), else "native". Kernel-hub backends are never chosen:
    they download code at run time.
    """
    requested = (requested or "auto").strip().lower()
    if requested == "auto":
        usable = [name for name in attention_candidates(device)[:-1] if _try_backend(transformer, name, device) is None]
        best, seconds = fastest_attention(device, usable + [NATIVE]) if usable else (NATIVE, {})
        if timings is not None:
            timings.update(seconds)
        _set_backend(transformer, best)
        return best
    names = attention_names()
    if requested not in names:
        raise BadSettings(f"Unknown attention backend '{requested}': use auto or one of {', '.join(names)}.")
    problem = _try_backend(transformer, requested, device)
    if problem:
        raise BadSettings(f"The attention backend '{requested}' does not work here ({problem}). Choose 'auto'.")
    return requested


def fastest_attention(device: torch.device, usable: list[str],
                      cache_file: Path | None = None) -> tuple[str, dict[str, float]]:
    """The fastest of `usable` backends on this GPU and each one's seconds, timed once and remembered.

    Which kernel wins depends on the GPU, the sequence length and the library versions (cuDNN's
    attention beats FlashAttention 2 on Hopper, SageAttention's int8 kernels on Ada, ...), so the
    choice is measured: each backend on one attention call of FramePack's size, the fastest kept.
    The verdict is cached per GPU model, library versions and set of usable backends.
    """
    import diffusers

    cache_file = cache_file or common.speed_cache_dir() / "attention-choice.json"
    key = "|".join([common.device_name(device), torch.__version__, diffusers.__version__, ",".join(usable)])
    cached = common.read_json(cache_file)
    if cached.get(key, {}).get("best") in usable:
        return cached[key]["best"], dict(cached[key].get("seconds", {}))
    timings = {}
    for name in usable:
        try:
            timings[name] = time_attention(name, device)
        except (RuntimeError, ValueError, TypeError, NotImplementedError):
            continue        # passed the small probe but fails at full size: not a candidate
    best = min(timings, key=timings.get) if timings else NATIVE
    cached[key] = {"best": best, "seconds": timings}
    cache_file.parent.mkdir(parents=True, exist_ok=True)
    cache_file.write_text(json.dumps(cached, indent=1), encoding="utf-8")
    return best, timings


def time_attention(name: str, device: torch.device, repeats: int = 3) -> float:
    """Median seconds of one attention call through backend `name`: 24 heads of 128 over 8192
    tokens in bf16 on a GPU (about half of FramePack's joint sequence at the 640 bucket), smaller
    on the CPU. The first call (kernel selection, autotuning) is not counted."""
    import time

    from diffusers.models.attention_dispatch import dispatch_attention_fn

    cuda = device.type == "cuda"
    tokens, heads = (8192, 24) if cuda else (512, 4)
    gen = torch.Generator("cpu").manual_seed(0)
    q, k, v = (torch.randn(1, tokens, heads, 128, generator=gen).to(device, torch.bfloat16 if cuda else torch.float32)
               for _ in range(3))
    times = []
    for i in range(repeats + 1):
        if cuda:
            torch.cuda.synchronize(device)
        start = time.perf_counter()
        dispatch_attention_fn(q, k, v, backend=name)
        if cuda:
            torch.cuda.synchronize(device)
        if i:
            times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2]


def attention_names() -> list[str]:
    """Every backend name a job may ask for: diffusers' own, without those fetched from the Hub."""
    from diffusers.models.attention_dispatch import AttentionBackendName

    return sorted(b.value for b in AttentionBackendName if not b.value.endswith("_hub"))


def _try_backend(transformer: nn.Module, name: str, device: torch.device) -> str | None:
    """Set backend `name` if it is installed and computes attention correctly; else why not."""
    try:
        _set_backend(transformer, name)
    except (RuntimeError, ValueError, ImportError) as e:
        _set_backend(transformer, NATIVE)
        return str(e)
    problem = probe_attention(name, device)
    if problem:
        _set_backend(transformer, NATIVE)
    return problem


def _set_backend(transformer: nn.Module, name: str) -> None:
    """`set_attention_backend` without its "experimental feature" warning on every job's console."""
    from diffusers.utils import logging

    log = logging.get_logger("diffusers.models.modeling_utils")
    level = log.level
    log.setLevel(logging.ERROR)
    try:
        transformer.set_attention_backend(name)
    finally:
        log.setLevel(level)


def probe_attention(name: str, device: torch.device) -> str | None:
    """Run backend `name` once on a small input and compare with PyTorch SDPA; None when it agrees.

    Catches what an import check cannot: a kernel built for another GPU or torch, a backend
    that rejects this device. Inputs are bf16 on CUDA (what the flash kernels take), float32 else.
    """
    from diffusers.models.attention_dispatch import dispatch_attention_fn

    dtype = torch.bfloat16 if device.type == "cuda" else torch.float32
    gen = torch.Generator("cpu").manual_seed(0)
    q, k, v = (torch.randn(1, 128, 2, 64, generator=gen).to(device=device, dtype=dtype) for _ in range(3))
    try:
        out = dispatch_attention_fn(q, k, v, backend=name)
    except (RuntimeError, ValueError, TypeError, NotImplementedError) as e:
        return f"{type(e).__name__}: {e}"
    expected = dispatch_attention_fn(q, k, v, backend=NATIVE)
    error = common.relative_error(out, expected)
    if not error <= PROBE_MAX_RELATIVE_ERROR:
        return f"its result differs from PyTorch SDPA by {error:.3g} (relative)"
    return None
