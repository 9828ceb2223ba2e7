"""BYTE (ByteTrack, Zhang et al. ECCV 2022): associate every detection box, high and low scores.

Follows the official `yolox/tracker/byte_tracker.py` step by step (the labels in `_step` are its
steps), with the track state held in arrays and each step done for all tracks at once:

- high detections s > track_thresh, low 0.1 < s < track_thresh;
- first association: activated and lost tracks (Kalman-predicted, lost ones with the height velocity
  zeroed) against high detections, cost 1 - IoU x score (IoU with the +1-pixel convention), limit
  match_thresh; a lost track that matches comes back with its id;
- second association: tracked tracks left over against low detections, 1 - IoU, limit 0.5; tracked
  tracks still left are lost;
- unconfirmed tracks (born last frame) against the high detections left, limit 0.7; misses die;
- new tracks from the high detections left with s >= track_thresh + 0.1, activated at once only on
  the first frame, otherwise at their second match (so ids are not contiguous);
- lost tracks older than int(fps / 30 * track_buffer) frames are removed; duplicates between tracked
  and lost tracks (1 - IoU < 0.15) lose the younger one;
- output: activated tracked tracks.

Differences from the official code, none of which changes an output: ids count per tracker, not in
a class-level global; a removed track is remembered only while it can still come back (the official
`removed_stracks` list grows forever and is scanned every frame); detections with zero width or
height are ignored (the official filter divides by zero on them).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smot.records import Frame
from smot.trackers.base import Slots, Step, Tracker, check_at_least
from smot.trackers.kalman import tlwh_to_xyah, xyah_initiate, xyah_predict, xyah_to_tlbr, xyah_update
from smot.trackers.matching import assign, iou_plus1, unmatched

TRACKED, LOST, REMOVED = 1, 2, 3
NEVER = np.iinfo(np.int64).max

# Fixed thresholds of the official code.
LOW_SCORE = 0.1  # low detections have LOW_SCORE < s < track_thresh
SECOND_MATCH_THRESH = 0.5  # second association (tracked vs low detections), 1 - IoU
UNCONFIRMED_MATCH_THRESH = 0.7  # unconfirmed tracks vs high detections left, fused cost
NEW_TRACK_MARGIN = 0.1  # new tracks need s >= track_thresh + 0.1
DUPLICATE_THRESH = 0.15  # tracked and lost tracks with 1 - IoU below this are duplicates


@dataclass(frozen=True)
class ByteParams:
    track_thresh: float = field(default=0.5, metadata={"doc": (
        "high-score threshold: detections with s > track_thresh enter the first association; new "
        "tracks need s >= track_thresh + 0.1")})
    track_buffer: int = field(default=30, metadata={"doc": (
        "frames a lost track is kept at 30 fps; scaled by the video's fps / 30")})
    match_thresh: float = field(default=0.9, metadata={"doc": (
        "cost limit of the first association (cost 1 - IoU x score)")})
    mot20: bool = field(default=False, metadata={"doc": (
        "true: plain 1 - IoU costs (no score fusion), as for MOT20")})

    def __post_init__(self) -> None:
        check_at_least(self, 0, "track_buffer")


def _fuse_score(cost: np.ndarray, scores: np.ndarray) -> np.ndarray:
    """1 - IoU x score, computed as the official `fuse_score` does from the IoU cost."""
    return 1 - (1 - cost) * scores[None, :]


class ByteTracker(Tracker):
    name = "byte"
    Params = ByteParams

    def _reset(self) -> None:
        self.frame_id = 0
        self.max_time_lost = int(self.fps / 30.0 * self.params.track_buffer)
        self.det_thresh = self.params.track_thresh + NEW_TRACK_MARGIN
        self.tracks = Slots({
            "mean": ((4,), np.float64, (2,)), "cov": ((4,), np.float64, (3,)), "track_id": ((), np.int64),
            "state": ((), np.int8), "activated": ((), bool), "frame_id": ((), np.int64),
            "start_frame": ((), np.int64), "det_row": ((), np.int64), "removed_at": ((), np.int64),
        })
        self.tracked = np.zeros(0, np.int64)  # slots, in the order of the official tracked_stracks
        self.lost = np.zeros(0, np.int64)  # slots, in the order of lost_stracks

    def _step(self, frame: Frame) -> Step:
        p, s = self.params, self.tracks
        self.frame_id += 1
        t = self.frame_id
        boxes, scores = frame.boxes, frame.scores
        # detections as the official STracks hold them: top-left, width, height
        tlwh = boxes.copy()
        tlwh[:, 2:] -= boxes[:, :2]
        det_tlbr = tlwh.copy()
        det_tlbr[:, 2:] += tlwh[:, :2]
        high = scores > p.track_thresh
        low = (scores > LOW_SCORE) & (scores < p.track_thresh)
        if len(tlwh) and tlwh[:, 2:].min() <= 0:  # zero-size boxes take no part
            usable = (tlwh[:, 2] > 0) & (tlwh[:, 3] > 0)
            high &= usable
            low &= usable
        high, low = np.flatnonzero(high), np.flatnonzero(low)
        none = high[:0]

        # Step 1: tracked tracks split into activated and unconfirmed; the pool is activated + lost
        tracked, lost = self.tracked, self.lost
        activated = s.activated[tracked]
        unconfirmed = tracked[~activated]
        pool = np.concatenate([tracked[activated], lost]) if len(lost) else tracked[activated]

        # Step 2: first association, pool (Kalman-predicted) with high detections
        pool_tlbr = np.zeros((0, 4))
        if len(pool):
            mean, cov = s.mean.take(pool, axis=1), s.cov.take(pool, axis=1)
            if len(lost):
                mean[1, s.state[pool] != TRACKED, 3] = 0  # lost tracks keep their height
            xyah_predict(mean, cov)
            s.mean[:, pool], s.cov[:, pool] = mean, cov
            pool_tlbr = xyah_to_tlbr(mean)
        # the IoU of every track box (pool, then unconfirmed) with every detection, once: each
        # association below reads its block (the same values three separate calls would give)
        unconfirmed_tlbr = xyah_to_tlbr(s.mean.take(unconfirmed, axis=1)) if len(unconfirmed) else pool_tlbr[:0]
        overlaps = iou_plus1(np.concatenate([pool_tlbr, unconfirmed_tlbr]), det_tlbr)
        cost = 1 - overlaps[:len(pool)][:, high]
        if not p.mot20:
            cost = _fuse_score(cost, scores[high])
        rows1, cols1 = assign(cost, p.match_thresh)
        matched1 = pool[rows1]
        refound = matched1[s.state[matched1] != TRACKED] if len(lost) else none  # back with their ids

        # Step 3: second association, tracked tracks left with low detections
        left = np.ones(len(pool), dtype=bool)
        left[rows1] = False
        if len(lost):
            left &= s.state[pool] == TRACKED
        remaining = pool[left]
        matched2 = det2 = newly_lost = none
        if len(remaining):
            newly_lost = remaining
            if len(low):
                rows2, cols2 = assign(1 - overlaps[:len(pool)][left][:, low], SECOND_MATCH_THRESH)
                matched2, det2 = remaining[rows2], low[cols2]
                newly_lost = remaining[unmatched(len(remaining), rows2)]

        # unconfirmed tracks (not predicted) with the high detections left
        rest = high[unmatched(len(high), cols1)]
        matched3 = det3 = none
        dead_unconfirmed = unconfirmed
        if len(unconfirmed) and len(rest):
            cost = 1 - overlaps[len(pool):][:, rest]
            if not p.mot20:
                cost = _fuse_score(cost, scores[rest])
            rows3, cols3 = assign(cost, UNCONFIRMED_MATCH_THRESH)
            matched3, det3 = unconfirmed[rows3], rest[cols3]
            dead_unconfirmed = unconfirmed[unmatched(len(unconfirmed), rows3)]
            rest = rest[unmatched(len(rest), cols3)]

        # the Kalman updates of all three associations, in one batch
        if len(matched2) or len(matched3):
            updated = np.concatenate([matched1, matched2, matched3])
            det_rows = np.concatenate([high[cols1], det2, det3])
        else:
            updated, det_rows = matched1, high[cols1]
        if len(updated):
            mean, cov = s.mean.take(updated, axis=1), s.cov.take(updated, axis=1)
            xyah_update(mean, cov, tlwh_to_xyah(tlwh[det_rows]))
            s.mean[:, updated], s.cov[:, updated] = mean, cov
            s.state[updated] = TRACKED
            s.activated[updated] = True
            s.frame_id[updated] = t
            s.det_row[updated] = det_rows
        if len(newly_lost):
            s.state[newly_lost] = LOST
        if len(dead_unconfirmed):
            s.state[dead_unconfirmed] = REMOVED

        # Step 4: new tracks from the high detections left with s >= track_thresh + 0.1
        fresh = rest[scores[rest] >= self.det_thresh]
        born = none
        if len(fresh):
            born = s.take(len(fresh))
            s.mean[:, born], s.cov[:, born] = xyah_initiate(tlwh_to_xyah(tlwh[fresh]))
            s.track_id[born] = self._new_ids(len(born))
            s.state[born] = TRACKED
            s.activated[born] = t == 1
            s.frame_id[born] = t
            s.start_frame[born] = t
            s.det_row[born] = fresh
            s.removed_at[born] = NEVER

        # Step 5: lost tracks past the buffer are removed. As in the official code such a track
        # stays in the lost list (and in the next frame's pool) for one more frame; `removed_at`
        # stands for the official removed_stracks list, which only ever filters the lost list.
        if len(lost):
            expired = lost[t - s.frame_id[lost] > self.max_time_lost]
            if len(expired):
                s.state[expired] = REMOVED
                s.removed_at[expired] = np.minimum(s.removed_at[expired], t)

        tracked_next = tracked[s.state[tracked] == TRACKED]
        if len(born) or len(refound):
            tracked_next = np.concatenate([tracked_next, born, refound])
        lost_next = np.concatenate([lost[s.state[lost] != TRACKED], newly_lost])
        if len(lost_next):
            lost_next = lost_next[s.removed_at[lost_next] >= t]
        # boxes of the tracks kept: lost tracks were all predicted in this frame's pool
        tracked_tlbr = xyah_to_tlbr(s.mean.take(tracked_next, axis=1))
        if len(lost_next):
            in_pool = np.empty(s.capacity, dtype=np.int64)
            in_pool[pool] = np.arange(len(pool))
            keep_tracked, keep_lost = self._duplicates(tracked_next, tracked_tlbr, lost_next,
                                                       pool_tlbr[in_pool[lost_next]])
            if keep_tracked is not None:
                tracked_next, tracked_tlbr = tracked_next[keep_tracked], tracked_tlbr[keep_tracked]
                lost_next = lost_next[keep_lost]

        ended = len(tracked) + len(lost) + len(born) - len(tracked_next) - len(lost_next)
        if ended:
            in_lists = np.zeros(s.capacity, dtype=bool)
            in_lists[tracked_next] = True
            in_lists[lost_next] = True
            before = np.concatenate([tracked, lost, born])
            s.release(before[~in_lists[before]])
        self.tracked, self.lost = tracked_next, lost_next

        shown = s.activated[tracked_next]
        out = tracked_next[shown]
        return Step(ids=s.track_id[out], det_rows=s.det_row[out], filter_boxes=tracked_tlbr[shown])

    def _duplicates(self, tracked, tracked_tlbr, lost, lost_tlbr):
        """Which tracked and lost tracks to keep (None: all) when a tracked and a lost track overlap
        (1 - IoU < 0.15): the one tracked for less time goes (the tracked one on a tie)."""
        s = self.tracks
        p, q = np.nonzero(1 - iou_plus1(tracked_tlbr, lost_tlbr) < DUPLICATE_THRESH)
        if not len(p):
            return None, None
        time_p = s.frame_id[tracked[p]] - s.start_frame[tracked[p]]
        time_q = s.frame_id[lost[q]] - s.start_frame[lost[q]]
        drop_lost = time_p > time_q
        keep_tracked = np.ones(len(tracked), dtype=bool)
        keep_tracked[p[~drop_lost]] = False
        keep_lost = np.ones(len(lost), dtype=bool)
        keep_lost[q[drop_lost]] = False
        return keep_tracked, keep_lost
