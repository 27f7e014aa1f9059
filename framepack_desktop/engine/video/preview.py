"""A fast look at what a section is becoming, shown while it is still being sampled.

Decoding with the real VAE takes seconds and gigabytes; a preview per sampling step must cost
nothing. Each latent pixel is therefore mapped to a colour by a fixed linear projection of its
channels (plus a bias): no spatial upsampling, so a latent of h x w gives h x w pixels
(1/8 of the video's width and height).

What is returned: the section's latent frames side by side, left to right in time, as one
h x (T * w) x 3 uint8 filmstrip. A section spans its T latent frames (about 4 video frames each)
on the timeline, so the strip can be drawn across exactly the part of the timeline that the
section will fill, and the motion inside the section is visible, which one middle frame would
hide. `latent_preview_frames` gives the same frames unjoined for widgets that want one frame.

The HunyuanVideo projection (16 channels) is our two-decimal approximation of the 16 x 3 RGB
factors that circulate in the community (ComfyUI's HunyuanVideo latent format, reused in
FramePack's own previews): a least-squares fit of decoded RGB in [-1, 1] (the VAE's pixel range)
on the model-space latents, i.e. on x0 as the sampler sees it (already multiplied by the VAE
scaling factor). The projected values then go to uint8 exactly as decoded pixels do. Colours
are only roughly right, which is all a preview needs.

Other channel counts (the tiny demo models) get a deterministic stand-in: every channel pushes
the colour along its own hue and brightness, so latent structure stays visible around mid-grey.
"""
from __future__ import annotations

import math

import numpy as np
import torch

from .blend import pixels_to_uint8

HUNYUAN_VIDEO_CHANNELS = 16

_HUNYUAN_RGB = (
    (-0.04, -0.03, 0.04),
    (0.07, 0.08, 0.05),
    (0.01, -0.09, -0.03),
    (0.01, -0.03, -0.08),
    (-0.02, 0.00, 0.02),
    (-0.08, -0.03, -0.06),
    (-0.10, 0.03, -0.07),
    (-0.06, -0.04, -0.04),
    (-0.07, -0.06, -0.09),
    (-0.08, -0.02, -0.04),
    (0.12, 0.16, 0.10),
    (0.12, 0.04, 0.04),
    (-0.23, -0.19, -0.14),
    (-0.03, 0.04, -0.08),
    (-0.06, -0.10, -0.07),
    (0.02, -0.05, -0.17),
)
_HUNYUAN_BIAS = (0.03, -0.02, -0.08)


def latent_rgb_projection(channels: int) -> tuple[torch.Tensor, torch.Tensor]:
    """The (channels x 3) matrix and (3,) bias that map a latent pixel to RGB in [-1, 1]."""
    if channels == HUNYUAN_VIDEO_CHANNELS:
        return torch.tensor(_HUNYUAN_RGB), torch.tensor(_HUNYUAN_BIAS)
    if channels <= 0:
        raise ValueError(f"a latent needs at least one channel, got {channels}")
    # Stand-in: channel c points along hue 2*pi*c/channels, brightening or darkening alternately.
    # Scaled so unit-variance latents spread about +-0.4 around mid-grey (0).
    scale = 0.5 / math.sqrt(channels)
    rows = []
    for c in range(channels):
        angle = 2 * math.pi * c / channels
        brightness = 0.5 if c % 2 == 0 else -0.5
        rows.append([scale * (math.cos(angle + k * 2 * math.pi / 3) + brightness) for k in (0, -1, 1)])
    return torch.tensor(rows), torch.zeros(3)


def project_latents(x0: torch.Tensor) -> torch.Tensor:
    """[1, C, T, h, w] latents -> T x h x w x 3 float32 RGB (-1..1 nominal, not clamped), on CPU."""
    if x0.ndim != 5 or x0.shape[0] != 1:
        raise ValueError(f"expected latents [1, C, T, h, w], got {tuple(x0.shape)}")
    weight, bias = latent_rgb_projection(x0.shape[1])
    x = x0[0].detach().float()
    rgb = torch.einsum("cthw,ck->thwk", x, weight.to(x.device)) + bias.to(x.device)
    return rgb.cpu()


def latent_preview_frames(x0: torch.Tensor) -> np.ndarray:
    """[1, C, T, h, w] latents -> T x h x w x 3 uint8 preview frames. A step that went non-finite
    (the runner stops the job after it) previews as grey, not as whatever casting NaN gives."""
    return pixels_to_uint8(project_latents(x0).nan_to_num(0.0, posinf=1.0, neginf=-1.0).numpy())


def latent_preview(x0: torch.Tensor) -> np.ndarray:
    """[1, C, T, h, w] latents -> h x (T * w) x 3 uint8 filmstrip, frames left to right in time."""
    frames = latent_preview_frames(x0)
    t, h, w, _ = frames.shape
    return np.ascontiguousarray(frames.transpose(1, 0, 2, 3).reshape(h, t * w, 3))
