"""DeepSORT (Wojke et al. ICIP 2017): SORT with appearance, a matching cascade and Mahalanobis gating.

Follows the official `deep_sort_app.py` and `deep_sort/` (tracker, track, linear_assignment,
nn_matching, iou_matching), with the track filters in arrays. The appearance of a detection is its
box feature in the stream (`features`, flattened); a track's appearance is its gallery of the
features of the detections it was matched to.

- detections with s >= min_confidence and height >= min_detection_height, then non-maximum
  suppression at nms_max_overlap (1.0: none), taken in descending score order;
- predict every track;
- matching cascade: confirmed tracks by frames since their last match (1, 2, ... max_age), each
  level against the detections left, cost = smallest cosine distance to the track's gallery, gated
  by the squared Mahalanobis distance of the box (chi-square 0.95 with 4 dof) and by
  max_cosine_distance;
- IoU matching (1 - IoU <= max_iou_distance) of unconfirmed tracks and of confirmed tracks missed
  only this frame against the detections left;
- matched tracks take the detection and its feature; tentative tracks are confirmed after n_init
  matches and die at their first miss; confirmed tracks die after max_age misses; a new tentative
  track for every detection left;
- output (the app's rule): confirmed tracks matched this frame or the frame before, box = Kalman state.

A track shown on the frame after its last match has no detection this frame: its row has det_index
-1, the Kalman box, and the score and features of the detection it was matched to the frame before.

Galleries: with nn_budget N a track keeps its last N features (the official budget); with nn_budget
none (the official app's default) every feature is kept, so a track's gallery grows with its length,
exactly as in the official code.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smot.errors import InputError
from smot.records import Frame
from smot.trackers.base import Slots, Step, Tracker, check_at_least
from smot.trackers.kalman import (
    CHI2INV95_4,
    tlbr_to_xyah,
    xyah_gating_distance,
    xyah_initiate,
    xyah_predict,
    xyah_to_tlbr,
    xyah_update,
)
from smot.trackers.matching import lapjv_full, unmatched

TENTATIVE, CONFIRMED = 1, 2
INFTY_COST = 1e5


@dataclass(frozen=True)
class DeepSortParams:
    min_confidence: float = field(default=0.3, metadata={"doc": "detections with s >= min_confidence are tracked"})
    min_detection_height: float = field(default=0.0, metadata={
        "doc": "detections lower than this (pixels) are ignored"})
    nms_max_overlap: float = field(default=1.0, metadata={"doc": (
        "non-maximum suppression: drop detections overlapping a higher-scored one by more than this (1.0: off)")})
    max_cosine_distance: float = field(default=0.2, metadata={"doc": "largest appearance (cosine) distance of a match"})
    nn_budget: int | None = field(default=100, metadata={"doc": (
        "features kept per track (the last N); none keeps all")})
    max_iou_distance: float = field(default=0.7, metadata={"doc": "largest 1 - IoU of an IoU match"})
    max_age: int = field(default=30, metadata={"doc": "misses after which a confirmed track is deleted"})
    n_init: int = field(default=3, metadata={"doc": "matches before a track is confirmed"})

    def __post_init__(self) -> None:
        check_at_least(self, 0, "max_age", "n_init")
        check_at_least(self, 1, "nn_budget")


def non_max_suppression(tlwh: np.ndarray, max_overlap: float, scores: np.ndarray) -> np.ndarray:
    """Indices kept by the official `preprocessing.non_max_suppression`, highest score first."""
    idxs = np.argsort(scores)
    if max_overlap >= 1.0:  # an overlap (intersection / area of the other box) never exceeds 1
        return idxs[::-1].copy()
    x1, y1 = tlwh[:, 0], tlwh[:, 1]
    x2, y2 = tlwh[:, 2] + tlwh[:, 0], tlwh[:, 3] + tlwh[:, 1]
    area = (x2 - x1 + 1) * (y2 - y1 + 1)
    pick = []
    while len(idxs):
        last = len(idxs) - 1
        i = idxs[last]
        pick.append(i)
        rest = idxs[:last]
        w = np.maximum(0, np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + 1)
        h = np.maximum(0, np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + 1)
        overlap = (w * h) / area[rest]
        idxs = np.delete(idxs, np.concatenate(([last], np.flatnonzero(overlap > max_overlap))))
    return np.array(pick, dtype=np.int64)


def iou_tlwh(tracks: np.ndarray, dets: np.ndarray) -> np.ndarray:
    """(n_tracks, n_dets) IoU of top-left, width, height boxes (`iou_matching.iou`)."""
    t_tl, t_br = tracks[:, None, :2], tracks[:, None, :2] + tracks[:, None, 2:]
    d_tl, d_br = dets[None, :, :2], dets[None, :, :2] + dets[None, :, 2:]
    wh = np.maximum(0.0, np.minimum(t_br, d_br) - np.maximum(t_tl, d_tl))
    inter = wh[..., 0] * wh[..., 1]
    area_t = tracks[:, None, 2] * tracks[:, None, 3]
    area_d = dets[None, :, 2] * dets[None, :, 3]
    return inter / (area_t + area_d - inter)


def normalize(features: np.ndarray) -> np.ndarray:
    """Rows scaled to unit length in float32, as the official cosine distance does."""
    features = features.astype(np.float32, copy=False)
    return features / np.linalg.norm(features, axis=1, keepdims=True)


class RingGallery:
    """The last `budget` features of each track, in one (slots, budget, dim) array.

    A gallery not yet full repeats its first feature in the unused rows, which leaves every
    nearest-neighbour distance as it is.
    """

    def __init__(self, budget: int):
        self.budget = budget
        self.data: np.ndarray | None = None
        self.pos = np.zeros(0, np.int64)

    def _fit(self, capacity: int, dim: int) -> None:
        if self.data is None or self.data.shape[2] != dim:
            self.data = np.zeros((capacity, self.budget, dim), np.float32)
            self.pos = np.zeros(capacity, np.int64)
        elif capacity > len(self.data):
            data = np.zeros((capacity, self.budget, dim), np.float32)
            data[: len(self.data)] = self.data
            pos = np.zeros(capacity, np.int64)
            pos[: len(self.pos)] = self.pos
            self.data, self.pos = data, pos

    def start(self, slots: np.ndarray, features: np.ndarray, capacity: int) -> None:
        """New galleries holding one feature each."""
        self._fit(capacity, features.shape[1])
        self.data[slots] = features[:, None, :]
        self.pos[slots] = 1 % self.budget

    def add(self, slots: np.ndarray, features: np.ndarray) -> None:
        """One feature for each of distinct `slots`."""
        if not len(slots):
            return
        pos = self.pos[slots]
        self.data[slots, pos] = features
        self.pos[slots] = (pos + 1) % self.budget

    def drop(self, slots: np.ndarray) -> None:
        pass

    def similarity(self, slots: np.ndarray, features: np.ndarray) -> np.ndarray:
        """(len(slots), n) largest dot product of each detection feature with each gallery."""
        gallery = self.data[slots]  # (T, B, D)
        dots = gallery.reshape(-1, gallery.shape[2]) @ features.T  # (T * B, N)
        return dots.reshape(len(slots), self.budget, -1).max(axis=1)


class GrowingGallery:
    """Every feature of each track (nn_budget none), one growing array per track."""

    def __init__(self):
        self.data: dict[int, np.ndarray] = {}
        self.count: dict[int, int] = {}

    def start(self, slots: np.ndarray, features: np.ndarray, capacity: int) -> None:
        for slot, feature in zip(slots.tolist(), features, strict=True):
            self.data[slot] = np.empty((8, len(feature)), np.float32)
            self.data[slot][0] = feature
            self.count[slot] = 1

    def add(self, slots: np.ndarray, features: np.ndarray) -> None:
        for slot, feature in zip(slots.tolist(), features, strict=True):
            n = self.count[slot]
            if n == len(self.data[slot]):
                grown = np.empty((2 * n, self.data[slot].shape[1]), np.float32)
                grown[:n] = self.data[slot]
                self.data[slot] = grown
            self.data[slot][n] = feature
            self.count[slot] = n + 1

    def drop(self, slots: np.ndarray) -> None:
        for slot in slots.tolist():
            self.data.pop(slot, None)
            self.count.pop(slot, None)

    def similarity(self, slots: np.ndarray, features: np.ndarray) -> np.ndarray:
        out = np.empty((len(slots), len(features)), np.float32)
        for i, slot in enumerate(slots.tolist()):
            out[i] = (self.data[slot][: self.count[slot]] @ features.T).max(axis=0)
        return out


class DeepSortTracker(Tracker):
    name = "deepsort"
    Params = DeepSortParams

    def _reset(self) -> None:
        self.tracks = Slots({
            "mean": ((4,), np.float64, (2,)), "cov": ((4,), np.float64, (3,)), "track_id": ((), np.int64),
            "state": ((), np.int8), "hits": ((), np.int64), "time_since_update": ((), np.int64),
            "det_row": ((), np.int64),
        })
        self.order = np.zeros(0, np.int64)  # slots in the order of the official tracks list
        nn_budget = self.params.nn_budget
        self.gallery = GrowingGallery() if nn_budget is None else RingGallery(nn_budget)
        self.pending: dict[int, list[np.ndarray]] = {}  # features of tentative tracks
        self._dim: int | None = None  # length of a (flattened) box feature in this video

    def _detections(self, frame: Frame) -> tuple[np.ndarray, np.ndarray]:
        """(rows, normalized features) of the detections the tracker takes, in its order."""
        p = self.params
        boxes, scores = frame.boxes, frame.scores
        tlwh = boxes.copy()
        tlwh[:, 2:] -= boxes[:, :2]
        keep = (tlwh[:, 2] > 0) & (tlwh[:, 3] > 0) & (tlwh[:, 3] >= p.min_detection_height) & \
            (scores >= p.min_confidence)
        rows = np.flatnonzero(keep)
        rows = rows[non_max_suppression(tlwh[rows], p.nms_max_overlap, scores[rows])]
        if not len(rows):
            return rows, np.zeros((0, 0), np.float32)
        if frame.features is None:
            raise InputError("deepsort needs a feature per detection box; this frame has none",
                             f"video {frame.video!r}, frame {frame.frame}",
                             hint="use detections with box features (smot detect), or --algorithm byte")
        features = frame.features[rows].reshape(len(rows), -1)
        if self._dim is None:
            self._dim = features.shape[1]
        elif features.shape[1] != self._dim:
            raise InputError(f"box features have {features.shape[1]} values here, {self._dim} in earlier frames",
                             f"video {frame.video!r}, frame {frame.frame}",
                             hint="every box feature of a video must have the same shape")
        return rows, normalize(features)

    def _step(self, frame: Frame) -> Step:
        p, s = self.params, self.tracks
        rows, features = self._detections(frame)
        det_tlwh = frame.boxes[rows].copy()
        det_tlwh[:, 2:] -= frame.boxes[rows, :2]
        n_det = len(rows)

        # predict every track
        order = self.order
        if len(order):
            mean, cov = xyah_predict(s.mean.take(order, axis=1), s.cov.take(order, axis=1))
            s.mean[:, order], s.cov[:, order] = mean, cov
            s.time_since_update[order] += 1
        s.time_since_update[order]
        confirmed = order[s.state[order] == CONFIRMED]
        unconfirmed = order[s.state[order] != CONFIRMED]

        # matching cascade: confirmed tracks, most recently matched first, by appearance
        matched_slots, matched_dets = [], []
        left = np.arange(n_det)
        max_cost = p.max_cosine_distance + 1e-5
        if len(confirmed) and n_det:
            xyah = tlbr_to_xyah(frame.boxes[rows])
            # the official distance is 1 - dot in float32, the minimum over the gallery
            cost = (1.0 - self.gallery.similarity(confirmed, features)).astype(np.float64)
            mean, cov = s.mean.take(confirmed, axis=1), s.cov.take(confirmed, axis=1)
            gate = xyah_gating_distance(mean, cov, xyah) > CHI2INV95_4
            cost[gate] = INFTY_COST
            cost[cost > p.max_cosine_distance] = max_cost
            confirmed_tsu = s.time_since_update[confirmed]
            for level in np.unique(confirmed_tsu[confirmed_tsu <= p.max_age]):
                if not len(left):
                    break
                at_level = np.flatnonzero(confirmed_tsu == level)
                sub = cost[at_level][:, left]
                r, c = lapjv_full(sub)  # linear_sum_assignment's problem
                keep = sub[r, c] <= p.max_cosine_distance
                r, c = r[keep], c[keep]
                matched_slots.append(confirmed[at_level[r]])
                matched_dets.append(left[c])
                left = left[unmatched(len(left), c)]
        cascade_matched = np.concatenate(matched_slots) if matched_slots else np.zeros(0, np.int64)

        # IoU matching: unconfirmed tracks and confirmed tracks missed only this frame
        missed = np.setdiff1d(confirmed, cascade_matched)
        candidates = np.concatenate([unconfirmed, missed[s.time_since_update[missed] == 1]])
        if len(candidates) and len(left):
            tracks_tlwh = xyah_to_tlbr(s.mean.take(candidates, axis=1))
            tracks_tlwh[:, 2:] -= tracks_tlwh[:, :2]
            cost = 1.0 - iou_tlwh(tracks_tlwh, det_tlwh[left])
            cost[s.time_since_update[candidates] > 1] = INFTY_COST
            cost[cost > p.max_iou_distance] = p.max_iou_distance + 1e-5
            r, c = lapjv_full(cost)
            keep = cost[r, c] <= p.max_iou_distance
            r, c = r[keep], c[keep]
            matched_slots.append(candidates[r])
            matched_dets.append(left[c])
            left = left[unmatched(len(left), c)]

        # update matched tracks
        matched = np.concatenate(matched_slots) if matched_slots else np.zeros(0, np.int64)
        positions = np.concatenate(matched_dets) if matched_dets else np.zeros(0, np.int64)
        if len(matched):
            mean, cov = s.mean.take(matched, axis=1), s.cov.take(matched, axis=1)
            xyah_update(mean, cov, tlbr_to_xyah(frame.boxes[rows[positions]]))
            s.mean[:, matched], s.cov[:, matched] = mean, cov
            s.hits[matched] += 1
            s.time_since_update[matched] = 0
            s.det_row[matched] = rows[positions]
            was_confirmed = s.state[matched] == CONFIRMED
            s.state[matched[~was_confirmed & (s.hits[matched] >= p.n_init)]] = CONFIRMED
        else:
            was_confirmed = np.zeros(0, bool)

        # unmatched tracks: tentative ones die, confirmed ones after max_age misses
        is_matched = np.zeros(s.capacity, dtype=bool)
        is_matched[matched] = True
        missed = order[~is_matched[order]]
        dead = missed[(s.state[missed] == TENTATIVE) | (s.time_since_update[missed] > p.max_age)]

        # a new tentative track for every detection left
        born = s.take(len(left))
        if len(born):
            s.mean[:, born], s.cov[:, born] = xyah_initiate(tlbr_to_xyah(frame.boxes[rows[left]]))
            s.track_id[born] = self._new_ids(len(born))
            s.state[born] = TENTATIVE
            s.hits[born] = 1
            s.time_since_update[born] = 0
            s.det_row[born] = rows[left]
        is_dead = np.zeros(s.capacity, dtype=bool)
        is_dead[dead] = True
        order = np.concatenate([order[~is_dead[order]], born])

        # galleries: features of confirmed tracks join their gallery; tentative ones wait
        self._store_features(matched, positions, was_confirmed, born, left, features, s.capacity)
        for slot in dead.tolist():
            self.pending.pop(slot, None)
        self.gallery.drop(dead)
        s.release(dead)
        self.order = order

        # output: confirmed tracks matched this frame or the frame before
        out = order[(s.state[order] == CONFIRMED) & (s.time_since_update[order] <= 1)]
        det_rows = np.where(s.time_since_update[out] == 0, s.det_row[out], -1)
        boxes = xyah_to_tlbr(s.mean.take(out, axis=1))
        return Step(ids=s.track_id[out], det_rows=det_rows, filter_boxes=boxes,
                    previous_rows=s.det_row[out])

    def _store_features(self, matched, positions, was_confirmed, born, left, features, capacity) -> None:
        """The official `partial_fit`: a confirmed track's new feature joins its gallery; a tentative
        track keeps its features until it is confirmed, then all of them join."""
        s = self.tracks
        if len(matched):
            self.gallery.add(matched[was_confirmed], features[positions[was_confirmed]])
            for slot, pos in zip(matched[~was_confirmed].tolist(), positions[~was_confirmed].tolist(), strict=True):
                self.pending[slot].append(features[pos])
                if s.state[slot] == CONFIRMED:
                    waiting = self.pending.pop(slot)
                    self.gallery.start(np.array([slot]), waiting[0][None], capacity)
                    for feature in waiting[1:]:
                        self.gallery.add(np.array([slot]), feature[None])
        for slot, pos in zip(born.tolist(), left.tolist(), strict=True):
            self.pending[slot] = [features[pos]]
