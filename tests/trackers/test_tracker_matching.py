"""Overlaps, assignment and Kalman filters against the official formulations they replace."""

from __future__ import annotations

import lap
import numpy as np
import pytest
from scipy.optimize import linear_sum_assignment

from smot.trackers import kalman
from smot.trackers.matching import assign, iou, iou_plus1, lapjv_full
from smot.trackers.sort import match_iou


def boxes(rng, n):
    xy = rng.uniform(0, 600, (n, 2))
    return np.hstack([xy, xy + rng.uniform(20, 250, (n, 2))])


def pairwise_iou(a, b, plus):
    """The official loops: SORT's iou_batch (plus=0) and cython_bbox.bbox_overlaps (plus=1)."""
    out = np.zeros((len(a), len(b)))
    for i in range(len(a)):
        for j in range(len(b)):
            iw = min(a[i, 2], b[j, 2]) - max(a[i, 0], b[j, 0]) + plus
            ih = min(a[i, 3], b[j, 3]) - max(a[i, 1], b[j, 1]) + plus
            if iw > 0 and ih > 0:
                union = (a[i, 2] - a[i, 0] + plus) * (a[i, 3] - a[i, 1] + plus) + \
                    (b[j, 2] - b[j, 0] + plus) * (b[j, 3] - b[j, 1] + plus) - iw * ih
                out[i, j] = iw * ih / union
    return out


def test_iou_equals_the_official_loops_bit_for_bit():
    rng = np.random.default_rng(0)
    a, b = boxes(rng, 25), boxes(rng, 31)
    assert np.array_equal(iou(a, b), pairwise_iou(a, b, 0))
    assert np.array_equal(iou_plus1(a, b), pairwise_iou(a, b, 1))
    assert iou(a, b[:0]).shape == (25, 0) and iou_plus1(a[:0], b).shape == (0, 31)


def test_iou_hand_values():
    # [0,0,10,10] and [5,5,15,15]: intersection 5 x 5 = 25, union 100 + 100 - 25 = 175;
    # with +1 px: 6 x 6 = 36 over 121 + 121 - 36 = 206
    a, b = np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 5, 15, 15], [20.0, 20, 30, 30]])
    assert iou(a, b).tolist() == [[25 / 175, 0.0]]
    assert iou_plus1(a, b).tolist() == [[36 / 206, 0.0]]


def random_costs(rng, trials=1500):
    for _ in range(trials):
        n, m = rng.integers(1, 10, 2)
        cost = rng.uniform(0, 1.2, (n, m))
        cost[rng.random((n, m)) < 0.4] = 1.0
        yield cost


def pairs(x):
    rows = np.flatnonzero(x >= 0)
    return rows.tolist(), x[rows].tolist()


def test_assign_equals_lapjv_with_a_cost_limit():
    """ByteTrack's `lap.lapjv(cost, extend_cost=True, cost_limit=thresh)`."""
    rng = np.random.default_rng(1)
    for cost in random_costs(rng):
        _, x, _ = lap.lapjv(cost, extend_cost=True, cost_limit=0.9)
        rows, cols = assign(cost, 0.9)
        assert (rows.tolist(), cols.tolist()) == pairs(x)


def test_sort_matching_equals_the_official_association():
    """SORT's `associate_detections_to_trackers`: the one-candidate shortcut, else
    `lap.lapjv(-iou, extend_cost=True)` keeping pairs with IoU >= threshold."""
    rng = np.random.default_rng(2)
    for _ in range(500):
        overlap = iou(boxes(rng, rng.integers(1, 12)), boxes(rng, rng.integers(1, 12)))
        above = overlap > 0.3
        if above.sum(1).max() == 1 and above.sum(0).max() == 1:
            official = set(zip(*map(np.ndarray.tolist, np.nonzero(above)), strict=True))
        else:
            _, x, _ = lap.lapjv(-overlap, extend_cost=True)
            official = {(r, c) for r, c in zip(*pairs(x), strict=True) if overlap[r, c] >= 0.3}
        rows, cols = match_iou(overlap, 0.3)
        assert set(zip(rows.tolist(), cols.tolist(), strict=True)) == official


def test_full_assignment_of_clipped_costs_equals_linear_sum_assignment():
    """DeepSORT's `linear_sum_assignment` on costs clipped to max_distance + 1e-5, then filtered."""
    rng = np.random.default_rng(3)
    for cost in random_costs(rng):
        clipped = np.where(cost * 0.5 > 0.2, 0.2 + 1e-5, cost * 0.5)
        r, c = linear_sum_assignment(clipped)
        official = {(i, j) for i, j in zip(r.tolist(), c.tolist(), strict=True) if clipped[i, j] <= 0.2}
        rows, cols = lapjv_full(clipped)
        assert {(i, j) for i, j in zip(rows.tolist(), cols.tolist(), strict=True) if clipped[i, j] <= 0.2} == official


def test_lapjv_full_equals_lapjv_extend_cost():
    """OC-SORT's first association: `lap.lapjv(-(iou + angle cost), extend_cost=True)`."""
    rng = np.random.default_rng(4)
    for _ in range(1000):
        n, m = rng.integers(1, 10, 2)
        cost = -rng.uniform(-0.1, 1.0, (n, m))
        _, x, _ = lap.lapjv(cost, extend_cost=True)
        rows, cols = lapjv_full(cost)
        assert (rows.tolist(), cols.tolist()) == pairs(x)


# --------------------------------------------------------------------------------------------
# Kalman filters: the block form against the full matrices of the official code


def full_state(mean, k=8):
    """The official state vector of track 0 of a (2, n, 4) block state (7-D for xysr: no r velocity)."""
    return np.concatenate([mean[0, 0], mean[1, 0]])[:k]


def full_cov(cov, k=8):
    """The official covariance of track 0 of a (3, n, 4) block covariance."""
    p = np.zeros((8, 8))
    for j in range(4):
        p[j, j], p[j, j + 4], p[j + 4, j], p[j + 4, j + 4] = cov[0, 0, j], cov[1, 0, j], cov[1, 0, j], cov[2, 0, j]
    return p[:k, :k]


F8 = np.eye(8) + np.eye(8, k=4)
H8 = np.eye(4, 8)


def official_xyah_predict(mean, cov):
    h = mean[3]
    q = np.diag(np.square([h / 20, h / 20, 1e-2, h / 20, h / 160, h / 160, 1e-5, h / 160]))
    return F8 @ mean, F8 @ cov @ F8.T + q


def official_xyah_update(mean, cov, z):
    h = mean[3]
    s = H8 @ cov @ H8.T + np.diag(np.square([h / 20, h / 20, 1e-1, h / 20]))
    k = cov @ H8.T @ np.linalg.inv(s)
    return mean + k @ (z - H8 @ mean), cov - k @ s @ k.T


def test_xyah_filter_equals_the_full_matrix_filter():
    rng = np.random.default_rng(5)
    z = np.array([[300.0, 200.0, 0.4, 180.0]])
    mean, cov = kalman.xyah_initiate(z)
    m, p = full_state(mean), full_cov(cov)
    assert np.array_equal(p, np.diag(np.square([18, 18, 1e-2, 18, 180 / 16, 180 / 16, 1e-5, 180 / 16])))
    for _ in range(20):
        kalman.xyah_predict(mean, cov)
        m, p = official_xyah_predict(m, p)
        np.testing.assert_allclose(full_state(mean), m, rtol=1e-12)
        np.testing.assert_allclose(full_cov(cov), p, rtol=1e-12)
        z = z + rng.normal(0, [2, 2, 0.01, 2])
        kalman.xyah_update(mean, cov, z)
        m, p = official_xyah_update(m, p, z[0])
        np.testing.assert_allclose(full_state(mean), m, rtol=1e-12)
        np.testing.assert_allclose(full_cov(cov), p, rtol=1e-10, atol=1e-12)
    # the squared Mahalanobis distance of DeepSORT's gate
    kalman.xyah_predict(mean, cov)
    m, p = official_xyah_predict(m, p)
    d = z[0] + 3 - H8 @ m
    s = H8 @ p @ H8.T + np.diag(np.square([m[3] / 20, m[3] / 20, 1e-1, m[3] / 20]))
    assert kalman.xyah_gating_distance(mean, cov, z + 3)[0, 0] == pytest.approx(d @ np.linalg.inv(s) @ d, rel=1e-12)


F7 = np.eye(7)
F7[0, 4] = F7[1, 5] = F7[2, 6] = 1
H7 = np.eye(4, 7)
Q7 = np.diag([1, 1, 1, 1, 0.01, 0.01, 0.0001])
R7 = np.diag([1.0, 1, 10, 10])


def test_xysr_filter_equals_filterpy():
    rng = np.random.default_rng(6)
    z = np.array([[300.0, 200.0, 9000.0, 0.4]])
    x, cov = kalman.xysr_initiate(z)
    xs, p = np.concatenate([z[0], [0, 0, 0]]), np.diag([10.0, 10, 10, 10, 1e4, 1e4, 1e4])
    assert np.array_equal(full_cov(cov, 7), p)
    for _ in range(20):
        kalman.xysr_predict(x, cov)
        xs, p = F7 @ xs, F7 @ p @ F7.T + Q7
        np.testing.assert_allclose(full_state(x, 7), xs, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(full_cov(cov, 7), p, rtol=1e-10, atol=1e-9)
        z = z + rng.normal(0, [2, 2, 50, 0.01])
        kalman.xysr_update(x, cov, z)
        s = H7 @ p @ H7.T + R7
        k = p @ H7.T @ np.linalg.inv(s)
        xs = xs + k @ (z[0] - H7 @ xs)
        i_kh = np.eye(7) - k @ H7
        p = i_kh @ p @ i_kh.T + k @ R7 @ k.T
        # ours is (I-KH)P, equal to the Joseph form for the optimal gain up to rounding
        np.testing.assert_allclose(full_state(x, 7), xs, rtol=1e-10, atol=1e-9)
        np.testing.assert_allclose(full_cov(cov, 7), p, rtol=1e-10, atol=1e-9)
    assert x[1, 0, 3] == 0.0 and cov[1, 0, 3] == 0.0 and cov[2, 0, 3] == 0.0  # r has no velocity


def test_box_conversions_round_trip():
    b = np.array([[10.0, 20.0, 70.0, 180.0]])
    np.testing.assert_allclose(kalman.xyah_to_tlbr(kalman.xyah_initiate(kalman.tlbr_to_xyah(b))[0]), b)
    np.testing.assert_allclose(kalman.xysr_to_tlbr(kalman.xysr_initiate(kalman.tlbr_to_xysr(b))[0]), b)
    assert kalman.tlbr_to_xyah(b).tolist() == [[40.0, 100.0, 60 / 160, 160.0]]
    assert kalman.tlbr_to_xysr(b).tolist() == [[40.0, 100.0, 9600.0, 60 / 160]]
