"""BiFPN: the bidirectional feature pyramid of EfficientDet, as SMOTer's detector uses it (§4.1).

The official model (CenterNet2's `build_p37_dla_bifpn_backbone`) reads DLA levels 3-5 (strides
8-32), adds P6 and P7 by a 1x1 convolution and 3x3/2 max pooling, and repeats a BiFPN cell 3 times
at 160 channels with GroupNorm(32) and swish. A cell runs top-down then bottom-up; each node is a
fast normalised fusion (ReLU weights / their sum) of its inputs, resampled to its size (nearest
upsampling, 3x3/2 max pooling), then swish and a 3x3 convolution with GroupNorm. An input whose
channels differ from the pyramid's (only the backbone levels in the first cell) passes a 1x1
convolution with GroupNorm first, one per (input, node) pair as in the official code.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F
from torch import nn


def conv_norm(in_channels: int, out_channels: int, kernel: int, groups: int) -> nn.Sequential:
    return nn.Sequential(nn.Conv2d(in_channels, out_channels, kernel, padding=kernel // 2, bias=False),
                         nn.GroupNorm(groups, out_channels))


def resample(x: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
    """x at the spatial size of another level: max-pool down by 2, or nearest-upsample."""
    h, w = x.shape[-2:]
    if h > size[0] and w > size[1]:
        return F.max_pool2d(x, 3, 2, 1)
    if (h, w) != tuple(size):
        return F.interpolate(x, size=size, mode="nearest")
    return x


class FusionNode(nn.Module):
    """One BiFPN node: weighted sum of resampled inputs, swish, 3x3 convolution + GroupNorm."""

    def __init__(self, in_channels: list[int], channels: int, groups: int):
        super().__init__()
        self.laterals = nn.ModuleList(
            conv_norm(c, channels, 1, groups) if c != channels else nn.Identity() for c in in_channels)
        self.weights = nn.Parameter(torch.ones(len(in_channels)))
        self.conv = conv_norm(channels, channels, 3, groups)

    def forward(self, inputs: list[torch.Tensor], size: tuple[int, int]) -> torch.Tensor:
        w = torch.relu(self.weights)
        w = w / (w.sum() + 1e-4)
        pairs = enumerate(zip(self.laterals, inputs, strict=True))
        x = sum(w[i] * resample(lateral(x), size) for i, (lateral, x) in pairs)
        return self.conv(F.silu(x))  # silu is swish


class BiFPNCell(nn.Module):
    """One top-down + bottom-up pass over L levels (finest first)."""

    def __init__(self, in_channels: list[int], channels: int, groups: int):
        super().__init__()
        L, c = len(in_channels), channels
        # the top-down node of a level fuses its input with the node (or input) above it
        self.top_down = nn.ModuleList(
            FusionNode([in_channels[level], in_channels[level + 1] if level == L - 2 else c], c, groups)
            for level in range(L - 1))
        # the bottom-up node of a level >= 1 fuses its input, its top-down node (if any), the output below
        self.bottom_up = nn.ModuleList(
            FusionNode([in_channels[level], c, c] if level < L - 1 else [in_channels[level], c], c, groups)
            for level in range(1, L))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        L = len(feats)
        sizes = [tuple(f.shape[-2:]) for f in feats]
        td: list[torch.Tensor | None] = [None] * L
        above = feats[L - 1]
        for level in range(L - 2, -1, -1):
            td[level] = above = self.top_down[level]([feats[level], above], sizes[level])
        outs = [td[0]]
        for level in range(1, L):
            inputs = [feats[level], td[level], outs[-1]] if level < L - 1 else [feats[level], outs[-1]]
            outs.append(self.bottom_up[level - 1](inputs, sizes[level]))
        return outs  # type: ignore[return-value]


class BiFPN(nn.Module):
    """Backbone levels (strides s, 2s, 4s) -> `levels` pyramid maps of `channels`, strides s...s*2^(L-1)."""

    def __init__(self, in_channels: tuple[int, ...], channels: int = 160, levels: int = 5, repeats: int = 3,
                 groups: int = 32):
        super().__init__()
        extra = levels - len(in_channels)
        if extra < 0:
            raise ValueError(f"a BiFPN of {levels} levels cannot read {len(in_channels)} backbone levels")
        # P6, P7: 1x1 convolution (first only, from the last backbone level) then 3x3/2 max pooling
        self.extra = nn.ModuleList(
            conv_norm(in_channels[-1] if i == 0 else channels, channels, 1, groups)
            if (in_channels[-1] if i == 0 else channels) != channels else nn.Identity() for i in range(extra))
        first = list(in_channels) + [channels] * extra
        self.cells = nn.ModuleList(BiFPNCell(first if i == 0 else [channels] * levels, channels, groups)
                                   for i in range(repeats))

    def forward(self, feats: list[torch.Tensor]) -> list[torch.Tensor]:
        feats = list(feats)
        x = feats[-1]
        for reduce in self.extra:
            x = F.max_pool2d(reduce(x), 3, 2, 1)
            feats.append(x)
        for cell in self.cells:
            feats = cell(feats)
        return feats  # finest first: (B, channels, H/8, W/8), ...
