"""The packed history context of one section, for both FramePack variants.

The transformer sees, besides the noisy window, a fixed-size history: the start latent and one
1x latent (normal patch), 2 latents at 2x and 16 at 4x compression (coarser patches). Its size
does not depend on how long the video already is; that is why memory stays flat.

Each variant lays the index line out differently (DESIGN.md section 4):
- original (inverted, anti-drifting; sampled from the END of the video towards the start):
  `[1 start | pad*w blank | w noisy | 1 post | 2 (2x) | 16 (4x)]`, history taken from the FRONT
  of the history buffer, new latents prepended. An end frame replaces the "post" latent in the
  first section sampled.
- F1 (forward): `[1 start | 16 (4x) | 2 (2x) | 1 (1x) | w noisy]`, history taken from the END of
  the buffer, new latents appended.
"""
from __future__ import annotations

from dataclasses import dataclass

import torch

from .order import paddings

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


def initial_history(start_latent: torch.Tensor, variant: str) -> torch.Tensor:
    """History buffer before the first section: zeros, and for F1 the start latent at its end."""
    b, c, _, h, w = start_latent.shape
    zeros = torch.zeros(b, c, HISTORY_LEN, h, w, dtype=torch.float32)
    if variant == "f1":
        return torch.cat([zeros, start_latent.float().cpu()], dim=2)
    return zeros


def build_context(
    variant: str,
    order: int,
    num_sections: int,
    window: int,
    history: torch.Tensor,
    start_latent: torch.Tensor,
    end_latent: torch.Tensor | None = None,
) -> SectionContext:
    start = start_latent.float().cpu()
    if variant == "original":
        pad = paddings(num_sections)[order] * window
        idx = torch.arange(0, 1 + pad + window + HISTORY_LEN)
        i_start, _, i_noisy, i_1x, i_2x, i_4x = idx.split([1, pad, window, HISTORY_1X, HISTORY_2X, HISTORY_4X])
        h_1x, h_2x, h_4x = history[:, :, :HISTORY_LEN].split([HISTORY_1X, HISTORY_2X, HISTORY_4X], dim=2)
        if end_latent is not None and order == 0:
            h_1x = end_latent.float().cpu()
    elif variant == "f1":
        idx = torch.arange(0, 1 + HISTORY_LEN + window)
        i_start, i_4x, i_2x, i_1x, i_noisy = idx.split([1, HISTORY_4X, HISTORY_2X, HISTORY_1X, window])
        h_4x, h_2x, h_1x = history[:, :, -HISTORY_LEN:].split([HISTORY_4X, HISTORY_2X, HISTORY_1X], dim=2)
    else:
        raise ValueError(f"unknown variant {variant!r}")
    return SectionContext(
        indices_latents=i_noisy,
        latents_clean=torch.cat([start, h_1x], dim=2),
        indices_latents_clean=torch.cat([i_start, i_1x]),
        latents_history_2x=h_2x,
        indices_latents_history_2x=i_2x,
        latents_history_4x=h_4x,
        indices_latents_history_4x=i_4x,
    )


def add_to_history(
    variant: str, history: torch.Tensor, new: torch.Tensor, order: int, num_sections: int, start_latent: torch.Tensor
) -> torch.Tensor:
    """History after a section: original prepends (and the last section also the start latent), F1 appends."""
    new = new.float().cpu()
    if variant == "original":
        if order == num_sections - 1:
            new = torch.cat([start_latent.float().cpu(), new], dim=2)
        return torch.cat([new, history], dim=2)
    return torch.cat([history, new], dim=2)


def generated_latents(variant: str, history: torch.Tensor, count: int) -> torch.Tensor:
    """The `count` real (non-zero-padding) latents of the history, in time order."""
    return history[:, :, :count] if variant == "original" else history[:, :, -count:]


def decode_slice(variant: str, order: int, num_sections: int, window: int, generated: int) -> tuple[int, int]:
    """Which of the generated latents (time order, [a, b)) to decode after section `order`.

    The first section decodes everything it has; later ones the newest 2w latents (2w+1 for the
    original's last section, which carries the start latent), overlapping the previous decode.
    """
    if order == 0:
        return 0, generated
    if variant == "original":
        n = 2 * window + (1 if order == num_sections - 1 else 0)
        return 0, n
    return generated - 2 * window, generated
