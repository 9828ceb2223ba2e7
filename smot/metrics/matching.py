"""Which predicted trajectory is which ground-truth trajectory, for captions and interactions.

Two rules, named in the report:

- `bensmot`: the official SMOTer code's rule (../shared/reference/bensmot-and-smoter.md §3.2).
  For each predicted track, the mean IoU over the frames it shares with each captioned ground-truth
  track, with the "+1 pixel" IoU (width x2 - x1 + 1); the best ground truth wins (on a tie the one
  that appears later in the video's first-appearance order, as in the official loop) and is kept
  when its mean IoU is > 0.2. Many-to-one: two predictions may take the same ground truth.
  Unlike the official code, both sides are in source pixels (its ground truth is in resized
  network-input pixels, a probable bug), and the arithmetic is float64 (it used float32).
- `strict`: one-to-one. Similarity is the spatio-temporal tube IoU: the sum of the per-frame IoU
  (TrackEval's convention) over shared frames divided by the number of frames either track has;
  pairs above the threshold (default 0.5) are assigned by maximum total similarity (`lap`). Every
  ground-truth track takes part, captioned or not, so a prediction of an uncaptioned person is not
  spurious; scoring decides what a miss and a spurious track cost (smot/stages/score.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from smot.metrics.tracking import box_iou
from smot.records import Frame

PROTOCOLS = ("bensmot", "strict")
DEFAULT_THRESHOLD = {"bensmot": 0.2, "strict": 0.5}


@dataclass
class Tracks:
    """The trajectories of one side of one video, in order of first appearance."""

    ids: list[int] = field(default_factory=list)
    length: dict[int, int] = field(default_factory=dict)  # frames per track


@dataclass
class Matching:
    """The result: `pairs[pred_id] = gt_id`; everything else is unmatched."""

    protocol: str
    threshold: float
    pairs: dict[int, int]
    pred_ids: list[int]
    gt_ids: list[int]

    @property
    def unmatched_pred(self) -> list[int]:
        return [p for p in self.pred_ids if p not in self.pairs]

    @property
    def unmatched_gt(self) -> list[int]:
        taken = set(self.pairs.values())
        return [g for g in self.gt_ids if g not in taken]


def iou_plus_one(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xyxy boxes with the "+1 pixel" convention of the official SMOTer matching."""
    width = np.maximum(0, np.minimum(a[:, None, 2], b[None, :, 2]) - np.maximum(a[:, None, 0], b[None, :, 0]) + 1)
    height = np.maximum(0, np.minimum(a[:, None, 3], b[None, :, 3]) - np.maximum(a[:, None, 1], b[None, :, 1]) + 1)
    inter = width * height
    area_a = (a[:, 2] - a[:, 0] + 1) * (a[:, 3] - a[:, 1] + 1)
    area_b = (b[:, 2] - b[:, 0] + 1) * (b[:, 3] - b[:, 1] + 1)
    return inter / (area_a[:, None] + area_b[None, :] - inter)


def first_appearance(frames: list[Frame | None]) -> Tracks:
    """Track ids in order of first appearance (within a frame, in box order), with their lengths."""
    tracks = Tracks()
    for frame in frames:
        if frame is None or not frame.n:
            continue
        for track in frame.ids.tolist():
            if track not in tracks.length:
                tracks.ids.append(track)
                tracks.length[track] = 0
            tracks.length[track] += 1
    return tracks


def overlap(pred: list[Frame | None], gt: list[Frame | None], pred_ids: list[int], gt_ids: list[int],
            plus_one: bool) -> tuple[np.ndarray, np.ndarray]:
    """(sum of per-frame IoU, number of shared frames), each (len(pred_ids), len(gt_ids)).

    Frame t of both lists is the same video frame; ids not listed are ignored.
    """
    sums = np.zeros((len(pred_ids), len(gt_ids)))
    shared = np.zeros((len(pred_ids), len(gt_ids)), np.int64)
    if not pred_ids or not gt_ids:
        return sums, shared
    p_lookup, g_lookup = _lookup(pred_ids), _lookup(gt_ids)
    iou = iou_plus_one if plus_one else box_iou
    for p, g in zip(pred, gt, strict=True):  # either may stop early: no boxes
        if p is None or g is None or not p.n or not g.n:
            continue
        p_index, g_index = p_lookup(p.ids), g_lookup(g.ids)
        p_keep, g_keep = p_index >= 0, g_index >= 0
        if not p_keep.any() or not g_keep.any():
            continue
        rows, cols = p_index[p_keep], g_index[g_keep]
        sums[rows[:, None], cols[None, :]] += iou(p.boxes[p_keep], g.boxes[g_keep])
        shared[rows[:, None], cols[None, :]] += 1
    return sums, shared


def _lookup(ids: list[int]):
    values = np.asarray(ids, np.int64)
    order = np.argsort(values)
    ordered = values[order]

    def find(query: np.ndarray) -> np.ndarray:
        at = np.minimum(np.searchsorted(ordered, query), len(ordered) - 1)
        return np.where(ordered[at] == query, order[at], -1)

    return find


def match_bensmot(pred: list[Frame | None], gt: list[Frame | None], captioned: set[int],
                  threshold: float = DEFAULT_THRESHOLD["bensmot"]) -> Matching:
    """The official greedy many-to-one rule against the captioned ground-truth tracks."""
    pred_ids = first_appearance(pred).ids
    gt_ids = [g for g in first_appearance(gt).ids if g in captioned]
    sums, shared = overlap(pred, gt, pred_ids, gt_ids, plus_one=True)
    mean = np.divide(sums, shared, out=np.full(sums.shape, -1.0), where=shared > 0)
    pairs = {}
    for i, track in enumerate(pred_ids):
        if not (shared[i] > 0).any():
            continue
        best = mean[i].max()
        if best > threshold:
            # the official loop keeps a later ground truth on a tie (`iou >= max_iou`)
            pairs[track] = gt_ids[int(np.flatnonzero(mean[i] == best)[-1])]
    return Matching("bensmot", threshold, pairs, pred_ids, gt_ids)


def match_strict(pred: list[Frame | None], gt: list[Frame | None],
                 threshold: float = DEFAULT_THRESHOLD["strict"]) -> Matching:
    """One-to-one by tube IoU > threshold, maximising the total, over every ground-truth track."""
    import lap

    p_tracks, g_tracks = first_appearance(pred), first_appearance(gt)
    pred_ids, gt_ids = p_tracks.ids, g_tracks.ids
    sums, shared = overlap(pred, gt, pred_ids, gt_ids, plus_one=False)
    p_len = np.array([p_tracks.length[p] for p in pred_ids], float)
    g_len = np.array([g_tracks.length[g] for g in gt_ids], float)
    union = p_len[:, None] + g_len[None, :] - shared
    tube = np.divide(sums, union, out=np.zeros(sums.shape), where=union > 0)
    allowed = tube > threshold
    pairs = {}
    if allowed.any():
        _, assigned, _ = lap.lapjv(np.where(allowed, -tube, 0.0), extend_cost=True)
        for i, j in enumerate(assigned):
            if j >= 0 and allowed[i, j]:
                pairs[pred_ids[i]] = gt_ids[j]
    return Matching("strict", threshold, pairs, pred_ids, gt_ids)


def match(protocol: str, pred: list[Frame | None], gt: list[Frame | None], captioned: set[int],
          threshold: float | None = None) -> Matching:
    if protocol == "bensmot":
        return match_bensmot(pred, gt, captioned, DEFAULT_THRESHOLD["bensmot"] if threshold is None else threshold)
    if protocol == "strict":
        return match_strict(pred, gt, DEFAULT_THRESHOLD["strict"] if threshold is None else threshold)
    raise ValueError(f"unknown matching protocol {protocol!r}")
