"""How a job's history begins: the seed its first section is sampled from.

A new video starts from its start image (or, text only, from a plain background): the variant's
own empty history, an empty frame store. A continued video starts from a video: an extension of
one this app made (its saved latents are the F1 history), or any clip (its last frames VAE-encoded
as the F1 history); its frames are the first frames of the store, and the first new chunk
crossfades onto its last frames. The runner only calls the methods below.
"""
from __future__ import annotations

import numpy as np
import torch

from .backgrounds import background
from .conditioning import encode_latent
from .errors import BadSettings
from .extend import ExtensionBase, extension_base
from .images import fit_to_bucket, load_image, to_model_tensor
from .job import Job
from .plan import Plan
from .sampling.context import HISTORY_LEN
from .sampling.order import frames_of, latents_of
from .sampling.variants import Variant
from .video.clip import Clip, open_clip
from .video.framestore import FrameStore


class HistorySeed:
    """A new video from its start image, or from a plain background when it has none."""

    # decoded.json entries before the sections' own (frames that are in the store from the start)
    markers: tuple[str, ...] = ()
    # frames of the final video before the first latent of the history (a clip's unencoded part)
    frame_offset: int = 0

    def __init__(self, job: Job):
        self.job = job

    @property
    def decode_offset(self) -> int:
        """Decodes that came before the job's first section (its sections decode like later ones)."""
        return len(self.markers)

    def start_picture(self) -> np.ndarray:
        """The picture of the start latent and the image embeds (uint8 RGB, any size)."""
        if self.job.image:
            return load_image(self.job.image)
        return background(self.job.background, self.job.seed)

    def history(self, variant: Variant, start_latent: torch.Tensor, vae) -> torch.Tensor:
        """The history buffer the first section is sampled from."""
        return variant.initial_history(start_latent)

    def fill_store(self, store: FrameStore) -> None:
        """Write the seed's own frames into a new frame store."""

    def first_overlap(self, store: FrameStore, window: int, generated: int) -> np.ndarray | None:
        """The frames the first decoded chunk crossfades with (float32 in [-1, 1]), or None."""
        return None


class _Continued(HistorySeed):
    """A video the job goes on from: its frames [0, frames) are the store's first."""

    frames: int

    def first_overlap(self, store: FrameStore, window: int, generated: int) -> np.ndarray:
        """The old video's last frames, taken from the store (not decoded again) so the join starts
        exactly on the old video: as many as the first new chunk decodes beyond its new frames
        (`generated` counts them too), 4w - 3, or all the history holds when that is shorter."""
        overlap = frames_of(min(2 * window, generated)) - 4 * window
        return store.read_range(self.frames - overlap, self.frames).astype(np.float32) / 127.5 - 1


class OwnVideo(_Continued):
    """An extension of a finished video this app made (engine/extend.py)."""

    def __init__(self, job: Job, base: ExtensionBase):
        super().__init__(job)
        self.base = base
        self.frames = base.frames
        self.markers = (base.marker,)

    def history(self, variant: Variant, start_latent: torch.Tensor, vae) -> torch.Tensor:
        padding = variant.initial_history(start_latent)[:, :, :HISTORY_LEN]
        return torch.cat([padding, self.base.latents(start_latent)], dim=2)

    def fill_store(self, store: FrameStore) -> None:
        self.base.copy_frames(store)


class AnyVideo(_Continued):
    """Any clip continued with F1: its frames at the job's rate open the video, its last
    `context` frames (VAE-encoded) are the history; its first frame is the start latent."""

    def __init__(self, job: Job, clip: Clip, plan: Plan):
        super().__init__(job)
        self.clip, self.plan = clip, plan
        self.frames = clip.frames
        wanted = job.context_frames or frames_of(HISTORY_LEN)
        self.context = frames_of(latents_of(min(wanted, clip.frames)))
        self.frame_offset = clip.frames - self.context

    @property
    def markers(self) -> tuple[str, ...]:
        """Names the clip's frames in the store by the job's root fingerprint (the clip's bytes,
        the size and the rate are in it): another clip or size starts a new store."""
        return ("video:" + self.plan.root,)

    def start_picture(self) -> np.ndarray:
        return next(self.clip.read(0, 1))

    def history(self, variant: Variant, start_latent: torch.Tensor, vae) -> torch.Tensor:
        scale = vae.config.spatial_compression_ratio
        h, w = start_latent.shape[-2] * scale, start_latent.shape[-1] * scale
        frames = [to_model_tensor(fit_to_bucket(f, h, w)) for f in self.clip.read(self.frame_offset, self.frames)]
        latents = encode_latent(vae, torch.cat(frames, dim=2))
        padding = variant.initial_history(start_latent)[:, :, :HISTORY_LEN]
        return torch.cat([padding, latents], dim=2)

    def fill_store(self, store: FrameStore) -> None:
        chunk: list[np.ndarray] = []
        start = 0
        for frame in self.clip.read():
            chunk.append(fit_to_bucket(frame, store.height, store.width))
            if len(chunk) == 16:
                store.write(start, np.stack(chunk))
                start, chunk = start + len(chunk), []
        if chunk:
            store.write(start, np.stack(chunk))


def history_seed(job: Job, plan: Plan) -> HistorySeed:
    """The seed of `job`'s history (`plan`: the job's plan); BadSettings or BadVideo
    when the video it continues cannot serve."""
    if job.extend_from:
        return OwnVideo(job, extension_base(job))
    if job.video:
        clip = open_clip(job.video, job.fps)
        if clip.frames != job.extend_frames:
            raise BadSettings(f"The video {job.video} has {clip.frames} frames at {job.fps} fps, not the "
                              f"{job.extend_frames} this job was made for: it changed since. Start the job again.")
        return AnyVideo(job, clip, plan)
    return HistorySeed(job)
