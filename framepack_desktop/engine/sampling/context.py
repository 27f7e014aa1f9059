"""The packed history context of one section: what the transformer sees besides the noisy window.

A fixed-size history: the start latent and one 1x latent (normal patch), 2 latents at 2x and 16
at 4x compression (coarser patches). Its size does not depend on how long the video already is;
that is why memory stays flat. How each model variant fills it (the index layout, which history
latents go where) is the variant object's job: sampling/variants.py.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

HISTORY_1X, HISTORY_2X, HISTORY_4X = 1, 2, 16
HISTORY_LEN = HISTORY_1X + HISTORY_2X + HISTORY_4X


@dataclass(frozen=True)
class SectionContext:
    """Keyword arguments of the transformer's history inputs (indices are 1-D)."""
    indices_latents: torch.Tensor
    latents_clean: torch.Tensor
    indices_latents_clean: torch.Tensor
    latents_history_2x: torch.Tensor
    indices_latents_history_2x: torch.Tensor
    latents_history_4x: torch.Tensor
    indices_latents_history_4x: torch.Tensor

    def as_kwargs(self, dtype: torch.dtype, device: torch.device) -> dict[str, torch.Tensor]:
        out = {}
        for name, value in vars(self).items():
            if name.startswith("indices"):
                out[name] = value.to(device)
            else:
                out[name] = value.to(device=device, dtype=dtype)
        return out
