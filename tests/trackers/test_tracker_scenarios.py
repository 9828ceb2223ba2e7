"""Scenes with a known right answer, for all four trackers: crossing people, occlusions, empty
frames, empty videos, the per-tracker id counter, and the box/feature alignment of the output."""

from __future__ import annotations

import numpy as np
import pytest
from tracking_scenes import frames_of, hide, ids_by_person, walk

from smot.trackers import ALGORITHMS, make_tracker

ALL = list(ALGORITHMS)


def track(algorithm: str, frames, box: str = "detection", fps: float | None = 30, **params):
    tracker = make_tracker(algorithm, params, fps=fps, box=box)
    return [tracker.update(f) for f in frames]


@pytest.mark.parametrize("algorithm", ALL)
def test_crossing_people_keep_their_ids(algorithm):
    # A walks right and B walks left, 30 px lower; they cross at frame 41 where their boxes overlap
    # with IoU 130/190 = 0.68, yet each predicted box overlaps its own detection (IoU ~1) more
    people = [walk(80, x=100, y=300, vx=8), walk(80, x=740, y=330, vx=-8)]
    detections = frames_of(people)
    tracks = track(algorithm, detections)
    ids = ids_by_person(people, detections, tracks)
    assert len(ids[0]) == 1 and len(ids[1]) == 1 and ids[0] != ids[1], ids
    # both are output through the crossing
    assert all(tracks[t].n == 2 for t in range(35, 48))


@pytest.mark.parametrize("algorithm", ["byte", "ocsort", "deepsort"])
def test_an_occlusion_shorter_than_the_buffer_keeps_the_id(algorithm):
    # undetected for frames 40-49 (10 frames) while the buffer / max_age is 30 frames
    people = [hide(walk(100, x=100, y=300, vx=6), 40, 49)]
    detections = frames_of(people)
    tracks = track(algorithm, detections)
    assert ids_by_person(people, detections, tracks) == {0: {1}}
    assert all(tracks[t].n == 0 for t in range(40, 49)), "no box while undetected"
    assert tracks[99].ids.tolist() == [1]


def test_sort_keeps_an_occluded_track_within_max_age_only():
    people = [hide(walk(60, x=100, y=300, vx=6), 20, 24)]  # 5 frames undetected
    detections = frames_of(people)
    # max_age 1 (the default): the track dies after its second miss and the person comes back as 2
    assert ids_by_person(people, detections, track("sort", detections)) == {0: {1, 2}}
    # max_age 10: the same track comes back; it is output again after min_hits (3) matches
    tracks = track("sort", detections, max_age=10)
    assert ids_by_person(people, detections, tracks) == {0: {1}}
    assert [tracks[t].n for t in range(24, 28)] == [0, 0, 1, 1]  # frames 25-28


def test_byte_occlusion_longer_than_the_buffer_gives_a_new_id():
    # lost after frame 19; with track_buffer 10 at 30 fps it is removed at frame 30 (30 - 19 > 10)
    people = [hide(walk(80, x=100, y=300), 20, 40)]
    detections = frames_of(people)
    assert ids_by_person(people, detections, track("byte", detections, track_buffer=10)) == {0: {1, 2}}
    assert ids_by_person(people, detections, track("byte", detections, track_buffer=30)) == {0: {1}}


def test_byte_buffer_scales_with_fps():
    # lost after frame 19, back at frame 41: 21 frames. At 30 fps the buffer is 30 frames (kept);
    # at 15 fps it is int(15 / 30 * 30) = 15 frames, so the track is removed and a new id starts
    people = [hide(walk(80, x=100, y=300), 20, 40)]
    detections = frames_of(people)
    assert ids_by_person(people, detections, track("byte", detections, fps=30)) == {0: {1}}
    assert ids_by_person(people, detections, track("byte", detections, fps=15)) == {0: {1, 2}}
    assert ids_by_person(people, detections, track("byte", detections, fps=None)) == {0: {1}}


@pytest.mark.parametrize("algorithm", ALL)
def test_empty_frames_in_a_video(algorithm):
    people = [hide(walk(30, x=100, y=300, vx=2), 11, 12), hide(walk(30, x=600, y=300, vx=-2), 11, 12)]
    detections = frames_of(people)
    tracks = track(algorithm, detections)
    assert [f.frame for f in tracks] == list(range(1, 31))
    # frames 11 and 12 are empty; DeepSORT still shows its tracks at frame 11 (matched at frame 10)
    if algorithm == "deepsort":
        assert tracks[10].det_index.tolist() == [-1, -1]
    else:
        assert tracks[10].n == 0
    assert tracks[11].n == 0 and tracks[11].ids.dtype == np.int64 and tracks[11].det_index.shape == (0,)
    ids = ids_by_person(people, detections, tracks)
    # a 2-frame gap: every tracker but SORT (max_age 1) keeps both ids
    expected = 1 if algorithm != "sort" else 2
    assert len(ids[0]) == expected and len(ids[1]) == expected and not ids[0] & ids[1]


@pytest.mark.parametrize("algorithm", ALL)
def test_a_video_without_detections(algorithm):
    detections = frames_of([hide(walk(20, x=0, y=0), 1, 20)])
    tracks = track(algorithm, detections)
    assert [f.frame for f in tracks] == list(range(1, 21))
    assert all(f.n == 0 and f.ids is not None and f.video == "scene" for f in tracks)


@pytest.mark.parametrize("algorithm", ALL)
def test_each_tracker_counts_ids_from_one(algorithm):
    people = [walk(10, x=100, y=300, vx=3), walk(10, x=600, y=300, vx=-3)]
    detections = frames_of(people)
    first = track(algorithm, detections)
    second = track(algorithm, detections)  # another instance: no shared global counter
    assert [f.ids.tolist() for f in first] == [f.ids.tolist() for f in second]
    assert min(min(f.ids.tolist(), default=9) for f in first) == 1
    tracker = make_tracker(algorithm, fps=30)
    for f in detections:
        tracker.update(f)
    tracker.reset()
    assert [tracker.update(f).ids.tolist() for f in detections] == [f.ids.tolist() for f in first]


@pytest.mark.parametrize("algorithm", ALL)
def test_detection_box_mode_points_back_at_the_detection(algorithm):
    people = [walk(20, x=100, y=300, vx=4), walk(20, x=500, y=320, vx=-4), walk(20, x=900, y=280, vy=2)]
    detections = frames_of(people, scores=[0.9, 0.8, 0.7])
    for det, trk in zip(detections, track(algorithm, detections), strict=True):
        rows = trk.det_index
        assert (rows >= 0).all()
        np.testing.assert_array_equal(trk.boxes, det.boxes[rows])
        np.testing.assert_array_equal(trk.scores, det.scores[rows])
        np.testing.assert_array_equal(trk.features, det.features[rows])


@pytest.mark.parametrize("algorithm", ALL)
def test_filter_box_mode_is_close_to_the_detection_on_straight_motion(algorithm):
    people = [walk(30, x=100, y=300, vx=5)]
    detections = frames_of(people)
    tracks = track(algorithm, detections, box="filter")
    for det, trk in zip(detections[5:], tracks[5:], strict=True):
        assert trk.n == 1
        assert np.abs(trk.boxes - det.boxes[trk.det_index]).max() < 2.0


def test_ocsort_filter_box_is_the_observation():
    # OC-SORT outputs the last observation (here the detection itself) once a track has one
    people = [walk(10, x=100, y=300, vx=5)]
    detections = frames_of(people)
    tracks = track("ocsort", detections, box="filter")
    for det, trk in zip(detections[1:], tracks[1:], strict=True):
        np.testing.assert_array_equal(trk.boxes, det.boxes)


def test_deepsort_shows_a_track_the_frame_after_its_last_match_without_a_detection():
    # confirmed at frame 3 (n_init 3), matched through frame 10, undetected from frame 11: the app's
    # rule (time_since_update <= 1) shows it at frame 11 with det_index -1, then no more
    people = [hide(walk(20, x=100, y=300, vx=5), 11, 20), walk(20, x=600, y=300)]
    detections = frames_of(people, scores=[0.9, 0.8])
    tracks = track("deepsort", detections)
    frame11, frame12 = tracks[10], tracks[11]
    assert frame11.ids.tolist() == [1, 2] and frame11.det_index.tolist() == [-1, 0]
    previous = detections[9]  # frame 10: person 0 was row 0
    assert frame11.scores.tolist() == [previous.scores[0], detections[10].scores[0]]
    np.testing.assert_array_equal(frame11.features[0], previous.features[0])
    np.testing.assert_array_equal(frame11.features[1], detections[10].features[0])
    # its box is the Kalman prediction: one more step of 5 px from frame 10's box
    assert abs(frame11.boxes[0, 0] - (people[0][9, 0] + 5)) < 1.0
    assert frame12.ids.tolist() == [2]


def test_deepsort_needs_features():
    from smot.errors import InputError
    from smot.records import Frame

    frame = Frame(video="v", frame=1, boxes=np.array([[0.0, 0, 10, 30]]), scores=np.array([0.9]))
    with pytest.raises(InputError, match="feature"):
        make_tracker("deepsort").update(frame)
    # frames without detections need none
    empty = Frame(video="v", frame=1, boxes=np.zeros((0, 4)), scores=np.zeros(0))
    assert make_tracker("deepsort").update(empty).n == 0


def test_deepsort_rejects_features_that_change_shape():
    from smot.errors import InputError

    frames = frames_of([walk(3, x=100, y=300, vx=5)], dim=8)
    frames[2].features = np.ones((1, 16), np.float16)
    tracker = make_tracker("deepsort")
    tracker.update(frames[0])
    tracker.update(frames[1])
    with pytest.raises(InputError, match="16 values here, 8 in earlier frames"):
        tracker.update(frames[2])


@pytest.mark.parametrize("algorithm", ALL)
def test_zero_size_detections_are_ignored(algorithm):
    people = [walk(10, x=100, y=300, vx=3), walk(10, x=300, y=300, size=(0.0, 50.0))]
    detections = frames_of(people)
    for trk in track(algorithm, detections):
        assert set(trk.det_index.tolist()) <= {0}
