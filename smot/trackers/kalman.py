"""The Kalman filters of the trackers, batched over tracks.

Two constant-velocity box filters, each on a batch of n tracks at once:

- `xyah`: ByteTrack's and DeepSORT's 8-D filter on (cx, cy, a = w/h, h) and their velocities, with
  noise proportional to the box height (weights 1/20 for positions, 1/160 for velocities).
- `xysr`: SORT's and OC-SORT's 7-D filter (filterpy) on (cx, cy, s = area, r = w/h) and the
  velocities of cx, cy and s, with constant noise.

In both, every covariance ever formed is block-diagonal: each measured coordinate is correlated
only with its own velocity (F couples a coordinate with its velocity; the initial covariance, Q and R
are diagonal; H selects the coordinates). So the filter is four independent 2-state filters. The
state is stored component-major, so that every operation runs on contiguous (n, 4) blocks:

- `mean (2, n, 4)`: `mean[0]` the four coordinates, `mean[1]` their velocities;
- `cov (3, n, 4)`: `cov[0]` the coordinate variances, `cov[1]` the coordinate-velocity covariances,
  `cov[2]` the velocity variances.

SORT's aspect ratio r has no velocity: its velocity, velocity variance and covariance are zero and
stay zero. The predict and update steps work in place and return their arguments.

The arithmetic is the official code's with the zero terms of its 8x8 (7x7) matrix products left out,
in the same order where a sum has more than one term, so results agree with the official filters
to the last few bits (tests compare them with the full matrices).
"""

from __future__ import annotations

import numpy as np

# --------------------------------------------------------------------------------------------
# xyah: ByteTrack (yolox/tracker/kalman_filter.py) and DeepSORT (deep_sort/kalman_filter.py)

STD_WEIGHT_POSITION = 1.0 / 20
STD_WEIGHT_VELOCITY = 1.0 / 160

# the noise of x, y and h scales with h; the aspect ratio's is constant (1e-2, 1e-5, 1e-1 std)
_SCALES = np.array([1.0, 1.0, 0.0, 1.0])
_POSITION = STD_WEIGHT_POSITION * _SCALES
_VELOCITY = STD_WEIGHT_VELOCITY * _SCALES

# 0.95 quantile of the chi-square distribution with 4 degrees of freedom: DeepSORT's gate on the
# squared Mahalanobis distance of a detection (x, y, a, h) from a track's predicted box.
CHI2INV95_4 = 9.4877


def xyah_initiate(xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(mean (2, n, 4), cov (3, n, 4)) of new tracks at the measured boxes `xyah (n, 4)`, at rest."""
    n = len(xyah)
    mean = np.zeros((2, n, 4))
    mean[0] = xyah
    h = xyah[:, 3:4]
    cov = np.zeros((3, n, 4))
    cov[0] = np.square(h * (2 * _POSITION))  # 2 * (1/20) * h, as the official code multiplies
    cov[0, :, 2] = np.square(1e-2)
    cov[2] = np.square(h * (10 * _VELOCITY))
    cov[2, :, 2] = np.square(1e-5)
    return mean, cov


def xyah_predict(mean: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """One step ahead, in place: x += v; P = F P F' + Q with Q scaled by the height before the step."""
    h = mean[0, :, 3:4]
    q_position = np.square(h * _POSITION)
    q_velocity = np.square(h * _VELOCITY)
    mean[0] += mean[1]
    p00, p01, p11 = cov
    cross = p01 + p11
    p00 += p01
    p00 += cross
    p00 += q_position
    p00[:, 2] += np.square(1e-2)
    p01[:] = cross
    p11 += q_velocity
    p11[:, 2] += np.square(1e-5)
    return mean, cov


def xyah_innovation_variance(mean: np.ndarray, cov: np.ndarray) -> np.ndarray:
    """(n, 4) variances of the projected measurement (H P H' + R); R scales with the height."""
    s = cov[0] + np.square(mean[0, :, 3:4] * _POSITION)
    s[:, 2] += np.square(1e-1)
    return s


def xyah_update(mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Correct predicted states with measured boxes `xyah (n, 4)`, in place: K = P H' S^-1,
    P -= K S K'."""
    s = xyah_innovation_variance(mean, cov)
    p00, p01, p11 = cov
    k0 = p00 / s  # gain of the coordinate
    k1 = p01 / s  # gain of its velocity
    innovation = xyah - mean[0]
    mean[0] += innovation * k0
    mean[1] += innovation * k1
    ks0 = k0 * s
    p11 -= (k1 * s) * k1
    p01 -= ks0 * k1
    p00 -= ks0 * k0
    return mean, cov


def xyah_gating_distance(mean: np.ndarray, cov: np.ndarray, xyah: np.ndarray) -> np.ndarray:
    """(n_tracks, n_dets) squared Mahalanobis distances of measured boxes from predicted ones."""
    s = xyah_innovation_variance(mean, cov)  # (T, 4)
    z = (xyah[None, :, :] - mean[0][:, None, :]) / np.sqrt(s)[:, None, :]  # (T, N, 4)
    z = z * z
    return ((z[..., 0] + z[..., 1]) + z[..., 2]) + z[..., 3]


def xyah_to_tlbr(mean: np.ndarray) -> np.ndarray:
    """(n, 4) boxes x1, y1, x2, y2 of states, as the official `tlbr` property computes them."""
    c = mean[0]
    wh = np.empty((len(c), 2))
    np.multiply(c[:, 2], c[:, 3], out=wh[:, 0])
    wh[:, 1] = c[:, 3]
    top_left = c[:, :2] - wh / 2
    return np.concatenate([top_left, wh + top_left], axis=1)


def tlwh_to_xyah(tlwh: np.ndarray) -> np.ndarray:
    """(n, 4) measurements (cx, cy, w/h, h) of boxes given as top-left x, y, width, height."""
    out = np.empty((len(tlwh), 4))
    out[:, :2] = tlwh[:, :2] + tlwh[:, 2:] / 2
    np.divide(tlwh[:, 2], tlwh[:, 3], out=out[:, 2])
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
    """(x (2, n, 4), cov (3, n, 4)) of new tracks at measurements `z (n, 4)`: P = diag(10 x4, 1e4 x3)."""
    n = len(z)
    x = np.zeros((2, n, 4))
    x[0] = z
    cov = np.zeros((3, n, 4))
    cov[0] = 10.0
    cov[2, :, :3] = 10000.0
    return x, cov


def xysr_predict(x: np.ndarray, cov: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """filterpy's predict, in place: x = F x; P = F P F' + Q."""
    x[0] += x[1]  # r's velocity is 0
    p00, p01, p11 = cov
    cross = p01 + p11
    p00 += p01
    p00 += cross
    p00 += XYSR_Q_POS
    p01[:] = cross
    p11 += XYSR_Q_VEL
    return x, cov


def xysr_update(x: np.ndarray, cov: np.ndarray, z: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """filterpy's update, in place. Its Joseph form (I-KH) P (I-KH)' + K R K' equals (I-KH) P for
    the optimal gain K, which takes half the operations; the two differ by rounding only (1e-16
    relative)."""
    p00, p01, p11 = cov
    s = p00 + XYSR_R
    k0 = p00 / s  # gain of the coordinate
    k1 = p01 / s  # gain of its velocity (0 for r)
    y = z - x[0]
    x[0] += k0 * y
    x[1] += k1 * y
    p11 -= k1 * p01
    k0 = 1.0 - k0
    p01 *= k0
    p00 *= k0
    return x, cov


def xysr_to_tlbr(x: np.ndarray) -> np.ndarray:
    """(n, 4) boxes of states (convert_x_to_bbox): w = sqrt(s r), h = s / w; NaN where s r < 0."""
    c = x[0]
    half = np.empty((len(c), 2))
    with np.errstate(invalid="ignore", divide="ignore"):
        np.sqrt(c[:, 2] * c[:, 3], out=half[:, 0])
        np.divide(c[:, 2], half[:, 0], out=half[:, 1])
    half /= 2.0
    return np.concatenate([c[:, :2] - half, c[:, :2] + half], axis=1)


def tlbr_to_xysr(boxes: np.ndarray, eps: float = 0.0) -> np.ndarray:
    """(n, 4) measurements (cx, cy, s, r) of boxes (convert_bbox_to_z); OC-SORT adds eps=1e-6 to h."""
    wh = boxes[:, 2:] - boxes[:, :2]
    out = np.empty((len(boxes), 4))
    out[:, :2] = boxes[:, :2] + wh / 2.0
    np.multiply(wh[:, 0], wh[:, 1], out=out[:, 2])
    np.divide(wh[:, 0], wh[:, 1] + eps, out=out[:, 3])
    return out
