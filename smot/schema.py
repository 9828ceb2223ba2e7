"""JSON Schemas of the stream records, generated from their definitions in smot/records.py.

    python -m smot.schema formats/schemas      # what `make schemas` runs

The schemas describe the JSON Lines form (arrays as base64 text); in msgpack the array data is raw
bytes. A test fails when the committed files differ from what this writes.
"""

from __future__ import annotations

import json
import sys
from dataclasses import MISSING, fields
from pathlib import Path

from smot.arrays import DTYPES
from smot.records import FORMAT_VERSIONS, RECORD_TYPES, Record

_ARRAY = {
    "type": "object",
    "description": "A numeric array: C-order little-endian bytes, base64 in JSON Lines, raw bytes in msgpack.",
    "required": ["dtype", "shape", "data"],
    "properties": {
        "dtype": {"enum": list(DTYPES)},
        "shape": {"type": "array", "items": {"type": "integer", "minimum": 0}},
        "data": {"type": "string", "contentEncoding": "base64"},
    },
    "additionalProperties": False,
}
_ARRAY_REF = {"$ref": "#/$defs/array"}

_TYPES = {
    "str": {"type": "string"},
    "int": {"type": "integer"},
    "float": {"type": "number"},
    "dict": {"type": "object"},
    "list": {"type": "array"},
    "Boxes": {"oneOf": [{"type": "array", "items": {"type": "array", "items": {"type": "number"},
                                                    "minItems": 4, "maxItems": 4}}, _ARRAY_REF]},
    "FloatVector": {"oneOf": [{"type": "array", "items": {"type": "number"}}, _ARRAY_REF]},
    "IntVector": {"oneOf": [{"type": "array", "items": {"type": "integer"}}, _ARRAY_REF]},
    "NDArray": _ARRAY_REF,
}

_ITEMS = {("Header", "inputs"): {"type": "object"}, ("Video", "images"): {"type": "string"}}


def record_schema(cls: type[Record]) -> dict:
    """The JSON Schema of one record kind."""
    properties: dict = {"kind": {"const": cls.kind}}
    required = ["kind"]
    uses_array = False
    for f in fields(cls):
        annotation = str(f.type)
        optional = annotation.endswith(" | None")
        base = annotation.removesuffix(" | None")
        schema = dict(_TYPES[base])
        uses_array |= "Array" in base or base in ("Boxes", "FloatVector", "IntVector")
        if (cls.__name__, f.name) in _ITEMS:
            schema["items"] = _ITEMS[(cls.__name__, f.name)]
        schema.update(f.metadata.get("schema", {}))
        if optional:
            schema = {"anyOf": [schema, {"type": "null"}]}
        schema["description"] = f.metadata["doc"]
        properties[f.name] = schema
        if f.default is MISSING and f.default_factory is MISSING:  # type: ignore[misc]
            required.append(f.name)
    out = {
        "$schema": "https://json-schema.org/draft/2020-12/schema",
        "$id": f"https://smot.dev/formats/schemas/{cls.kind}.schema.json",
        "title": f"smot {cls.kind} record",
        "description": " ".join((cls.__doc__ or "").split()),
        "type": "object",
        "required": required,
        "properties": properties,
        "patternProperties": {"^x-": {}},
        "additionalProperties": False,
    }
    if uses_array:
        out["$defs"] = {"array": _ARRAY}
    return out


def all_schemas() -> dict[str, dict]:
    """File name -> schema, for every record kind, and the list of formats and versions."""
    out = {f"{kind}.schema.json": record_schema(cls) for kind, cls in RECORD_TYPES.items()}
    out["formats.json"] = {"formats": FORMAT_VERSIONS}
    return out


def render(schema: dict) -> str:
    return json.dumps(schema, indent=2, sort_keys=False) + "\n"


def write(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    for name, schema in all_schemas().items():
        (folder / name).write_text(render(schema))


if __name__ == "__main__":
    write(Path(sys.argv[1] if len(sys.argv) > 1 else "formats/schemas"))
