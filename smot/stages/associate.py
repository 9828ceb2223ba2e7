"""Link per-frame detections into tracks (paper §4.1 and §5.3: BYTE, SORT, DeepSORT, OC-SORT).

Reads smot.detections; writes smot.tracks (docs/associate.md). Online: each frame's tracks are
written before the next frame is read, unless --min-track-length holds a video until it ends. A fresh
tracker (ids from 1) runs per video; video and extension records pass through in place.
"""

from __future__ import annotations

import dataclasses
import textwrap
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated, Any

import numpy as np
import typer

from smot.clikit import Encoding, Output, Source
from smot.errors import UsageError
from smot.records import Frame, Record, Video
from smot.streams import StreamReader, StreamWriter, by_video, make_header, passthrough
from smot.trackers import ALGORITHMS, BOX_MODES, make_params, make_tracker, params_doc, parse_value


@dataclass(frozen=True)
class AssociateConfig:
    algorithm: str = "byte"  # byte | sort | deepsort | ocsort
    params: tuple[tuple[str, Any], ...] = ()  # algorithm parameters replacing the defaults
    box: str = "detection"  # detection: the matched detection's box; filter: the tracker's own box
    min_track_length: int = 0  # drop tracks with fewer boxes in their video (0 or 1: keep all)

    def resolved_params(self) -> dict[str, Any]:
        """Every parameter of the algorithm, defaults filled in (recorded in the output header)."""
        return dataclasses.asdict(make_params(self.algorithm, dict(self.params)))


def associate(records: Iterable[Record], config: AssociateConfig) -> Iterator[Record]:
    """One tracks frame per detections frame, in order; ids are unique within a video."""
    values = dict(config.params)
    tracker = None

    def handle(record: Record) -> Iterator[Record]:
        nonlocal tracker
        if isinstance(record, Video):
            tracker = make_tracker(config.algorithm, values, fps=record.fps, box=config.box)
            yield record
        else:
            yield tracker.update(record)  # type: ignore[union-attr]

    out = passthrough(records, (Video, Frame), handle)
    if config.min_track_length > 1:
        out = drop_short_tracks(out, config.min_track_length)
    return out


def drop_short_tracks(records: Iterable[Record], min_length: int) -> Iterator[Record]:
    """The records with every track of fewer than `min_length` boxes in its video left out.

    Holds one video's records at a time, so a video's first frame is written when the video ends.
    """
    for video, held in by_video(records):
        if video is not None:
            yield video
        frames = [r for r in held if isinstance(r, Frame)]
        ids = np.concatenate([f.ids for f in frames]) if frames else np.zeros(0, np.int64)
        values, counts = np.unique(ids, return_counts=True)
        short = values[counts < min_length]
        for record in held:
            if isinstance(record, Frame) and len(short):
                record = record.select(~np.isin(record.ids, short))
            yield record


# --------------------------------------------------------------------------------------------
# the command


def parse_settings(algorithm: str, settings: list[str]) -> tuple[tuple[str, Any], ...]:
    """`--set key=value` items as typed (name, value) pairs of the algorithm's parameters."""
    cls = ALGORITHMS[algorithm].Params
    names = [name for name, _, _ in params_doc(cls)]
    out: dict[str, Any] = {}
    for item in settings:
        key, sep, text = item.partition("=")
        key = key.strip()
        if not sep or not key:
            raise UsageError(f"--set {item!r}: expected key=value, e.g. --set track_thresh=0.6")
        if key not in names:
            raise UsageError(f"--set {key}: {algorithm} has no parameter {key!r}; its parameters are "
                             f"{', '.join(names)}")
        try:
            out[key] = parse_value(cls, key, text)
        except ValueError as e:
            raise UsageError(f"--set {key}={text}: {e}") from None
    try:
        make_params(algorithm, out)
    except ValueError as e:
        raise UsageError(f"--set: {e}") from None
    return tuple(out.items())


def _parameters_help() -> str:
    """The parameters of every algorithm, for --help (indented like the command's docstring)."""
    lines = ["\b", "Parameters (--set key=value), defaults in brackets:"]
    for name, cls in ALGORITHMS.items():
        lines.append(f"  {name}:")
        for key, default, meaning in params_doc(cls.Params):
            shown = "none" if default is None else str(default).lower() if isinstance(default, bool) else default
            lines.extend(textwrap.wrap(f"{key} [{shown}]: {meaning}", 92, initial_indent="    ",
                                       subsequent_indent="        "))
    return textwrap.indent("\n".join(lines), "    ")


def command(
    source: Source = "-",
    output: Output = "-",
    algorithm: Annotated[str, typer.Option(
        "--algorithm", "-a", help="byte (BYTE, the paper's), sort, deepsort (needs box features) or ocsort.")] = "byte",
    settings: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE", help="An algorithm parameter (repeatable); see Parameters above.")] = None,
    box: Annotated[str, typer.Option(
        help="Box written per track: detection (the matched detection's box, so box features stay aligned) "
             "or filter (what the official tracker outputs: Kalman state, or OC-SORT's last observation).")
    ] = "detection",
    min_track_length: Annotated[int, typer.Option(
        help="Drop tracks with fewer boxes than this in their video (the paper drops < 5). Above 1 it "
             "holds each video until it ends.")] = 0,
    encoding: Encoding = None,
) -> None:
    """Link detections into tracks (detections -> tracks), online, a fresh tracker per video.

    \b
    smot convert MOT17-02/det/det.txt | smot associate > tracks.smot
    smot associate dets.smot --algorithm ocsort -o tracks.smot
    smot associate dets.smot -a byte --set track_thresh=0.6 --box filter --min-track-length 5
    """
    if algorithm not in ALGORITHMS:
        raise UsageError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if box not in BOX_MODES:
        raise UsageError(f"--box must be one of {', '.join(BOX_MODES)}, got {box!r}")
    if min_track_length < 0:
        raise UsageError(f"--min-track-length must be >= 0, got {min_track_length}")
    config = AssociateConfig(algorithm=algorithm, params=parse_settings(algorithm, settings or []), box=box,
                             min_track_length=min_track_length)
    params = {"algorithm": algorithm, "params": config.resolved_params(), "box": box,
              "min_track_length": min_track_length}
    with StreamReader(source, expect=["smot.detections"],
                      hint="the order is `smot detect | smot associate | smot fuse`") as reader:
        header = make_header("smot.tracks", "smot associate", params, [reader.header])
        with StreamWriter(output, header, encoding) as writer:
            writer.write_all(associate(reader, config))


command.__doc__ = (command.__doc__ or "") + "\n" + _parameters_help()
