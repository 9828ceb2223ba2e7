"""Records: every kind round-trips through both encodings, arrays bit-exact; validation names the fault."""

from __future__ import annotations

import msgpack
import numpy as np
import orjson
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from smot.arrays import DTYPES, decode_array, encode_array
from smot.errors import RecordError
from smot.records import (
    Caption,
    End,
    Extension,
    Frame,
    Header,
    Interaction,
    Summary,
    TrajectoryFeature,
    Video,
    VideoFeature,
    from_wire,
)

# ----------------------------------------------------------------------------------------------
# strategies

names = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc")), min_size=1, max_size=12)
segment = st.text(st.characters(codec="utf-8", exclude_categories=("Cs", "Cc"), exclude_characters="/\\"),
                  min_size=1, max_size=10).filter(lambda s: s not in (".", ".."))
video_ids = st.lists(segment, min_size=1, max_size=3).map("/".join)
finite = st.floats(allow_nan=False, allow_infinity=False, width=64)
texts = st.text(st.characters(codec="utf-8", exclude_categories=("Cs",)), max_size=60)


@st.composite
def arrays(draw, first: int | None = None, dtypes=DTYPES):
    dtype = np.dtype(draw(st.sampled_from(dtypes)))
    shape = [draw(st.integers(0, 4)) for _ in range(draw(st.integers(0, 3)))]
    if first is not None:
        shape = [first, *shape]
    size = int(np.prod(shape)) if shape else 1
    raw = draw(st.binary(min_size=size * dtype.itemsize, max_size=size * dtype.itemsize))
    array = np.frombuffer(raw, dtype=dtype).reshape(shape).copy()
    if dtype == np.bool_:
        array = array.view(np.uint8) % 2 == 1
    return array


@st.composite
def frames(draw):
    n = draw(st.integers(0, 6))
    xy = np.array(draw(st.lists(st.tuples(finite, finite), min_size=n, max_size=n)), dtype=np.float64).reshape(n, 2)
    wh = np.array(draw(st.lists(st.tuples(st.floats(0, 1e4), st.floats(0, 1e4)), min_size=n, max_size=n)),
                  dtype=np.float64).reshape(n, 2)
    xy = np.clip(xy, -1e6, 1e6)
    tracks = draw(st.booleans())
    optional = lambda strategy: draw(st.one_of(st.none(), strategy))  # noqa: E731
    return Frame(
        video=draw(video_ids), frame=draw(st.integers(1, 10**6)), boxes=np.hstack([xy, xy + wh]),
        scores=np.array(draw(st.lists(finite, min_size=n, max_size=n)), dtype=np.float64),
        ids=np.array(draw(st.lists(st.integers(1, 2**40), min_size=n, max_size=n, unique=True)), dtype=np.int64)
        if tracks else None,
        det_index=np.array(draw(st.lists(st.integers(-1, 1000), min_size=n, max_size=n)), dtype=np.int64)
        if tracks and draw(st.booleans()) else None,
        classes=optional(st.lists(st.integers(-1, 13), min_size=n, max_size=n).map(
            lambda v: np.array(v, dtype=np.int64))),
        visibility=optional(st.lists(st.floats(0, 1), min_size=n, max_size=n).map(
            lambda v: np.array(v, dtype=np.float64))),
        features=optional(arrays(first=n, dtypes=("float16", "float32", "float64", "int8"))),
        context=optional(arrays()),
    )


optional_score = st.one_of(st.none(), finite)
records = st.one_of(
    st.builds(Header, format=st.sampled_from(["smot.detections", "smot.tracks", "smot.fused"]),
              version=st.just(1), tool=names, tool_version=names,
              params=st.dictionaries(names, st.one_of(st.integers(-5, 5), texts, st.booleans()), max_size=3),
              model=st.one_of(st.none(), names), inputs=st.just([])),
    st.builds(Video, id=video_ids, frames=st.integers(0, 5000), source=st.one_of(st.none(), names),
              width=st.one_of(st.none(), st.integers(1, 8000)), height=st.one_of(st.none(), st.integers(1, 8000)),
              fps=st.one_of(st.none(), st.floats(0.1, 240)), images=st.none()),
    frames(),
    st.builds(TrajectoryFeature, video=video_ids, track=st.integers(1, 10**6), feature=arrays()),
    st.builds(VideoFeature, video=video_ids, feature=arrays()),
    st.builds(Caption, video=video_ids, track=st.integers(1, 10**6), text=texts,
              name=st.one_of(st.none(), names), score=optional_score),
    st.builds(Summary, video=video_ids, text=texts, score=optional_score),
    st.builds(Interaction, video=video_ids, subject=st.integers(1, 10**6), object=st.integers(1, 10**6),
              predicate=names, score=optional_score),
    st.just(End()),
)


def through_jsonl(record):
    return from_wire(orjson.loads(orjson.dumps(record.to_wire(binary=False))))


def through_msgpack(record):
    return from_wire(msgpack.unpackb(msgpack.packb(record.to_wire(binary=True), use_bin_type=True), raw=False))


@settings(max_examples=300, suppress_health_check=[HealthCheck.too_slow])
@given(records)
def test_every_record_kind_round_trips_through_both_encodings(record):
    for codec in (through_jsonl, through_msgpack):
        back = codec(record)
        assert back == record, codec.__name__
        for name in ("features", "context", "feature"):
            a, b = getattr(record, name, None), getattr(back, name, None)
            if a is not None:  # bit-exact, NaN payloads included
                assert a.dtype == b.dtype and a.shape == b.shape and a.tobytes() == b.tobytes()


@settings(max_examples=200)
@given(arrays())
def test_array_codec_is_bit_exact(array):
    for binary in (True, False):
        back = decode_array(encode_array(array, binary), "a")
        assert back.dtype == array.dtype and back.shape == array.shape and back.tobytes() == array.tobytes()


def test_array_codec_layout_is_little_endian_c_order():
    array = np.array([[1, 2], [3, 256]], dtype=np.int16).T  # a non-contiguous view
    wire = encode_array(array, binary=True)
    assert wire == {"dtype": "int16", "shape": [2, 2], "data": bytes([1, 0, 3, 0, 2, 0, 0, 1])}
    assert encode_array(array, binary=False)["data"] == "AQADAAIAAAE="


def test_extension_records_and_fields_are_carried():
    record = from_wire({"kind": "x-note", "text": "hello", "n": 3})
    assert record == Extension("x-note", {"text": "hello", "n": 3})
    assert record.to_wire(True) == {"kind": "x-note", "text": "hello", "n": 3}
    caption = from_wire({"kind": "caption", "video": "a", "track": 1, "text": "t", "x-lang": "en"})
    assert caption == Caption(video="a", track=1, text="t")


def frame_wire(**changes):
    wire = {"kind": "frame", "video": "s/c", "frame": 3, "boxes": [[0, 0, 10, 20], [5, 5, 6, 6]],
            "scores": [0.9, 0.2], "ids": [4, 7]}
    wire.update(changes)
    return {k: v for k, v in wire.items() if v is not None}


@pytest.mark.parametrize("changes, message", [
    (dict(boxes=[[0, 0, 10, 20], [5, 5, float("nan"), 6]]), "box 1 is not finite: [5.0, 5.0, nan, 6.0]"),
    (dict(boxes=[[0, 0, 10, 20], [5, 5, float("inf"), 6]]), "box 1 is not finite"),
    (dict(boxes=[[10, 0, 0, 20], [5, 5, 6, 6]]), "box 0 is inverted (x2 < x1 or y2 < y1): [10.0, 0.0, 0.0, 20.0]"),
    (dict(boxes=[[0, 30, 10, 20], [5, 5, 6, 6]]), "box 0 is inverted"),
    (dict(boxes=[[0, 0, 10], [5, 5, 6]]), "boxes must have shape (n, 4), got (2, 3)"),
    (dict(boxes=[[0, 0, 10, "a"], [5, 5, 6, 6]]), "boxes must be a list of [x1, y1, x2, y2] numbers"),
    (dict(scores=[0.9]), "scores must have shape (2,), got (1,)"),
    (dict(scores=[0.9, float("nan")]), "score 1 is not finite"),
    (dict(ids=[4, 4]), "track id 4 appears twice in the frame"),
    (dict(ids=[0, 4]), "track id 0 of box 0 is not positive"),
    (dict(ids=[1.5, 4]), "ids must hold integers, got float64 values"),
    (dict(det_index=[-2, 0]), "det_index must be >= -1, got -2"),
    (dict(frame=0), "frame must be an integer >= 1, got 0"),
    (dict(frame="3"), "frame must be an integer >= 1, got '3'"),
    (dict(scores=None), "frame record has no field 'scores'"),
    (dict(box=[]), "frame record has an unknown field 'box'"),
    (dict(features={"dtype": "float32", "shape": [2, 4], "data": b"\0" * 31}),
     "features data has 31 bytes, expected 32 for float32 (2, 4)"),
    (dict(features={"dtype": "float32", "shape": [3, 2], "data": b"\0" * 24}),
     "features must have 2 rows (one per box), got shape (3, 2)"),
    (dict(features={"dtype": "complex64", "shape": [2], "data": b"\0" * 16}), "features has dtype 'complex64'"),
    (dict(features={"dtype": "float32", "shape": [2, -1], "data": b"\0" * 8}),
     "features shape must be a list of non-negative integers, got [2, -1]"),
    (dict(features={"dtype": "int8", "shape": [2], "data": "!!"}), "features data is not valid base64"),
])
def test_frame_validation_names_the_fault(changes, message):
    with pytest.raises(RecordError) as error:
        from_wire(frame_wire(**changes))
    assert message in str(error.value)


@pytest.mark.parametrize("wire, message", [
    ({"kind": "video", "id": "a/../b", "frames": 1}, "video id must be one or more '/'-separated names"),
    ({"kind": "video", "id": "/abs", "frames": 1}, "video id must be"),
    ({"kind": "video", "id": "a", "frames": -1}, "frames must be >= 0, got -1"),
    ({"kind": "video", "id": "a", "frames": 2, "images": ["1.jpg"]}, "images lists 1 files for 2 frames"),
    ({"kind": "video", "id": "a", "frames": 2, "fps": 0}, "fps must be > 0"),
    ({"kind": "caption", "video": "a", "track": 0, "text": "x"}, "track must be >= 1, got 0"),
    ({"kind": "caption", "video": "a", "track": True, "text": "x"}, "track must be an integer, got True"),
    ({"kind": "interaction", "video": "a", "subject": 1, "object": 2}, "interaction record has no field 'predicate'"),
    ({"kind": "summary", "video": "a", "text": 5}, "text must be a string, got 5"),
    ({"kind": "header", "format": "smot.tracks", "version": 2, "tool": "t", "tool_version": "1"},
     "smot.tracks version 2 is newer than this smot reads (version 1)"),
    ({"kind": "header", "format": "smot.pose", "version": 1, "tool": "t", "tool_version": "1"},
     "unknown stream format 'smot.pose'"),
    ({"kind": "frames"}, "unknown record kind 'frames'"),
    ([1, 2], "a record must be a map, got [1, 2]"),
])
def test_record_validation_names_the_fault(wire, message):
    with pytest.raises(RecordError) as error:
        from_wire(wire)
    assert message in str(error.value)


def test_frame_select_and_empty():
    frame = from_wire(frame_wire(det_index=[3, -1], features={"dtype": "uint8", "shape": [2, 1], "data": b"\x05\x06"}))
    kept = frame.select(np.array([False, True]))
    assert kept.ids.tolist() == [7] and kept.det_index.tolist() == [-1] and kept.features.tolist() == [[6]]
    assert kept.boxes.tolist() == [[5, 5, 6, 6]]
    empty = Frame.empty("v", 2, tracks=True)
    assert empty.n == 0 and empty.ids.shape == (0,) and empty.validate() is empty


def test_columns_are_plain_lists_in_jsonl_and_arrays_in_msgpack():
    frame = from_wire(frame_wire())
    jsonl = frame.to_wire(binary=False)
    assert jsonl["boxes"] == [[0.0, 0.0, 10.0, 20.0], [5.0, 5.0, 6.0, 6.0]] and jsonl["ids"] == [4, 7]
    binary = frame.to_wire(binary=True)
    assert binary["ids"] == {"dtype": "int64", "shape": [2], "data": np.array([4, 7], "<i8").tobytes()}
    # readers take either form in either encoding
    assert from_wire({**jsonl, "ids": binary["ids"]}) == frame
