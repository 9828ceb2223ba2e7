"""Class-agnostic CenterNet proposals (CenterNet2's "proposal-only" mode), SMOTer's detector (§4.1).

Per pyramid level a shared tower of 3x3 convolutions (GroupNorm, ReLU) feeds two 3x3 outputs: an
objectness heatmap (1 channel, logits) and ltrb distances from the location to the box sides, in
units of the level's stride, scaled by a learned per-level factor and made non-negative by ReLU.

Targets and losses follow CenterNet2 (reference §4.1):
- a box belongs to the levels whose size range holds half its diagonal;
- heatmap target at every location of every level: exp(-d^2 / r^2) to the nearest box centre,
  r^2 = 2 delta^2 area (delta = (1 - min_overlap) / (1 + min_overlap)), at least min_radius^2,
  values below 1e-4 set to 0;
- positives: the cell holding each box centre on each of its levels;
- heatmap loss: binary focal loss, alpha-weighted, positives (1 - p)^gamma log p at the positives,
  negatives p^gamma (1 - target)^beta log(1 - p) everywhere, each normalised by the positives;
- box loss: GIoU over the 3x3 cells around each centre cell that lie inside the box (on the box's
  levels; the nearest centre wins), weight 1 per cell, averaged over those cells.

Decoding: score = sqrt(sigmoid(heatmap)); candidates above a floor, the best `pre_nms_topk` per
level, NMS over all levels, the best `post_nms_topk` kept.
"""

from __future__ import annotations

import math

import torch
from torch import nn

from smot.models.ops import nms


class Scale(nn.Module):
    def __init__(self, value: float = 1.0):
        super().__init__()
        self.scale = nn.Parameter(torch.tensor([value]))

    def forward(self, x: torch.Tensor) -> torch.Tensor:
        return x * self.scale


class CenterNetHead(nn.Module):
    """Shared over levels: tower -> (heatmap logits (B, 1, h, w), ltrb / stride (B, 4, h, w))."""

    def __init__(self, channels: int, convs: int, levels: int, groups: int, prior_prob: float = 0.01):
        super().__init__()
        tower: list[nn.Module] = []
        for _ in range(convs):
            # the official last tower conv is deformable; plain 3x3 convolutions here (no DCN in torch)
            tower += [nn.Conv2d(channels, channels, 3, padding=1), nn.GroupNorm(groups, channels), nn.ReLU()]
        self.tower = nn.Sequential(*tower)
        self.heatmap = nn.Conv2d(channels, 1, 3, padding=1)
        self.ltrb = nn.Conv2d(channels, 4, 3, padding=1)
        self.scales = nn.ModuleList(Scale() for _ in range(levels))
        for m in self.modules():
            if isinstance(m, nn.Conv2d):
                nn.init.normal_(m.weight, std=0.01)
                nn.init.zeros_(m.bias)
        nn.init.constant_(self.ltrb.bias, 8.0)
        nn.init.constant_(self.heatmap.bias, -math.log((1 - prior_prob) / prior_prob))

    def forward(self, feats: list[torch.Tensor]) -> tuple[list[torch.Tensor], list[torch.Tensor]]:
        heatmaps, ltrbs = [], []
        for scale, x in zip(self.scales, feats, strict=True):
            x = self.tower(x)
            # the two output convolutions in float32 under autocast: bf16 would round box sides
            # to about 1/16 of a stride
            with torch.autocast(x.device.type, enabled=False):
                x = x.float()
                heatmaps.append(self.heatmap(x))  # (B, 1, h, w) logits
                ltrbs.append(torch.relu(scale(self.ltrb(x))))  # (B, 4, h, w) distances / stride
        return heatmaps, ltrbs


def level_grids(shapes: list[tuple[int, int]], strides: list[int], device: torch.device) -> list[torch.Tensor]:
    """Per level, the (h*w, 2) x, y input-pixel coordinates of its locations: stride * index + stride // 2."""
    grids = []
    for (h, w), s in zip(shapes, strides, strict=True):
        ys, xs = torch.meshgrid(torch.arange(h, device=device), torch.arange(w, device=device), indexing="ij")
        grids.append(torch.stack([xs.reshape(-1), ys.reshape(-1)], dim=1).float() * s + s // 2)
    return grids


def flatten_levels(maps: list[torch.Tensor]) -> torch.Tensor:
    """[(B, C, h, w)] per level -> (B, M, C) with M = sum h * w, levels in order, row-major inside."""
    return torch.cat([m.flatten(2).transpose(1, 2) for m in maps], dim=1)


def build_targets(boxes: list[torch.Tensor], shapes: list[tuple[int, int]], strides: list[int],
                  size_ranges: list[tuple[float, float]], min_overlap: float, min_radius: float
                  ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor]:
    """CenterNet2's training targets for a batch.

    boxes: per image (n_i, 4) xyxy input pixels. Returns heatmap (B, M) in [0, 1], ltrb (B, M, 4)
    in strides (-1 where a location regresses no box) and the positives as flat indices into (B * M).
    """
    device = boxes[0].device if boxes else torch.device("cpu")
    grids = level_grids(shapes, strides, device)
    grid = torch.cat(grids)  # (M, 2)
    M = len(grid)
    stride = torch.cat([torch.full((len(g),), float(s), device=device)
                        for g, s in zip(grids, strides, strict=True)])  # (M,)
    ranges = torch.cat([torch.tensor(r, device=device).expand(len(g), 2)
                        for g, r in zip(grids, size_ranges, strict=True)])  # (M, 2)
    delta = (1 - min_overlap) / (1 + min_overlap)
    base = torch.tensor([0] + [h * w for h, w in shapes], device=device).cumsum(0)[:-1]  # level offsets

    heatmaps, ltrbs, positives = [], [], []
    for b, box in enumerate(boxes):
        box = box.float()
        n = len(box)
        if n == 0:
            heatmaps.append(grid.new_zeros(M))
            ltrbs.append(grid.new_full((M, 4), -1.0))
            continue
        centre = (box[:, :2] + box[:, 2:]) / 2  # (n, 2)
        half_diagonal = (box[:, 2:] - box[:, :2]).norm(dim=1) / 2  # (n,)
        area = (box[:, 2:] - box[:, :2]).prod(dim=1)  # (n,)

        ltrb = torch.cat([grid[:, None] - box[None, :, :2], box[None, :, 2:] - grid[:, None]], dim=2)  # (M, n, 4)
        inside = ltrb.min(dim=2).values > 0  # (M, n)
        cell_centre = (centre[None] / stride[:, None, None]).floor() * stride[:, None, None] \
            + stride[:, None, None] / 2  # (M, n, 2) centre of the cell holding each box centre
        near = ((grid[:, None] - cell_centre).abs() <= stride[:, None, None]).all(dim=2)  # 3x3 cells
        on_level = (half_diagonal[None] >= ranges[:, :1]) & (half_diagonal[None] <= ranges[:, 1:])  # (M, n)
        dist2 = ((grid[:, None] - centre[None]) ** 2).sum(dim=2)  # (M, n)
        radius2 = (2 * delta ** 2 * area).clamp(min=min_radius ** 2)  # (n,)
        weighted = dist2 / radius2[None]  # (M, n)

        heatmap = torch.exp(-weighted.min(dim=1).values)  # (M,)
        heatmaps.append(torch.where(heatmap < 1e-4, torch.zeros_like(heatmap), heatmap))

        regress = near & inside & on_level
        nearest = torch.where(regress, weighted, torch.full_like(weighted, math.inf)).min(dim=1)
        target = ltrb[torch.arange(M, device=device), nearest.indices] / stride[:, None]  # (M, 4)
        ltrbs.append(torch.where(torch.isinf(nearest.values)[:, None], torch.full_like(target, -1.0), target))

        for level, ((h, w), s, (lo, hi)) in enumerate(zip(shapes, strides, size_ranges, strict=True)):
            keep = (half_diagonal >= lo) & (half_diagonal <= hi)
            cells = (centre[keep] / s).long()
            cx, cy = cells[:, 0].clamp(0, w - 1), cells[:, 1].clamp(0, h - 1)
            positives.append(b * M + base[level] + cy * w + cx)
    pos = torch.cat(positives) if positives else torch.zeros(0, dtype=torch.long, device=device)
    return torch.stack(heatmaps), torch.stack(ltrbs), pos


def giou_loss(pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    """(n,) 1 - GIoU of ltrb distances measured from the same location (CenterNet2's IOULoss)."""
    pl, pt, pr, pb = pred.unbind(1)
    tl, tt, tr, tb = target.unbind(1)
    pred_area = (pl + pr) * (pt + pb)
    target_area = (tl + tr) * (tt + tb)
    inter = (torch.minimum(pl, tl) + torch.minimum(pr, tr)) * (torch.minimum(pt, tt) + torch.minimum(pb, tb))
    enclosing = (torch.maximum(pl, tl) + torch.maximum(pr, tr)) * (torch.maximum(pt, tt) + torch.maximum(pb, tb))
    union = pred_area + target_area - inter
    iou = (inter + 1.0) / (union + 1.0)
    giou = iou - (enclosing + 1e-7 - union) / (enclosing + 1e-7)
    return 1 - giou


def centernet_losses(heatmap_logits: torch.Tensor, ltrb_pred: torch.Tensor, heatmap: torch.Tensor,
                     ltrb: torch.Tensor, positives: torch.Tensor, *, alpha: float, beta: float, gamma: float,
                     pos_weight: float, neg_weight: float, reg_weight: float, num_pos: float, num_reg: float
                     ) -> dict[str, torch.Tensor]:
    """The three CenterNet terms; heatmap_logits (B, M), ltrb_pred (B, M, 4), targets from build_targets.

    num_pos and num_reg are the normalisers (averaged over processes under DDP by the caller).
    """
    p = heatmap_logits.float().sigmoid().clamp(1e-4, 1 - 1e-4).reshape(-1)  # (B*M,)
    target = heatmap.reshape(-1)
    pos = p[positives]
    pos_loss = -(torch.log(pos) * (1 - pos) ** gamma).sum()
    neg_loss = -(torch.log(1 - p) * p ** gamma * (1 - target) ** beta).sum()
    if alpha >= 0:
        pos_loss, neg_loss = alpha * pos_loss, (1 - alpha) * neg_loss
    ltrb = ltrb.reshape(-1, 4)
    regress = ltrb.max(dim=1).values >= 0
    box_loss = giou_loss(ltrb_pred.float().reshape(-1, 4)[regress], ltrb[regress]).sum()
    return {"heatmap_pos": pos_weight * pos_loss / max(num_pos, 1.0),
            "heatmap_neg": neg_weight * neg_loss / max(num_pos, 1.0),
            "box": reg_weight * box_loss / max(num_reg, 1.0)}


@torch.no_grad()
def decode(heatmap_logits: list[torch.Tensor], ltrb: list[torch.Tensor], strides: list[int], *,
           min_score: float, pre_nms_topk: int, nms_iou: float, post_nms_topk: int
           ) -> list[tuple[torch.Tensor, torch.Tensor]]:
    """Per image, (boxes (k, 4) xyxy input pixels, scores (k,)), best first; scores > min_score.

    Filtering by the score before NMS keeps the same boxes as filtering after it: a box is only
    ever suppressed by a higher-scoring one, which passes any threshold the box passes.
    """
    shapes = [tuple(h.shape[-2:]) for h in heatmap_logits]
    grids = level_grids(shapes, strides, heatmap_logits[0].device)  # type: ignore[arg-type]
    out = []
    for b in range(heatmap_logits[0].shape[0]):
        all_boxes, all_scores = [], []
        for level, (grid, s) in enumerate(zip(grids, strides, strict=True)):
            score = heatmap_logits[level][b, 0].float().sigmoid().sqrt().reshape(-1)  # (h*w,)
            keep = torch.nonzero(score > min_score).squeeze(1)
            if len(keep) > pre_nms_topk:
                keep = keep[score[keep].topk(pre_nms_topk).indices]
            d = ltrb[level][b].float().reshape(4, -1)[:, keep].T * s  # (k, 4) pixels
            g = grid[keep]
            box = torch.stack([g[:, 0] - d[:, 0], g[:, 1] - d[:, 1], g[:, 0] + d[:, 2], g[:, 1] + d[:, 3]], dim=1)
            box[:, 2] = torch.maximum(box[:, 2], box[:, 0] + 0.01)
            box[:, 3] = torch.maximum(box[:, 3], box[:, 1] + 0.01)
            all_boxes.append(box)
            all_scores.append(score[keep])
        boxes, scores = torch.cat(all_boxes), torch.cat(all_scores)
        kept = nms(boxes, scores, nms_iou)[:post_nms_topk]  # best first
        out.append((boxes[kept], scores[kept]))
    return out
