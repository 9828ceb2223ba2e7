"""smot detect: inputs of every kind, the stream it writes, sharding, and errors."""

from __future__ import annotations

import hashlib
from pathlib import Path

import cv2
import numpy as np
import pytest
import torch
from conftest import run
from drawn import MICRO, write_split

from smot.datasets.bensmot import find_sequences, read_sequence
from smot.models.checkpoint import save_checkpoint
from smot.models.detector import Detector
from smot.records import Frame, Video
from smot.streams import StreamReader

THRESHOLD = ["--score-threshold", "0.05"]  # an untrained head scores about sqrt(0.01) = 0.1 everywhere


@pytest.fixture(scope="module")
def model(tmp_path_factory) -> Path:
    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("model") / "micro.pt"
    save_checkpoint(path, {"config": {"detector": MICRO.to_dict()},
                           "weights": {"detector": Detector(MICRO).state_dict()}})
    return path


@pytest.fixture(scope="module")
def split(tmp_path_factory) -> Path:
    return write_split(tmp_path_factory.mktemp("drawn") / "test", videos=3, frames=5, width=150, height=100)


def read(data: bytes, tmp_path: Path, name: str = "out.smot"):
    path = tmp_path / name
    path.write_bytes(data)
    with StreamReader(str(path)) as reader:
        return reader.header, list(reader)


def test_detect_split(model, split, tmp_path):
    result = run(["detect", split, "--model", model, *THRESHOLD, "--batch-size", "2"])
    assert result.code == 0, result.stderr
    header, records = read(result.stdout, tmp_path)
    assert header.format == "smot.detections" and header.tool == "smot detect"
    assert header.model == hashlib.sha256(model.read_bytes()).hexdigest()
    assert header.params["score_threshold"] == 0.05 and header.params["input_size"] == [128, 96]
    videos = [r for r in records if isinstance(r, Video)]
    # the video records are those of the ground truth (smot convert / read_sequence)
    truth = [read_sequence(folder, video_id)[0] for video_id, folder in find_sequences(split)]
    assert videos == truth
    frames = [r for r in records if isinstance(r, Frame)]
    assert [(f.video, f.frame) for f in frames] == [(v.id, t) for v in videos for t in range(1, 6)]
    for f in frames:
        assert f.ids is None and f.n > 0
        assert f.features.dtype == np.float16 and f.features.shape == (f.n, 32)  # 4 tokens x 8 in MICRO
        assert f.context.dtype == np.float16 and f.context.shape == (16, 16)  # 16 channels x 4x4 grid
        assert (f.boxes >= 0).all() and (f.boxes[:, 2] <= 150).all() and (f.boxes[:, 3] <= 100).all()
        assert (f.scores > 0.05).all() and (np.diff(f.scores) <= 0).all()


def test_video_file_equals_its_frames_as_images(model, split, tmp_path):
    images = sorted((split / "walking" / "clip00_0" / "imgs").iterdir())
    writer = cv2.VideoWriter(str(tmp_path / "clip.avi"), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (150, 100))
    for path in images:
        writer.write(cv2.imread(str(path)))
    writer.release()
    # the frames as OpenCV decodes them from the file, written losslessly as an image folder
    (tmp_path / "clip").mkdir()
    capture = cv2.VideoCapture(str(tmp_path / "clip.avi"))
    count = 0
    while True:
        ok, frame = capture.read()
        if not ok:
            break
        count += 1
        cv2.imwrite(str(tmp_path / "clip" / f"{count:04d}.png"), frame)
    assert count == 5
    from_video = run(["detect", tmp_path / "clip.avi", "--model", model, *THRESHOLD])
    from_images = run(["detect", tmp_path / "clip", "--model", model, *THRESHOLD])
    assert from_video.code == 0 and from_images.code == 0, from_video.stderr + from_images.stderr
    (_, a), (_, b) = read(from_video.stdout, tmp_path, "a.smot"), read(from_images.stdout, tmp_path, "b.smot")
    assert a[0].id == b[0].id == "clip"
    assert (a[0].frames, a[0].width, a[0].height, a[0].fps) == (5, 150, 100, 25.0)
    assert b[0].images == [f"{t:04d}.png" for t in range(1, 6)]
    assert a[1:] == b[1:]  # every frame record equal: boxes, scores, features, context


def test_batch_size_does_not_change_detections(model, split, tmp_path):
    seq = split / "walking" / "clip01_0"
    one = read(run(["detect", seq, "--model", model, *THRESHOLD, "--batch-size", "1"]).stdout, tmp_path, "1.smot")[1]
    four = read(run(["detect", seq, "--model", model, *THRESHOLD, "--batch-size", "4"]).stdout, tmp_path, "4.smot")[1]
    for x, y in zip(one[1:], four[1:], strict=True):
        assert x.n == y.n
        np.testing.assert_allclose(x.boxes, y.boxes, atol=1e-3)
        np.testing.assert_allclose(x.scores, y.scores, atol=1e-5)


def test_shards_partition_the_videos(model, split, tmp_path):
    whole = read(run(["detect", split, "--model", model, *THRESHOLD, "--no-features"]).stdout, tmp_path, "w.smot")[1]
    parts = []
    for i in range(2):
        result = run(["detect", split, "--model", model, *THRESHOLD, "--no-features", "--shard", f"{i}/2",
                      "-o", tmp_path / f"part{i}.smot"])
        assert result.code == 0 and result.stdout == b""
        header, records = read((tmp_path / f"part{i}.smot").read_bytes(), tmp_path, f"p{i}.smot")
        assert header.params["shard"] == f"{i}/2"
        parts.append(records)
    ids = [[r.id for r in p if isinstance(r, Video)] for p in parts]
    assert ids == [["walking/clip00_0", "walking/clip02_0"], ["walking/clip01_0"]]
    by_video = {}
    for p in parts:
        for r in p:
            by_video.setdefault(r.id if isinstance(r, Video) else r.video, []).append(r)
    assert [r for v in ("walking/clip00_0", "walking/clip01_0", "walking/clip02_0") for r in by_video[v]] == whole
    assert all(f.features is None and f.context is None for f in whole if isinstance(f, Frame))
    # a shard with no videos is a valid empty stream
    empty = run(["detect", split, "--model", model, "--shard", "7/8"])
    assert empty.code == 0
    header, records = read(empty.stdout, tmp_path, "e.smot")
    assert records == []


def test_help():
    result = run(["detect", "--help"])
    assert result.code == 0 and "--score-threshold" in result.text and "0.55" in result.text


@pytest.mark.parametrize("args,code,message", [
    (["{missing}"], 3, "cannot read"),
    (["{split}", "--model", "{missing}"], 3, "cannot read model"),
    (["{split}", "--shard", "2/2"], 2, "--shard must be I/N"),
    (["{split}", "--score-threshold", "1.5"], 2, "--score-threshold must be in [0, 1)"),
    (["{bad_video}"], 3, "cannot open"),
    (["{empty}"], 3, "no BenSMOT sequences"),
    (["{not_model}"], 3, "is not a smot model checkpoint"),
])
def test_errors(model, split, tmp_path, args, code, message):
    (tmp_path / "bad.mp4").write_text("not a video")
    (tmp_path / "empty").mkdir()
    (tmp_path / "notmodel.pt").write_text("x")
    paths = {"{missing}": tmp_path / "missing", "{split}": split, "{bad_video}": tmp_path / "bad.mp4",
             "{empty}": tmp_path / "empty", "{not_model}": split}
    argv = [paths.get(a, a) for a in args]
    if "--model" not in argv:
        argv += ["--model", tmp_path / "notmodel.pt" if args == ["{not_model}"] else model]
    result = run(["detect", *argv, "-o", tmp_path / "out.smot"])
    assert result.code == code, result.stderr
    lines = result.stderr.strip().splitlines()
    assert lines[0].startswith("smot detect: error: ") and message in lines[0], result.stderr
    assert "Traceback" not in result.stderr
    assert not (tmp_path / "out.smot").exists()
