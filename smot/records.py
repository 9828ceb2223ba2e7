"""The records of a smot stream, defined once.

Every stream is a sequence of these records (formats/README.md). Each class says its fields, their
types and meanings; `from_wire` validates a decoded map and `to_wire` gives the map to encode. The
JSON Schemas in formats/schemas are generated from these definitions (`python -m smot.schema`).

Conventions (formats/envelope.md): frames are 1-based; boxes are `xyxy` float pixels in the
source resolution; track ids are positive integers unique within a video; a record that belongs
to a video names it in `video` and follows that video's `video` record.
"""

from __future__ import annotations

import math
import re
from dataclasses import MISSING, dataclass, field, fields
from typing import Any, ClassVar

import numpy as np

from smot.arrays import decode_array, encode_array
from smot.errors import RecordError

# Stream formats and the versions this smot reads and writes.
FORMAT_VERSIONS = {"smot.detections": 1, "smot.tracks": 1, "smot.fused": 1}

# Which record kinds each stream format may hold besides header, video and end.
FORMAT_KINDS = {
    "smot.detections": {"frame"},
    "smot.tracks": {"frame", "caption", "summary", "interaction"},
    "smot.fused": {"frame", "caption", "summary", "interaction", "trajectory_feature", "video_feature"},
}

# Records and fields whose name starts with this prefix are extensions: carried, never validated.
EXTENSION_PREFIX = "x-"

_VIDEO_ID = re.compile(r"[^/\\\x00-\x1f]+(/[^/\\\x00-\x1f]+)*")


def doc(text: str, default: Any = MISSING, **schema: Any) -> Any:
    """A dataclass field with its documentation and extra JSON-Schema keywords."""
    meta = {"doc": text, "schema": schema}
    if default is MISSING:
        return field(metadata=meta)
    if isinstance(default, (list, dict)):
        return field(default_factory=type(default), metadata=meta)
    return field(default=default, metadata=meta)


# Array-valued field types. Annotations name them by string so the schema generator can map them.
Boxes = "Boxes"  # (n, 4) float64 xyxy
FloatVector = "FloatVector"  # (n,) float64
IntVector = "IntVector"  # (n,) int64
NDArray = "NDArray"  # any numeric array, carried by the array codec


# --------------------------------------------------------------------------------------------
# checks shared by the records


def _need(d: dict, name: str, kind: str) -> Any:
    try:
        return d[name]
    except KeyError:
        raise RecordError(f"{kind} record has no field {name!r}") from None


def _check_keys(d: dict, cls: type, kind: str) -> None:
    known = cls._field_names
    if d.keys() <= known:
        return
    for key in d:
        if key not in known and not key.startswith(EXTENSION_PREFIX):
            raise RecordError(f"{kind} record has an unknown field {key!r}")


def _int(value: Any, what: str, minimum: int | None = None) -> int:
    if type(value) is not int:
        raise RecordError(f"{what} must be an integer, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise RecordError(f"{what} must be >= {minimum}, got {value}")
    return value


def _str(value: Any, what: str, empty: bool = False) -> str:
    if not isinstance(value, str):
        raise RecordError(f"{what} must be a string, got {_show(value)}")
    if not empty and not value:
        raise RecordError(f"{what} must not be empty")
    return value


def _number(value: Any, what: str, minimum: float | None = None) -> float:
    if type(value) not in (int, float) or not math.isfinite(value):
        raise RecordError(f"{what} must be a finite number, got {_show(value)}")
    if minimum is not None and value < minimum:
        raise RecordError(f"{what} must be >= {minimum}, got {value}")
    return float(value)


def _opt(value: Any, check, *args) -> Any:
    return None if value is None else check(value, *args)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 40 else text[:37] + "..."


def check_video_id(value: Any) -> str:
    """Video ids name folders and files (`<scenario>/<clip>`), so they may not escape a root."""
    _str(value, "video id")
    if not _VIDEO_ID.fullmatch(value) or any(part in (".", "..") for part in value.split("/")):
        raise RecordError(
            f"video id must be one or more '/'-separated names without '.', '..', '\\' or control "
            f"characters, got {_show(value)}"
        )
    return value


def _vector(value: Any, what: str, n: int, dtype: type) -> np.ndarray:
    """A (n,) numeric vector from a list or an encoded array."""
    if type(value) is dict:
        array = decode_array(value, what)
        if array.dtype == dtype and array.shape == (n,):
            return array
    else:
        try:
            array = np.asarray(value)
        except (ValueError, TypeError):
            raise RecordError(f"{what} must be a list of numbers") from None
    if array.size == 0:
        array = array.reshape(0)
    if array.ndim != 1 or len(array) != n:
        raise RecordError(f"{what} must have shape ({n},), got {tuple(array.shape)}")
    kind = array.dtype.kind
    if dtype is np.int64:
        if n and kind not in "iu":
            raise RecordError(f"{what} must hold integers, got {array.dtype.name} values")
    elif n and kind not in "iuf":
        raise RecordError(f"{what} must hold numbers, got {array.dtype.name} values")
    return array.astype(dtype, copy=False)


def _arrays_equal(a: np.ndarray | None, b: np.ndarray | None) -> bool:
    if a is None or b is None:
        return a is b
    return a.dtype == b.dtype and a.shape == b.shape and np.array_equal(a, b, equal_nan=True)


class Record:
    """Base of all records: `kind`, validation from a decoded map, and the map to encode."""

    kind: ClassVar[str]
    _field_names: ClassVar[frozenset[str]]
    _array_fields: ClassVar[tuple[str, ...]] = ()

    @classmethod
    def _finish(cls) -> None:
        cls._field_names = frozenset(["kind", *(f.name for f in fields(cls))])

    def to_wire(self, binary: bool) -> dict:
        """The map to encode; arrays by the codec (raw bytes when binary, else base64)."""
        out = {"kind": self.kind}
        for f in fields(self):
            value = getattr(self, f.name)
            if value is None:
                continue
            if f.name in self._array_fields:
                value = encode_array(value, binary)
            out[f.name] = value
        return out

    def __eq__(self, other: object) -> bool:
        if type(other) is not type(self):
            return NotImplemented
        for f in fields(self):
            a, b = getattr(self, f.name), getattr(other, f.name)
            if isinstance(a, np.ndarray) or isinstance(b, np.ndarray):
                if not _arrays_equal(a, b):
                    return False
            elif a != b:
                return False
        return True

    __hash__ = None  # type: ignore[assignment]


# --------------------------------------------------------------------------------------------
# the envelope


@dataclass(eq=False)
class Header(Record):
    """The first record of every stream: what it is and where it came from."""

    kind: ClassVar[str] = "header"
    format: str = doc("stream format", enum=sorted(FORMAT_VERSIONS))
    version: int = doc("version of that format", minimum=1)
    tool: str = doc("the program that wrote the stream, e.g. `smot associate`")
    tool_version: str = doc("its version")
    params: dict = doc("the parameters it ran with", default={})
    model: str | None = doc("sha256 of the model checkpoint used, if any", default=None)
    inputs: list = doc("headers of the input streams, in order (provenance)", default=[])

    @classmethod
    def from_wire(cls, d: dict) -> Header:
        _check_keys(d, cls, "header")
        fmt = _str(_need(d, "format", "header"), "format")
        if fmt not in FORMAT_VERSIONS:
            raise RecordError(f"unknown stream format {fmt!r}; smot reads {', '.join(sorted(FORMAT_VERSIONS))}")
        version = _int(_need(d, "version", "header"), "version", 1)
        if version > FORMAT_VERSIONS[fmt]:
            raise RecordError(
                f"{fmt} version {version} is newer than this smot reads (version {FORMAT_VERSIONS[fmt]})"
            )
        params = d.get("params", {})
        if not isinstance(params, dict):
            raise RecordError(f"params must be a map, got {_show(params)}")
        inputs = d.get("inputs", [])
        if not isinstance(inputs, list) or not all(isinstance(h, dict) for h in inputs):
            raise RecordError("inputs must be a list of header maps")
        return cls(
            format=fmt,
            version=version,
            tool=_str(_need(d, "tool", "header"), "tool"),
            tool_version=_str(_need(d, "tool_version", "header"), "tool_version"),
            params=params,
            model=_opt(d.get("model"), _str, "model"),
            inputs=inputs,
        )

    def to_wire(self, binary: bool) -> dict:
        out = super().to_wire(binary)
        out.setdefault("params", {})
        out.setdefault("inputs", [])
        return out


@dataclass(eq=False)
class Video(Record):
    """Opens a video; the records of that video follow it."""

    kind: ClassVar[str] = "video"
    id: str = doc("`<scenario>/<clip>` for BenSMOT sequences, else the file stem")
    frames: int = doc("number of frames; frame records are numbered 1..frames", minimum=0)
    source: str | None = doc("path of the video file, image folder or sequence folder", default=None)
    width: int | None = doc("frame width in pixels, null when unknown", default=None, minimum=1)
    height: int | None = doc("frame height in pixels, null when unknown", default=None, minimum=1)
    fps: float | None = doc("frames per second, null when unknown (consumers assume 30)", default=None)
    images: list | None = doc(
        "image files of frames 1..frames, relative to source (image-folder sources only)", default=None
    )

    @classmethod
    def from_wire(cls, d: dict) -> Video:
        _check_keys(d, cls, "video")
        frames = _int(_need(d, "frames", "video"), "frames", 0)
        images = d.get("images")
        if images is not None:
            if not isinstance(images, list) or not all(isinstance(p, str) and p for p in images):
                raise RecordError("images must be a list of file names")
            if len(images) != frames:
                raise RecordError(f"images lists {len(images)} files for {frames} frames")
        fps = _opt(d.get("fps"), _number, "fps")
        if fps is not None and fps <= 0:
            raise RecordError(f"fps must be > 0, got {fps}")
        return cls(
            id=check_video_id(_need(d, "id", "video")),
            frames=frames,
            source=_opt(d.get("source"), _str, "source"),
            width=_opt(d.get("width"), _int, "width", 1),
            height=_opt(d.get("height"), _int, "height", 1),
            fps=fps,
            images=images,
        )


@dataclass(eq=False)
class End(Record):
    """The last record of every stream. A stream without it was cut short."""

    kind: ClassVar[str] = "end"

    @classmethod
    def from_wire(cls, d: dict) -> End:
        _check_keys(d, cls, "end")
        return cls()


# --------------------------------------------------------------------------------------------
# per-frame records


@dataclass(eq=False)
class Frame(Record):
    """One frame of a video: detections (no `ids`) or tracks (with `ids`), columnar.

    Row i of every per-box array belongs to box i.
    """

    kind: ClassVar[str] = "frame"
    _array_fields: ClassVar[tuple[str, ...]] = ("features", "context")
    video: str = doc("id of the video")
    frame: int = doc("1-based frame number", minimum=1)
    boxes: Boxes = doc("(n, 4) boxes x1, y1, x2, y2 in source pixels; x2 >= x1, y2 >= y1")
    scores: FloatVector = doc(
        "(n,) detection confidence; for ground truth the MOTChallenge consider flag (0 = ignore)"
    )
    ids: IntVector | None = doc("(n,) track ids, positive and unique in the frame (tracks only)", default=None)
    det_index: IntVector | None = doc(
        "(n,) row of the input detection each track box came from, -1 for none (tracks only)", default=None
    )
    classes: IntVector | None = doc("(n,) MOTChallenge class ids (1 = pedestrian), when known", default=None)
    visibility: FloatVector | None = doc("(n,) visible fraction 0..1, when known", default=None)
    features: NDArray | None = doc("(n, ...) per-box feature, e.g. (n, 1024) float16", default=None)
    context: NDArray | None = doc("per-frame context tokens, e.g. (T, C)", default=None)

    @property
    def n(self) -> int:
        return len(self.boxes)

    @classmethod
    def from_wire(cls, d: dict) -> Frame:
        if not d.keys() <= cls._field_names:
            _check_keys(d, cls, "frame")
        try:
            video, frame, raw, scores = d["video"], d["frame"], d["boxes"], d["scores"]
        except KeyError as e:
            raise RecordError(f"frame record has no field {e.args[0]!r}") from None
        if type(frame) is not int or frame < 1:
            raise RecordError(f"frame must be an integer >= 1, got {_show(frame)}")
        if type(raw) is dict:
            boxes = decode_array(raw, "boxes")
            if boxes.dtype != np.float64:
                boxes = boxes.astype(np.float64)
        else:
            try:
                boxes = np.asarray(raw, dtype=np.float64)
            except (ValueError, TypeError):
                raise RecordError("boxes must be a list of [x1, y1, x2, y2] numbers") from None
        if boxes.size == 0:
            boxes = boxes.reshape(0, 4)
        if boxes.ndim != 2 or boxes.shape[1] != 4:
            raise RecordError(f"boxes must have shape (n, 4), got {tuple(boxes.shape)}")
        n = len(boxes)
        get = d.get
        ids, det_index, classes, visibility = get("ids"), get("det_index"), get("classes"), get("visibility")
        features, context = get("features"), get("context")
        record = cls(
            video=video,
            frame=frame,
            boxes=boxes,
            scores=_vector(scores, "scores", n, np.float64),
            ids=None if ids is None else _vector(ids, "ids", n, np.int64),
            det_index=None if det_index is None else _vector(det_index, "det_index", n, np.int64),
            classes=None if classes is None else _vector(classes, "classes", n, np.int64),
            visibility=None if visibility is None else _vector(visibility, "visibility", n, np.float64),
            features=None if features is None else decode_array(features, "features"),
            context=None if context is None else decode_array(context, "context"),
        )
        return record.validate()

    def validate(self) -> Frame:
        """Check the invariants of a frame; raise RecordError naming the first offending box.

        The common case costs a few array reductions; the slow path runs only to name an error.
        """
        if not isinstance(self.video, str):
            raise RecordError(f"video must be a string, got {_show(self.video)}")
        boxes, n = self.boxes, len(self.boxes)
        if not n:
            return self
        # a sum is finite iff every term is (barring overflow near 1e308, settled by the slow path)
        # widths and heights are all finite and >= 0 iff the boxes are finite and not inverted
        sides = boxes[:, 2:] - boxes[:, :2]
        if not (sides.min() >= 0 and math.isfinite(sides.sum() + self.scores.sum())):
            self._name_bad_box()
        if self.ids is not None:
            ids = self.ids.tolist()
            if min(ids) < 1:
                i = int(np.argmin(self.ids))
                raise RecordError(f"track id {ids[i]} of box {i} is not positive")
            if len(set(ids)) != n:
                values, counts = np.unique(self.ids, return_counts=True)
                raise RecordError(f"track id {int(values[counts > 1][0])} appears twice in the frame")
        if self.det_index is not None and min(self.det_index.tolist()) < -1:
            raise RecordError(f"det_index must be >= -1, got {int(self.det_index.min())}")
        if self.visibility is not None and not math.isfinite(self.visibility.sum()):
            raise RecordError("visibility must be finite")
        if self.features is not None and (self.features.ndim < 1 or len(self.features) != n):
            raise RecordError(f"features must have {n} rows (one per box), got shape {tuple(self.features.shape)}")
        return self

    def _name_bad_box(self) -> None:
        boxes = self.boxes
        finite = np.isfinite(boxes).all(axis=1)
        if not finite.all():
            i = int(np.argmin(finite))
            raise RecordError(f"box {i} is not finite: {boxes[i].tolist()}")
        inverted = (boxes[:, 2] < boxes[:, 0]) | (boxes[:, 3] < boxes[:, 1])
        if inverted.any():
            i = int(np.argmax(inverted))
            raise RecordError(f"box {i} is inverted (x2 < x1 or y2 < y1): {boxes[i].tolist()}")
        finite = np.isfinite(self.scores)
        if not finite.all():
            i = int(np.argmin(finite))
            raise RecordError(f"score {i} is not finite: {self.scores[i]}")

    def to_wire(self, binary: bool) -> dict:
        """Per-box columns as plain lists in JSON Lines (readable) and by the array codec in
        msgpack (fast); readers accept either form in either encoding."""
        column = (lambda a: encode_array(a, True)) if binary else np.ndarray.tolist
        out = {"kind": "frame", "video": self.video, "frame": self.frame,
               "boxes": column(self.boxes), "scores": column(self.scores)}
        for name in ("ids", "det_index", "classes", "visibility"):
            value = getattr(self, name)
            if value is not None:
                out[name] = column(value)
        if self.features is not None:
            out["features"] = encode_array(self.features, binary)
        if self.context is not None:
            out["context"] = encode_array(self.context, binary)
        return out

    def select(self, mask: np.ndarray) -> Frame:
        """The frame with only the boxes where `mask` (bool (n,) or indices) selects."""
        def take(a):
            return None if a is None else a[mask]
        return Frame(
            video=self.video, frame=self.frame, boxes=self.boxes[mask], scores=self.scores[mask],
            ids=take(self.ids), det_index=take(self.det_index), classes=take(self.classes),
            visibility=take(self.visibility), features=take(self.features), context=self.context,
        )

    @classmethod
    def empty(cls, video: str, frame: int, tracks: bool = False) -> Frame:
        return cls(video=video, frame=frame, boxes=np.zeros((0, 4)), scores=np.zeros(0),
                   ids=np.zeros(0, np.int64) if tracks else None)


# --------------------------------------------------------------------------------------------
# per-video records


def _video_field(d: dict, kind: str) -> str:
    value = _need(d, "video", kind)
    if not isinstance(value, str):
        raise RecordError(f"video must be a string, got {_show(value)}")
    return value


@dataclass(eq=False)
class TrajectoryFeature(Record):
    """The fused feature of one trajectory (trajectory fusion, paper Eq. 2)."""

    kind: ClassVar[str] = "trajectory_feature"
    _array_fields: ClassVar[tuple[str, ...]] = ("feature",)
    video: str = doc("id of the video")
    track: int = doc("track id", minimum=1)
    feature: NDArray = doc("the fused trajectory tokens, e.g. (L, 256) float32")

    @classmethod
    def from_wire(cls, d: dict) -> TrajectoryFeature:
        _check_keys(d, cls, "trajectory_feature")
        return cls(
            video=_video_field(d, "trajectory_feature"),
            track=_int(_need(d, "track", "trajectory_feature"), "track", 1),
            feature=decode_array(_need(d, "feature", "trajectory_feature"), "feature"),
        )


@dataclass(eq=False)
class VideoFeature(Record):
    """The fused feature of a whole video (video fusion, paper Eq. 1)."""

    kind: ClassVar[str] = "video_feature"
    _array_fields: ClassVar[tuple[str, ...]] = ("feature",)
    video: str = doc("id of the video")
    feature: NDArray = doc("the fused video tokens, e.g. (T, 256) float32")

    @classmethod
    def from_wire(cls, d: dict) -> VideoFeature:
        _check_keys(d, cls, "video_feature")
        return cls(
            video=_video_field(d, "video_feature"),
            feature=decode_array(_need(d, "feature", "video_feature"), "feature"),
        )


@dataclass(eq=False)
class Caption(Record):
    """The instance caption of one trajectory."""

    kind: ClassVar[str] = "caption"
    video: str = doc("id of the video")
    track: int = doc("track id", minimum=1)
    text: str = doc("the caption sentence")
    name: str | None = doc("BenSMOT instance name (`man0`, `woman1`, ...) when known", default=None)
    score: float | None = doc("decoder confidence (mean token log-probability), predictions only", default=None)

    @classmethod
    def from_wire(cls, d: dict) -> Caption:
        _check_keys(d, cls, "caption")
        return cls(
            video=_video_field(d, "caption"),
            track=_int(_need(d, "track", "caption"), "track", 1),
            text=_str(_need(d, "text", "caption"), "text", empty=True),
            name=_opt(d.get("name"), _str, "name"),
            score=_opt(d.get("score"), _number, "score"),
        )


@dataclass(eq=False)
class Summary(Record):
    """The caption of a whole video (the paper's video caption, or summary)."""

    kind: ClassVar[str] = "summary"
    video: str = doc("id of the video")
    text: str = doc("the video caption")
    score: float | None = doc("decoder confidence (mean token log-probability), predictions only", default=None)

    @classmethod
    def from_wire(cls, d: dict) -> Summary:
        _check_keys(d, cls, "summary")
        return cls(
            video=_video_field(d, "summary"),
            text=_str(_need(d, "text", "summary"), "text", empty=True),
            score=_opt(d.get("score"), _number, "score"),
        )


@dataclass(eq=False)
class Interaction(Record):
    """One directed interaction `<subject, predicate, object>` between two trajectories."""

    kind: ClassVar[str] = "interaction"
    video: str = doc("id of the video")
    subject: int = doc("track id of the active trajectory", minimum=1)
    object: int = doc("track id of the passive trajectory", minimum=1)
    predicate: str = doc("WordNet sense (`hold.v.02`) or BenSMOT label")
    score: float | None = doc("probability, predictions only", default=None)

    @classmethod
    def from_wire(cls, d: dict) -> Interaction:
        _check_keys(d, cls, "interaction")
        return cls(
            video=_video_field(d, "interaction"),
            subject=_int(_need(d, "subject", "interaction"), "subject", 1),
            object=_int(_need(d, "object", "interaction"), "object", 1),
            predicate=_str(_need(d, "predicate", "interaction"), "predicate"),
            score=_opt(d.get("score"), _number, "score"),
        )


class Extension(Record):
    """A record whose kind starts with `x-`: carried through every stage, never interpreted."""

    def __init__(self, kind: str, data: dict):
        self.kind = kind  # type: ignore[misc]
        self.data = data

    def to_wire(self, binary: bool) -> dict:
        return {"kind": self.kind, **self.data}

    def __eq__(self, other: object) -> bool:
        return type(other) is Extension and (self.kind, self.data) == (other.kind, other.data)

    def __repr__(self) -> str:
        return f"Extension({self.kind!r}, {self.data!r})"


RECORD_TYPES: dict[str, type[Record]] = {
    cls.kind: cls
    for cls in (Header, Video, Frame, TrajectoryFeature, VideoFeature, Caption, Summary, Interaction, End)
}
for _cls in RECORD_TYPES.values():
    _cls._finish()

# Records that belong to a video and name it in `video`.
VIDEO_RECORDS = (Frame, TrajectoryFeature, VideoFeature, Caption, Summary, Interaction)


def from_wire(d: Any) -> Record:
    """Validate one decoded map into its record."""
    if not isinstance(d, dict):
        raise RecordError(f"a record must be a map, got {_show(d)}")
    kind = d.get("kind")
    cls = RECORD_TYPES.get(kind) if isinstance(kind, str) else None
    if cls is None:
        if isinstance(kind, str) and kind.startswith(EXTENSION_PREFIX):
            return Extension(kind=kind, data={k: v for k, v in d.items() if k != "kind"})
        known = ", ".join(sorted(RECORD_TYPES))
        raise RecordError(f"unknown record kind {_show(kind)}; expected one of {known} or an x- extension")
    return cls.from_wire(d)
