"""Tiny random-weight RIFE and ESRGAN files in their public layouts, for the demo model set.

Same keys, nesting and containers as the downloads (Practical-RIFE's `flownet.pkl` with
DataParallel's `module.` prefix; Real-ESRGAN's `.pth` with the weights under `params_ema`), at a
few thousand parameters, so the real loading and inference code runs in tests without a
download. Their output is meaningless, like the rest of the demo set's.
"""
from __future__ import annotations

from pathlib import Path

import torch

from .ifnet import IFNet
from .rrdbnet import RRDBNet
from .weights import default_rife, default_upscaler

DEMO_RIFE_WIDTHS = (16, 16, 8, 8)
DEMO_ESRGAN = dict(nf=8, gc=4, blocks=1)


def write_post_models(models_dir: Path, seed: int = 0) -> list[Path]:
    """Write the demo RIFE file and x2/x4 upscalers under `models_dir`; returns their paths."""
    torch.manual_seed(seed)
    rife = default_rife(models_dir)
    rife.parent.mkdir(parents=True, exist_ok=True)
    torch.save({f"module.{k}": v for k, v in IFNet(DEMO_RIFE_WIDTHS).state_dict().items()}, rife)
    written = [rife]
    for scale in (2, 4):
        path = default_upscaler(models_dir, scale)
        path.parent.mkdir(parents=True, exist_ok=True)
        torch.save({"params_ema": RRDBNet(scale=scale, **DEMO_ESRGAN).state_dict()}, path)
        written.append(path)
    return written
