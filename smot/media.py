"""Frames from where videos live: a video file, an image folder, a BenSMOT sequence.

`open_frames(path)` gives a FrameSource: its `video` record (id, frame count, size, fps, images)
and its frames 1..N as BGR uint8 arrays (OpenCV's order). Stages that need pixels (detect, render,
training) read them through here, so every input kind behaves the same.
"""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import numpy as np

from smot.datasets.bensmot import is_sequence, list_images
from smot.errors import InputError
from smot.records import Video

VIDEO_SUFFIXES = (".mp4", ".avi", ".mov", ".mkv", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv")


class FrameSource:
    """The frames of one video, read in order or by number."""

    def __init__(self, video: Video, path: Path):
        self.video = video
        self.path = path

    def __iter__(self) -> Iterator[np.ndarray]:
        raise NotImplementedError

    def __len__(self) -> int:
        return self.video.frames


class ImageFrames(FrameSource):
    """An image folder or a BenSMOT sequence: `video.images` relative to `video.source`."""

    def read(self, frame: int) -> np.ndarray:
        import cv2

        path = Path(self.video.source) / self.video.images[frame - 1]
        image = cv2.imread(str(path), cv2.IMREAD_COLOR)
        if image is None:
            raise InputError(f"cannot read image {path}", f"{self.video.id}, frame {frame}")
        return image

    def __iter__(self) -> Iterator[np.ndarray]:
        for frame in range(1, self.video.frames + 1):
            yield self.read(frame)


class VideoFileFrames(FrameSource):
    """A video file decoded by OpenCV."""

    def __iter__(self) -> Iterator[np.ndarray]:
        import cv2

        capture = cv2.VideoCapture(str(self.path))
        try:
            for frame in range(1, self.video.frames + 1):
                ok, image = capture.read()
                if not ok:
                    raise InputError(f"cannot decode frame {frame} of {self.video.frames}", str(self.path))
                yield image
        finally:
            capture.release()


def video_file(path: Path, video_id: str | None = None) -> VideoFileFrames:
    import cv2

    capture = cv2.VideoCapture(str(path))
    try:
        if not capture.isOpened():
            raise InputError(f"cannot open video {path}", hint="OpenCV reads mp4, avi, mov, mkv and webm files")
        frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
        width = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH))
        height = int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
        fps = float(capture.get(cv2.CAP_PROP_FPS)) or None
        if frames <= 0:  # some containers do not say: count by decoding
            frames = 0
            while capture.grab():
                frames += 1
    finally:
        capture.release()
    video = Video(id=video_id or path.stem, frames=frames, source=str(path.resolve()),
                  width=width or None, height=height or None, fps=fps)
    return VideoFileFrames(video, path)


def image_folder(folder: Path, video_id: str, subfolder: str = "") -> ImageFrames:
    from smot.datasets.bensmot import image_size

    names = list_images(folder / subfolder) if (folder / subfolder).is_dir() else []
    if not names:
        raise InputError(f"no images (.jpg, .jpeg, .png) in {folder / subfolder}")
    images = [f"{subfolder}/{n}" if subfolder else n for n in names]
    size = image_size(folder / images[0])
    video = Video(id=video_id, frames=len(images), source=str(folder.resolve()),
                  width=size[0] if size else None, height=size[1] if size else None, images=images)
    return ImageFrames(video, folder)


def from_video_record(video: Video) -> FrameSource:
    """The frames a video record points at (its `source`, and `images` for image folders)."""
    if not video.source:
        raise InputError(f"video {video.id!r} names no source", hint="give the video file or folder explicitly")
    source = Path(video.source)
    if video.images:
        return ImageFrames(video, source)
    if source.is_file():
        return VideoFileFrames(video, source)
    raise InputError(f"the source of video {video.id!r} is missing: {source}")


def open_frames(path: str | Path, video_id: str | None = None) -> list[FrameSource]:
    """Frame sources for a video file, an image folder, a BenSMOT sequence or a BenSMOT split."""
    from smot.datasets.bensmot import find_sequences

    path = Path(path)
    if path.is_file():
        if path.suffix.lower() not in VIDEO_SUFFIXES:
            raise InputError(f"{path} is not a video file ({', '.join(VIDEO_SUFFIXES)})")
        return [video_file(path, video_id)]
    if not path.is_dir():
        raise InputError(f"cannot read {path}: no such file or folder")
    if is_sequence(path):
        (sequence_id, folder), = find_sequences(path)
        return [image_folder(folder, video_id or sequence_id, "imgs")]
    if list_images(path):
        return [image_folder(path, video_id or path.name)]
    return [image_folder(folder, sequence_id, "imgs") for sequence_id, folder in find_sequences(path)]
