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

Rows or columns without a candidate take no part in that optimum and are left out of the problem; a
candidate alone in its row and its column is matched in every optimum; only the rest goes to
`lap.lapjv`, given the square matrix lap itself would build. Where the optimum is unique (ties have
probability zero with real-valued costs) the result is the official one; tests compare them on
random matrices.
"""

from __future__ import annotations

import lap
import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of boxes x1, y1, x2, y2 (SORT's `iou_batch`)."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)  # broadcasting is slow on strides
    # x and y extents of the intersections at once: (2, len(a), len(b))
    side = np.minimum(at[2:, :, None], bt[2:, None, :])
    side -= np.maximum(at[:2, :, None], bt[:2, None, :])
    np.maximum(side, 0.0, out=side)
    inter = side[0] * side[1]
    area_a = (at[2] - at[0]) * (at[3] - at[1])
    area_b = (bt[2] - bt[0]) * (bt[3] - bt[1])
    union = area_a[:, None] + area_b[None, :]
    union -= inter
    return np.divide(inter, union, out=inter)


def iou_plus1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU with the +1-pixel convention of `cython_bbox.bbox_overlaps`."""
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)
    side = np.minimum(at[2:, :, None], bt[2:, None, :])
    side -= np.maximum(at[:2, :, None], bt[:2, None, :])
    side += 1
    np.maximum(side, 0.0, out=side)  # no overlap in x or in y: intersection 0
    inter = side[0] * side[1]
    area_a = (at[2] - at[0] + 1) * (at[3] - at[1] + 1)
    area_b = (bt[2] - bt[0] + 1) * (bt[3] - bt[1] + 1)
    union = area_a[:, None] + area_b[None, :]
    union -= inter
    return np.divide(inter, union, out=inter)


_NONE = np.zeros(0, dtype=np.int64)


def assign(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the pairs matched at cost below `limit`, ordered by row.

    The matching minimises the total cost with every unmatched row and column costing limit / 2, as
    `lap.lapjv(cost, extend_cost=True, cost_limit=limit)` does (a pair costing exactly `limit` is a
    tie there and is left out here). A candidate pair (cost < limit)
    whose row and column have no other candidate is matched in every optimum; the solver sees only
    the rows and columns of the other candidates.
    """
    if cost.size == 0:
        return _NONE, _NONE
    candidate = cost < limit
    per_row = candidate.sum(axis=1)
    per_col = candidate.sum(axis=0)
    if per_row.max() <= 1 and per_col.max() <= 1:
        return np.nonzero(candidate)
    # a candidate alone in its row and in its column: matched in every optimum
    single = np.flatnonzero(per_row == 1)
    partner = candidate[single].argmax(axis=1)
    alone = per_col[partner] == 1
    rows, cols = single[alone], partner[alone]
    busy_row = per_row > 0
    busy_row[rows] = False
    busy_col = per_col > 0
    busy_col[cols] = False
    busy_rows, busy_cols = np.flatnonzero(busy_row), np.flatnonzero(busy_col)
    sub = cost[busy_rows][:, busy_cols]
    x = _lapjv_limited(sub, limit)
    solved = np.flatnonzero(x >= 0)
    solved = solved[sub[solved, x[solved]] < limit]  # a pair at the limit gains nothing: a tie
    rows = np.concatenate([rows, busy_rows[solved]])
    cols = np.concatenate([cols, busy_cols[x[solved]]])
    order = np.argsort(rows)
    return rows[order], cols[order]


def _lapjv_limited(cost: np.ndarray, limit: float) -> np.ndarray:
    """x of `lap.lapjv(cost, extend_cost=True, cost_limit=limit)`: the column of each row, -1 for none.

    Builds the square problem lap builds for a cost limit (every row and column may instead take a
    dummy at limit / 2) and solves it with lap without the returned total, which is most of lap's
    time on small matrices.
    """
    n, m = cost.shape
    square = np.empty((n + m, n + m))
    square[:] = limit / 2.0
    square[n:, m:] = 0
    square[:n, :m] = cost
    x, _ = lap.lapjv(square, return_cost=False)
    x = x[:n]
    x[x >= m] = -1
    return x


def lapjv_full(cost: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the full rectangular assignment `lap.lapjv(cost, extend_cost=True)`, which
    pads the matrix to a square with zero costs."""
    if cost.size == 0:
        return _NONE, _NONE
    n, m = cost.shape
    square = np.zeros((max(n, m), max(n, m)))
    square[:n, :m] = cost
    x, _ = lap.lapjv(square, return_cost=False)
    x = x[:n]
    matched = np.flatnonzero(x < m)
    return matched, x[matched]


def unmatched(n: int, matched: np.ndarray) -> np.ndarray:
    """Ascending indices in range(n) that are not in `matched`."""
    mask = np.ones(n, dtype=bool)
    mask[matched] = False
    return np.flatnonzero(mask)
