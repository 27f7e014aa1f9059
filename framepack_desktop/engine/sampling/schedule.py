"""The noise schedule of one section: sigmas from 1 to 0, time-shifted by the flux rule.

FramePack samples with sigma = linspace(1, 0) bent towards high noise by
sigma' = e^mu / (e^mu + 1/sigma - 1), mu growing with the token count of the latent window
(DESIGN.md section 4). The values are computed as the original FramePack computes them: a
float32 torch linspace and the shift as float32 tensor operations (`1 / sigma` a reciprocal).
diffusers' FlowMatchEulerDiscreteScheduler gets there through a float64 numpy linspace and
differs by one float32 ulp at some steps (e.g. at 10 and 25 steps); same seed, same video as the
original needs the original's bits.
"""
from __future__ import annotations

import math

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
    sigma = torch.linspace(1, 0, steps + 1, dtype=torch.float32)
    return math.exp(mu) / (math.exp(mu) + (1 / sigma - 1))  # 1 / 0 = inf: ends at exactly 0


def model_timesteps(sigmas: torch.Tensor) -> torch.Tensor:
    """The timestep the transformer is conditioned on: sigma scaled to the 0..1000 training range."""
    return sigmas * 1000.0
