"""Where models run and in which precision: the memory policy's single entry point.

Today: bf16 transformer and fp16 encoders on CUDA (as the original), fp32 on the CPU. The models
issue grows this into the full policy (free VRAM, system RAM, precision, offloading).
"""
from __future__ import annotations

import torch

from ..job import Job
from ..session import Placement


def choose_placement(job: Job) -> Placement:
    """Device and dtypes: bf16 transformer and fp16 encoders on CUDA, as the original; fp32 on CPU."""
    if job.device == "auto":
        device = torch.device("cuda" if torch.cuda.is_available() else "cpu")
    else:
        device = torch.device(job.device)
    if device.type == "cpu":
        return Placement(device, torch.float32, torch.float32, torch.float32, torch.float32)
    named = {"bf16": torch.bfloat16, "fp16": torch.float16, "fp32": torch.float32}
    return Placement(device, named.get(job.precision, torch.bfloat16), torch.float16, torch.float16, torch.float16)
