"""NMS and RoIAlign against straightforward loop implementations of torchvision's algorithms."""

from __future__ import annotations

import math

import pytest
import torch

from smot.models.ops import box_iou, nms, roi_align


def iou_one(a, b) -> float:
    w = max(0.0, min(a[2], b[2]) - max(a[0], b[0]))
    h = max(0.0, min(a[3], b[3]) - max(a[1], b[1]))
    union = (a[2] - a[0]) * (a[3] - a[1]) + (b[2] - b[0]) * (b[3] - b[1]) - w * h
    return w * h / union


def nms_loop(boxes, scores, threshold) -> list[int]:
    """torchvision's greedy NMS: visit boxes best first, keep one unless a kept box overlaps it."""
    order = sorted(range(len(boxes)), key=lambda i: -scores[i])
    kept: list[int] = []
    for i in order:
        if all(iou_one(boxes[i], boxes[k]) <= threshold for k in kept):
            kept.append(i)
    return kept


def random_boxes(n: int, seed: int, size: float = 100.0) -> torch.Tensor:
    g = torch.Generator().manual_seed(seed)
    xy = torch.rand(n, 2, generator=g, dtype=torch.float64) * size
    wh = torch.rand(n, 2, generator=g, dtype=torch.float64) * size / 3 + 1
    return torch.cat([xy, xy + wh], dim=1)


def test_box_iou_hand_values():
    # a = [0,0,2,2] (area 4), b = [1,1,3,3] (area 4): intersection 1, union 7
    a = torch.tensor([[0.0, 0, 2, 2]])
    b = torch.tensor([[1.0, 1, 3, 3], [2.0, 2, 4, 4], [0.0, 0, 2, 2]])
    assert box_iou(a, b)[0].tolist() == pytest.approx([1 / 7, 0.0, 1.0])


@pytest.mark.parametrize("seed", range(6))
@pytest.mark.parametrize("threshold", [0.3, 0.5, 0.7])
def test_nms_equals_greedy_loop(seed, threshold):
    boxes = random_boxes(60, seed)
    scores = torch.rand(60, generator=torch.Generator().manual_seed(100 + seed), dtype=torch.float64)
    assert nms(boxes, scores, threshold).tolist() == nms_loop(boxes.tolist(), scores.tolist(), threshold)


def test_nms_chain_of_suppressions():
    # A suppresses B, B would suppress C, but B is gone so C stays: greedy keeps A and C.
    # x-overlaps: A=[0,10], B=[4,14] (IoU 6/14 = 0.43 with A), C=[8,18] (IoU 2/18 = 0.11 with A, 0.43 with B)
    boxes = torch.tensor([[0.0, 0, 10, 1], [4.0, 0, 14, 1], [8.0, 0, 18, 1]])
    scores = torch.tensor([0.9, 0.8, 0.7])
    assert nms(boxes, scores, 0.4).tolist() == [0, 2]


def test_nms_empty_and_single():
    assert nms(torch.zeros(0, 4), torch.zeros(0), 0.5).tolist() == []
    assert nms(torch.tensor([[0.0, 0, 1, 1]]), torch.tensor([0.3]), 0.5).tolist() == [0]


def bilinear(fmap, y: float, x: float) -> torch.Tensor:
    """torchvision's roi_align bilinear_interpolate: 0 beyond one pixel outside, border clamp within."""
    C, H, W = fmap.shape
    if y < -1.0 or y > H or x < -1.0 or x > W:
        return torch.zeros(C, dtype=fmap.dtype)
    y, x = max(y, 0.0), max(x, 0.0)
    y_low, x_low = int(y), int(x)
    if y_low >= H - 1:
        y_low = y_high = H - 1
        y = float(y_low)
    else:
        y_high = y_low + 1
    if x_low >= W - 1:
        x_low = x_high = W - 1
        x = float(x_low)
    else:
        x_high = x_low + 1
    ly, lx = y - y_low, x - x_low
    hy, hx = 1 - ly, 1 - lx
    return (hy * hx * fmap[:, y_low, x_low] + hy * lx * fmap[:, y_low, x_high]
            + ly * hx * fmap[:, y_high, x_low] + ly * lx * fmap[:, y_high, x_high])


def roi_align_loop(fmap, boxes, size: int, scale: float, s: int) -> torch.Tensor:
    """torchvision roi_align(aligned=True) for one image, sample by sample."""
    out = torch.zeros(len(boxes), fmap.shape[0], size, size, dtype=fmap.dtype)
    for k, (x1, y1, x2, y2) in enumerate(boxes.tolist()):
        sx, sy = x1 * scale - 0.5, y1 * scale - 0.5
        bin_w, bin_h = (x2 - x1) * scale / size, (y2 - y1) * scale / size
        for ph in range(size):
            for pw in range(size):
                acc = torch.zeros(fmap.shape[0], dtype=fmap.dtype)
                for iy in range(s):
                    y = sy + ph * bin_h + (iy + 0.5) * bin_h / s
                    for ix in range(s):
                        x = sx + pw * bin_w + (ix + 0.5) * bin_w / s
                        acc += bilinear(fmap, y, x)
                out[k, :, ph, pw] = acc / (s * s)
    return out


@pytest.mark.parametrize("scale,sampling", [(1.0, 2), (0.125, 2), (0.25, 3)])
def test_roi_align_equals_loop(scale, sampling):
    g = torch.Generator().manual_seed(7)
    fmap = torch.randn(3, 11, 13, generator=g, dtype=torch.float64)
    size_px = (13 / scale, 11 / scale)
    boxes = torch.tensor([
        [0.0, 0.0, size_px[0], size_px[1]],  # the whole map
        [0.3 * size_px[0], 0.2 * size_px[1], 0.6 * size_px[0], 0.9 * size_px[1]],
        [-0.2 * size_px[0], -0.1 * size_px[1], 0.2 * size_px[0], 0.3 * size_px[1]],  # over the top-left edge
        [0.8 * size_px[0], 0.7 * size_px[1], 1.3 * size_px[0], 1.2 * size_px[1]],  # beyond bottom-right
        [0.5 * size_px[0], 0.5 * size_px[1], 0.5 * size_px[0] + 0.3, 0.5 * size_px[1] + 0.2],  # tiny
    ], dtype=torch.float64)
    ours = roi_align(fmap, boxes, 7, scale, sampling)
    expected = roi_align_loop(fmap, boxes, 7, scale, sampling)
    assert ours.shape == (5, 3, 7, 7)
    torch.testing.assert_close(ours, expected, rtol=0, atol=1e-12)


def test_roi_align_gradient_reaches_features():
    fmap = torch.randn(2, 8, 8, dtype=torch.float64, requires_grad=True)
    boxes = torch.tensor([[1.0, 1.0, 5.0, 6.0]], dtype=torch.float64)
    roi_align(fmap, boxes, 2, 1.0, 2).sum().backward()
    # inside the map each sample's bilinear weights sum to 1 and a bin averages its samples, so each
    # output value's gradient sums to 1: 2 channels x 2x2 bins = 8
    assert math.isclose(float(fmap.grad.sum()), 8.0, rel_tol=1e-12)


def test_roi_align_no_boxes():
    assert roi_align(torch.zeros(4, 5, 5), torch.zeros(0, 4), 7, 1.0).shape == (0, 4, 7, 7)
