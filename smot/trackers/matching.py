"""Overlaps and assignment shared by the trackers.

Two IoU conventions, both as the official trackers compute them: `iou` (SORT, OC-SORT, DeepSORT:
areas w*h) and `iou_plus1` (ByteTrack's `cython_bbox.bbox_overlaps`: a box spans x2 - x1 + 1 pixels).

`assign` solves the thresholded assignments of all four trackers with `lap`. Each official call is
one of two forms that share one optimum:

- ByteTrack: `lap.lapjv(cost, extend_cost=True, cost_limit=limit)`, i.e. match a pair only when its
  cost is below `limit`, minimising the total;
- SORT / OC-SORT's recovery stage (`lapjv(-iou, extend_cost=True)`, then drop pairs under the IoU
  threshold) and DeepSORT (`linear_sum_assignment` on costs clipped to `max_distance + 1e-5`, then
  drop clipped pairs): a full assignment in which every pair that is not a candidate costs the same,
  so its candidate pairs form the matching that maximises the total gain `limit - cost` (limit 0
  for -IoU, `max_distance + 1e-5` for the clipped costs).

Rows or columns without a candidate take no part in that optimum and are left out of the problem,
and when no row and no column has two candidates the candidates are the answer without a solver.
Where the optimum is unique (ties have probability zero with real-valued costs) the result is the
official one.
"""

from __future__ import annotations

import lap
import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of boxes x1, y1, x2, y2 (SORT's `iou_batch`)."""
    a = a[:, None, :]
    b = b[None, :, :]
    w = np.maximum(0.0, np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]))
    h = np.maximum(0.0, np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]))
    wh = w * h
    area_a = (a[..., 2] - a[..., 0]) * (a[..., 3] - a[..., 1])
    area_b = (b[..., 2] - b[..., 0]) * (b[..., 3] - b[..., 1])
    return wh / (area_a + area_b - wh)


def iou_plus1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU with the +1-pixel convention of `cython_bbox.bbox_overlaps`."""
    a = a[:, None, :]
    b = b[None, :, :]
    iw = np.minimum(a[..., 2], b[..., 2]) - np.maximum(a[..., 0], b[..., 0]) + 1
    ih = np.minimum(a[..., 3], b[..., 3]) - np.maximum(a[..., 1], b[..., 1]) + 1
    inter = np.where((iw > 0) & (ih > 0), iw * ih, 0.0)
    area_a = (a[..., 2] - a[..., 0] + 1) * (a[..., 3] - a[..., 1] + 1)
    area_b = (b[..., 2] - b[..., 0] + 1) * (b[..., 3] - b[..., 1] + 1)
    return inter / (area_a + area_b - inter)


_NONE = np.zeros(0, dtype=np.int64)


def assign(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the pairs matched at cost below `limit`, ordered by row.

    The matching minimises the total cost with every unmatched pair costing `limit`, as
    `lap.lapjv(cost, extend_cost=True, cost_limit=limit)` does.
    """
    if cost.size == 0:
        return _NONE, _NONE
    candidate = cost < limit
    per_row = candidate.sum(axis=1)
    per_col = candidate.sum(axis=0)
    if per_row.max(initial=0) <= 1 and per_col.max(initial=0) <= 1:
        rows, cols = np.nonzero(candidate)
        return rows, cols
    # rows and columns that have a candidate (cost == limit is a tie: keep it in the problem)
    near = cost <= limit
    keep_rows = np.flatnonzero(near.any(axis=1))
    keep_cols = np.flatnonzero(near.any(axis=0))
    sub = cost[np.ix_(keep_rows, keep_cols)]
    _, x, _ = lap.lapjv(sub, extend_cost=True, cost_limit=limit)
    matched = np.flatnonzero(x >= 0)
    return keep_rows[matched], keep_cols[x[matched]]


def lapjv_full(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the full rectangular assignment `lap.lapjv(cost, extend_cost=True)`."""
    if cost.size == 0:
        return _NONE, _NONE
    _, x, _ = lap.lapjv(cost, extend_cost=True)
    matched = np.flatnonzero(x >= 0)
    return matched, x[matched]


def unmatched(n: int, matched: np.ndarray) -> np.ndarray:
    """Ascending indices in range(n) that are not in `matched`."""
    mask = np.ones(n, dtype=bool)
    mask[matched] = False
    return np.flatnonzero(mask)
