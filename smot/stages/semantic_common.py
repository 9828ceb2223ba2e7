"""What `smot fuse`, `smot caption` and `smot interact` share: the model, the device, the
provenance check and per-video gathering of fused features."""

from __future__ import annotations

from collections.abc import Callable, Iterable

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


def producing_model(header: Header, tool: str) -> str | None:
    """The sha256 of the model of the nearest `tool` stage (e.g. "smot fuse") in a stream's
    provenance, or None when no such stage is recorded."""
    todo: list[dict] = [header.to_wire(binary=False)]
    while todo:
        h = todo.pop(0)
        if h.get("tool") == tool:
            return h.get("model")
        todo.extend(i for i in h.get("inputs", []) if isinstance(i, dict))
    return None


def fusing_model(header: Header) -> str | None:
    return producing_model(header, "smot fuse")


def check_same_model(header: Header, sha256: str, source: str) -> None:
    """Fused features are only meaningful to the heads of the model that fused them."""
    fused_by = fusing_model(header)
    if fused_by is not None and fused_by != sha256:
        raise InputError(f"the features were fused by model {fused_by[:12]}, but --model is {sha256[:12]}",
                         source, hint="fuse, caption and interact with the same --model")


def check_same_detector(header: Header, sha256: str, source: str) -> None:
    """Box features are only meaningful to the semantic model trained on that box-feature head:
    a stream from `smot detect` must come from the checkpoint that fuses it (features from an
    outside detector carry no smot detect header and are taken as they are)."""
    detected_by = producing_model(header, "smot detect")
    if detected_by is not None and detected_by != sha256:
        raise InputError(f"the box features were made by model {detected_by[:12]}, but --model is {sha256[:12]}",
                         source, hint="detect with the checkpoint that fuses: smot detect IN -m M.pt | ... "
                                      "| smot fuse -m M.pt (or smot run IN -m M.pt)")


def model_stage(source: str, output: str, encoding, model: str, device: str, tool: str, params: dict,
                process: Callable[[Iterable[Record], object], Iterable[Record]], expect: str, hint: str,
                check: Callable[[Header, str, str], None]) -> None:
    """What fuse, caption and interact do around their core: read `source` (of format `expect`),
    load the semantic model, `check` the stream against it, and write smot.fused with a header
    naming the tool, its parameters and the model."""
    from smot.models.semantics import load_semantics
    from smot.streams import StreamReader, StreamWriter, make_header

    with StreamReader(source, expect=[expect], hint=hint) as reader:
        semantics, checkpoint = load_semantics(model, device)
        check(reader.header, checkpoint.sha256, reader.name)
        header = make_header("smot.fused", tool, params, [reader.header], model=checkpoint.sha256)
        with StreamWriter(output, header, encoding) as writer:
            writer.write_all(process(reader, semantics))


def fused_features(held: Iterable[Record]) -> tuple[list[TrajectoryFeature], VideoFeature | None]:
    """A video's trajectory features (in stream order) and its video feature."""
    trajectories, video = [], None
    for record in held:
        if isinstance(record, TrajectoryFeature):
            trajectories.append(record)
        elif isinstance(record, VideoFeature):
            video = record
    return trajectories, video
