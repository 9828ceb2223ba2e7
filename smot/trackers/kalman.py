"""The Kalman filters of the trackers, batched over tracks.

Two constant-velocity box filters, each on a batch of n tracks at once:

- `xyah`: ByteTrack's and DeepSORT's 8-D filter on (cx, cy, a = w/h, h) and their velocities, with
  noise proportional to the box height (weights 1/20 for positions, 1/160 for velocities).
- `xysr`: SORT's and OC-SORT's 7-D filter (filterpy) on (cx, cy, s = area, r = w/h) and the
  velocities of cx, cy and s, with constant noise.

In both, every covariance ever formed is block-diagonal: each measured coordinate is correlated
only with its own velocity (F couples a coordinate with its velocity; the initial covariance, Q and R
are diagonal; H selects the coordinates). So the filter is four independent 2-state filters and a
covariance is stored as three numbers per coordinate, `cov (n, 3, 4)`: `cov[:, 0]` the coordinate
variances, `cov[:, 1]` the coordinate-velocity covariances, `cov[:, 2]` the velocity variances. SORT's
aspect ratio r has no velocity: its velocity variance and covariance are zero and stay zero.

The arithmetic is the official code's with the zero terms of its 8x8 (7x7) matrix products left out,
in the same order where a sum has more than one term, so results agree with the official filters
to the last few bits.
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# xyah: ByteTrack (yolox/tracker/kalman_filter.py) and DeepSORT (deep_sort/kalman_filter.py)

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160

# 0.95 quantile of the chi-square distribution with 4 degrees of freedom: DeepSORT's gate on the
# squared Mahalanobis distance of a detection (x, y, a, h) from a track's predicted box.
CHI2INV95_4 = 9.4877


def xyah_initiate(xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (n, 8), cov (n, 3, 4)) of new tracks at the measured boxes `xyah (n, 4)`, at rest."""
    n = len(xyah)
    mean = np.zeros((n, 8))
    mean[:, :4] = xyah
    h = xyah[:, 3]
    cov = np.zeros((n, 3, 4))
    pos = 2 * STD_WEIGHT_POSITION * h
    vel = 10 * STD_WEIGHT_VELOCITY * h
    cov[:, 0, 0] = cov[:, 0, 1] = cov[:, 0, 3] = np.square(pos)
    cov[:, 0, 2] = np.square(1e-2)
    cov[:, 2, 0] = cov[:, 2, 1] = cov[:, 2, 3] = np.square(vel)
    cov[:, 2, 2] = np.square(1e-5)
    return mean, cov


def xyah_predict(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step ahead: x += v; P = F P F' + Q with Q scaled by the height before the step."""
    h = mean[:, 3]
    q_pos = np.square(STD_WEIGHT_POSITION * h)
    q_vel = np.square(STD_WEIGHT_VELOCITY * h)
    out = mean.copy()
    out[:, :4] += mean[:, 4:]
    p00, p01, p11 = cov[:, 0], cov[:, 1], cov[:, 2]
    new = np.empty_like(cov)
    new[:, 0] = (p00 + p01) + (p01 + p11)
    new[:, 1] = p01 + p11
    new[:, 2] = p11
    new[:, 0, 0] += q_pos
    new[:, 0, 1] += q_pos
    new[:, 0, 2] += np.square(1e-2)
    new[:, 0, 3] += q_pos
    new[:, 2, 0] += q_vel
    new[:, 2, 1] += q_vel
    new[:, 2, 2] += np.square(1e-5)
    new[:, 2, 3] += q_vel
    return out, new


def xyah_innovation_variance(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(n, 4) variances of the projected measurement (H P H' + R); R scales with the height."""
    r = np.square(STD_WEIGHT_POSITION * mean[:, 3])
    s = cov[:, 0].copy()
    s[:, 0] += r
    s[:, 1] += r
    s[:, 2] += np.square(1e-1)
    s[:, 3] += r
    return s


def xyah_update(mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct predicted states with measured boxes `xyah (n, 4)`: K = P H' S^-1, P -= K S K'."""
    s = xyah_innovation_variance(mean, cov)
    p00, p01, p11 = cov[:, 0], cov[:, 1], cov[:, 2]
    k0 = p00 / s  # gain of the coordinate
    k1 = p01 / s  # gain of its velocity
    innovation = xyah - mean[:, :4]
    out = mean.copy()
    out[:, :4] += innovation * k0
    out[:, 4:] += innovation * k1
    new = np.empty_like(cov)
    new[:, 0] = p00 - k0 * s * k0
    new[:, 1] = p01 - k0 * s * k1
    new[:, 2] = p11 - k1 * s * k1
    return out, new


def xyah_gating_distance(mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> np.ndarray:
    """(n_tracks, n_dets) squared Mahalanobis distances of measured boxes from predicted ones."""
    s = xyah_innovation_variance(mean, cov)  # (T, 4)
    z = (xyah[None, :, :] - mean[:, None, :4]) / np.sqrt(s)[:, None, :]  # (T, N, 4)
    z = z * z
    return ((z[..., 0] + z[..., 1]) + z[..., 2]) + z[..., 3]


def xyah_to_tlbr(mean: np.ndarray) -> np.ndarray:
    """(n, 4) boxes x1, y1, x2, y2 of states, as the official `tlbr` property computes them."""
    w = mean[:, 2] * mean[:, 3]
    h = mean[:, 3]
    out = np.empty((len(mean), 4))
    out[:, 0] = mean[:, 0] - w / 2
    out[:, 1] = mean[:, 1] - h / 2
    out[:, 2] = w + out[:, 0]
    out[:, 3] = h + out[:, 1]
    return out


def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
    """(n, 4) measurements (cx, cy, w/h, h) of boxes given as top-left x, y, width, height."""
    out = np.empty((len(tlwh), 4))
    out[:, 0] = tlwh[:, 0] + tlwh[:, 2] / 2
    out[:, 1] = tlwh[:, 1] + tlwh[:, 3] / 2
    out[:, 2] = tlwh[:, 2] / tlwh[:, 3]
    out[:, 3] = tlwh[:, 3]
    return out


def tlbr_to_xyah(boxes: np.ndarray) -> np.ndarray:
    """(n, 4) measurements (cx, cy, w/h, h) of boxes x1, y1, x2, y2 (via top-left, width, height)."""
    tlwh = boxes.copy()
    tlwh[:, 2:] -= boxes[:, :2]
    return tlwh_to_xyah(tlwh)


# --------------------------------------------------------------------------------------------
# xysr: SORT (sort.py, filterpy KalmanFilter) and OC-SORT (trackers/ocsort_tracker/kalmanfilter.py)

# diag of R: R[2:, 2:] *= 10
XYSR_R = np.array([1.0, 1.0, 10.0, 10.0])
# diag of Q: Q[4:, 4:] *= 0.01 and Q[-1, -1] *= 0.01; r has no velocity (zero noise keeps it zero)
XYSR_Q_POS = np.array([1.0, 1.0, 1.0, 1.0])
XYSR_Q_VEL = np.array([0.01, 0.01, 0.0001, 0.0])


def xysr_initiate(z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(x (n, 7), cov (n, 3, 4)) of new tracks at measurements `z (n, 4)`: P = diag(10 x4, 1e4 x3)."""
    n = len(z)
    x = np.zeros((n, 7))
    x[:, :4] = z
    cov = np.zeros((n, 3, 4))
    cov[:, 0] = 10.0
    cov[:, 2, :3] = 10000.0
    return x, cov


def xysr_predict(x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """filterpy's predict: x = F x; P = F P F' + Q."""
    out = x.copy()
    out[:, :3] += x[:, 4:]
    p00, p01, p11 = cov[:, 0], cov[:, 1], cov[:, 2]
    new = np.empty_like(cov)
    new[:, 0] = (p00 + p01) + (p01 + p11) + XYSR_Q_POS
    new[:, 1] = p01 + p11
    new[:, 2] = p11 + XYSR_Q_VEL
    return out, new


def xysr_update(x: np.ndarray, cov: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """filterpy's update with the Joseph form P = (I-KH) P (I-KH)' + K R K'."""
    p00, p01, p11 = cov[:, 0], cov[:, 1], cov[:, 2]
    si = 1.0 / (p00 + XYSR_R)  # S^-1, diagonal
    k0 = p00 * si
    k1 = p01 * si
    y = z - x[:, :4]
    out = x.copy()
    out[:, :4] += k0 * y
    out[:, 4:] += (k1 * y)[:, :3]
    a = 1.0 - k0  # I - KH: rows (a, 0) for the coordinate, (-k1, 1) for its velocity
    b = -k1
    ap00 = a * p00
    kr0 = k0 * XYSR_R
    kr1 = k1 * XYSR_R
    new = np.empty_like(cov)
    new[:, 0] = ap00 * a + kr0 * k0
    new[:, 1] = (ap00 * b + a * p01) + kr0 * k1
    new[:, 2] = ((b * p00 + p01) * b + (b * p01 + p11)) + kr1 * k1
    return out, new


def xysr_to_tlbr(x: np.ndarray) -> np.ndarray:
    """(n, 4) boxes of states (convert_x_to_bbox): w = sqrt(s r), h = s / w; NaN where s r < 0."""
    with np.errstate(invalid="ignore", divide="ignore"):
        w = np.sqrt(x[:, 2] * x[:, 3])
        h = x[:, 2] / w
    out = np.empty((len(x), 4))
    out[:, 0] = x[:, 0] - w / 2.0
    out[:, 1] = x[:, 1] - h / 2.0
    out[:, 2] = x[:, 0] + w / 2.0
    out[:, 3] = x[:, 1] + h / 2.0
    return out


def tlbr_to_xysr(boxes: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """(n, 4) measurements (cx, cy, s, r) of boxes (convert_bbox_to_z); OC-SORT adds eps=1e-6 to h."""
    w = boxes[:, 2] - boxes[:, 0]
    h = boxes[:, 3] - boxes[:, 1]
    out = np.empty((len(boxes), 4))
    out[:, 0] = boxes[:, 0] + w / 2.0
    out[:, 1] = boxes[:, 1] + h / 2.0
    out[:, 2] = w * h
    out[:, 3] = w / (h + eps)
    return out
