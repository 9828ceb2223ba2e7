"""SORT (Bewley et al. ICIP 2016): Kalman prediction and Hungarian IoU matching.

Follows the official `sort.py` (`Sort.update`), with every track's filter in one array:

- predict every track (the area velocity is zeroed first when it would make the area <= 0); a track
  whose predicted box is not finite is deleted;
- match detections to predicted boxes by IoU: when no detection and no track has two IoUs above
  iou_threshold those pairs are the matches, else the assignment maximising the summed IoU, from
  which pairs with IoU < iou_threshold are dropped;
- update matched tracks; every unmatched detection starts a track;
- output tracks updated this frame with hit_streak >= min_hits (or within the first min_hits
  frames), box = Kalman state; delete tracks unmatched for more than max_age frames.

The official tracker takes detections already filtered by score; `det_thresh` (not in the official
code) keeps detections with s > det_thresh. Detections with zero width or height are ignored.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smot.records import Frame
from smot.trackers.base import Slots, Step, Tracker, check_at_least
from smot.trackers.kalman import tlbr_to_xysr, xysr_initiate, xysr_predict, xysr_to_tlbr, xysr_update
from smot.trackers.matching import iou, lapjv_full, unmatched


@dataclass(frozen=True)
class SortParams:
    max_age: int = field(default=1, metadata={"doc": "frames a track survives without a detection"})
    min_hits: int = field(default=3, metadata={"doc": (
        "consecutive matches before a track is output (all tracks are output in the first min_hits frames)")})
    iou_threshold: float = field(default=0.3, metadata={"doc": "minimum IoU of a match"})
    det_thresh: float = field(default=0.6, metadata={"doc": (
        "detections with s > det_thresh are tracked (not in the official code, which expects "
        "filtered detections)")})

    def __post_init__(self) -> None:
        check_at_least(self, 0, "max_age", "min_hits")


def match_iou(iou_matrix: np.ndarray, threshold: float) -> tuple[np.ndarray, np.ndarray]:
    """(det rows, track cols) matched as SORT's `associate_detections_to_trackers` (and OC-SORT's
    recovery stage) match: a one-candidate shortcut, else max summed IoU, then IoU >= threshold."""
    if min(iou_matrix.shape) == 0:
        return np.zeros(0, np.int64), np.zeros(0, np.int64)
    above = iou_matrix > threshold
    if above.sum(axis=1).max() == 1 and above.sum(axis=0).max() == 1:
        return np.nonzero(above)
    rows, cols = lapjv_full(-iou_matrix)
    keep = iou_matrix[rows, cols] >= threshold
    return rows[keep], cols[keep]


class SortTracker(Tracker):
    name = "sort"
    Params = SortParams

    def _reset(self) -> None:
        self.frame_count = 0
        self.tracks = Slots({
            "x": ((4,), np.float64, (2,)), "cov": ((4,), np.float64, (3,)), "track_id": ((), np.int64),
            "time_since_update": ((), np.int64), "hit_streak": ((), np.int64), "det_row": ((), np.int64),
        })
        self.order = np.zeros(0, np.int64)  # slots in the order of the official trackers list

    def _step(self, frame: Frame) -> Step:
        p, s = self.params, self.tracks
        self.frame_count += 1
        boxes = frame.boxes
        usable = (boxes[:, 2] > boxes[:, 0]) & (boxes[:, 3] > boxes[:, 1])
        dets = np.flatnonzero(usable & (frame.scores > p.det_thresh))

        # predict every track; tracks with a non-finite predicted box are deleted
        order, predicted = predict_tracks(s, self.order)

        # associate detections to predicted boxes
        rows, cols = match_iou(iou(boxes[dets], predicted), p.iou_threshold)
        matched = order[cols]
        if len(matched):
            x, cov = s.x.take(matched, axis=1), s.cov.take(matched, axis=1)
            xysr_update(x, cov, tlbr_to_xysr(boxes[dets[rows]]))
            s.x[:, matched], s.cov[:, matched] = x, cov
            s.time_since_update[matched] = 0
            s.hit_streak[matched] += 1
            s.det_row[matched] = dets[rows]

        # a new track for every unmatched detection
        fresh = dets[unmatched(len(dets), rows)]
        born = s.take(len(fresh))
        if len(born):
            s.x[:, born], s.cov[:, born] = xysr_initiate(tlbr_to_xysr(boxes[fresh]))
            s.track_id[born] = self._new_ids(len(born))
            s.time_since_update[born] = 0
            s.hit_streak[born] = 0
            s.det_row[born] = fresh
        order = np.concatenate([order, born])

        # output, in the official (reversed) order, then delete tracks unmatched too long
        shown = order[::-1]
        tsu = s.time_since_update[shown]
        visible = (tsu < 1) & ((s.hit_streak[shown] >= p.min_hits) | (self.frame_count <= p.min_hits))
        out = shown[visible]
        dead = s.time_since_update[order] > p.max_age
        s.release(order[dead])
        self.order = order[~dead]
        boxes = xysr_to_tlbr(s.x.take(out, axis=1)) if self.box == "filter" else None
        return Step(ids=s.track_id[out], det_rows=s.det_row[out], filter_boxes=boxes)


def predict_tracks(s: Slots, order: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """The Kalman prediction of SORT and OC-SORT for the tracks in `order` (slots of `s`, which
    has x, cov, time_since_update and hit_streak): state advanced in place, the hit streak of a
    track that missed its last frame reset, and tracks whose predicted box is not finite released.
    Returns (the remaining slots in order, their predicted boxes (n, 4) tlbr)."""
    if not len(order):
        return order, np.zeros((0, 4))
    x, cov = s.x.take(order, axis=1), s.cov.take(order, axis=1)
    x[1, x[1, :, 2] + x[0, :, 2] <= 0, 2] *= 0.0  # the area must not shrink below 0
    xysr_predict(x, cov)
    s.x[:, order], s.cov[:, order] = x, cov
    tsu = s.time_since_update[order]
    s.hit_streak[order[tsu > 0]] = 0
    s.time_since_update[order] = tsu + 1
    predicted = xysr_to_tlbr(x)
    if not np.isfinite(predicted.sum()):
        finite = np.isfinite(predicted).all(axis=1)
        s.release(order[~finite])
        order, predicted = order[finite], predicted[finite]
    return order, predicted
