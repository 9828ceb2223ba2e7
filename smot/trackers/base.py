"""What the four trackers share: per-track state in arrays, parameters, and the output frame.

A tracker is `update(frame) -> Frame` over the detection frames of one video, plus `reset()`. Each
output row points back at the input detection it came from (`det_index`); the box written is that
detection's (`box="detection"`, so box features stay aligned with their box) or the filter's
(`box="filter"`, what the official tracker outputs).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from typing import Any, ClassVar

import numpy as np

from smot.records import Frame

BOX_MODES = ("detection", "filter")


def check_at_least(params: Any, minimum: int, *names: str) -> None:
    """Raise ValueError naming the first of `names` whose value is below `minimum`."""
    for name in names:
        value = getattr(params, name)
        if value is not None and value < minimum:
            raise ValueError(f"{name} must be >= {minimum}, got {value}")


class Slots:
    """Per-track state as arrays indexed by slot; the slots of ended tracks are reused.

    `spec` maps a field name to (shape after the slot axis, dtype) or (shape after, dtype, shape
    before); a field is an attribute holding an array of shape (*before, capacity, *after). The
    Kalman states put their components before the slot axis, so that a gathered batch
    (`s.mean[:, slots]`) is contiguous per component.
    """

    def __init__(self, spec: dict[str, tuple], capacity: int = 64):
        self._spec = {name: (tuple(v[0]), v[1], tuple(v[2]) if len(v) > 2 else ()) for name, v in spec.items()}
        self.capacity = capacity
        for name, (after, dtype, before) in self._spec.items():
            setattr(self, name, np.zeros((*before, capacity, *after), dtype=dtype))
        self._free = list(range(capacity - 1, -1, -1))

    def take(self, n: int) -> np.ndarray:
        """n free slots (ascending as allocated), growing the arrays when needed."""
        if n > len(self._free):
            self._grow(max(2 * self.capacity, self.capacity + n))
        taken = [self._free.pop() for _ in range(n)]
        return np.array(taken, dtype=np.int64)

    def release(self, slots: np.ndarray) -> None:
        self._free.extend(slots.tolist())

    @property
    def in_use(self) -> int:
        return self.capacity - len(self._free)

    def _grow(self, capacity: int) -> None:
        for name, (after, dtype, before) in self._spec.items():
            old = getattr(self, name)
            new = np.zeros((*before, capacity, *after), dtype=dtype)
            new[(slice(None),) * len(before) + (slice(0, self.capacity),)] = old
            setattr(self, name, new)
        self._free = list(range(capacity - 1, self.capacity - 1, -1)) + self._free
        self.capacity = capacity


@dataclass
class Step:
    """What one tracker step outputs, one row per output track.

    `det_rows` index the current frame's detections; a row of -1 (DeepSORT only) is a track shown
    without a detection this frame, and `previous_rows` then gives the row of the previous frame's
    detection it was last matched to.
    """

    ids: np.ndarray  # (k,) int64
    det_rows: np.ndarray  # (k,) int64, -1 for none
    filter_boxes: np.ndarray | None  # (k, 4) the tracker's own box; None when not asked for
    previous_rows: np.ndarray | None = None  # (k,) int64 rows of the previous frame, where det_rows == -1


class Tracker:
    """Base of the trackers: parameters, the id counter, and building the output frame."""

    name: ClassVar[str]
    Params: ClassVar[type]

    def __init__(self, params: Any = None, fps: float | None = None, box: str = "detection"):
        if box not in BOX_MODES:
            raise ValueError(f"box must be one of {BOX_MODES}, got {box!r}")
        self.params = params if params is not None else self.Params()
        self.fps = float(fps) if fps else 30.0
        self.box = box
        self._previous: Frame | None = None
        self.reset()

    def reset(self) -> None:
        """Forget every track; ids start again from 1."""
        self._previous = None
        self._next_id = 0
        self._reset()

    def _reset(self) -> None:
        raise NotImplementedError

    def _new_ids(self, n: int) -> np.ndarray:
        ids = np.arange(self._next_id + 1, self._next_id + n + 1, dtype=np.int64)
        self._next_id += n
        return ids

    def _step(self, frame: Frame) -> Step:
        raise NotImplementedError

    def update(self, frame: Frame) -> Frame:
        """The tracks frame of one detections frame (the next frame of the video)."""
        step = self._step(frame)
        out = self._output(frame, step)
        self._previous = frame
        return out

    def _output(self, frame: Frame, step: Step) -> Frame:
        rows = step.det_rows
        if len(rows) and rows.min() < 0:
            return self._output_with_previous(frame, step)
        boxes = frame.boxes[rows] if self.box == "detection" else step.filter_boxes

        def take(a: np.ndarray | None) -> np.ndarray | None:
            return None if a is None else a[rows]

        return Frame(video=frame.video, frame=frame.frame, boxes=boxes, scores=frame.scores[rows],
                     ids=step.ids, det_index=rows, classes=take(frame.classes),
                     visibility=take(frame.visibility), features=take(frame.features), context=frame.context)

    def _output_with_previous(self, frame: Frame, step: Step) -> Frame:
        """Rows without a detection this frame take the filter box and the score, class, visibility
        and features of the previous frame's detection the track was last matched to."""
        rows = step.det_rows
        now = np.flatnonzero(rows >= 0)
        back = np.flatnonzero(rows < 0)
        prev_rows = step.previous_rows[back]
        previous = self._previous
        boxes = step.filter_boxes.copy()
        if self.box == "detection":
            boxes[now] = frame.boxes[rows[now]]

        def take(current: np.ndarray | None, before: np.ndarray | None) -> np.ndarray | None:
            if current is None or before is None or current.shape[1:] != before.shape[1:]:
                return None
            out = np.empty((len(rows), *current.shape[1:]), dtype=np.result_type(current, before))
            out[now] = current[rows[now]]
            out[back] = before[prev_rows]
            return out

        return Frame(video=frame.video, frame=frame.frame, boxes=boxes,
                     scores=take(frame.scores, previous.scores), ids=step.ids, det_index=rows,
                     classes=take(frame.classes, previous.classes),
                     visibility=take(frame.visibility, previous.visibility),
                     features=take(frame.features, previous.features), context=frame.context)


def params_doc(cls: type) -> list[tuple[str, Any, str]]:
    """(name, default, meaning) of each parameter of a Params dataclass."""
    return [(f.name, f.default, f.metadata.get("doc", "")) for f in fields(cls)]
