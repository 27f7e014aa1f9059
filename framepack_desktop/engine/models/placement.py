"""Where and in which precision each model runs: the memory plan's verdict (`policy.py`,
`preflight.py`) that the session applies when it loads a model and the runner reads.

Its own module in the models package, below both the planner and the session, so that neither
imports the other to name it.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path

import torch

from .offload import Offload


@dataclass(frozen=True)
class Placement:
    """Where and in which precision each model runs, and how memory is managed.

    `transformer_dtype` is the dtype the transformer computes in (its inputs are given in it);
    `transformer_precision` how its weights are stored ("fp8", "int8", "nf4", "gguf"; None: plain
    `transformer_dtype`). `memory` is the transformer's mode ("gpu": resident on `device`,
    "model_offload", "group_offload"); `text_memory` the Llama's while it encodes. `reasons` says
    in words why the policy chose this, for the log and the window.
    """

    device: torch.device
    transformer_dtype: torch.dtype
    text_dtype: torch.dtype
    vae_dtype: torch.dtype
    image_dtype: torch.dtype
    transformer_precision: str | None = None
    text_precision: str | None = None
    memory: str = "gpu"
    text_memory: str = "gpu"
    offload: Offload = field(default_factory=Offload)
    vae_tiling: bool = False
    vae_framewise: bool = True
    keep_image_encoder: bool = True
    compile: bool = False
    fp8_compute: bool = False
    prepared_root: Path | None = None
    reasons: tuple[str, ...] = ()

    @property
    def offloaded(self) -> bool:
        return self.memory in ("model_offload", "group_offload")

    def summary(self) -> str:
        """One line for the window's status bar and the log, e.g. "GPU: transformer fp8, streamed
        block by block (1 block at a time, CUDA stream, weights pinned in RAM); VAE decodes by frames"."""
        precision = "fp8 compute" if self.fp8_compute else (
            self.transformer_precision or str(self.transformer_dtype).removeprefix("torch."))
        compiled = ", compiled" if self.compile else ""
        memory = {"gpu": "on the GPU", "model_offload": "model offloading", "cpu": "in RAM",
                  "group_offload": f"streamed block by block ({self.offload.describe()})"}.get(self.memory, self.memory)
        vae = "tiled" if self.vae_tiling else ("by frames" if self.vae_framewise else "in one pass")
        device = "CPU" if self.device.type == "cpu" else (
            "GPU" if self.device.index is None else f"GPU {self.device.index}")
        return f"{device}: transformer {precision}{compiled}, {memory}; VAE decodes {vae}"
