"""The one codec for numeric arrays in streams (features, tokens).

An array travels as a map `{"dtype": "float16", "shape": [50, 1024], "data": ...}` whose data is
the C-order little-endian bytes: raw bytes in msgpack, base64 text in JSON Lines.
"""

from __future__ import annotations

import base64
import binascii
import math
import sys

import numpy as np

from smot.errors import RecordError

DTYPES = ("float16", "float32", "float64", "int8", "int16", "int32", "int64", "uint8", "bool")
_WIRE = {name: np.dtype(name).newbyteorder("<") for name in DTYPES}
_NAMES = {np.dtype(name): name for name in DTYPES}  # native dtypes; the hot path looks these up
_LITTLE = sys.byteorder == "little"


def encode_array(array: np.ndarray, binary: bool) -> dict:
    """The wire map of `array`; `binary` gives raw bytes (msgpack), else base64 text (JSON Lines)."""
    name = _NAMES.get(array.dtype)
    if name is None:
        raise TypeError(f"arrays of dtype {array.dtype} cannot be encoded; use one of {', '.join(DTYPES)}")
    if _LITTLE:
        data = array.tobytes()  # C order, whatever the array's layout
    else:
        data = array.astype(_WIRE[name]).tobytes()
    return {"dtype": name, "shape": list(array.shape),
            "data": data if binary else base64.b64encode(data).decode("ascii")}


def decode_array(value: object, what: str) -> np.ndarray:
    """The array of a wire map, validated; read-only when it views the input bytes."""
    try:
        wire = _WIRE[value["dtype"]]  # type: ignore[index]
        shape, data = value["shape"], value["data"]  # type: ignore[index]
    except (KeyError, TypeError):
        wire = None
    if wire is None or len(value) != 3:  # type: ignore[arg-type]
        return _explain(value, what)
    if type(data) is str:
        try:
            data = base64.b64decode(data, validate=True)
        except (binascii.Error, ValueError):
            raise RecordError(f"{what} data is not valid base64") from None
    elif type(data) is not bytes and not isinstance(data, (bytearray, memoryview)):
        raise RecordError(f"{what} data must be bytes or base64 text")
    try:
        if type(shape) is not list or (shape and min(shape) < 0):
            raise TypeError
        array = np.frombuffer(data, dtype=wire).reshape(shape)
    except (TypeError, ValueError):
        if type(shape) is not list or not all(type(s) is int and s >= 0 for s in shape):
            raise RecordError(f"{what} shape must be a list of non-negative integers, got {shape!r}") from None
        raise RecordError(f"{what} data has {len(data)} bytes, expected {math.prod(shape) * wire.itemsize} "
                          f"for {value['dtype']} {tuple(shape)}") from None  # type: ignore[index]
    return array if _LITTLE else array.astype(wire.newbyteorder("="))


def _explain(value: object, what: str) -> np.ndarray:
    if not isinstance(value, dict) or set(value) != {"dtype", "shape", "data"}:
        raise RecordError(f"{what} must be an array map with dtype, shape and data")
    raise RecordError(f"{what} has dtype {value['dtype']!r}; expected one of {', '.join(DTYPES)}")
