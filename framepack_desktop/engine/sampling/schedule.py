"""The noise schedule of one section: sigmas from 1 to 0, time-shifted by the flux rule.

FramePack samples with sigma = linspace(1, 0) bent towards high noise by
sigma' = e^mu / (e^mu + 1/sigma - 1), mu growing with the token count of the latent window
(DESIGN.md section 4). The values are computed in float32 exactly as diffusers'
FlowMatchEulerDiscreteScheduler computes them (numpy float32 arithmetic), so that a run on
our schedule is bit-identical to one through diffusers' HunyuanVideoFramepackPipeline.
"""
from __future__ import annotations

import math

import numpy as np
import torch

BASE_SEQ_LEN = 256
MAX_SEQ_LEN = 4096
BASE_SHIFT = 0.5
MAX_SHIFT = 1.15


def flux_mu(seq_len: float, exp_max: float = 7.0) -> float:
    """The shift exponent for `seq_len` noisy tokens: linear from (256, 0.5) to (4096, 1.15),
    capped at ln(exp_max); every 640-class bucket reaches the cap (shift 7)."""
    slope = (MAX_SHIFT - BASE_SHIFT) / (MAX_SEQ_LEN - BASE_SEQ_LEN)
    intercept = BASE_SHIFT - slope * BASE_SEQ_LEN
    return min(seq_len * slope + intercept, math.log(exp_max))


def shifted_sigmas(steps: int, mu: float) -> torch.Tensor:
    """`steps + 1` float32 sigmas from exactly 1 down to exactly 0, shifted by `mu`."""
    if steps < 1:
        raise ValueError(f"steps must be at least 1, got {steps}")
    sigma = np.linspace(1.0, 0.0, steps + 1)[:-1].astype(np.float32)
    shifted = math.exp(mu) / (math.exp(mu) + (1 / sigma - 1))
    return torch.cat([torch.from_numpy(shifted.astype(np.float32)), torch.zeros(1)])


def model_timesteps(sigmas: torch.Tensor) -> torch.Tensor:
    """The timestep the transformer is conditioned on: sigma scaled to the 0..1000 training range."""
    return sigmas * 1000.0
