"""Trajectory matching for the semantic metrics: the paper's rule and the strict one, on hand-made tracks."""

from __future__ import annotations

import numpy as np

from smot.metrics import matching
from smot.records import Frame


def frames(n: int, tracks: dict[int, dict[int, tuple]]) -> list[Frame | None]:
    """Frames 1..n from {track id: {frame: (x1, y1, x2, y2)}}; box order = track order given."""
    out: list = []
    for t in range(1, n + 1):
        ids = [i for i, boxes in tracks.items() if t in boxes]
        if not ids:
            out.append(None)
            continue
        out.append(Frame(video="v", frame=t, boxes=np.array([tracks[i][t] for i in ids], float),
                         scores=np.ones(len(ids)), ids=np.array(ids)))
    return out


BOX = (0.0, 0.0, 9.0, 9.0)  # 10 x 10 pixels with the +1 convention
FAR = (100.0, 100.0, 109.0, 109.0)


def test_iou_plus_one_hand_derived():
    # identical: 1; shifted by 5: intersection (9 - 5 + 1) * 10 = 50, union 100 + 100 - 50 = 150: 1/3
    iou = matching.iou_plus_one(np.array([BOX]), np.array([BOX, (5.0, 0.0, 14.0, 9.0), FAR]))
    assert np.allclose(iou, [[1.0, 1 / 3, 0.0]])


def test_bensmot_threshold_is_strictly_above_0_2():
    # prediction 1 shares 5 frames with gt 1 and overlaps it in one (IoU 1): mean 1/5 = 0.2, not > 0.2
    # prediction 2 shares 4 frames and overlaps in one: mean 0.25: matched
    gt = frames(5, {1: {t: BOX for t in range(1, 6)}})
    pred = frames(5, {1: {t: BOX if t == 1 else FAR for t in range(1, 6)},
                      2: {t: BOX if t == 2 else FAR for t in range(2, 6)}})
    m = matching.match_bensmot(pred, gt, captioned={1})
    assert m.pairs == {2: 1} and m.unmatched_pred == [1]


def test_bensmot_is_many_to_one_and_prefers_the_later_ground_truth_on_ties():
    # gt 1 and gt 2 lie on the same boxes; gt 2 appears first (frame 1), gt 1 from frame 2, so in
    # first-appearance order gt 1 comes later and wins the tie (the official `>=`). Both
    # predictions take it: many-to-one.
    gt = frames(3, {2: {1: BOX, 2: BOX, 3: BOX}, 1: {2: BOX, 3: BOX}})
    pred = frames(3, {7: {2: BOX, 3: BOX}, 8: {2: BOX}})
    m = matching.match_bensmot(pred, gt, captioned={1, 2})
    assert m.gt_ids == [2, 1]
    assert m.pairs == {7: 1, 8: 1}


def test_bensmot_uses_captioned_ground_truth_only():
    gt = frames(2, {1: {1: BOX, 2: BOX}, 2: {1: FAR, 2: FAR}})
    pred = frames(2, {5: {1: BOX, 2: BOX}})
    assert matching.match_bensmot(pred, gt, captioned={2}).pairs == {}
    assert matching.match_bensmot(pred, gt, captioned={1, 2}).pairs == {5: 1}


def test_bensmot_mean_is_over_shared_frames_only():
    # prediction exists in frame 1 only, where it equals gt 1; gt 1 lasts 10 frames: mean IoU 1
    gt = frames(10, {1: {t: BOX for t in range(1, 11)}})
    pred = frames(10, {3: {1: BOX}})
    assert matching.match_bensmot(pred, gt, captioned={1}).pairs == {3: 1}


def test_strict_tube_iou_and_one_to_one():
    # gt 1 lasts 4 frames. Prediction 1 covers all 4 (IoU 1): tube IoU 4/4 = 1. Prediction 2 covers
    # frames 1-3 (IoU 1): tube IoU 3/4 = 0.75. One-to-one: prediction 1 takes gt 1, prediction 2 is
    # spurious. A one-frame prediction has tube IoU 1/4 <= 0.5 and no match at all.
    gt = frames(4, {1: {t: BOX for t in range(1, 5)}})
    pred = frames(4, {1: {t: BOX for t in range(1, 5)}, 2: {t: BOX for t in range(1, 4)}})
    m = matching.match_strict(pred, gt)
    assert m.pairs == {1: 1} and m.unmatched_pred == [2] and m.unmatched_gt == []
    m = matching.match_strict(frames(4, {9: {1: BOX}}), gt)
    assert m.pairs == {} and m.unmatched_gt == [1]


def test_strict_maximises_the_total():
    # everything on one box, so tube IoU = shared frames / frames of either track.
    # gt 1: frames 1-10, gt 2: frames 3-12; prediction 1: frames 1-11, prediction 2: frames 1-8.
    # prediction 1 vs gt 1: 10/11 = 0.91, vs gt 2: 9/12 = 0.75; prediction 2 vs gt 1: 8/10 = 0.8,
    # vs gt 2: 6/12 = 0.5 (not > 0.5). Taking the best pair first (1-1) would leave prediction 2
    # without a match (total 0.91); the assignment takes 1-2 and 2-1 (total 1.55).
    gt = frames(12, {1: {t: BOX for t in range(1, 11)}, 2: {t: BOX for t in range(3, 13)}})
    pred = frames(12, {1: {t: BOX for t in range(1, 12)}, 2: {t: BOX for t in range(1, 9)}})
    assert matching.match_strict(pred, gt).pairs == {1: 2, 2: 1}


def test_empty_sides():
    assert matching.match_bensmot([None, None], frames(2, {1: {1: BOX}}), {1}).pairs == {}
    assert matching.match_strict(frames(2, {1: {1: BOX}}), [None, None]).pairs == {}
