"""What differs between the two FramePack models, owned by one object each.

The original (inverted, anti-drifting) model samples from the END of the video towards the start
with the start image as an anchor in every section; F1 samples forwards. Everything that follows
from that lives here, so the runner never asks which model it runs (DESIGN.md section 4):
- the context layout: which history latents fill the 1x/2x/4x slots, at which indices;
- the history update: the original prepends new latents (the last section also the start latent),
  F1 appends them;
- the decode slice: which latents a section decodes (the newest 2w, overlapping the last decode);
- where a decoded chunk lands: before the existing frames (original) or after them (F1).

The history buffer always starts with `HISTORY_LEN` zero latents of padding (F1: before its real
latents, the original: after them), so the number of real latents follows from its length.
"""
from __future__ import annotations

import torch

from .context import HISTORY_1X, HISTORY_2X, HISTORY_4X, HISTORY_LEN, SectionContext
from .order import paddings


class Variant:
    """The behaviour of one model variant; see the module docstring."""

    name: str
    new_chunk_earlier: bool        # a newly decoded chunk lies before the frames already there

    def initial_history(self, start_latent: torch.Tensor) -> torch.Tensor:
        """History buffer before the first section: the zero padding (and what the variant adds)."""
        b, c, _, h, w = start_latent.shape
        return torch.zeros(b, c, HISTORY_LEN, h, w, dtype=torch.float32)

    def context(self, order: int, num_sections: int, window: int, history: torch.Tensor,
                start_latent: torch.Tensor, end_latent: torch.Tensor | None = None) -> SectionContext:
        raise NotImplementedError

    def add_to_history(self, history: torch.Tensor, new: torch.Tensor, order: int, num_sections: int,
                       start_latent: torch.Tensor) -> torch.Tensor:
        raise NotImplementedError

    def generated_latents(self, history: torch.Tensor) -> torch.Tensor:
        """The real (non-padding) latents of the history, in time order."""
        raise NotImplementedError

    def decode_slice(self, order: int, num_sections: int, window: int, generated: int) -> tuple[int, int]:
        """Which of the generated latents (time order, [a, b)) to decode after the section sampled at
        `order`: the first section all it has, later ones the newest 2w (overlapping the last decode)."""
        raise NotImplementedError

    def overlap(self, raw: torch.Tensor, frames: int) -> torch.Tensor:
        """The `frames` frames of a decoded chunk that the next chunk crossfades with."""
        return raw[:frames] if self.new_chunk_earlier else raw[-frames:]

    def chunk_start(self, num_frames: int, present: int, chunk: int) -> int:
        """First frame of the final video where a chunk of `chunk` frames lands, `present` frames
        being decodable once it is added."""
        return num_frames - present if self.new_chunk_earlier else present - chunk


def generated_count(history: torch.Tensor) -> int:
    """How many real latents a history buffer holds: all but the zero padding."""
    return history.shape[2] - HISTORY_LEN


def _start(start_latent: torch.Tensor) -> torch.Tensor:
    return start_latent.float().cpu()


def _context(i_noisy, i_start, i_1x, i_2x, i_4x, start, h_1x, h_2x, h_4x) -> SectionContext:
    return SectionContext(
        indices_latents=i_noisy,
        latents_clean=torch.cat([start, h_1x], dim=2),
        indices_latents_clean=torch.cat([i_start, i_1x]),
        latents_history_2x=h_2x,
        indices_latents_history_2x=i_2x,
        latents_history_4x=h_4x,
        indices_latents_history_4x=i_4x,
    )


class Original(Variant):
    """`[1 start | pad*w blank | w noisy | 1 post | 2 (2x) | 16 (4x)]`, history from the FRONT of the
    buffer; an end frame takes the "post" slot of the first section sampled."""

    name = "original"
    new_chunk_earlier = True

    def context(self, order, num_sections, window, history, start_latent, end_latent=None):
        pad = paddings(num_sections)[order] * window
        idx = torch.arange(0, 1 + pad + window + HISTORY_LEN)
        i_start, _, i_noisy, i_1x, i_2x, i_4x = idx.split([1, pad, window, HISTORY_1X, HISTORY_2X, HISTORY_4X])
        h_1x, h_2x, h_4x = history[:, :, :HISTORY_LEN].split([HISTORY_1X, HISTORY_2X, HISTORY_4X], dim=2)
        if end_latent is not None and order == 0:
            h_1x = end_latent.float().cpu()
        return _context(i_noisy, i_start, i_1x, i_2x, i_4x, _start(start_latent), h_1x, h_2x, h_4x)

    def add_to_history(self, history, new, order, num_sections, start_latent):
        new = new.float().cpu()
        if order == num_sections - 1:
            new = torch.cat([_start(start_latent), new], dim=2)
        return torch.cat([new, history], dim=2)

    def generated_latents(self, history):
        return history[:, :, :generated_count(history)]

    def decode_slice(self, order, num_sections, window, generated):
        if order == 0:
            return 0, generated
        return 0, 2 * window + (1 if order == num_sections - 1 else 0)


class F1(Variant):
    """`[1 start | 16 (4x) | 2 (2x) | 1 (1x) | w noisy]`, history from the END of the buffer, which
    starts with the start latent after the padding."""

    name = "f1"
    new_chunk_earlier = False

    def initial_history(self, start_latent):
        return torch.cat([super().initial_history(start_latent), _start(start_latent)], dim=2)

    def context(self, order, num_sections, window, history, start_latent, end_latent=None):
        idx = torch.arange(0, 1 + HISTORY_LEN + window)
        i_start, i_4x, i_2x, i_1x, i_noisy = idx.split([1, HISTORY_4X, HISTORY_2X, HISTORY_1X, window])
        h_4x, h_2x, h_1x = history[:, :, -HISTORY_LEN:].split([HISTORY_4X, HISTORY_2X, HISTORY_1X], dim=2)
        return _context(i_noisy, i_start, i_1x, i_2x, i_4x, _start(start_latent), h_1x, h_2x, h_4x)

    def add_to_history(self, history, new, order, num_sections, start_latent):
        return torch.cat([history, new.float().cpu()], dim=2)

    def generated_latents(self, history):
        return history[:, :, -generated_count(history):]

    def decode_slice(self, order, num_sections, window, generated):
        if order == 0:
            return 0, generated
        return generated - 2 * window, generated


VARIANTS: dict[str, Variant] = {v.name: v for v in (Original(), F1())}


def variant_of(name: str) -> Variant:
    """The variant object of a job's `variant` (validated by the Job against engine/choices.py)."""
    return VARIANTS[name]
