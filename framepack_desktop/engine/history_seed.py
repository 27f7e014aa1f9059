"""How a job's history begins: the seed its first section is sampled from.

A new video starts from its start image: the variant's own empty history, an empty frame store.
An extension starts from a video this app made: its latents are the F1 history, its frames the
first frames of the store, and its first new chunk crossfades onto its last frames. Other seeds
(any video, keyframes) are further classes here; the runner only calls the methods below.
"""
from __future__ import annotations

import numpy as np
import torch

from .extend import ExtensionBase, extension_base
from .job import Job
from .sampling.context import HISTORY_LEN
from .sampling.order import frames_of
from .sampling.variants import Variant
from .video.framestore import FrameStore


class HistorySeed:
    """A new video from its start image (the base class does nothing beyond the variant's own)."""

    # decoded.json entries before the sections' own (frames that are in the store from the start)
    markers: tuple[str, ...] = ()

    @property
    def decode_offset(self) -> int:
        """Decodes that came before the job's first section (its sections decode like later ones)."""
        return len(self.markers)

    def history(self, variant: Variant, start_latent: torch.Tensor) -> torch.Tensor:
        """The history buffer the first section is sampled from."""
        return variant.initial_history(start_latent)

    def fill_store(self, store: FrameStore) -> None:
        """Write the seed's own frames into a new frame store."""

    def first_overlap(self, store: FrameStore, window: int, generated: int) -> np.ndarray | None:
        """The frames the first decoded chunk crossfades with (float32 in [-1, 1]), or None."""
        return None


class OwnVideo(HistorySeed):
    """An extension of a finished video this app made (engine/extend.py)."""

    def __init__(self, base: ExtensionBase):
        self.base = base
        self.markers = (base.marker,)

    def history(self, variant: Variant, start_latent: torch.Tensor) -> torch.Tensor:
        padding = variant.initial_history(start_latent)[:, :, :HISTORY_LEN]
        return torch.cat([padding, self.base.latents(start_latent)], dim=2)

    def fill_store(self, store: FrameStore) -> None:
        self.base.copy_frames(store)

    def first_overlap(self, store: FrameStore, window: int, generated: int) -> np.ndarray:
        """The old video's last frames, taken from the store (not decoded again) so the join starts
        exactly on the old video: as many as the first new chunk decodes beyond its new frames
        (`generated` counts them too), 4w - 3, or the whole old video when shorter than one window."""
        overlap = frames_of(min(2 * window, generated)) - 4 * window
        end = self.base.frames
        return store.read_range(end - overlap, end).astype(np.float32) / 127.5 - 1


def history_seed(job: Job) -> HistorySeed:
    """The seed of `job`'s history; BadSettings when the video it extends cannot serve."""
    return OwnVideo(extension_base(job)) if job.extend_from else HistorySeed()
