"""Frame sources: a video file, an image folder, a BenSMOT sequence and split read the same way."""

from __future__ import annotations

import shutil

import cv2
import numpy as np
import pytest
from conftest import BENSMOT_MINI, run

from smot.errors import InputError
from smot.media import from_video_record, open_frames
from smot.streams import StreamReader

SEQUENCE = BENSMOT_MINI / "hugging" / "abcDEF12345_0"


def test_bensmot_sequence_frames_match_the_converted_video_record(tmp_path):
    (source,) = open_frames(SEQUENCE)
    (tmp_path / "gt.smot").write_bytes(run(["convert", SEQUENCE]).stdout)
    video = next(iter(StreamReader(str(tmp_path / "gt.smot"))))
    assert source.video == video  # the same id, frames, size, images, source
    images = list(source)
    assert len(images) == 3 and images[0].shape == (360, 640, 3)
    again = list(from_video_record(video))
    assert all(np.array_equal(a, b) for a, b in zip(images, again, strict=True))


def test_split_image_folder_and_video_file(tmp_path):
    split = tmp_path / "test"
    shutil.copytree(BENSMOT_MINI, split)
    shutil.copytree(SEQUENCE, split / "hugging" / "other_1")
    assert [s.video.id for s in open_frames(split)] == ["hugging/abcDEF12345_0", "hugging/other_1"]
    (folder,) = open_frames(SEQUENCE / "imgs")
    assert folder.video.id == "imgs" and folder.video.images == ["001.jpg", "002.jpg", "003.jpg"]
    path = tmp_path / "clip.avi"
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), 25.0, (64, 48))
    for i in range(5):
        writer.write(np.full((48, 64, 3), i * 50, np.uint8))
    writer.release()
    (clip,) = open_frames(path)
    assert (clip.video.id, clip.video.frames, clip.video.width, clip.video.height, clip.video.fps) == (
        "clip", 5, 64, 48, 25.0)
    means = [image.mean() for image in clip]  # MJPG is lossy: within a grey level or two
    assert np.allclose(means, [0, 50, 100, 150, 200], atol=2)


def test_bad_sources(tmp_path):
    (tmp_path / "notes.txt").write_text("x")
    with pytest.raises(InputError, match="is not a video file"):
        open_frames(tmp_path / "notes.txt")
    with pytest.raises(InputError, match="no such file or folder"):
        open_frames(tmp_path / "missing.mp4")
    (tmp_path / "broken.mp4").write_bytes(b"not a video")
    with pytest.raises(InputError, match="cannot open video"):
        open_frames(tmp_path / "broken.mp4")
