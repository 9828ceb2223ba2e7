"""MOTChallenge text files: `det.txt`, `gt.txt` and tracker results (formats/motchallenge.md).

One comma-separated row per box: `frame, id, bb_left, bb_top, bb_width, bb_height, conf, ...`.
Detections carry id -1 and world coordinates -1,-1,-1 in columns 8-10; ground truth (9 columns)
carries the consider flag, the class and the visibility in columns 7-9; tracker results carry the
confidence in column 7 and -1 in columns 8-10. Frames are 1-based.
"""

from __future__ import annotations

import configparser
import gzip
import io
import math
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from smot.errors import InputError
from smot.records import Frame, Video

LAYOUTS = ("det", "result", "gt")


@dataclass
class MotRows:
    """The rows of a MOTChallenge file, columnar, in file order, with their 1-based line numbers."""

    path: str
    line: np.ndarray  # (N,) int
    frame: np.ndarray  # (N,) int
    ids: np.ndarray  # (N,) int
    boxes: np.ndarray  # (N, 4) xyxy float64
    conf: np.ndarray  # (N,) float64
    classes: np.ndarray | None  # (N,) int, 9-column ground truth only
    visibility: np.ndarray | None  # (N,) float64, 9-column ground truth only
    columns: int

    @property
    def is_detections(self) -> bool:
        return bool(len(self.ids)) and bool((self.ids == -1).all())


def _read_text(path: str) -> str:
    try:
        if path.endswith(".gz"):
            with gzip.open(path, "rt") as f:
                return f.read()
        return Path(path).read_text()
    except FileNotFoundError:
        raise InputError(f"cannot read {path}: no such file") from None
    except (OSError, UnicodeDecodeError, EOFError) as e:
        raise InputError(f"cannot read {path}: {getattr(e, 'strerror', None) or e}") from None


def read_mot(path: str) -> MotRows:
    """Parse and check a MOTChallenge file; errors name the file and line."""
    text = _read_text(path)
    lines = [(i + 1, s) for i, s in enumerate(text.splitlines()) if s.strip()]
    if not lines:
        empty = np.zeros(0, np.int64)
        return MotRows(path, empty, empty, empty, np.zeros((0, 4)), np.zeros(0), None, None, 0)
    comma = "," in lines[0][1]
    table = []
    width = None
    for number, line in lines:
        cells = line.split(",") if comma else line.split()
        if width is None:
            width = len(cells)
            if width < 6:
                raise InputError(f"expected at least 6 columns (frame, id, left, top, width, height), found {width}",
                                 f"{path}, line {number}")
        elif len(cells) != width:
            raise InputError(f"expected {width} columns like the first row, found {len(cells)}",
                             f"{path}, line {number}")
        try:
            table.append([float(c) for c in cells])
        except ValueError:
            raise InputError(f"expected numbers, found {line.strip()[:60]!r}", f"{path}, line {number}") from None
    data = np.array(table, dtype=np.float64)
    line_no = np.array([n for n, _ in lines])

    def fail(mask: np.ndarray, message: str) -> None:
        if mask.any():
            i = int(np.argmax(mask))
            raise InputError(message, f"{path}, line {line_no[i]}")

    fail(~np.isfinite(data).all(axis=1), "a value is not finite (NaN or infinite)")
    fail((data[:, 0] != np.round(data[:, 0])) | (data[:, 0] < 1), "the frame must be an integer >= 1")
    fail(data[:, 1] != np.round(data[:, 1]), "the id must be an integer")
    fail((data[:, 4] < 0) | (data[:, 5] < 0), "the box has a negative width or height")
    ids = data[:, 1].astype(np.int64)
    if (ids == -1).any() and (ids != -1).any():
        fail(ids != -1 if (ids == -1).sum() > (ids != -1).sum() else ids == -1,
             "ids mix -1 (detections) with track ids")
    fail((ids < 1) & (ids != -1), "track ids must be positive (or -1 for detections)")
    boxes = np.empty((len(data), 4))
    boxes[:, :2] = data[:, 2:4]
    boxes[:, 2:] = data[:, 2:4] + data[:, 4:6]
    gt = width == 9
    rows = MotRows(
        path=path, line=line_no, frame=data[:, 0].astype(np.int64), ids=ids, boxes=boxes,
        conf=data[:, 6] if width >= 7 else np.ones(len(data)),
        classes=data[:, 7].astype(np.int64) if gt else None,
        visibility=data[:, 8] if gt else None, columns=width,
    )
    if not rows.is_detections:
        key = rows.frame * (int(ids.max()) + 1) + ids
        order = np.argsort(key, kind="stable")
        dup = np.zeros(len(key), bool)
        dup[order[1:]] = key[order[1:]] == key[order[:-1]]
        fail(dup, "this track id already has a box in the same frame")
    return rows


def read_seqinfo(path: str | Path) -> dict | None:
    """`[Sequence]` of the seqinfo.ini beside a sequence's det/ or gt/ folder (or in it), if any."""
    here = Path(path).parent
    for folder in (here, here.parent):
        ini = folder / "seqinfo.ini"
        if ini.is_file():
            parser = configparser.ConfigParser()
            try:
                parser.read(ini)
                section = parser["Sequence"]
            except (configparser.Error, KeyError) as e:
                raise InputError(f"cannot read {ini}: {e}") from None
            return {"folder": folder, **{k.lower(): v for k, v in section.items()}}
    return None


def mot_video(rows: MotRows, video_id: str | None = None, frames: int | None = None,
              width: int | None = None, height: int | None = None, fps: float | None = None) -> Video:
    """The video record of a MOTChallenge file: given values, else seqinfo.ini, else the file."""
    info = read_seqinfo(rows.path) or {}
    path = Path(rows.path)

    def num(key: str, cast):
        try:
            return cast(info[key]) if key in info else None
        except ValueError:
            raise InputError(f"seqinfo.ini has a bad {key}: {info[key]!r}", rows.path) from None

    if video_id is None:
        if "name" in info:
            video_id = info["name"]
        elif path.parent.name in ("det", "gt") and path.parent.parent.name:
            video_id = path.parent.parent.name  # <seq>/det/det.txt
        else:
            video_id = path.name.split(".")[0]
    last = int(rows.frame.max()) if len(rows.frame) else 0
    frames = frames if frames is not None else num("seqlength", int)
    if frames is None:
        frames = last
    elif last > frames:
        i = int(np.argmax(rows.frame))
        raise InputError(f"frame {last} is beyond the sequence's {frames} frames", f"{rows.path}, line {rows.line[i]}")
    source = images = None
    if "folder" in info:
        source = str(info["folder"])
        imdir = Path(info["folder"]) / info.get("imdir", "img1")
        ext = info.get("imext", ".jpg")
        if imdir.is_dir() and frames:
            names = [f"{info.get('imdir', 'img1')}/{t:06d}{ext}" for t in range(1, frames + 1)]
            if all((Path(source) / n).is_file() for n in names):
                images = names
    return Video(id=video_id, frames=frames, source=source,
                 width=width if width is not None else num("imwidth", int),
                 height=height if height is not None else num("imheight", int),
                 fps=fps if fps is not None else num("framerate", float), images=images)


def mot_frames(video: Video, rows: MotRows, tracks: bool) -> Iterator[Frame]:
    """Frames 1..video.frames of the rows (with ids when `tracks`), empty frames included; box order
    within a frame is file order."""
    order = np.argsort(rows.frame, kind="stable")
    frame_sorted = rows.frame[order]
    bounds = np.searchsorted(frame_sorted, np.arange(1, video.frames + 2))
    for t in range(1, video.frames + 1):
        take = order[bounds[t - 1]:bounds[t]]
        yield Frame(
            video=video.id, frame=t, boxes=rows.boxes[take], scores=rows.conf[take],
            ids=rows.ids[take] if tracks else None,
            classes=rows.classes[take] if rows.classes is not None else None,
            visibility=rows.visibility[take] if rows.visibility is not None else None,
        )


# --------------------------------------------------------------------------------------------
# writing


def format_box_value(v: float) -> str:
    """Pixel values: Python's shortest round-trip form (`100.0`, `712.93`) of the value rounded to
    1e-9 px, which absorbs the float error of turning x1 + w back into w."""
    return repr(round(v, 9) + 0.0)


def format_value(v: float) -> str:
    """Other columns: an integer when integral (`1`, `-1`), else the shortest round-trip form."""
    if math.isfinite(v) and v == int(v):
        return str(int(v))
    return repr(round(v, 9) + 0.0)


def default_layout(frame: Frame) -> str:
    if frame.ids is None:
        return "det"
    if frame.classes is not None and frame.visibility is not None:
        return "gt"
    return "result"


def format_frame(frame: Frame, layout: str, frame_number: int | None = None,
                 ids: np.ndarray | None = None, out: io.StringIO | None = None) -> str:
    """The rows of one frame in `layout` (det, result or gt)."""
    buffer = out or io.StringIO()
    t = str(frame.frame if frame_number is None else frame_number)
    ids = frame.ids if ids is None else ids
    for i in range(frame.n):
        x1, y1, x2, y2 = frame.boxes[i].tolist()
        box = ",".join(format_box_value(v) for v in (x1, y1, x2 - x1, y2 - y1))
        conf = format_value(float(frame.scores[i]))
        if layout == "det":
            buffer.write(f"{t},-1,{box},{conf},-1,-1,-1\n")
        elif layout == "result":
            buffer.write(f"{t},{int(ids[i])},{box},{conf},-1,-1,-1\n")
        else:
            cls = int(frame.classes[i]) if frame.classes is not None else 1
            vis = format_value(float(frame.visibility[i])) if frame.visibility is not None else "1"
            buffer.write(f"{t},{int(ids[i])},{box},{conf},{cls},{vis}\n")
    return "" if out is not None else buffer.getvalue()


def format_mot(frames: Iterable[Frame], layout: str | None = None) -> str:
    """The text of a MOTChallenge file holding these frames (one video)."""
    buffer = io.StringIO()
    for frame in frames:
        layout = layout or default_layout(frame)
        format_frame(frame, layout, out=buffer)
    return buffer.getvalue()
