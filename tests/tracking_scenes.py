"""Small hand-made detection streams for the tracker tests: people moving at constant velocity.

A scene is a list of people; each person is a (frames, 4) array of boxes with NaN rows for frames
where the person is not detected. `frames_of` turns a scene into detection Frames whose rows are the
people in order (skipping the undetected ones), each with a unit appearance feature of its own.
"""

from __future__ import annotations

import dataclasses

import numpy as np

from smot.records import Frame, Header, Video
from smot.streams import make_header

WIDTH, HEIGHT = 60.0, 160.0


def walk(frames: int, x: float, y: float, vx: float = 0.0, vy: float = 0.0,
         size: tuple[float, float] = (WIDTH, HEIGHT)) -> np.ndarray:
    """(frames, 4) boxes of a person whose top-left corner starts at (x, y) and moves by (vx, vy)."""
    t = np.arange(frames)[:, None]
    top_left = np.array([x, y]) + t * np.array([vx, vy])
    return np.hstack([top_left, top_left + np.array(size)])


def hide(boxes: np.ndarray, first: int, last: int) -> np.ndarray:
    """The boxes with frames first..last (1-based, inclusive) undetected."""
    out = boxes.copy()
    out[first - 1:last] = np.nan
    return out


def frames_of(people: list[np.ndarray], video: str = "scene", score: float = 0.9, dim: int = 8,
              scores: list[float] | None = None) -> list[Frame]:
    """Detection frames of a scene; person i has feature e_i and score `scores[i]` (default `score`)."""
    count = len(people[0])
    looks = np.eye(max(dim, len(people)), dtype=np.float16)[: len(people)]
    out = []
    for t in range(count):
        seen = [i for i, boxes in enumerate(people) if not np.isnan(boxes[t]).any()]
        out.append(Frame(
            video=video, frame=t + 1,
            boxes=np.array([people[i][t] for i in seen]).reshape(-1, 4),
            scores=np.array([scores[i] if scores else score for i in seen], dtype=np.float64),
            features=looks[seen].reshape(len(seen), looks.shape[1]),
        ))
    return out


def person_of_row(people: list[np.ndarray], frame: Frame, row: int) -> int:
    """Which person detection row `row` of `frame` is (rows are the detected people in order)."""
    seen = [i for i, boxes in enumerate(people) if not np.isnan(boxes[frame.frame - 1]).any()]
    return seen[row]


def stream_records(videos: dict[str, list[Frame]], fps: float | None = 30.0) -> tuple[Header, list]:
    """(header, records) of a smot.detections stream holding these videos."""
    records: list = []
    for name, frames in videos.items():
        records.append(Video(id=name, frames=len(frames), fps=fps))
        records.extend(dataclasses.replace(f, video=name) for f in frames)
    return make_header("smot.detections", "test"), records


def ids_by_person(people: list[np.ndarray], detections: list[Frame], tracks: list[Frame]) -> dict[int, set]:
    """For each person, the set of track ids their detections were given (det_index back to rows)."""
    out: dict[int, set] = {i: set() for i in range(len(people))}
    for det, trk in zip(detections, tracks, strict=True):
        for track_id, row in zip(trk.ids.tolist(), trk.det_index.tolist(), strict=True):
            if row >= 0:
                out[person_of_row(people, det, row)].add(track_id)
    return out
