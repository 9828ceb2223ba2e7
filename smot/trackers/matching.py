"""Overlaps and assignment shared by the trackers.

Two IoU conventions, both as the official trackers compute them: `iou` (SORT, OC-SORT, DeepSORT:
areas w*h) and `iou_plus1` (ByteTrack's `cython_bbox.bbox_overlaps`: a box spans x2 - x1 + 1 pixels).

Assignments go to `lap.lapjv` with the square problem the official call builds:

- `assign`: ByteTrack's `lapjv(cost, extend_cost=True, cost_limit=limit)`, where every row and column
  may take a dummy at limit / 2, so a pair is matched only when its cost is below the limit;
- `lapjv_full`: `lapjv(cost, extend_cost=True)` (SORT, OC-SORT), the matrix padded to a square with
  zeros: a full assignment of min(rows, cols) pairs, the rectangular problem of scipy's
  `linear_sum_assignment` (DeepSORT) too.

lap's wrapper spends most of a small call building that matrix and summing the returned cost; it is
built here and lap solves it without the total (`return_cost=False`), ten times faster on small
matrices and with the same result. Tests compare both with the official calls on random matrices.
"""

from __future__ import annotations

import lap
import numpy as np


def iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU of boxes x1, y1, x2, y2 (SORT's `iou_batch`)."""
    return _iou(a, b, 0.0)


def iou_plus1(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(len(a), len(b)) IoU with the +1-pixel convention of `cython_bbox.bbox_overlaps`."""
    return _iou(a, b, 1.0)


def _iou(a: np.ndarray, b: np.ndarray, plus: float) -> np.ndarray:
    if not len(a) or not len(b):
        return np.zeros((len(a), len(b)))
    at, bt = np.ascontiguousarray(a.T), np.ascontiguousarray(b.T)  # broadcasting is slow on strides
    # x and y extents of the intersections at once: (2, len(a), len(b)); none below 0
    side = np.minimum(at[2:, :, None], bt[2:, None, :])
    side -= np.maximum(at[:2, :, None], bt[:2, None, :])
    if plus:
        side += plus
    np.maximum(side, 0.0, out=side)
    inter = side[0] * side[1]
    wh_a = at[2:] - at[:2]
    wh_b = bt[2:] - bt[:2]
    if plus:
        wh_a += plus
        wh_b += plus
    union = (wh_a[0] * wh_a[1])[:, None] + wh_b[0] * wh_b[1]
    union -= inter
    return np.divide(inter, union, out=inter)


_NONE = np.zeros(0, dtype=np.int64)


# below this many entries, checking for a problem with no competing candidates beats the solver
SMALL = 256


def assign(cost: np.ndarray, limit: float) -> tuple[np.ndarray, np.ndarray]:
    """(rows, cols) of the pairs `lap.lapjv(cost, extend_cost=True, cost_limit=limit)` matches,
    ordered by row (a pair costing exactly `limit` is a tie there and is left out here)."""
    if cost.size == 0:
        return _NONE, _NONE
    if cost.size <= SMALL:
        candidate = cost < limit
        if candidate.sum(axis=1).max() <= 1 and candidate.sum(axis=0).max() <= 1:
            return np.nonzero(candidate)  # no row or column with two candidates: they all match
    x = _lapjv_limited(cost, limit)
    rows = np.flatnonzero(x >= 0)
    rows = rows[cost[rows, x[rows]] < limit]
    return rows, x[rows]


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
