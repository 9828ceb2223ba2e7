"""`smot associate`: the shared stage checks, the command line, and streaming behaviour."""

from __future__ import annotations

import dataclasses
import io
import json
import os
import select
import subprocess
import sys
import time

import msgpack
import numpy as np
import pytest
from conftest import ROOT, run
from tracking_scenes import frames_of, hide, stream_records, walk

from smot.records import Extension, Frame, Video
from smot.stages.associate import AssociateConfig, associate
from smot.streams import StreamReader, StreamWriter, make_header
from smot.trackers import ALGORITHMS

ALL = list(ALGORITHMS)


def write_stream(path, header, records, encoding=None) -> str:
    with StreamWriter(str(path), header, encoding) as writer:
        writer.write_all(records)
    return str(path)


def read_stream(data: bytes, tmp_path, name="out.smot") -> tuple:
    path = tmp_path / name
    path.write_bytes(data)
    with StreamReader(str(path)) as reader:
        return reader.header, list(reader)


@pytest.fixture
def scene():
    people = [walk(12, x=100, y=300, vx=4), hide(walk(12, x=500, y=320, vx=-4), 6, 7)]
    return people, frames_of(people)


@pytest.fixture
def scene_file(tmp_path, scene):
    header, records = stream_records({"a/one": scene[1], "a/two": scene[1]})
    return write_stream(tmp_path / "dets.smot", header, records)


# --------------------------------------------------------------------------------------------
# shared stage checks


@pytest.mark.parametrize("algorithm", ALL)
def test_empty_input_gives_an_empty_tracks_stream(algorithm, tmp_path):
    source = write_stream(tmp_path / "empty.smot", make_header("smot.detections", "test"), [])
    result = run(["associate", source, "-a", algorithm])
    assert result.code == 0, result.stderr
    header, records = read_stream(result.stdout, tmp_path)
    assert header.format == "smot.tracks" and records == []
    assert header.params["algorithm"] == algorithm
    assert header.inputs[0]["tool"] == "test"


@pytest.mark.parametrize("encoding", ["msgpack", "jsonl"])
def test_stdin_and_file_give_identical_output(encoding, scene_file):
    data = open(scene_file, "rb").read()
    from_file = run(["associate", scene_file, "--encoding", encoding])
    from_stdin = run(["associate", "--encoding", encoding], input=data)
    dash = run(["associate", "-", "--encoding", encoding], input=data)
    assert from_file.code == from_stdin.code == dash.code == 0
    assert from_file.stdout == from_stdin.stdout == dash.stdout


def test_help_lists_every_parameter_with_its_default():
    result = run(["associate", "--help"])
    assert result.code == 0
    from smot.trackers import params_doc
    for name, cls in ALGORITHMS.items():
        assert f"{name}:" in result.text
        for key, default, _ in params_doc(cls.Params):
            shown = "none" if default is None else str(default).lower() if isinstance(default, bool) else default
            assert f"{key} [{shown}]" in result.text


def test_wrong_kind_of_input_is_one_line_with_a_hint(tmp_path):
    tracks = write_stream(tmp_path / "tracks.smot", make_header("smot.tracks", "test"), [])
    result = run(["associate", tracks])
    assert result.code == 3
    lines = result.stderr.strip().splitlines()
    assert lines[0] == (f"smot associate: error: input is a smot.tracks stream, expected smot.detections "
                        f"({tracks}, record 1)")
    assert lines[1].startswith("  hint: the order is `smot detect | smot associate")
    assert result.stdout == b""


def test_stdout_holds_only_records(scene_file):
    result = run(["associate", scene_file, "--encoding", "jsonl"])
    assert result.code == 0 and result.stderr == ""
    kinds = [json.loads(line)["kind"] for line in result.stdout.decode().splitlines()]
    assert kinds[0] == "header" and kinds[-1] == "end"
    assert kinds.count("video") == 2 and kinds.count("frame") == 24
    unpacked = list(msgpack.Unpacker(io.BytesIO(run(["associate", scene_file]).stdout), raw=False))
    assert [r["kind"] for r in unpacked] == kinds


# --------------------------------------------------------------------------------------------
# the stream


def test_a_new_video_starts_a_fresh_tracker(scene_file, tmp_path):
    result = run(["associate", scene_file])
    _, records = read_stream(result.stdout, tmp_path)
    videos = [r for r in records if isinstance(r, Video)]
    assert [v.id for v in videos] == ["a/one", "a/two"]
    one = [r for r in records if isinstance(r, Frame) and r.video == "a/one"]
    two = [r for r in records if isinstance(r, Frame) and r.video == "a/two"]
    assert [f.frame for f in one] == [f.frame for f in two] == list(range(1, 13))
    # the same detections in both videos give the same ids, from 1
    assert [f.ids.tolist() for f in one] == [f.ids.tolist() for f in two]
    assert min(i for f in two for i in f.ids.tolist()) == 1


def test_other_records_pass_through_in_place(tmp_path, scene):
    frames = [dataclasses.replace(f, video="v") for f in scene[1][:3]]
    records = [Extension("x-note", {"text": "before"}), Video(id="v", frames=3, fps=25.0), frames[0],
               Extension("x-note", {"text": "inside"}), frames[1], frames[2]]
    source = write_stream(tmp_path / "d.smot", make_header("smot.detections", "test"), records)
    _, out = read_stream(run(["associate", source]).stdout, tmp_path)
    assert [r.kind for r in out] == ["x-note", "video", "frame", "x-note", "frame", "frame"]
    assert out[0].data == {"text": "before"} and out[3].data == {"text": "inside"}
    assert out[1] == records[1]


def test_core_generator_matches_the_command(scene_file, tmp_path):
    with StreamReader(scene_file) as reader:
        records = list(associate(reader, AssociateConfig(algorithm="ocsort", box="filter")))
    _, expected = read_stream(run(["associate", scene_file, "-a", "ocsort", "--box", "filter"]).stdout, tmp_path)
    assert records == expected


def test_detection_boxes_keep_features_aligned(tmp_path, scene):
    people, frames = scene
    for f in frames:
        f.classes = np.arange(f.n, dtype=np.int64) + 1
        f.context = np.ones((2, 3), np.float32) * f.frame
    header, records = stream_records({"v": frames})
    source = write_stream(tmp_path / "d.smot", header, records)
    _, out = read_stream(run(["associate", source]).stdout, tmp_path)
    tracks = [r for r in out if isinstance(r, Frame)]
    for det, trk in zip(frames, tracks, strict=True):
        rows = trk.det_index
        np.testing.assert_array_equal(trk.boxes, det.boxes[rows])
        np.testing.assert_array_equal(trk.features, det.features[rows])
        np.testing.assert_array_equal(trk.classes, det.classes[rows])
        np.testing.assert_array_equal(trk.scores, det.scores[rows])
        np.testing.assert_array_equal(trk.context, det.context)


def test_header_records_the_resolved_parameters(scene_file, tmp_path):
    result = run(["associate", scene_file, "-a", "deepsort", "--set", "nn_budget=none", "--set", "n_init=2",
                  "--min-track-length", "3"])
    header, _ = read_stream(result.stdout, tmp_path)
    assert header.tool == "smot associate"
    assert header.params == {
        "algorithm": "deepsort", "box": "detection", "min_track_length": 3,
        "params": {"min_confidence": 0.3, "min_detection_height": 0.0, "nms_max_overlap": 1.0,
                   "max_cosine_distance": 0.2, "nn_budget": None, "max_iou_distance": 0.7, "max_age": 30,
                   "n_init": 2},
    }


def test_min_track_length_drops_short_tracks_per_video(tmp_path):
    # person 0 is seen in all 12 frames; person 1 only in frames 1-4 (ByteTrack shows it from frame 1,
    # its first frame, since tracks born on frame 1 are activated at once): 4 boxes
    people = [walk(12, x=100, y=300, vx=4), hide(walk(12, x=600, y=300), 5, 12)]
    header, records = stream_records({"v": frames_of(people, video="v")})
    source = write_stream(tmp_path / "d.smot", header, records)
    counts = {}
    for n in (0, 4, 5):
        _, out = read_stream(run(["associate", source, "--min-track-length", str(n)]).stdout, tmp_path)
        frames = [r for r in out if isinstance(r, Frame)]
        assert [f.frame for f in frames] == list(range(1, 13))
        ids = np.concatenate([f.ids for f in frames])
        counts[n] = dict(zip(*np.unique(ids, return_counts=True), strict=True))
    assert counts[0] == {1: 12, 2: 4}
    assert counts[4] == {1: 12, 2: 4}
    assert counts[5] == {1: 12}


# --------------------------------------------------------------------------------------------
# bad input and options


def _raw_stream(tmp_path, box) -> str:
    records = [make_header("smot.detections", "test").to_wire(True), {"kind": "video", "id": "v", "frames": 1},
               {"kind": "frame", "video": "v", "frame": 1, "boxes": [box], "scores": [0.9]}, {"kind": "end"}]
    path = tmp_path / "bad.smot"
    path.write_bytes(b"".join(msgpack.packb(r, use_bin_type=True) for r in records))
    return str(path)


@pytest.mark.parametrize(("box", "message"), [
    ([10.0, float("nan"), 50.0, 90.0], "box 0 is not finite"),
    ([10.0, 20.0, 5.0, 90.0], "box 0 is inverted (x2 < x1 or y2 < y1)"),
])
def test_nan_and_negative_size_boxes_are_rejected(tmp_path, box, message):
    source = _raw_stream(tmp_path, box)
    result = run(["associate", source])
    assert result.code == 3
    assert result.stderr.startswith(f"smot associate: error: {message}")
    assert f"({source}, record 3)" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1


@pytest.mark.parametrize(("args", "message"), [
    (["-a", "kalman"], "--algorithm must be one of byte, sort, deepsort, ocsort, got 'kalman'"),
    (["--box", "mean"], "--box must be one of detection, filter, got 'mean'"),
    (["--min-track-length", "-1"], "--min-track-length must be >= 0, got -1"),
    (["--set", "track_thresh"], "--set 'track_thresh': expected key=value"),
    (["--set", "det_thresh=0.5"], "--set det_thresh: byte has no parameter 'det_thresh'"),
    (["--set", "track_thresh=high"], "--set track_thresh=high: could not convert string to float"),
    (["--set", "mot20=maybe"], "--set mot20=maybe: expected true or false, got 'maybe'"),
    (["--set", "track_buffer=-2"], "--set: track_buffer must be >= 0, got -2"),
    (["-a", "deepsort", "--set", "nn_budget=0"], "--set: nn_budget must be >= 1, got 0"),
    (["-a", "ocsort", "--set", "asso_func=giou"], "--set: asso_func 'giou' is not implemented"),
])
def test_bad_options_are_usage_errors(scene_file, args, message):
    result = run(["associate", scene_file, *args])
    assert result.code == 2, result.stderr
    assert result.stderr.startswith(f"smot associate: error: {message}")
    assert result.stdout == b""


def test_deepsort_without_box_features_fails_clearly(tmp_path, scene):
    frames = scene[1]
    for f in frames:
        f.features = None
    header, records = stream_records({"v": frames})
    source = write_stream(tmp_path / "d.smot", header, records)
    result = run(["associate", source, "-a", "deepsort", "-o", tmp_path / "out.smot"])
    assert result.code == 3
    assert result.stderr.splitlines()[0] == ("smot associate: error: deepsort needs a feature per detection "
                                             "box; this frame has none (video 'v', frame 1)")
    assert not (tmp_path / "out.smot").exists()  # no partial output file


# --------------------------------------------------------------------------------------------
# online through a real pipe


def test_each_frame_is_written_before_the_next_is_read():
    """Feed a process one detection frame at a time; every tracks frame must come back while the
    next input frame has not been written yet."""
    frames = frames_of([walk(5, x=100, y=300, vx=4)], video="live")
    header, records = stream_records({"live": frames})
    lines = [json.dumps(header.to_wire(False)).encode()] + \
        [json.dumps(r.to_wire(False)).encode() for r in records]
    env = dict(os.environ, PYTHONPATH=str(ROOT))
    # unbuffered: a raw readline reads exactly one line, so select() sees whatever is left
    process = subprocess.Popen([sys.executable, "-m", "smot", "associate", "--encoding", "jsonl"], cwd=ROOT,
                               env=env, stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               bufsize=0)
    try:
        def send(line: bytes) -> None:
            process.stdin.write(line + b"\n")
            process.stdin.flush()

        def receive() -> dict:
            ready, _, _ = select.select([process.stdout], [], [], 30)
            assert ready, "no output within 30 s: the stage waits for more input"
            return json.loads(process.stdout.readline())

        send(lines[0])
        send(lines[1])  # the video record
        assert receive()["kind"] == "header"
        assert receive()["kind"] == "video"
        for t, line in enumerate(lines[2:], start=1):
            send(line)
            record = receive()
            assert (record["kind"], record["frame"]) == ("frame", t)
        process.stdin.write(json.dumps({"kind": "end"}).encode() + b"\n")
        process.stdin.close()
        assert receive()["kind"] == "end"
        assert process.wait(30) == 0
    finally:
        if process.poll() is None:
            process.kill()
            time.sleep(0.1)
