"""RIFE's flow network (IFNet, the v4.x layout of Practical-RIFE's `flownet.pkl`), written from the paper.

RIFE ("Real-Time Intermediate Flow Estimation", Huang et al.) estimates the flows from the wanted
in-between moment t to both neighbours directly, coarse to fine: four blocks look at the pair at
1/8, 1/4, 1/2 and full resolution, each refining the flows and a blend mask left by the one
before. The frame at t is both neighbours warped along their flow and mixed by the mask.
The packaged candidate, ccvfi, is at 0.0.3 (three releases), requires opencv-python, which clashes
with this project's opencv-python-headless (both install `cv2`), and fetches weights from its own
URLs; the network is small, so it lives here and its weights load from the public file.

The layout follows the public v4.6 weights: block 0 sees both frames and t (7 channels); the
others also see the two warped frames, t, the mask and the current flows (12 channels). Each
block halves the size twice (`conv0`), runs eight 3x3 convolutions with a residual (`convblock`)
and returns to the block's input size with a transposed convolution and a pixel shuffle
(`lastconv`: 4 flow channels, 1 mask channel, 1 unused). Some releases use PReLU activations
instead of LeakyReLU; the loader picks by the keys present. Widths are read from the file, so
the demo's tiny random-weight file has the same keys at a fraction of the size.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

SCALES = (8, 4, 2, 1)
BLOCK_INPUTS = (7, 12, 12, 12)
PUBLIC_WIDTHS = (192, 128, 96, 64)
PAD = 64  # block 0 works at 1/8 size and halves twice more, then needs an even size


def _conv(cin: int, cout: int, stride: int, prelu: bool) -> nn.Sequential:
    act = nn.PReLU(cout) if prelu else nn.LeakyReLU(0.2, inplace=True)
    return nn.Sequential(nn.Conv2d(cin, cout, 3, stride, 1), act)


class IFBlock(nn.Module):
    def __init__(self, cin: int, width: int, prelu: bool = False):
        super().__init__()
        self.conv0 = nn.Sequential(_conv(cin, width // 2, 2, prelu), _conv(width // 2, width, 2, prelu))
        self.convblock = nn.Sequential(*(_conv(width, width, 1, prelu) for _ in range(8)))
        self.lastconv = nn.Sequential(nn.ConvTranspose2d(width, 4 * 6, 4, 2, 1), nn.PixelShuffle(2))

    def forward(self, x: torch.Tensor, flow: torch.Tensor | None, scale: int) -> tuple[torch.Tensor, torch.Tensor]:
        x = F.interpolate(x, scale_factor=1 / scale, mode="bilinear", align_corners=False)
        if flow is not None:
            flow = F.interpolate(flow, scale_factor=1 / scale, mode="bilinear", align_corners=False) / scale
            x = torch.cat((x, flow), 1)
        feat = self.conv0(x)
        feat = self.convblock(feat) + feat
        out = F.interpolate(self.lastconv(feat), scale_factor=scale, mode="bilinear", align_corners=False)
        return out[:, :4] * scale, out[:, 4:5]


class IFNet(nn.Module):
    def __init__(self, widths: tuple[int, ...] = PUBLIC_WIDTHS, prelu: bool = False):
        super().__init__()
        for i, (cin, width) in enumerate(zip(BLOCK_INPUTS, widths, strict=True)):
            self.add_module(f"block{i}", IFBlock(cin, width, prelu))

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "IFNet":
        """Build the network the weights describe (widths, activation) and load them strictly."""
        widths = tuple(state[f"block{i}.conv0.1.0.weight"].shape[0] for i in range(len(SCALES)))
        net = cls(widths, prelu="block0.conv0.0.1.weight" in state)
        net.load_state_dict(state, strict=True)
        return net

    def forward(self, img0: torch.Tensor, img1: torch.Tensor, t: float) -> torch.Tensor:
        """The frame at time t (0..1) between img0 and img1 (N x 3 x H x W in 0..1)."""
        h, w = img0.shape[-2:]
        pad = (0, -w % PAD, 0, -h % PAD)
        img0, img1 = F.pad(img0, pad, mode="replicate"), F.pad(img1, pad, mode="replicate")
        time = torch.full_like(img0[:, :1], t)
        flow = mask = warped0 = warped1 = None
        for i, scale in enumerate(SCALES):
            block = getattr(self, f"block{i}")
            if flow is None:
                flow, mask = block(torch.cat((img0, img1, time), 1), None, scale)
            else:
                d_flow, d_mask = block(torch.cat((warped0, warped1, time, mask), 1), flow, scale)
                flow, mask = flow + d_flow, mask + d_mask
            warped0, warped1 = warp(img0, flow[:, :2]), warp(img1, flow[:, 2:4])
        weight = torch.sigmoid(mask)
        return (warped0 * weight + warped1 * (1 - weight))[..., :h, :w]


def warp(image: torch.Tensor, flow: torch.Tensor) -> torch.Tensor:
    """Sample `image` at each pixel's position plus `flow` (in pixels), bilinear, edges repeated."""
    n, _, h, w = image.shape
    ys = torch.linspace(-1, 1, h, device=image.device, dtype=image.dtype)
    xs = torch.linspace(-1, 1, w, device=image.device, dtype=image.dtype)
    base = torch.stack(torch.meshgrid(xs, ys, indexing="xy"), -1).expand(n, h, w, 2)
    scale = torch.tensor([2 / max(w - 1, 1), 2 / max(h - 1, 1)], device=image.device, dtype=image.dtype)
    grid = base + flow.permute(0, 2, 3, 1) * scale
    return F.grid_sample(image, grid, mode="bilinear", padding_mode="border", align_corners=True)
