"""Bounded state on long streams, kept exact: ByteTrack's removed tracks and DeepSORT's galleries."""

from __future__ import annotations

import numpy as np
import pytest
from tracking_scenes import frames_of, hide, ids_by_person, walk

from smot.records import Frame
from smot.trackers import make_tracker
from smot.trackers.deepsort import GrowingGallery, RingGallery, normalize


def byte_ids(people, **params):
    detections = frames_of(people)
    tracker = make_tracker("byte", params, fps=30)
    return ids_by_person(people, detections, [tracker.update(f) for f in detections])


def test_byte_removed_track_can_return_the_next_frame_as_officially():
    # Derivation from the official update(): a person seen in frames 1-10 is lost at frame 11
    # (end_frame 10); with track_buffer 5, step 5 marks it removed at frame 16 (16 - 10 > 5), but it
    # stays in lost_stracks until frame 17's `sub_stracks(lost, removed_stracks)`, so it is still in
    # frame 17's pool: back at frame 17 it keeps id 1; back at frame 18 it gets a new id.
    assert byte_ids([hide(walk(30, x=100, y=300), 11, 16)], track_buffer=5) == {0: {1}}
    assert byte_ids([hide(walk(30, x=100, y=300), 11, 17)], track_buffer=5) == {0: {1, 2}}


def test_byte_track_back_from_removal_dies_at_its_next_loss():
    # Back at frame 17 as above, its id is in removed_stracks: the next time it is lost (frame 21)
    # sub_stracks(lost, removed) drops it at once, so a 2-frame gap (21-22) already gives a new id,
    # where a track never removed survives the same gap.
    returned = hide(hide(walk(40, x=100, y=300), 11, 16), 21, 22)
    assert byte_ids([returned], track_buffer=5) == {0: {1, 2}}
    assert byte_ids([hide(walk(40, x=100, y=300), 21, 22)], track_buffer=5) == {0: {1}}


def churn(frames: int, seed: int = 0) -> list[Frame]:
    """People who each stay 40 frames then leave, 3 arriving every 10 frames, at random places."""
    rng = np.random.default_rng(seed)
    out = []
    for t in range(1, frames + 1):
        boxes = []
        for born in range(max(1, t - 39), t + 1):
            if born % 10:
                continue
            for k in range(3):
                x = (born * 37 + k * 311) % 1700 + rng.normal(0, 1)
                y = (born * 13 + k * 97) % 800 + rng.normal(0, 1)
                boxes.append([x, y, x + 60, y + 160])
        boxes = np.array(boxes).reshape(-1, 4)
        out.append(Frame(video="churn", frame=t, boxes=boxes, scores=np.full(len(boxes), 0.9)))
    return out


def test_byte_state_stays_bounded_on_a_long_stream():
    tracker = make_tracker("byte", fps=30)
    used = []
    for frame in churn(3000):
        tracker.update(frame)
        # every slot in use belongs to a tracked or lost track: nothing is kept for removed ones
        assert tracker.tracks.in_use == len(tracker.tracked) + len(tracker.lost)
        used.append(tracker.tracks.in_use)
    # 12 people at a time, each lost track kept 30 frames: far below the 900 tracks of the stream
    assert max(used) <= 40
    assert tracker.tracks.capacity <= 64


def test_sort_and_ocsort_state_stays_bounded():
    for algorithm in ("sort", "ocsort"):
        tracker = make_tracker(algorithm, fps=30)
        for frame in churn(2000):
            tracker.update(frame)
            assert tracker.tracks.in_use == len(tracker.order)
        assert tracker.tracks.capacity <= 128


def test_deepsort_galleries_are_released_with_their_tracks():
    tracker = make_tracker("deepsort", {"nn_budget": None}, fps=30)
    rng = np.random.default_rng(1)
    for frame in churn(1000):
        frame.features = rng.standard_normal((frame.n, 16)).astype(np.float16)
        tracker.update(frame)
        alive = set(tracker.order.tolist())
        assert set(tracker.gallery.data) <= alive
        assert set(tracker.pending) <= alive


def test_ring_gallery_keeps_the_last_budget_features():
    # budget 2: after e0, e1, e2 a track's gallery is {e1, e2}, so its similarity to e0 is 0
    eye = np.eye(4, dtype=np.float32)
    ring = RingGallery(2)
    slot = np.array([0])
    ring.start(slot, eye[[0]], capacity=4)
    assert ring.similarity(slot, eye).tolist() == [[1, 0, 0, 0]]
    ring.add(slot, eye[[1]])
    assert ring.similarity(slot, eye).tolist() == [[1, 1, 0, 0]]
    ring.add(slot, eye[[2]])
    assert ring.similarity(slot, eye).tolist() == [[0, 1, 1, 0]]
    growing = GrowingGallery()
    growing.start(slot, eye[[0]], capacity=4)
    for i in (1, 2):
        growing.add(slot, eye[[i]])
    assert growing.similarity(slot, eye).tolist() == [[1, 1, 1, 0]]


def test_ring_and_growing_galleries_agree_within_the_budget():
    rng = np.random.default_rng(2)
    features = normalize(rng.standard_normal((30, 8)))
    queries = normalize(rng.standard_normal((5, 8)))
    ring, growing = RingGallery(100), GrowingGallery()
    slots = np.array([3, 7])
    ring.start(slots, features[:2], capacity=8)
    growing.start(slots, features[:2], capacity=8)
    for i in range(2, 30, 2):
        ring.add(slots, features[i:i + 2])
        growing.add(slots, features[i:i + 2])
    np.testing.assert_allclose(ring.similarity(slots, queries), growing.similarity(slots, queries), rtol=1e-6)


@pytest.mark.parametrize("budget", [None, 3])
def test_deepsort_parameters_reach_the_gallery(budget):
    tracker = make_tracker("deepsort", {"nn_budget": budget})
    assert isinstance(tracker.gallery, GrowingGallery if budget is None else RingGallery)
