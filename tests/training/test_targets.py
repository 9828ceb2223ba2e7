"""Matching predicted trajectories to ground truth, and the semantic targets that follow."""

from __future__ import annotations

import numpy as np
import pytest

from smot.records import Caption, Frame, Interaction, Summary
from smot.training.targets import match_trajectories, semantic_targets


def frame(n, boxes, ids):
    return Frame(video="v", frame=n, boxes=np.array(boxes, float).reshape(-1, 4), scores=np.ones(len(ids)),
                 ids=np.array(ids, np.int64))


def test_training_matches_as_smot_score_does():
    # track 5 sits on person 1 in frame 1; track 6 on person 1 in frame 2 (two fragments of one
    # person: both match person 1); track 9 overlaps person 2 in frame 2 only, IoU with +1 pixel
    # sides 6 x 11 / (121 + 121 - 66) = 0.375 > 0.2; track 8 overlaps nobody
    truth = [frame(1, [[0, 0, 10, 10], [100, 0, 110, 10]], [1, 2]),
             frame(2, [[0, 0, 10, 10], [100, 0, 110, 10]], [1, 2])]
    predicted = [frame(1, [[0, 0, 10, 10], [0, 0, 10, 10], [50, 0, 60, 10]], [5, 6, 8]),
                 frame(2, [[0, 0, 10, 10], [105, 0, 115, 10]], [6, 9])]
    assert match_trajectories(predicted, truth, [1, 2]) == {5: 1, 6: 1, 9: 2}
    # only captioned people take part
    assert match_trajectories(predicted, truth, [2]) == {9: 2}


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
