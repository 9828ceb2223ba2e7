"""Box operations in plain torch: IoU, NMS and RoIAlign (torchvision does not work beside our torch).

Each equals its torchvision counterpart: `nms` is greedy NMS in decreasing score order
(`torchvision.ops.nms`), `roi_align` samples exactly as `torchvision.ops.roi_align(..., aligned=True)`
with a fixed sampling ratio. Boxes are (n, 4) x1, y1, x2, y2.
"""

from __future__ import annotations

import torch
import torch.nn.functional as F


def box_area(boxes: torch.Tensor) -> torch.Tensor:
    return (boxes[:, 2] - boxes[:, 0]) * (boxes[:, 3] - boxes[:, 1])  # (n,)


def box_iou(a: torch.Tensor, b: torch.Tensor) -> torch.Tensor:
    """(n, m) intersection over union; areas without the +1 of old MOT code, as torchvision."""
    lt = torch.maximum(a[:, None, :2], b[None, :, :2])  # (n, m, 2)
    rb = torch.minimum(a[:, None, 2:], b[None, :, 2:])
    inter = (rb - lt).clamp(min=0).prod(dim=2)  # (n, m)
    union = box_area(a)[:, None] + box_area(b)[None, :] - inter
    return inter / union.clamp(min=torch.finfo(inter.dtype).tiny)


def nms(boxes: torch.Tensor, scores: torch.Tensor, iou_threshold: float) -> torch.Tensor:
    """Indices of the boxes greedy NMS keeps, in decreasing score order.

    Greedy NMS keeps box i (in score order) iff no kept box before it overlaps it by more than
    the threshold. That recursive rule has one solution, reached by iterating
    `keep[i] = not any(keep[j] and iou[j, i] > t for j before i)` from all-kept: after k rounds
    the first k boxes of any suppression chain are final, so the loop ends after (longest chain + 1)
    rounds, a handful in practice, each one matrix reduction (fast on a GPU, no per-box loop).
    """
    if boxes.numel() == 0:
        return torch.zeros(0, dtype=torch.long, device=boxes.device)
    order = torch.sort(scores, descending=True, stable=True).indices
    sorted_boxes = boxes[order]
    n = len(order)
    earlier = torch.ones(n, n, dtype=torch.bool, device=boxes.device).triu(1)  # [j, i]: j before i
    overlaps = (box_iou(sorted_boxes, sorted_boxes) > iou_threshold) & earlier  # (n, n)
    keep = torch.ones(n, dtype=torch.bool, device=boxes.device)
    for _ in range(n):
        suppressed = (overlaps & keep[:, None]).any(dim=0)
        new_keep = ~suppressed
        if torch.equal(new_keep, keep):
            break
        keep = new_keep
    return order[keep]


def roi_align(features: torch.Tensor, boxes: torch.Tensor, output_size: int, spatial_scale: float,
              sampling_ratio: int = 2) -> torch.Tensor:
    """RoIAlign of boxes on ONE image's feature map, as torchvision's roi_align with aligned=True.

    features (C, H, W); boxes (K, 4) in input pixels; returns (K, C, output_size, output_size).
    Bin (ph, pw) of a box averages sampling_ratio**2 bilinear samples at
    y = y1 * scale - 0.5 + (ph + (iy + 0.5) / s) * bin_h (likewise x). As in torchvision, a sample
    more than one pixel outside the map counts as 0, one within a pixel of the border reads the
    border (grid_sample's border padding), and the average always divides by s * s.
    """
    C, H, W = features.shape
    K, P, s = len(boxes), output_size, sampling_ratio
    if K == 0:
        return features.new_zeros(0, C, P, P)
    boxes = boxes.to(features.dtype) * spatial_scale - 0.5
    steps = (torch.arange(P * s, device=features.device, dtype=features.dtype) + 0.5) / s  # (P*s,) in bins
    bin_w = (boxes[:, 2] - boxes[:, 0]) / P  # (K,)
    bin_h = (boxes[:, 3] - boxes[:, 1]) / P
    xs = boxes[:, 0, None] + steps[None, :] * bin_w[:, None]  # (K, P*s) sample x in feature pixels
    ys = boxes[:, 1, None] + steps[None, :] * bin_h[:, None]  # (K, P*s)
    valid = ((xs >= -1) & (xs <= W))[:, None, :] & ((ys >= -1) & (ys <= H))[:, :, None]  # (K, P*s, P*s)
    # grid_sample (align_corners=False) maps normalised g to pixel (g + 1) * W / 2 - 0.5
    gx = (2 * xs + 1) / W - 1
    gy = (2 * ys + 1) / H - 1
    grid = torch.stack(torch.broadcast_tensors(gx[:, None, :], gy[:, :, None]), dim=-1)  # (K, P*s, P*s, 2)
    grid = grid.reshape(1, K * P * s, P * s, 2)
    samples = F.grid_sample(features[None], grid, mode="bilinear", padding_mode="border",
                            align_corners=False)  # (1, C, K*P*s, P*s)
    samples = samples.reshape(C, K, P * s, P * s) * valid.to(samples.dtype)
    samples = samples.reshape(C, K, P, s, P, s).mean(dim=(3, 5))  # (C, K, P, P)
    return samples.permute(1, 0, 2, 3)  # (K, C, P, P)
