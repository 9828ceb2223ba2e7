"""The SMOTer detector (paper §4.1; official sizes in reference §4.1-4.2).

    image (B, 3, H, W) uint8 RGB
      -> DLA backbone (dla.py): levels 3-5, strides 8-32
      -> BiFPN neck (fpn.py): P3..P7, `neck_channels` each
      -> CenterNet head (centernet.py): objectness heatmap + ltrb boxes per level
      -> decode: sqrt(sigmoid) scores > tau_p, NMS, top-k              -> boxes, scores
      -> RoIAlign 7x7 on P3 (ops.py), Linear -> 1024, Linear -> 1024    -> box features (4 tokens x 256)
      -> P3 (valid part) average-pooled to a 16x16 grid                 -> context (C tokens x 256)

`DetectorConfig` holds every size; the presets `paper` and `tiny` are two instances of it. Frames
are letterboxed into the `input_size` canvas: resized by one factor to fit, padded right and bottom.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass

import torch
import torch.nn.functional as F
from torch import nn

from smot.models.centernet import CenterNetHead, build_targets, centernet_losses, decode, flatten_levels
from smot.models.dla import DLA
from smot.models.fpn import BiFPN
from smot.models.ops import roi_align


@dataclass(frozen=True)
class DetectorConfig:
    # input: frames are letterboxed into this canvas (sides multiples of the coarsest stride / 2)
    input_size: tuple[int, int] = (1088, 608)  # (width, height) pixels
    pixel_mean: tuple[float, float, float] = (123.675, 116.28, 103.53)  # RGB, 0-255
    pixel_std: tuple[float, float, float] = (58.395, 57.12, 57.375)
    # backbone: DLA-34
    dla_channels: tuple[int, ...] = (16, 32, 64, 128, 256, 512)
    dla_levels: tuple[int, ...] = (1, 1, 1, 2, 2, 1)
    stem_stride: int = 1  # 2 halves every map (a cheaper stem for small CPU models)
    # neck: BiFPN over P3..P(2 + neck_levels)
    neck_channels: int = 160
    neck_levels: int = 5
    neck_repeats: int = 3
    norm_groups: int = 32
    # CenterNet head
    head_convs: int = 4
    size_ranges: tuple[tuple[float, float], ...] = ((0, 80), (64, 160), (128, 320), (256, 640), (512, 1e8))
    min_overlap: float = 0.8
    min_radius: float = 4.0
    focal_alpha: float = 0.25
    focal_beta: float = 4.0
    focal_gamma: float = 2.0
    pos_weight: float = 0.5
    neg_weight: float = 0.5
    box_weight: float = 1.0
    pre_nms_topk: int = 1000
    nms_iou: float = 0.6
    post_nms_topk: int = 128
    # per-box features: RoIAlign on P3, then two Linear + ReLU to box_tokens x token_dim
    roi_size: int = 7
    roi_sampling: int = 2
    box_tokens: int = 4
    token_dim: int = 256
    # the last box token is a Linear of the box's own pixels (RoIAlign on the frame, 3 x roi_size^2
    # inputs), the others come from P3: a narrow from-scratch P3 blurs colours away, and mixed into
    # P3's inputs the pixels did not teach the heads colours (tiny; docs/detector.md, "The
    # box-feature MLP"). The official head reads P3 only
    box_rgb: bool = False
    # standardise each input of the box-feature head (x - mean) / std by statistics of the boxes it
    # has seen in training (a running average; docs/detector.md): without it the
    # few inputs that differ between people are a small part of a large shared signal (official: raw)
    box_input_norm: bool = False
    # per-frame context: P3 pooled to context_grid x context_grid, one token per channel
    context_grid: int = 16
    # three more context tokens, the frame's own R, G and B pooled the same way (normalised as the
    # backbone's input): the place is in the colours of the ground and walls, which a narrow P3
    # trained for people does not keep (tiny; docs/detector.md). The official context is P3 only
    context_rgb: bool = False

    @property
    def context_tokens(self) -> int:
        """Context tokens per frame: one per P3 channel, and three for the pixels with context_rgb."""
        return self.neck_channels + 3 * self.context_rgb

    @property
    def strides(self) -> list[int]:
        return [8 * self.stem_stride * 2 ** i for i in range(self.neck_levels)]

    def to_dict(self) -> dict:
        return {k: list(map(list, v)) if k == "size_ranges" else (list(v) if isinstance(v, tuple) else v)
                for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> DetectorConfig:
        from smot.models.checkpoint import config_from_dict

        return config_from_dict(cls, d, "detector", lambda k, v: tuple(map(tuple, v)) if k == "size_ranges"
                                else tuple(v) if isinstance(v, list) else v)


PRESETS = {
    # official sizes (reference §4.1-4.2); canvas 1088x608 (official tests at long side 1560)
    "paper": DetectorConfig(),
    # narrow DLA with a stride-2 stem, one 64-channel BiFPN cell over P3-P5, 2 head convs:
    # trains on synth frames on a 2-core CPU in minutes (README: measured figures)
    "tiny": DetectorConfig(
        input_size=(320, 192), dla_channels=(8, 16, 24, 48, 96, 128), stem_stride=2,
        neck_channels=64, neck_levels=3, neck_repeats=1, norm_groups=16, head_convs=2,
        size_ranges=((0, 64), (48, 128), (96, 1e8)), min_radius=4.0, pre_nms_topk=300, post_nms_topk=64,
        box_rgb=True, box_input_norm=True, context_rgb=True),
}


class RunningStandardiser(nn.Module):
    """(K, F) -> (x - mean) / std per feature, by statistics of every batch seen in training.

    The statistics are running averages of each feature's mean and mean square: the first batch
    sets them, each later one moves them by max(1 / batches, momentum) (a cumulative average at
    first, then an exponential one that follows slowly drifting inputs). Training normalises by the
    statistics after the batch's update, not the batch's own: a batch of a few people's boxes would
    otherwise be standardised against itself and lose what each person looks like. Under DDP the
    statistics are rank 0's: DDP broadcasts buffers from it at every forward.
    """

    def __init__(self, features: int, momentum: float = 0.01, eps: float = 1e-3):
        super().__init__()
        self.momentum, self.eps = momentum, eps
        self.register_buffer("mean", torch.zeros(features))
        self.register_buffer("square", torch.ones(features))
        self.register_buffer("batches", torch.zeros((), dtype=torch.long))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        if self.training and len(x):
            with torch.no_grad():
                self.batches += 1
                weight = max(1.0 / float(self.batches), self.momentum)
                self.mean.lerp_(x.mean(0).to(self.mean.dtype), weight)
                self.square.lerp_((x.to(self.square.dtype) ** 2).mean(0), weight)
        std = (self.square - self.mean ** 2).clamp(min=0).sqrt() + self.eps
        return (x - self.mean.to(x.dtype)) / std.to(x.dtype)


class BoxFeatureHead(nn.Module):
    """RoIAlign on P3 -> (K, C * P * P) -> Linear, ReLU, Linear, ReLU -> (K, box_tokens * token_dim).

    With `box_rgb` the last token is instead a Linear of the box's own pixels (RoIAlign on the
    frame, 3 * P * P inputs) and the P3 layers make the others; with `box_input_norm` every input is
    standardised first (RunningStandardiser).
    """

    def __init__(self, channels: int, config: DetectorConfig):
        super().__init__()
        if config.box_rgb and config.box_tokens < 2:
            raise ValueError("box_rgb needs box_tokens >= 2: one token is the pixels', the others P3's")
        self.p3_inputs = channels * config.roi_size ** 2
        rgb_inputs = 3 * config.roi_size ** 2 if config.box_rgb else 0
        dim = (config.box_tokens - config.box_rgb) * config.token_dim
        self.norm = RunningStandardiser(self.p3_inputs + rgb_inputs) if config.box_input_norm else nn.Identity()
        self.fc1 = nn.Linear(self.p3_inputs, dim)
        self.fc2 = nn.Linear(dim, dim)
        for fc in (self.fc1, self.fc2):  # detectron2's c2_xavier_fill, as the official FCHead
            nn.init.kaiming_uniform_(fc.weight, a=1)
            nn.init.zeros_(fc.bias)
        self.rgb = nn.Linear(rgb_inputs, config.token_dim) if config.box_rgb else None

    def forward(self, pooled: torch.Tensor) -> torch.Tensor:  # (K, inputs) from Detector.pool_boxes
        x = self.norm(pooled.flatten(1))
        features = torch.relu(self.fc2(torch.relu(self.fc1(x[:, : self.p3_inputs]))))
        if self.rgb is None:
            return features  # (K, box_tokens * token_dim)
        return torch.cat([features, self.rgb(x[:, self.p3_inputs:])], 1)


class Detector(nn.Module):
    def __init__(self, config: DetectorConfig):
        super().__init__()
        self.config = config
        c = config
        self.backbone = DLA(c.dla_channels, c.dla_levels, c.stem_stride)
        self.neck = BiFPN(self.backbone.out_channels, c.neck_channels, c.neck_levels, c.neck_repeats, c.norm_groups)
        self.head = CenterNetHead(c.neck_channels, c.head_convs, c.neck_levels, c.norm_groups)
        self.box_head = BoxFeatureHead(c.neck_channels, c)
        self.register_buffer("pixel_mean", torch.tensor(c.pixel_mean).view(1, 3, 1, 1), persistent=False)
        self.register_buffer("pixel_std", torch.tensor(c.pixel_std).view(1, 3, 1, 1), persistent=False)

    # -- shared ------------------------------------------------------------------------------------

    def pyramid(self, images: torch.Tensor, sizes: torch.Tensor) -> list[torch.Tensor]:
        """images (B, 3, H, W) uint8 RGB, sizes (B, 2) valid (h, w) -> [P3 (B, C, H/8, W/8), ...]."""
        B, _, H, W = images.shape
        x = (images.to(self.pixel_mean.dtype) - self.pixel_mean) / self.pixel_std
        ys = torch.arange(H, device=images.device)[None, :, None] < sizes[:, 0, None, None]
        xs = torch.arange(W, device=images.device)[None, None, :] < sizes[:, 1, None, None]
        x = x * (ys & xs)[:, None].to(x.dtype)  # padding reads 0 after normalisation
        if images.is_cuda:
            x = x.contiguous(memory_format=torch.channels_last)
        return self.neck(self.backbone(x))

    def pool_boxes(self, p3: torch.Tensor, image: torch.Tensor, boxes: torch.Tensor) -> torch.Tensor:
        """The box-feature head's inputs for boxes (K, 4) xyxy canvas pixels of one image: RoIAlign
        on its P3 (C, H/s, W/s), and with `box_rgb` on its pixels (3, H, W uint8 RGB, normalised
        as the backbone's input), flattened -> (K, (C [+ 3]) * P * P) float32."""
        c = self.config
        pooled = roi_align(p3.float(), boxes, c.roi_size, 1.0 / c.strides[0], c.roi_sampling).flatten(1)
        if not c.box_rgb:
            return pooled
        pixels = roi_align(image.float(), boxes, c.roi_size, 1.0, c.roi_sampling)
        pixels = (pixels - self.pixel_mean[0].float()) / self.pixel_std[0].float()
        return torch.cat([pooled, pixels.flatten(1)], 1)

    def frame_context(self, p3: torch.Tensor, image: torch.Tensor, size: tuple[int, int]) -> torch.Tensor:
        """The context tokens of one frame: its P3 (C, H/s, W/s) over the valid part (h, w) pixels of
        the canvas, average-pooled to a g x g grid, one token per channel; with `context_rgb` then
        its pixels (3, H, W uint8 RGB) the same way -> (context_tokens, g * g) float32."""
        c = self.config
        h, w = int(size[0]), int(size[1])
        stride = c.strides[0]
        grid = F.adaptive_avg_pool2d(p3[:, : math.ceil(h / stride), : math.ceil(w / stride)].float(), c.context_grid)
        if not c.context_rgb:
            return grid.flatten(1)  # (C, g*g)
        pixels = F.adaptive_avg_pool2d(image[:, :h, :w].float(), c.context_grid)
        pixels = (pixels - self.pixel_mean[0].float()) / self.pixel_std[0].float()  # (3, g, g)
        return torch.cat([grid, pixels]).flatten(1)  # (C + 3, g*g)

    # -- training ----------------------------------------------------------------------------------

    def forward(self, images: torch.Tensor, sizes: torch.Tensor, boxes: list[torch.Tensor],
                reduce=None) -> dict[str, torch.Tensor]:
        """The detection losses of a batch; boxes per image (n_i, 4) xyxy canvas pixels.

        `reduce(value) -> mean over processes` normalises by the positives of all processes (DDP).
        """
        c = self.config
        feats = self.pyramid(images, sizes)
        heatmaps, ltrbs = self.head(feats)
        shapes = [tuple(h.shape[-2:]) for h in heatmaps]
        with torch.no_grad():
            target_hm, target_ltrb, positives = build_targets(
                boxes, shapes, c.strides, list(c.size_ranges), c.min_overlap, c.min_radius)
            num_pos = torch.tensor(float(len(positives)), device=images.device)
            num_reg = (target_ltrb.max(dim=2).values >= 0).sum().float()
            if reduce is not None:
                num_pos, num_reg = reduce(num_pos), reduce(num_reg)
        return centernet_losses(
            flatten_levels(heatmaps)[..., 0], flatten_levels(ltrbs), target_hm, target_ltrb, positives,
            alpha=c.focal_alpha, beta=c.focal_beta, gamma=c.focal_gamma, pos_weight=c.pos_weight,
            neg_weight=c.neg_weight, reg_weight=c.box_weight, num_pos=float(num_pos), num_reg=float(num_reg))

    # -- inference ---------------------------------------------------------------------------------

    @torch.no_grad()
    def detect(self, images: torch.Tensor, sizes: torch.Tensor, score_threshold: float,
               features: bool = True) -> list[dict[str, torch.Tensor]]:
        """Per image: boxes (k, 4) xyxy canvas pixels, scores (k,), and with `features` the box
        features (k, box_tokens * token_dim) and context (C, context_grid**2), all float32."""
        c = self.config
        feats = self.pyramid(images, sizes)
        heatmaps, ltrbs = self.head(feats)
        found = decode(heatmaps, ltrbs, c.strides, min_score=score_threshold, pre_nms_topk=c.pre_nms_topk,
                       nms_iou=c.nms_iou, post_nms_topk=c.post_nms_topk)
        out = []
        p3 = feats[0]
        for b, (boxes, scores) in enumerate(found):
            result = {"boxes": boxes.float(), "scores": scores.float()}
            if features:
                fmap = p3[b].float()
                result["features"] = self.box_head(self.pool_boxes(fmap, images[b], boxes.float())).float()
                result["context"] = self.frame_context(fmap, images[b], sizes[b].tolist())  # (C [+ 3], g*g)
            out.append(result)
        return out


def build_detector(config: DetectorConfig | dict) -> Detector:
    if isinstance(config, dict):
        config = DetectorConfig.from_dict(config)
    return Detector(config)



