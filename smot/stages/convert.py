"""Convert between smot streams and the formats outside smot.

Reads MOTChallenge text (det.txt, gt.txt, tracker results), BenSMOT sequence or split folders, or
a smot stream; writes a smot stream (formats/detections.md, formats/tracks.md), MOTChallenge text
as TrackEval reads it (formats/motchallenge.md) or BenSMOT folders (formats/bensmot.md).
"""

from __future__ import annotations

import itertools
import logging
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Annotated

import typer

from smot.atomic import AtomicDir, AtomicFile
from smot.clikit import Encoding, Output, parse_size, progress
from smot.datasets import bensmot, motchallenge
from smot.errors import InputError, UsageError
from smot.records import Frame, Header, Record, TrajectoryFeature, VideoFeature
from smot.streams import StreamReader, StreamWriter, by_video, make_header

log = logging.getLogger("smot")

TARGETS = ("stream", "mot", "bensmot")


@dataclass(frozen=True)
class ConvertConfig:
    to: str = "stream"  # stream | mot | bensmot
    kind: str | None = None  # MOTChallenge input read as detections or tracks; None: by its ids
    layout: str | None = None  # MOTChallenge output: det | result | gt; None: by the records
    video: str | None = None  # video id of a MOTChallenge input
    frames: int | None = None  # frame count of a MOTChallenge input
    width: int | None = None
    height: int | None = None
    fps: float | None = None
    images: str = "copy"  # BenSMOT output: copy | link | none
    drop_features: bool = False


# --------------------------------------------------------------------------------------------
# the core: records in, records out


def from_mot(path: str, config: ConvertConfig) -> tuple[str, Iterator[Record]]:
    """(stream format, records) of a MOTChallenge file: its video and frames 1..N."""
    rows = motchallenge.read_mot(path)
    # an empty file is read as tracks: a tracker that saw nobody writes one
    kind = config.kind or ("detections" if rows.is_detections else "tracks")
    if kind == "tracks" and rows.is_detections:
        raise InputError("the file holds detections (every id is -1), not tracks", path,
                         hint="drop --as tracks, or give a gt.txt or tracker result file")
    if kind == "detections" and not rows.is_detections and len(rows.ids):
        log.warning("%s: reading tracks as detections; their ids are dropped", path)
    video = motchallenge.mot_video(rows, config.video, config.frames, config.width, config.height, config.fps)
    format = "smot.detections" if kind == "detections" else "smot.tracks"

    def records() -> Iterator[Record]:
        yield video
        for frame in motchallenge.mot_frames(video, rows, tracks=kind == "tracks"):
            yield frame.validate()

    return format, records()


def from_bensmot(path: str) -> Iterator[Record]:
    """The ground-truth records of a BenSMOT sequence or split, one sequence at a time."""
    sequences = bensmot.find_sequences(path)
    for video_id, folder in progress(sequences, len(sequences), "convert"):
        yield from bensmot.read_sequence(folder, video_id)


def drop_features(records: Iterable[Record]) -> Iterator[Record]:
    """The records without feature arrays (per-box features, frame context, fused features)."""
    for record in records:
        if isinstance(record, (TrajectoryFeature, VideoFeature)):
            continue
        if isinstance(record, Frame) and (record.features is not None or record.context is not None):
            record = Frame(video=record.video, frame=record.frame, boxes=record.boxes, scores=record.scores,
                           ids=record.ids, det_index=record.det_index, classes=record.classes,
                           visibility=record.visibility)
        yield record


def write_mot(records: Iterable[Record], output: str, layout: str | None) -> None:
    """MOTChallenge text: one file for one video, or a folder of `<video id>.txt` files."""
    groups = by_video(records)
    first = next(groups, (None, []))
    second = next(groups, None)
    if second is None:
        text = motchallenge.format_mot((r for r in first[1] if isinstance(r, Frame)), layout)
        if output == "-":
            sys.stdout.write(text)
            sys.stdout.flush()
        else:
            with AtomicFile(output, "w") as f:
                f.write(text)
        return
    if output == "-" or output.endswith((".txt", ".txt.gz")):
        raise UsageError("the stream holds several videos; give -o FOLDER for one <video>.txt each")
    with AtomicDir(output) as folder:
        for video, held in itertools.chain([first, second], groups):
            if video is not None:
                path = folder / f"{video.id}.txt"
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(motchallenge.format_mot((r for r in held if isinstance(r, Frame)), layout))


def write_bensmot(records: Iterable[Record], output: str, images: str) -> None:
    """BenSMOT folders `<output>/<scenario>/<clip>/` from a tracks stream."""
    if output == "-":
        raise UsageError("BenSMOT output is a folder; give -o FOLDER")
    with AtomicDir(output) as folder:
        for video, held in by_video(records):
            if video is not None:
                bensmot.write_sequence(held, video, folder / video.id, images)


# --------------------------------------------------------------------------------------------
# the command


def _input_kind(source: str) -> str:
    if source == "-":
        return "stream"
    path = Path(source)
    if path.is_dir():
        if (path / "seqinfo.ini").is_file() and not (path / "imgs").is_dir():
            raise InputError(f"{source} looks like a MOTChallenge sequence folder",
                             hint=f"convert its text files: smot convert {path / 'gt' / 'gt.txt'}")
        return "bensmot"
    if not path.exists():
        raise InputError(f"cannot read {source}: no such file or folder")
    name = path.name.lower()
    if name.endswith((".txt", ".txt.gz", ".csv")):
        return "mot"
    with open(path, "rb") as f:
        head = f.read(2)
    if head[:1].isdigit():
        return "mot"
    return "stream"


def convert(source: str, output: str, config: ConvertConfig, encoding: str | None = None) -> None:
    """Read `source` in whichever format it is and write `output` in `config.to`."""
    kind = _input_kind(source)
    defaults = asdict(ConvertConfig())
    params = {k: v for k, v in asdict(config).items() if v != defaults[k]}  # the options given
    inputs: list[Header] = []
    reader = None
    if kind == "mot":
        format, records = from_mot(source, config)
    elif kind == "bensmot":
        format, records = "smot.tracks", from_bensmot(source)
    else:
        reader = StreamReader(source)
        format, records, inputs = reader.header.format, iter(reader), [reader.header]
    try:
        if config.drop_features:
            records = drop_features(records)
            format = "smot.tracks" if format == "smot.fused" else format
        if config.to == "stream":
            with StreamWriter(output, make_header(format, "smot convert", params, inputs), encoding) as writer:
                writer.write_all(records)
        elif config.to == "mot":
            write_mot(records, output, config.layout)
        else:
            if format == "smot.detections":
                raise InputError(f"BenSMOT folders hold tracks; the input is a {format} stream",
                                 input_name(source), hint="associate the detections first")
            write_bensmot(records, output, config.images)
    finally:
        if reader is not None:
            reader.close()


def input_name(source: str) -> str:
    return "stdin" if source == "-" else source


def command(
    source: Annotated[str, typer.Argument(
        help="MOTChallenge det.txt, gt.txt or result file; a BenSMOT sequence or split folder; or a smot "
             "stream (- for stdin).")],
    output: Output = "-",
    to: Annotated[str, typer.Option(
        help="Output: stream, mot (MOTChallenge text) or bensmot (folders). Default: mot when -o ends in "
             ".txt, else stream.", show_default=False)] = None,  # type: ignore[assignment]
    as_: Annotated[str | None, typer.Option(
        "--as", help="Read MOTChallenge text as detections or tracks (default: detections when every id "
                     "is -1).")] = None,
    layout: Annotated[str | None, typer.Option(
        help="MOTChallenge output layout: det, result (TrackEval tracker file) or gt (9 columns). "
             "Default: det for detections, gt when the tracks carry class and visibility, else result.")] = None,
    video: Annotated[str | None, typer.Option(
        help="Video id for MOTChallenge input (default: seqinfo.ini's name, the sequence folder or the "
             "file stem).")] = None,
    frames: Annotated[int | None, typer.Option(
        help="Frame count for MOTChallenge input (default: seqinfo.ini, else the last frame in the "
             "file).")] = None,
    size: Annotated[str | None, typer.Option(help="WIDTHxHEIGHT of MOTChallenge input frames.")] = None,
    fps: Annotated[float | None, typer.Option(help="Frames per second of MOTChallenge input.")] = None,
    images: Annotated[str, typer.Option(help="BenSMOT output images: copy, link or none.")] = "copy",
    drop_features: Annotated[bool, typer.Option(
        "--drop-features", help="Leave out feature arrays (box features, frame context, fused features).")] = False,
    encoding: Encoding = None,
) -> None:
    """Convert MOTChallenge text and BenSMOT folders to and from smot streams.

    \b
    smot convert MOT17-02/det/det.txt -o dets.smot            # detections stream
    smot convert data/BenSMOT/test -o gt.smot                 # ground-truth stream of a split
    smot convert tracks.smot -o result.txt                    # one video to a TrackEval file
    smot convert tracks.smot --to mot -o trackers/pred/data   # one <video>.txt per video
    smot convert gt.smot --to bensmot -o copy/test            # back to BenSMOT folders
    """
    if to is None:
        to = "mot" if output.endswith((".txt", ".txt.gz")) else "stream"
    _choice("--to", to, TARGETS)
    _choice("--as", as_, ("detections", "tracks"))
    _choice("--layout", layout, motchallenge.LAYOUTS)
    _choice("--images", images, ("copy", "link", "none"))
    if frames is not None and frames < 0:
        raise UsageError(f"--frames must be >= 0, got {frames}")
    if fps is not None and fps <= 0:
        raise UsageError(f"--fps must be > 0, got {fps}")
    width, height = parse_size(size)
    config = ConvertConfig(to=to, kind=as_, layout=layout, video=video, frames=frames, width=width,
                           height=height, fps=fps, images=images, drop_features=drop_features)
    convert(source, output, config, encoding)


def _choice(option: str, value: str | None, choices: Iterable[str]) -> None:
    if value is not None and value not in choices:
        raise UsageError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
