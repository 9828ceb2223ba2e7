"""Matching predicted trajectories to ground truth, and the semantic targets that follow."""

from __future__ import annotations

import numpy as np
import pytest

from smot.records import Caption, Frame, Interaction, Summary
from smot.training.targets import iou, match_trajectories, mean_iou, semantic_targets


def frame(n, boxes, ids):
    return Frame(video="v", frame=n, boxes=np.array(boxes, float).reshape(-1, 4), scores=np.ones(len(ids)),
                 ids=np.array(ids, np.int64))


def test_iou_by_hand():
    # (0,0,10,10) vs (5,0,15,10): overlap 5 x 10 = 50, union 100 + 100 - 50 = 150 -> 1/3
    a, b = np.array([[0.0, 0, 10, 10]]), np.array([[5.0, 0, 15, 10], [20, 20, 30, 30]])
    np.testing.assert_allclose(iou(a, b), [[1 / 3, 0.0]])
    # +1 pixel sides: overlap 6 x 11 = 66, areas 121 each, union 176 -> 0.375
    np.testing.assert_allclose(iou(a, b, plus_one=True), [[66 / 176, 0.0]])


def test_mean_iou_averages_over_the_frames_both_are_in():
    truth = [frame(1, [[0, 0, 10, 10]], [7]), frame(2, [[0, 0, 10, 10]], [7]), frame(3, [], [])]
    # track 1: IoU 1 in frame 1, 1/3 in frame 2 -> mean 2/3; in frame 3 the ground truth is absent
    predicted = [frame(1, [[0, 0, 10, 10]], [1]), frame(2, [[5, 0, 15, 10]], [1]), frame(3, [[0, 0, 5, 5]], [1])]
    pred_ids, gt_ids, matrix = mean_iou(predicted, truth)
    assert (pred_ids, gt_ids) == ([1], [7])
    np.testing.assert_allclose(matrix, [[2 / 3]])


def test_greedy_many_to_one_matching_with_the_official_threshold_and_ties():
    truth = [frame(1, [[0, 0, 10, 10], [100, 0, 110, 10]], [1, 2]),
             frame(2, [[0, 0, 10, 10], [100, 0, 110, 10]], [1, 2])]
    predicted = [
        # track 5 sits on person 1 in frame 1 and person 2's box is far: matched to 1
        frame(1, [[0, 0, 10, 10], [0, 0, 10, 10], [50, 0, 60, 10]], [5, 6, 8]),
        # track 6 sits on person 1 in frame 2 too (two fragments of one person: both match person 1);
        # track 9 has IoU 1/3 with person 2 in frame 2 only: mean 1/3 > 0.2
        frame(2, [[0, 0, 10, 10], [105, 0, 115, 10]], [6, 9]),
    ]
    assert match_trajectories(predicted, truth) == {5: 1, 6: 1, 9: 2}
    # a box halfway between two people with equal IoU goes to the later one (official tie rule)
    tie = [frame(1, [[0, 0, 10, 10], [10, 0, 20, 10]], [1, 2])]
    assert match_trajectories([frame(1, [[5, 0, 15, 10]], [3])], tie) == {3: 2}
    # only the captioned people take part; IoU exactly at the threshold is not enough
    assert match_trajectories([frame(1, [[5, 0, 15, 10]], [3])], tie, gt_ids=[1]) == {3: 1}
    assert match_trajectories([frame(1, [[5, 0, 15, 10]], [3])], tie, gt_ids=[1], threshold=1 / 3) == {}


def test_targets_follow_the_matched_people():
    order = [4, 5, 6, 7]  # trajectories in first-appearance order; 7 matched nobody
    matches = {4: 1, 5: 2, 6: 1}
    captions = [Caption(video="v", track=1, text="A man walks."), Caption(video="v", track=2, text="A woman waves.")]
    interactions = [Interaction(video="v", subject=1, object=2, predicate="look.v.01"),
                    Interaction(video="v", subject=1, object=2, predicate="wave.v.01"),
                    Interaction(video="v", subject=1, object=2, predicate="not.in.vocab")]
    predicates = ["look.v.01", "talk.v.01", "wave.v.01"]
    targets = semantic_targets(order, matches, captions, Summary(video="v", text="Two people."), interactions,
                               predicates)
    assert targets.captions == ["A man walks.", "A woman waves.", "A man walks.", None]
    assert targets.summary == "Two people."
    # ordered pairs of matched trajectories of different people: (4,5), (5,4), (5,6), (6,5);
    # (4,6) are both person 1 and are left out
    assert targets.pairs == [(0, 1), (1, 0), (1, 2), (2, 1)]
    np.testing.assert_array_equal(targets.labels, [[1, 0, 1], [0, 0, 0], [0, 0, 0], [1, 0, 1]])
    only_annotated = semantic_targets(order, matches, captions, None, interactions, predicates, negatives=False)
    assert only_annotated.pairs == [(0, 1), (2, 1)] and only_annotated.summary is None


@pytest.mark.parametrize("negatives", [True, False])
def test_no_matches_no_targets(negatives):
    targets = semantic_targets([1, 2], {}, [], None, [], ["a"], negatives)
    assert targets.captions == [None, None] and targets.pairs == [] and targets.labels.shape == (0, 1)
