"""What `smot fuse`, `smot caption` and `smot interact` share: the model, the device, the
provenance check and per-video gathering of fused features."""

from __future__ import annotations

from collections.abc import Iterable

from smot.errors import InputError, UsageError
from smot.records import Header, Record, TrajectoryFeature, VideoFeature


def resolve_device(device: str) -> str:
    """`auto` is cuda when available, else cpu; anything else as given, checked."""
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device.startswith("cuda") and not torch.cuda.is_available():
        from smot.errors import EnvironmentErr

        raise EnvironmentErr(f"--device {device}: no CUDA device here", hint="use --device cpu")
    if not (device == "cpu" or device.startswith("cuda")):
        raise UsageError(f"--device must be auto, cpu or cuda[:N], got {device!r}")
    return device


def fusing_model(header: Header) -> str | None:
    """The sha256 of the model that wrote the fused features of a stream (the nearest `smot fuse`
    in its provenance), or None when no fuse stage is recorded."""
    todo: list[dict] = [header.to_wire(binary=False)]
    while todo:
        h = todo.pop(0)
        if h.get("tool") == "smot fuse":
            return h.get("model")
        todo.extend(i for i in h.get("inputs", []) if isinstance(i, dict))
    return None


def check_same_model(header: Header, sha256: str, source: str) -> None:
    """Fused features are only meaningful to the heads of the model that fused them."""
    fused_by = fusing_model(header)
    if fused_by is not None and fused_by != sha256:
        raise InputError(f"the features were fused by model {fused_by[:12]}, but --model is {sha256[:12]}",
                         source, hint="fuse, caption and interact with the same --model")


def fused_features(held: Iterable[Record]) -> tuple[list[TrajectoryFeature], VideoFeature | None]:
    """A video's trajectory features (in stream order) and its video feature."""
    trajectories, video = [], None
    for record in held:
        if isinstance(record, TrajectoryFeature):
            trajectories.append(record)
        elif isinstance(record, VideoFeature):
            video = record
    return trajectories, video
