"""DLA: Deep Layer Aggregation (Yu et al., CVPR 2018), the backbone of SMOTer (paper §4.1).

DLA-34 is `DLA(channels=(16, 32, 64, 128, 256, 512), levels=(1, 1, 1, 2, 2, 1))` with basic
residual blocks; the `tiny` preset uses the same code with narrower channels. Module names follow
the ImageNet checkpoints (`base_layer`, `level0` ... `level5`, `tree1`, `tree2`, `root`, `project`),
so `load_imagenet` reads a user's DLA-34 state dict in the official (ucbdrive/dla) or timm naming.

Outputs are the levels the neck reads: level3, level4, level5 at strides 8, 16, 32 (times the stem
stride, 1 for DLA-34).
"""

from __future__ import annotations

import re

import torch
from torch import nn


class BasicBlock(nn.Module):
    """Two 3x3 convolutions with a residual; the residual is given when the tree projects it."""

    def __init__(self, in_channels: int, out_channels: int, stride: int = 1):
        super().__init__()
        self.conv1 = nn.Conv2d(in_channels, out_channels, 3, stride, 1, bias=False)
        self.bn1 = nn.BatchNorm2d(out_channels)
        self.conv2 = nn.Conv2d(out_channels, out_channels, 3, 1, 1, bias=False)
        self.bn2 = nn.BatchNorm2d(out_channels)

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None) -> torch.Tensor:
        residual = x if residual is None else residual
        out = torch.relu(self.bn1(self.conv1(x)))
        return torch.relu(self.bn2(self.conv2(out)) + residual)


class Root(nn.Module):
    """Aggregation node: a 1x1 convolution over the concatenated children."""

    def __init__(self, in_channels: int, out_channels: int):
        super().__init__()
        self.conv = nn.Conv2d(in_channels, out_channels, 1, bias=False)
        self.bn = nn.BatchNorm2d(out_channels)

    def forward(self, *children: torch.Tensor) -> torch.Tensor:
        return torch.relu(self.bn(self.conv(torch.cat(children, dim=1))))


class Tree(nn.Module):
    """Hierarchical deep aggregation: two subtrees (or blocks) whose outputs a root merges."""

    def __init__(self, levels: int, in_channels: int, out_channels: int, stride: int = 1,
                 level_root: bool = False, root_channels: int = 0):
        super().__init__()
        if root_channels == 0:
            root_channels = 2 * out_channels
        if level_root:
            root_channels += in_channels
        self.downsample = nn.MaxPool2d(stride, stride) if stride > 1 else nn.Identity()
        # the official code also gives trees with levels > 1 a projection it never uses; like timm
        # we build it only where it is used (load_imagenet drops the unused official weights)
        self.project = nn.Identity()
        if levels == 1:
            self.tree1 = BasicBlock(in_channels, out_channels, stride)
            self.tree2 = BasicBlock(out_channels, out_channels, 1)
            self.root = Root(root_channels, out_channels)
            if in_channels != out_channels:
                self.project = nn.Sequential(nn.Conv2d(in_channels, out_channels, 1, bias=False),
                                             nn.BatchNorm2d(out_channels))
        else:
            self.tree1 = Tree(levels - 1, in_channels, out_channels, stride)
            self.tree2 = Tree(levels - 1, out_channels, out_channels,
                              root_channels=root_channels + out_channels)
        self.levels = levels
        self.level_root = level_root

    def forward(self, x: torch.Tensor, residual: torch.Tensor | None = None,
                children: list[torch.Tensor] | None = None) -> torch.Tensor:
        children = [] if children is None else children
        bottom = self.downsample(x)
        if self.level_root:
            children.append(bottom)
        if self.levels == 1:
            x1 = self.tree1(x, self.project(bottom))
            x2 = self.tree2(x1)
            return self.root(x2, x1, *children)
        x1 = self.tree1(x)
        children.append(x1)
        return self.tree2(x1, children=children)


def conv_level(in_channels: int, out_channels: int, convs: int, stride: int = 1) -> nn.Sequential:
    layers: list[nn.Module] = []
    for i in range(convs):
        layers += [nn.Conv2d(in_channels if i == 0 else out_channels, out_channels, 3,
                             stride if i == 0 else 1, 1, bias=False),
                   nn.BatchNorm2d(out_channels), nn.ReLU(inplace=True)]
    return nn.Sequential(*layers)


class DLA(nn.Module):
    """The DLA trunk without its classifier; forward returns [level3, level4, level5]."""

    def __init__(self, channels: tuple[int, ...] = (16, 32, 64, 128, 256, 512),
                 levels: tuple[int, ...] = (1, 1, 1, 2, 2, 1), stem_stride: int = 1):
        super().__init__()
        c = channels
        self.base_layer = nn.Sequential(nn.Conv2d(3, c[0], 7, stem_stride, 3, bias=False),
                                        nn.BatchNorm2d(c[0]), nn.ReLU(inplace=True))
        self.level0 = conv_level(c[0], c[0], levels[0])
        self.level1 = conv_level(c[0], c[1], levels[1], stride=2)
        self.level2 = Tree(levels[2], c[1], c[2], 2, level_root=False)
        self.level3 = Tree(levels[3], c[2], c[3], 2, level_root=True)
        self.level4 = Tree(levels[4], c[3], c[4], 2, level_root=True)
        self.level5 = Tree(levels[5], c[4], c[5], 2, level_root=True)
        self.out_channels = (c[3], c[4], c[5])
        self.out_strides = (8 * stem_stride, 16 * stem_stride, 32 * stem_stride)
        for m in self.modules():  # the initialisation of the DLA paper's code (He, fan-out)
            if isinstance(m, nn.Conv2d):
                nn.init.kaiming_normal_(m.weight, mode="fan_out", nonlinearity="relu")

    def forward(self, x: torch.Tensor) -> list[torch.Tensor]:  # x: (B, 3, H, W)
        x = self.level2(self.level1(self.level0(self.base_layer(x))))  # (B, c2, H/4, W/4)
        c3 = self.level3(x)  # (B, c3, H/8, W/8)
        c4 = self.level4(c3)  # (B, c4, H/16, W/16)
        c5 = self.level5(c4)  # (B, c5, H/32, W/32)
        return [c3, c4, c5]


# --------------------------------------------------------------------------------------------
# ImageNet weights a user has on disk

_PREFIXES = ("module.", "model.", "backbone.bottom_up.backbone.", "backbone.bottom_up.", "backbone.base.",
             "backbone.body.", "backbone.", "base.", "body.")


def imagenet_state(state: dict, model: DLA) -> tuple[dict, list[str]]:
    """A DLA state dict in our names from an ImageNet checkpoint in official or timm naming.

    Accepts a bare state dict or one wrapped under `state_dict` / `model`, with common prefixes
    (`module.`, `base.`, detectron2's `backbone.bottom_up.`); drops the classifier (`fc.`) and the
    official code's unused projections of deeper trees. Returns (state, problems): problems names
    missing keys and shape mismatches, for the caller to report.
    """
    for key in ("state_dict", "model", "model_state"):
        if isinstance(state.get(key), dict):
            state = state[key]
    ours = model.state_dict()

    def unused(key: str) -> bool:  # the classifier; projections the official Tree builds but never uses
        return key.startswith("fc.") or key not in ours and bool(re.fullmatch(r"level\d(\.tree\d)*\.project\..*", key))

    renamed = {}
    for key, value in state.items():
        if not isinstance(value, torch.Tensor):
            continue
        for prefix in _PREFIXES:
            rest = key[len(prefix):]
            if key.startswith(prefix) and (rest in ours or unused(rest)):
                key = rest
                break
        if not unused(key):
            renamed[key] = value
    problems = [f"missing {k}" for k in ours if k not in renamed and not k.endswith("num_batches_tracked")]
    problems += [f"unexpected {k}" for k in renamed if k not in ours]
    problems += [f"shape of {k}: {tuple(renamed[k].shape)}, expected {tuple(ours[k].shape)}"
                 for k in renamed if k in ours and renamed[k].shape != ours[k].shape]
    return {k: v for k, v in renamed.items() if k in ours}, problems
