"""The committed JSON Schemas are generated from the record definitions, and they accept what we write."""

from __future__ import annotations

import json

import jsonschema
import numpy as np
import pytest
from conftest import BENSMOT_MINI, ROOT, run

from smot import schema
from smot.records import RECORD_TYPES, Frame, TrajectoryFeature, VideoFeature

SCHEMAS = ROOT / "formats" / "schemas"


def test_committed_schemas_are_current():
    expected = schema.all_schemas()
    committed = {p.name for p in SCHEMAS.iterdir()}
    assert committed == set(expected), "run `make schemas` and commit formats/schemas"
    for name, content in expected.items():
        assert (SCHEMAS / name).read_text() == schema.render(content), f"{name} is stale: run `make schemas`"


def validator(kind: str):
    document = json.loads((SCHEMAS / f"{kind}.schema.json").read_text())
    jsonschema.Draft202012Validator.check_schema(document)
    return jsonschema.Draft202012Validator(document)


def test_records_we_write_validate_against_their_schema(tmp_path):
    records = [
        Frame(video="v", frame=1, boxes=np.array([[0, 0, 1, 2.0]]), scores=np.array([0.5]), ids=np.array([3]),
              det_index=np.array([-1]), features=np.zeros((1, 4), np.float16), context=np.zeros((2, 3), np.float32)),
        TrajectoryFeature(video="v", track=3, feature=np.ones((2, 2), np.float32)),
        VideoFeature(video="v", feature=np.ones(3, np.float32)),
    ]
    result = run(["convert", BENSMOT_MINI, "--encoding", "jsonl"])
    wires = [json.loads(line) for line in result.stdout.splitlines()]
    wires += [r.to_wire(binary=False) for r in records]
    seen = set()
    for wire in wires:
        validator(wire["kind"]).validate(wire)
        seen.add(wire["kind"])
    assert seen == set(RECORD_TYPES)


@pytest.mark.parametrize("kind, wire", [
    ("frame", {"kind": "frame", "video": "v", "frame": 0, "boxes": [], "scores": []}),
    ("frame", {"kind": "frame", "video": "v", "frame": 1, "boxes": [[0, 0, 1]], "scores": [1]}),
    ("frame", {"kind": "frame", "video": "v", "frame": 1, "boxes": [], "scores": [], "box": []}),
    ("caption", {"kind": "caption", "video": "v", "track": 1}),
    ("header", {"kind": "header", "format": "smot.pose", "version": 1, "tool": "t", "tool_version": "1"}),
])
def test_schemas_reject_what_the_reader_rejects(kind, wire):
    with pytest.raises(jsonschema.ValidationError):
        validator(kind).validate(wire)
