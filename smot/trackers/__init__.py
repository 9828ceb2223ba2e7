"""Online multi-object trackers: detections of one video in, tracks out, frame by frame.

    tracker = make_tracker("byte", {"track_thresh": 0.6}, fps=25)
    for frame in frames:                 # smot.records.Frame detections, frames 1, 2, ...
        tracks = tracker.update(frame)   # a Frame with ids and det_index

One module per algorithm (byte, sort, ocsort, deepsort), each reproducing its official code; the
Kalman filters (kalman.py) and overlaps and assignment (matching.py) are shared.
"""

from __future__ import annotations

import dataclasses
import types
import typing
from typing import Any

from smot.trackers.base import BOX_MODES, Tracker, params_doc
from smot.trackers.byte import ByteTracker
from smot.trackers.deepsort import DeepSortTracker
from smot.trackers.ocsort import OcSortTracker
from smot.trackers.sort import SortTracker

ALGORITHMS: dict[str, type[Tracker]] = {
    cls.name: cls for cls in (ByteTracker, SortTracker, DeepSortTracker, OcSortTracker)
}

__all__ = ["ALGORITHMS", "BOX_MODES", "Tracker", "make_tracker", "make_params", "params_doc"]


def make_params(algorithm: str, values: dict[str, Any] | None = None) -> Any:
    """The algorithm's parameters: its defaults with `values` (already typed) replacing some."""
    cls = ALGORITHMS[algorithm].Params
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values or {}) - known)
    if unknown:
        raise KeyError(unknown[0])
    return cls(**(values or {}))


def make_tracker(algorithm: str, values: dict[str, Any] | None = None, fps: float | None = None,
                 box: str = "detection") -> Tracker:
    """A fresh tracker (ids from 1) for one video; `fps` None means 30."""
    return ALGORITHMS[algorithm](make_params(algorithm, values), fps=fps, box=box)


def parse_value(cls: type, name: str, text: str) -> Any:
    """`text` as the type of parameter `name` of `cls`; ValueError when it does not parse."""
    hints = typing.get_type_hints(cls)
    kind = hints[name]
    optional = False
    if isinstance(kind, types.UnionType) or typing.get_origin(kind) is typing.Union:
        args = [a for a in typing.get_args(kind) if a is not type(None)]
        optional, kind = True, args[0]
    lowered = text.strip().lower()
    if optional and lowered in ("none", "null", ""):
        return None
    if kind is bool:
        if lowered in ("true", "1", "yes", "on"):
            return True
        if lowered in ("false", "0", "no", "off"):
            return False
        raise ValueError(f"expected true or false, got {text!r}")
    if kind is int:
        return int(lowered)
    if kind is float:
        value = float(lowered)
        if value != value:
            raise ValueError("NaN is not a value")
        return value
    return text
