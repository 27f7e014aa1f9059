"""More frames per second: k-1 new frames between every pair, by RIFE or by OpenCV optical flow.

n frames become k*(n-1)+1: the originals stay where they were, and the new ones sit at the
times 1/k, 2/k, .. between them; the frame rate is multiplied by k, so the video lasts as long as
before. Two ways to make an in-between frame:
- RIFE (`weights.load_rife`): a network trained for exactly this; handles occlusion and
  non-rigid motion best. Runs on the GPU when there is one.
- Optical flow (`FlowInterpolator`): OpenCV's DIS flow in both directions, then each neighbour
  is pushed (forward-splatted) the fraction t of the way along its flow and the two are blended.
  Needs no download. Where two pixels land on one spot, the one moving more wins: moving things
  are usually in front of what stands still. Spots neither frame reaches get the plain blend.
"""
from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import cv2
import numpy as np
import torch

Between = Callable[[np.ndarray, np.ndarray, Sequence[float]], list[np.ndarray]]
FACTORS = (2, 4)


def interpolate(frames: Iterator[np.ndarray], factor: int, between: Between) -> Iterator[np.ndarray]:
    """Each frame, preceded (after the first) by `factor - 1` frames made from it and the one before."""
    times = [i / factor for i in range(1, factor)]
    previous = None
    for frame in frames:
        if previous is not None:
            yield from between(previous, frame, times)
        yield frame
        previous = frame


class FlowInterpolator:
    """In-between frames from DIS optical flow, computed once per pair for all the times wanted."""

    def __init__(self, preset: int = cv2.DISOPTICAL_FLOW_PRESET_MEDIUM):
        self.dis = cv2.DISOpticalFlow_create(preset)

    def __call__(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        ga, gb = cv2.cvtColor(a, cv2.COLOR_RGB2GRAY), cv2.cvtColor(b, cv2.COLOR_RGB2GRAY)
        forward, backward = self.dis.calc(ga, gb, None), self.dis.calc(gb, ga, None)
        return [self._at(a, b, forward, backward, t) for t in times]

    @staticmethod
    def _at(a: np.ndarray, b: np.ndarray, forward: np.ndarray, backward: np.ndarray, t: float) -> np.ndarray:
        from_a, has_a = splat(a, forward, t)
        from_b, has_b = splat(b, backward, 1 - t)
        both = has_a & has_b
        out = np.where(has_a[..., None], from_a, from_b).astype(np.float32)
        out[both] = (1 - t) * from_a[both] + t * from_b[both]
        neither = ~(has_a | has_b)
        out[neither] = (1 - t) * a[neither] + t * b[neither]
        return (out + 0.5).astype(np.uint8)


def splat(image: np.ndarray, flow: np.ndarray, t: float) -> tuple[np.ndarray, np.ndarray]:
    """Move each pixel of `image` by t * its flow (rounded); where several land, the largest motion wins.

    Returns the moved image and a mask of the pixels something landed on.
    """
    h, w = flow.shape[:2]
    ys, xs = np.mgrid[0:h, 0:w]
    tx = np.rint(xs + t * flow[..., 0]).astype(np.int64).ravel()
    ty = np.rint(ys + t * flow[..., 1]).astype(np.int64).ravel()
    inside = np.flatnonzero((tx >= 0) & (tx < w) & (ty >= 0) & (ty < h))
    motion = np.square(flow).sum(-1).ravel()[inside]
    order = inside[np.argsort(motion, kind="stable")][::-1]   # largest motion first
    targets, first = np.unique(ty[order] * w + tx[order], return_index=True)
    out = np.zeros((h * w, image.shape[2]), image.dtype)
    out[targets] = image.reshape(-1, image.shape[2])[order[first]]
    landed = np.zeros(h * w, bool)
    landed[targets] = True
    return out.reshape(image.shape), landed.reshape(h, w)


class RifeInterpolator:
    """In-between frames from a loaded RIFE IFNet (see weights.load_rife)."""

    def __init__(self, net: torch.nn.Module):
        self.net = net
        param = next(net.parameters())
        self.device, self.dtype = param.device, param.dtype

    @torch.inference_mode()
    def __call__(self, a: np.ndarray, b: np.ndarray, times: Sequence[float]) -> list[np.ndarray]:
        x0, x1 = to_tensor(a, self.device, self.dtype), to_tensor(b, self.device, self.dtype)
        return [to_frame(self.net(x0, x1, t)) for t in times]


def to_tensor(frame: np.ndarray, device: torch.device, dtype: torch.dtype) -> torch.Tensor:
    """H x W x 3 uint8 -> 1 x 3 x H x W in 0..1 on `device`."""
    return torch.from_numpy(np.array(frame)).to(device).permute(2, 0, 1)[None].to(dtype) / 255


def to_frame(x: torch.Tensor) -> np.ndarray:
    """1 x 3 x H x W in 0..1 -> H x W x 3 uint8 on the CPU."""
    return (x[0].float().clamp(0, 1) * 255 + 0.5).to(torch.uint8).permute(1, 2, 0).cpu().numpy()
