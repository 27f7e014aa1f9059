"""What the runner, the session and the window call: apply and describe a job's speed settings, and
say at start which of them this computer offers."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import torch
from torch import nn

from ..errors import BadSettings
from . import attention as attention_backend, compiling, fp8 as fp8_compute, fp8_quality


@dataclass(frozen=True)
class SpeedSetup:
    """What `prepare_transformer` did, for the job log and the job's record."""

    attention: str
    compiled_blocks: int = 0
    fp8_linears: int = 0
    attention_seconds: tuple[tuple[str, float], ...] = ()   # the timed candidates, fastest first

    def describe(self) -> str:
        compiled = f"{self.compiled_blocks} blocks compiled" if self.compiled_blocks else "eager"
        fp8 = f"fp8 compute in {self.fp8_linears} linear layers" if self.fp8_linears else "no fp8 compute"
        timed = ""
        if len(self.attention_seconds) > 1:
            timed = " (timed: " + ", ".join(f"{name} {s * 1000:.2f} ms" for name, s in self.attention_seconds) + ")"
        return f"attention {self.attention}{timed}, {compiled}, {fp8}"


def prepare_transformer(transformer: nn.Module, device: str | torch.device, attention: str = "auto") -> SpeedSetup:
    """Choose the attention kernel of a loaded transformer and record its speed settings; the
    runner's one call. fp8 compute and compile were applied when the session loaded the model
    (`session.py`: fp8 before the offloading hooks, compile after), so they are counted here, not
    set: a transformer kept between jobs carries them.
    """
    device = torch.device(device)
    timings: dict[str, float] = {}
    backend = attention_backend.choose_attention(transformer, device, attention, timings)
    return SpeedSetup(backend, compiling.count_compiled_blocks(transformer), fp8_compute.count_fp8_linears(transformer),
                      tuple(sorted(timings.items(), key=lambda item: item[1])))


def support(device: str | torch.device = "auto", models: str | None = None) -> tuple[str | None, str | None]:
    """(why compile is not offered, why fp8 compute is not) on `device`, None where it is: what the
    window asks once at start to enable its checkboxes.

    With `models` (a models folder or "demo") fp8 compute is offered only if its quality check
    passes on this GPU (run once with a narrow model of the transformer's full depth, then cached;
    22.6 s on a 2-core CPU, not yet timed on a GPU); without a transformer on disk only the hardware is checked, and the check runs
    when a job loads.
    """
    if str(device) == "auto":
        device = "cuda" if torch.cuda.is_available() else "cpu"
    device = torch.device(device)
    fp8 = fp8_compute.fp8_hardware(device)
    config = transformer_config(models) if fp8 is None and models else None
    if config:
        fp8 = fp8_quality.fp8_unavailable(device, config)
    return compiling.compile_unavailable(device), fp8


def transformer_config(models: str) -> dict | None:
    """The original transformer's config.json in a models folder ("demo": the demo set, if it was
    built already; nothing is built here, at start-up), or None when it is not there."""
    from ..models.layout import locate
    from ..models.loader import DEMO_SPEC, demo_models_dir

    folder = demo_models_dir() if models.strip().lower() == DEMO_SPEC else Path(models).expanduser()
    try:
        return json.loads((locate(folder, "transformer", "original") / "config.json").read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def tune_convolutions(device: torch.device) -> bool:
    """Let cuDNN time its 3D-convolution algorithms once per shape and keep the fastest.

    A section's VAE decode at the 640 bucket is ~640 TFLOP of 3D convolutions by frames (counted
    with torch's FLOP counter, docs/BENCHMARKS.md): as much work as a sampling step, done while the
    user waits for the section to appear. Every section after the first decodes the same shapes,
    so the one-off timing pays for itself from the second section on. Returns whether it is on.
    """
    if torch.device(device).type != "cuda":
        return False
    torch.backends.cudnn.benchmark = True
    return True


def enable_fp8(transformer: nn.Module, device: torch.device, keep_on: torch.device | None = None) -> int:
    """Switch the transformer's blocks to fp8 compute where offered; returns the fp8 layer count.

    The quantisation runs on `device`; the fp8 weights stay on `keep_on` (default `device`).
    """
    device = torch.device(device)
    problem = fp8_quality.fp8_unavailable(device, transformer.config)
    if problem:
        raise BadSettings(f"fp8 compute is not available: {problem}. Turn fp8 compute off.")
    # Row-scaled kernels exist for bf16 output only; other dtypes get one scale per tensor.
    rowwise = transformer.dtype == torch.bfloat16 and fp8_compute.fp8_rowwise_works(device)
    fp8_compute.convert_to_fp8(transformer, rowwise, work_device=device, keep_on=keep_on or device)
    return fp8_compute.count_fp8_linears(transformer)
