"""ESRGAN's generator (RRDBNet) in the layout of the public Real-ESRGAN weights.

spandrel recognises this and many other upscaler architectures from a file and is used when it
can be imported (`upscale_models.py`); it needs torchvision, which has no CPU build on the index
this project installs from, so the architecture people mostly download (RealESRGAN_x4plus.pth,
RealESRGAN_x2plus.pth, and the many community ESRGAN finetunes saved in the same keys) is also
built here, from the paper (Wang et al., "ESRGAN" and "Real-ESRGAN"): a 3x3 convolution, a trunk
of residual-in-residual dense blocks, a long skip, then two nearest-neighbour x2 steps each
followed by a convolution. The x2 and x1 models first fold each 2x2 (4x4) pixel block into
channels (pixel unshuffle), so the trunk always works at a quarter of the output size.
"""
from __future__ import annotations

import torch
from torch import nn
from torch.nn import functional as F

_UNSHUFFLE = {3: 1, 12: 2, 48: 4}  # input channels of conv_first -> pixel-unshuffle factor


class DenseBlock(nn.Module):
    def __init__(self, nf: int, gc: int):
        super().__init__()
        for i in range(4):
            self.add_module(f"conv{i + 1}", nn.Conv2d(nf + i * gc, gc, 3, 1, 1))
        self.conv5 = nn.Conv2d(nf + 4 * gc, nf, 3, 1, 1)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        feats = [x]
        for i in range(4):
            feats.append(F.leaky_relu(getattr(self, f"conv{i + 1}")(torch.cat(feats, 1)), 0.2))
        return self.conv5(torch.cat(feats, 1)) * 0.2 + x


class RRDB(nn.Module):
    def __init__(self, nf: int, gc: int):
        super().__init__()
        self.rdb1, self.rdb2, self.rdb3 = DenseBlock(nf, gc), DenseBlock(nf, gc), DenseBlock(nf, gc)

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return self.rdb3(self.rdb2(self.rdb1(x))) * 0.2 + x


class RRDBNet(nn.Module):
    def __init__(self, scale: int = 4, nf: int = 64, gc: int = 32, blocks: int = 23, channels: int = 3):
        super().__init__()
        self.scale = scale
        self.unshuffle = 4 // scale
        self.conv_first = nn.Conv2d(channels * self.unshuffle ** 2, nf, 3, 1, 1)
        self.body = nn.Sequential(*(RRDB(nf, gc) for _ in range(blocks)))
        self.conv_body = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up1 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_up2 = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_hr = nn.Conv2d(nf, nf, 3, 1, 1)
        self.conv_last = nn.Conv2d(nf, channels, 3, 1, 1)

    @classmethod
    def from_state_dict(cls, state: dict[str, torch.Tensor]) -> "RRDBNet":
        """Read scale, widths and depth from the weights, build, and load them strictly."""
        cin = state["conv_first.weight"].shape[1]
        if cin not in _UNSHUFFLE:
            raise KeyError(f"conv_first takes {cin} channels")
        blocks = 1 + max(int(k.split(".")[1]) for k in state if k.startswith("body."))
        net = cls(scale=4 // _UNSHUFFLE[cin], nf=state["conv_first.weight"].shape[0],
                  gc=state["body.0.rdb1.conv1.weight"].shape[0], blocks=blocks)
        net.load_state_dict(state, strict=True)
        return net

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        """N x 3 x H x W in 0..1 -> N x 3 x (scale*H) x (scale*W)."""
        if self.unshuffle > 1:
            x = F.pixel_unshuffle(x, self.unshuffle)
        feat = self.conv_first(x)
        feat = feat + self.conv_body(self.body(feat))
        feat = F.leaky_relu(self.conv_up1(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        feat = F.leaky_relu(self.conv_up2(F.interpolate(feat, scale_factor=2, mode="nearest")), 0.2)
        return self.conv_last(F.leaky_relu(self.conv_hr(feat), 0.2))
