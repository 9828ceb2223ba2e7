"""OC-SORT (Cao et al. CVPR 2023): observation-centric SORT.

Follows the official `trackers/ocsort_tracker/ocsort.py` (`OCSort.update`) with every track's state in
arrays:

- detections with s > det_thresh (and 0.1 < s < det_thresh for the optional BYTE stage);
- predict every track as SORT does; a track with a non-finite predicted box is deleted;
- first association (OCM): cost -(IoU + inertia x VDC x score), where VDC compares the track's motion
  direction (observations delta_t apart) with the direction from its observation delta_t frames ago to
  the detection; SORT's one-candidate shortcut; pairs with IoU < iou_threshold dropped;
- optionally (use_byte) left tracks against low detections by IoU;
- OCR: left detections against the last observed boxes of left tracks, by IoU;
- ORU: a track found again after a gap re-runs its filter from where it was lost along a straight
  virtual path to the new observation, then takes the observation;
- a new track for each detection left; output tracks updated this frame with hit_streak >= min_hits
  (or within the first min_hits frames), box = the last observation; delete after max_age misses.

Quirks of the official code kept for parity: the detection that starts a track is not an observation
(its first box output comes from the filter); a track's observation counts as missing when the sum of
its x1, y1, x2, y2 and score is negative (boxes far into negative coordinates). Only asso_func "iou"
is implemented. Detections with zero width or height are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smot.records import Frame
from smot.trackers.base import Slots, Step, Tracker, check_at_least
from smot.trackers.kalman import tlbr_to_xysr, xysr_initiate, xysr_predict, xysr_to_tlbr, xysr_update
from smot.trackers.matching import iou, lapjv_full, unmatched
from smot.trackers.sort import predict_tracks

LOW_SCORE = 0.1  # the BYTE stage takes LOW_SCORE < s < det_thresh
NO_OBSERVATION = np.array([-1.0, -1.0, -1.0, -1.0, -1.0])  # the official placeholder box
NO_AGE = np.iinfo(np.int64).min // 2  # ring entries not filled yet
NO_PICK = np.iinfo(np.int64).max


@dataclass(frozen=True)
class OcSortParams:
    det_thresh: float = field(default=0.6, metadata={"doc": "detections with s > det_thresh are tracked"})
    max_age: int = field(default=30, metadata={"doc": "frames a track survives without a detection"})
    min_hits: int = field(default=3, metadata={"doc": (
        "consecutive matches before a track is output (all tracks are output in the first min_hits frames)")})
    iou_threshold: float = field(default=0.3, metadata={"doc": "minimum IoU of a match"})
    delta_t: int = field(default=3, metadata={"doc": "frames between the observations that give a track's direction"})
    asso_func: str = field(default="iou", metadata={"doc": "association overlap (only iou is implemented)"})
    inertia: float = field(default=0.2, metadata={"doc": "weight of the direction-consistency (VDC) cost"})
    use_byte: bool = field(default=False, metadata={"doc": (
        "also match left tracks to low detections (0.1 < s < det_thresh) by IoU")})

    def __post_init__(self) -> None:
        check_at_least(self, 0, "max_age", "min_hits", "delta_t")
        if self.asso_func != "iou":
            raise ValueError(f"asso_func {self.asso_func!r} is not implemented; only iou is")


def _sum5(boxes: np.ndarray) -> np.ndarray:
    """x1 + y1 + x2 + y2 + score summed left to right, as numpy sums a 5-vector."""
    return (((boxes[:, 0] + boxes[:, 1]) + boxes[:, 2]) + boxes[:, 3]) + boxes[:, 4]


def _centres(boxes: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    return (boxes[:, 0] + boxes[:, 2]) / 2.0, (boxes[:, 1] + boxes[:, 3]) / 2.0


def speed_direction(previous: np.ndarray, boxes: np.ndarray) -> np.ndarray:
    """(n, 2) unit (dy, dx) from the centre of each previous box to the centre of its box."""
    # centres as (cy, cx): columns (y1, x1) plus (y2, x2), halved
    d = (boxes[:, 1::-1] + boxes[:, 3:1:-1]) / 2.0
    d -= (previous[:, 1::-1] + previous[:, 3:1:-1]) / 2.0
    norm = np.sqrt(np.square(d).sum(axis=1)) + 1e-6
    return d / norm[:, None]


class OcSortTracker(Tracker):
    name = "ocsort"
    Params = OcSortParams

    def _reset(self) -> None:
        self.frame_count = 0
        k = max(self.params.delta_t, 1)
        self.tracks = Slots({
            "x": ((4,), np.float64, (2,)), "cov": ((4,), np.float64, (3,)), "track_id": ((), np.int64),
            "time_since_update": ((), np.int64), "hit_streak": ((), np.int64), "age": ((), np.int64),
            "det_row": ((), np.int64), "last_obs": ((5,), np.float64), "velocity": ((2,), np.float64),
            "ring_box": ((k, 5), np.float64), "ring_age": ((k,), np.int64), "ring_pos": ((), np.int64),
            # observation-centric re-update: the filter saved when the track was lost, the misses since,
            # and the last observation (or virtual one) given to the filter, as (cx, cy, s, r)
            "observed": ((), bool), "frozen": ((), bool), "frozen_x": ((4,), np.float64, (2,)),
            "frozen_cov": ((4,), np.float64, (3,)), "misses": ((), np.int64), "last_z": ((4,), np.float64),
        })
        self.order = np.zeros(0, np.int64)

    def _previous_observations(self, slots: np.ndarray) -> np.ndarray:
        """(n, 5) the official `k_previous_obs`: the oldest observation within delta_t frames of the
        track's age, else its last observation (the placeholder when it has none)."""
        s = self.tracks
        ages = s.ring_age[slots]
        since = s.age[slots] - self.params.delta_t
        pick = np.argmin(np.where(ages >= since[:, None], ages, NO_PICK), axis=1)
        out = s.ring_box[slots, pick]
        stale = ages[np.arange(len(slots)), pick] < since  # nothing within delta_t frames
        if stale.any():
            out[stale] = s.last_obs[slots[stale]]
        return out

    def _step(self, frame: Frame) -> Step:
        p, s = self.params, self.tracks
        self.frame_count += 1
        boxes, scores = frame.boxes, frame.scores
        usable = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        high = np.flatnonzero(usable & (scores > p.det_thresh))
        low = np.flatnonzero(usable & (scores > LOW_SCORE) & (scores < p.det_thresh))
        dets = np.concatenate([boxes[high], scores[high, None]], axis=1)  # (n, 5) with the score

        # predict every track; tracks with a non-finite predicted box are deleted
        order = self.order
        s.age[order] += 1
        order, predicted = predict_tracks(s, order)
        last_boxes = s.last_obs[order]  # before this frame's observations, for OCR

        # first association: IoU plus the velocity direction consistency (OCM)
        rows, cols, left_dets, left_trks = self._associate(dets, predicted, order)
        match_pos, match_det = [cols], [high[rows]]  # positions in `order`, detection rows

        # optional BYTE stage: left tracks with low detections
        if p.use_byte and len(low) and len(left_trks):
            overlap = iou(boxes[low], predicted[left_trks])
            if overlap.max() > p.iou_threshold:
                r, c = lapjv_full(-overlap)
                keep = overlap[r, c] >= p.iou_threshold
                match_pos.append(left_trks[c[keep]])
                match_det.append(low[r[keep]])
                left_trks = np.setdiff1d(left_trks, left_trks[c[keep]])

        # OCR: left detections with the last observed boxes of left tracks
        if len(left_dets) and len(left_trks):
            overlap = iou(dets[left_dets, :4], last_boxes[left_trks, :4])
            if overlap.max() > p.iou_threshold:
                r, c = lapjv_full(-overlap)
                keep = overlap[r, c] >= p.iou_threshold
                match_pos.append(left_trks[c[keep]])
                match_det.append(high[left_dets[r[keep]]])
                left_dets = np.setdiff1d(left_dets, left_dets[r[keep]])
                left_trks = np.setdiff1d(left_trks, left_trks[c[keep]])

        positions = np.concatenate(match_pos)
        det_rows = np.concatenate(match_det)
        if len(positions):
            observations = np.concatenate([boxes[det_rows], scores[det_rows, None]], axis=1)
            self._observe(order[positions], observations, det_rows)
        self._miss(order[left_trks])

        # a new track for every detection left
        fresh = high[left_dets]
        born = s.take(len(fresh))
        if len(born):
            s.x[:, born], s.cov[:, born] = xysr_initiate(tlbr_to_xysr(boxes[fresh], eps=1e-6))
            s.track_id[born] = self._new_ids(len(born))
            for name in ("time_since_update", "hit_streak", "age", "ring_pos", "misses"):
                getattr(s, name)[born] = 0
            s.det_row[born] = fresh
            s.last_obs[born] = NO_OBSERVATION
            s.velocity[born] = 0.0
            s.ring_age[born] = NO_AGE
            s.observed[born] = False
            s.frozen[born] = False
        order = np.concatenate([order, born])

        # output, in the official (reversed) order, then delete tracks unmatched too long
        shown = order[::-1]
        visible = (s.time_since_update[shown] < 1) & (
            (s.hit_streak[shown] >= p.min_hits) | (self.frame_count <= p.min_hits))
        out = shown[visible]
        filter_boxes = None
        if self.box == "filter":
            filter_boxes = s.last_obs[out, :4].copy()
            unobserved = _sum5(s.last_obs[out]) < 0
            if unobserved.any():
                filter_boxes[unobserved] = xysr_to_tlbr(s.x.take(out[unobserved], axis=1))
        dead = s.time_since_update[order] > p.max_age
        s.release(order[dead])
        self.order = order[~dead]
        return Step(ids=s.track_id[out], det_rows=s.det_row[out], filter_boxes=filter_boxes)

    def _associate(self, dets, predicted, order):
        """The official `associate`: (det rows, track cols) matched, then the left dets and tracks
        (not-matched ascending, then the pairs dropped for low IoU)."""
        p = self.params
        n_det, n_trk = len(dets), len(predicted)
        if n_trk == 0 or n_det == 0:
            none = np.zeros(0, np.int64)
            return none, none, np.arange(n_det), np.arange(n_trk)
        overlap = iou(dets[:, :4], predicted)
        above = overlap > p.iou_threshold
        per_det, per_trk = above.sum(axis=1), above.sum(axis=0)
        if per_det.max() == 1 and per_trk.max() == 1:
            # SORT's shortcut: every pair above the threshold is a match (none is dropped after)
            rows, cols = np.nonzero(above)
            return rows, cols, np.flatnonzero(per_det == 0), np.flatnonzero(per_trk == 0)
        else:
            # direction from each track's earlier observation to each detection, (n_trk, n_det)
            previous_obs = self._previous_observations(order)
            velocities = self.tracks.velocity[order]
            cx_det, cy_det = _centres(dets)
            cx_trk, cy_trk = _centres(previous_obs)
            dx = cx_det[None, :] - cx_trk[:, None]
            dy = cy_det[None, :] - cy_trk[:, None]
            norm = np.sqrt(dx ** 2 + dy ** 2) + 1e-6
            dx, dy = dx / norm, dy / norm
            cos = velocities[:, 1:2] * dx + velocities[:, 0:1] * dy
            angle = np.arccos(np.clip(cos, -1, 1))
            angle = (np.pi / 2.0 - np.abs(angle)) / np.pi
            valid = np.where(previous_obs[:, 4] < 0, 0.0, 1.0)[:, None]
            angle_cost = ((valid * angle) * p.inertia).T * dets[:, 4:5]
            rows, cols = lapjv_full(-(overlap + angle_cost))
        low = overlap[rows, cols] < p.iou_threshold
        left_dets = np.concatenate([unmatched(n_det, rows), rows[low]])
        left_trks = np.concatenate([unmatched(n_trk, cols), cols[low]])
        return rows[~low], cols[~low], left_dets, left_trks

    def _observe(self, slots: np.ndarray, observations: np.ndarray, det_rows: np.ndarray) -> None:
        """The official `KalmanBoxTracker.update(bbox)` for matched tracks, in one batch."""
        s, k = self.tracks, max(self.params.delta_t, 1)
        # the motion direction, from the observation delta_t frames back (tracks with an observation)
        has_last = _sum5(s.last_obs[slots]) >= 0
        if has_last.any():
            moving = slots[has_last]
            s.velocity[moving] = speed_direction(self._previous_observations(moving), observations[has_last])
        s.last_obs[slots] = observations
        pos = s.ring_pos[slots]
        s.ring_box[slots, pos] = observations
        s.ring_age[slots, pos] = s.age[slots]
        s.ring_pos[slots] = (pos + 1) % k
        s.time_since_update[slots] = 0
        s.hit_streak[slots] += 1
        s.det_row[slots] = det_rows

        z = tlbr_to_xysr(observations[:, :4], eps=1e-6)
        last_z = z.copy()
        back = np.flatnonzero(s.frozen[slots] & ~s.observed[slots])
        if len(back):
            last_z[back] = self._re_update(slots[back], z[back])
        x, cov = s.x.take(slots, axis=1), s.cov.take(slots, axis=1)
        s.x[:, slots], s.cov[:, slots] = xysr_update(x, cov, z)
        s.observed[slots] = True
        s.frozen[slots] = False
        s.misses[slots] = 0
        s.last_z[slots] = last_z

    def _re_update(self, slots: np.ndarray, z: np.ndarray) -> np.ndarray:
        """ORU for tracks found again: restore the filter saved when each was lost and run it along a
        straight virtual path from its last observation to `z`, one observation per frame of the gap
        (updates with predictions between them); return the last virtual observations."""
        s = self.tracks
        gap = s.misses[slots] + 1
        order = np.argsort(-gap, kind="stable")  # longest gap first: each step works on a prefix
        slots, z, gap = slots[order], z[order], gap[order]
        x, cov = s.frozen_x.take(slots, axis=1), s.frozen_cov.take(slots, axis=1)
        # both ends as (x, y, w, h), w = sqrt(s r) and h = sqrt(s / r); steps of (end - start) / gap
        ends = np.empty((2, len(slots), 4))
        ends[0, :, :2], ends[1, :, :2] = s.last_z[slots, :2], z[:, :2]
        sr = np.stack([s.last_z[slots, 2:], z[:, 2:]])
        ends[:, :, 2] = sr[..., 0] * sr[..., 1]
        ends[:, :, 3] = sr[..., 0] / sr[..., 1]
        np.sqrt(ends[:, :, 2:], out=ends[:, :, 2:])
        delta = (ends[1] - ends[0]) / gap[:, None]
        step = np.arange(1, int(gap[0]) + 1)
        # the virtual observations (x, y, s = w h, r = w / h) of every step: (tracks, steps, 4)
        virtual = ends[0][:, None, :] + step[None, :, None] * delta[:, None, :]
        w, h = virtual[..., 2].copy(), virtual[..., 3].copy()
        virtual[..., 2] = w * h
        virtual[..., 3] = w / h
        count = np.searchsorted(-gap, -step, side="right")  # tracks whose path has step i + 1
        for i, n in enumerate(count.tolist()):
            xysr_update(x[:, :n], cov[:, :n], virtual[:n, i])  # in place on the first n tracks
            more = int(count[i + 1]) if i + 1 < len(count) else 0
            if more:
                xysr_predict(x[:, :more], cov[:, :more])
        s.x[:, slots], s.cov[:, slots] = x, cov
        out = np.empty_like(z)
        out[order] = virtual[np.arange(len(slots)), gap - 1]
        return out

    def _miss(self, slots: np.ndarray) -> None:
        """The official `update(None)`: a track that was observed saves its filter (to re-update it
        if it is found again)."""
        if not len(slots):
            return
        s = self.tracks
        saving = slots[s.observed[slots]]
        s.frozen_x[:, saving] = s.x.take(saving, axis=1)
        s.frozen_cov[:, saving] = s.cov.take(saving, axis=1)
        s.frozen[saving] = True
        s.observed[slots] = False
        s.misses[slots] += 1
