"""The BenSMOT dataset layout, read and written exactly (formats/bensmot.md).

    <split>/<scenario>/<clip>/
        imgs/001.jpg ...            one JPEG per frame, 1-based, zero-padded
        gt/gt.txt                   MOTChallenge ground truth (9 columns)
        instance_captions.txt       `<name>: <caption>`; line k is the caption of track k
        video_caption.txt           the caption of the whole clip
        interactions.graphml        directed edges between names, a comma-separated list of
                                    WordNet senses per edge (key `relationship`)

Quirks of the real data are warned about and handled, never fatal: tracks without caption lines,
caption lines without tracks, sparse frame numbers, graphml names that no caption line has.
"""

from __future__ import annotations

import logging
import shutil
import struct
import xml.etree.ElementTree as ET
from collections.abc import Iterable
from pathlib import Path
from xml.sax.saxutils import escape, quoteattr

import numpy as np

from smot.atomic import write_atomic
from smot.datasets.motchallenge import MotRows, format_frame, read_mot
from smot.errors import InputError, RecordError
from smot.records import Caption, Frame, Interaction, Record, Summary, Video, check_video_id

log = logging.getLogger("smot")

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png")
GRAPHML_NS = "http://graphml.graphdrawing.org/xmlns"
_GRAPHML_HEAD = (
    "<?xml version='1.0' encoding='utf-8'?>\n"
    '<graphml xmlns="http://graphml.graphdrawing.org/xmlns" '
    'xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance" '
    'xsi:schemaLocation="http://graphml.graphdrawing.org/xmlns '
    'http://graphml.graphdrawing.org/xmlns/1.0/graphml.xsd">\n'
    '  <key id="d0" for="edge" attr.name="relationship" attr.type="string" />\n'
    '  <graph edgedefault="directed">\n'
)


# --------------------------------------------------------------------------------------------
# finding sequences


def is_sequence(path: Path) -> bool:
    return (path / "gt" / "gt.txt").is_file() or (path / "imgs").is_dir()


def find_sequences(root: str | Path) -> list[tuple[str, Path]]:
    """(video id, folder) of every sequence under a split folder, or of one sequence folder.

    Video ids are `<scenario>/<clip>`, in sorted order. Folders that resolve outside the root
    (symbolic links) are skipped with a warning.
    """
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder", hint="give a BenSMOT split (data/BenSMOT/test) or one sequence")
    real_root = root.resolve()
    if is_sequence(root):
        parent = real_root.parent.name
        return [(f"{parent}/{real_root.name}" if parent else real_root.name, root)]
    found = []
    for scenario in sorted(p for p in root.iterdir() if p.is_dir()):
        for clip in sorted(p for p in scenario.iterdir() if p.is_dir()):
            if not is_sequence(clip):
                continue
            if not clip.resolve().is_relative_to(real_root):
                log.warning("skipping %s: it leads outside %s", clip, root)
                continue
            found.append((f"{scenario.name}/{clip.name}", clip))
    if not found:
        if any((root / split).is_dir() for split in ("train", "test", "val")):
            raise InputError(f"{root} is a dataset root, not a split",
                             hint=f"convert one split: smot convert {root / 'test'}")
        raise InputError(f"no BenSMOT sequences in {root} (expected <scenario>/<clip>/gt/gt.txt or imgs/)")
    return found


# --------------------------------------------------------------------------------------------
# reading


def list_images(folder: Path) -> list[str]:
    """Image file names of a folder in frame order: by number when every stem is a number."""
    names = [p.name for p in folder.iterdir() if p.suffix.lower() in IMAGE_SUFFIXES and p.is_file()]
    if all(Path(n).stem.isdigit() for n in names):
        return sorted(names, key=lambda n: (int(Path(n).stem), n))
    return sorted(names)


def image_size(path: Path) -> tuple[int, int] | None:
    """(width, height) from a JPEG or PNG header without decoding the pixels; None if unreadable."""
    try:
        with open(path, "rb") as f:
            head = f.read(26)
            if head[:8] == b"\x89PNG\r\n\x1a\n":
                return struct.unpack(">II", head[16:24])
            if head[:2] != b"\xff\xd8":
                return None
            f.seek(2)
            while True:
                marker = f.read(4)
                if len(marker) < 4 or marker[0] != 0xFF:
                    return None
                kind, length = marker[1], struct.unpack(">H", marker[2:])[0]
                if 0xC0 <= kind <= 0xCF and kind not in (0xC4, 0xC8, 0xCC):  # start of frame
                    height, width = struct.unpack(">xHH", f.read(5))
                    return width, height
                f.seek(length - 2, 1)
    except (OSError, struct.error):
        return None


def parse_captions(path: Path) -> list[tuple[str | None, str]]:
    """(name, text) per non-blank line of instance_captions.txt, in line order."""
    out = []
    for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
        if not line.strip():
            continue
        name, sep, text = line.partition(":")
        if not sep or not name.strip() or " " in name.strip():
            log.warning("%s, line %d: no `name:` before the caption; kept without a name", path, number)
            out.append((None, line.strip()))
        else:
            out.append((name.strip(), text.strip()))
    return out


def parse_graphml(path: Path) -> list[tuple[str, str, list[str]]]:
    """(source name, target name, labels) per edge of interactions.graphml, in file order."""
    try:
        root = ET.parse(path).getroot()
    except ET.ParseError as e:
        raise InputError(f"cannot parse {path}: {e}") from None
    ns = {"g": GRAPHML_NS} if root.tag.startswith("{") else {"g": ""}
    q = (lambda tag: f"g:{tag}") if ns["g"] else (lambda tag: tag)
    keys = [k for k in root.findall(q("key"), ns) if k.get("for") in ("edge", "all", None)]
    key = next((k.get("id") for k in keys if k.get("attr.name") == "relationship"), None)
    if key is None and len(keys) == 1:
        key = keys[0].get("id")
        log.warning("%s: no edge key named `relationship`; using key %r", path, key)
    graph = root.find(q("graph"), ns)
    if graph is None:
        return []
    if graph.get("edgedefault") == "undirected":
        log.warning("%s: the graph says undirected; edges are read as written, source to target", path)
    edges = []
    for edge in graph.findall(q("edge"), ns):
        text = next((d.text or "" for d in edge.findall(q("data"), ns) if d.get("key") == key), "")
        labels = [label.strip() for label in text.split(",") if label.strip()]
        if not labels:
            log.warning("%s: edge %s -> %s has no relationship labels; skipped", path, edge.get("source"),
                        edge.get("target"))
            continue
        edges.append((edge.get("source") or "", edge.get("target") or "", labels))
    return edges


def read_sequence(folder: str | Path, video_id: str) -> list[Record]:
    """The records of one BenSMOT sequence: video, frames 1..N, captions, summary, interactions."""
    folder = Path(folder)
    try:
        check_video_id(video_id)
    except RecordError as e:
        raise InputError(str(e), str(folder)) from None
    imgs = folder / "imgs"
    names = list_images(imgs) if imgs.is_dir() else []
    gt_path = folder / "gt" / "gt.txt"
    rows = read_mot(str(gt_path)) if gt_path.is_file() else None
    if rows is not None and rows.is_detections:
        raise InputError(f"{gt_path} holds detections (ids -1), expected ground-truth tracks")
    if not names:
        log.warning("%s: no images in imgs/; the frame count is taken from gt.txt", folder)
    size = image_size(imgs / names[0]) if names else None

    # frame t of the stream is the t-th image; gt.txt rows name frames by image number
    position: dict[int, int] | None = None
    if names:
        numbers = [int(Path(n).stem) for n in names] if all(Path(n).stem.isdigit() for n in names) else None
        if numbers is None:
            log.warning("%s: image names are not numbers; gt.txt frames are read as positions", folder)
        elif numbers != list(range(1, len(names) + 1)):
            log.warning("%s: sparse frame numbers (images %s...); frames are renumbered by position and "
                        "gt.txt rows matched by image number", folder, ", ".join(map(str, numbers[:4])))
            position = {number: t for t, number in enumerate(numbers, 1)}
    frames = len(names) if names else (int(rows.frame.max()) if rows is not None and len(rows.frame) else 0)
    if rows is None:
        log.warning("%s: no gt/gt.txt; the sequence has no boxes", folder)
        rows = read_mot_empty(str(gt_path))
    rows = _renumber_frames(rows, position, frames, folder)

    video = Video(id=video_id, frames=frames, source=str(folder.resolve()),
                  width=size[0] if size else None, height=size[1] if size else None, fps=None,
                  images=[f"imgs/{n}" for n in names] if names else None)
    records: list[Record] = [video]
    order = np.argsort(rows.frame, kind="stable")
    bounds = np.searchsorted(rows.frame[order], np.arange(1, frames + 2))
    for t in range(1, frames + 1):
        take = order[bounds[t - 1]:bounds[t]]
        records.append(Frame(video=video_id, frame=t, boxes=rows.boxes[take], scores=rows.conf[take],
                             ids=rows.ids[take], classes=None if rows.classes is None else rows.classes[take],
                             visibility=None if rows.visibility is None else rows.visibility[take]))

    track_ids = set(rows.ids.tolist())
    captions_path = folder / "instance_captions.txt"
    lines = parse_captions(captions_path) if captions_path.is_file() else []
    if not captions_path.is_file():
        log.warning("%s: no instance_captions.txt", folder)
    by_name: dict[str, int] = {}
    for track, (name, text) in enumerate(lines, 1):
        if track not in track_ids:
            log.warning("%s: caption line %d (%s) has no track %d in gt.txt; kept", folder, track, name, track)
        if name is not None:
            if name in by_name:
                log.warning("%s: the name %s is on caption lines %d and %d; interactions use the first",
                            folder, name, by_name[name], track)
            by_name.setdefault(name, track)
        records.append(Caption(video=video_id, track=track, text=text, name=name))
    uncaptioned = sorted(t for t in track_ids if t > len(lines))
    if uncaptioned and lines:
        log.warning("%s: %d tracks have no caption line (ids %s); they take part in tracking only", folder,
                    len(uncaptioned), ", ".join(map(str, uncaptioned[:5])) + ("..." if len(uncaptioned) > 5 else ""))

    summary_path = folder / "video_caption.txt"
    if summary_path.is_file():
        records.append(Summary(video=video_id, text=summary_path.read_text(encoding="utf-8").rstrip("\r\n")))
    else:
        log.warning("%s: no video_caption.txt", folder)

    graph_path = folder / "interactions.graphml"
    if graph_path.is_file():
        for source, target, labels in parse_graphml(graph_path):
            missing = [n for n in (source, target) if n not in by_name]
            if missing:
                log.warning("%s: interaction %s -> %s names %s, which no caption line has; skipped",
                            graph_path, source, target, " and ".join(missing))
                continue
            for label in labels:
                records.append(Interaction(video=video_id, subject=by_name[source], object=by_name[target],
                                           predicate=label))
    return records


def read_mot_empty(path: str) -> MotRows:
    empty = np.zeros(0, np.int64)
    return MotRows(path, empty, empty, empty, np.zeros((0, 4)), np.zeros(0), empty, np.zeros(0), 9)


def _renumber_frames(rows: MotRows, position: dict[int, int] | None, frames: int, folder: Path) -> MotRows:
    """gt.txt frame numbers as stream frames 1..frames; rows of frames without an image are dropped."""
    if position is not None:
        mapped = np.array([position.get(int(f), 0) for f in rows.frame], dtype=np.int64)
    else:
        mapped = rows.frame.copy()
    keep = (mapped >= 1) & (mapped <= frames)
    if not keep.all():
        lost = rows.line[~keep]
        log.warning("%s: %d gt.txt rows name frames without an image (lines %s); dropped", folder, len(lost),
                    ", ".join(map(str, lost[:5].tolist())))
    return MotRows(rows.path, rows.line[keep], mapped[keep], rows.ids[keep], rows.boxes[keep], rows.conf[keep],
                   None if rows.classes is None else rows.classes[keep],
                   None if rows.visibility is None else rows.visibility[keep], rows.columns)


# --------------------------------------------------------------------------------------------
# writing


def format_graphml(names: list[str], edges: list[tuple[str, str, list[str]]]) -> str:
    """interactions.graphml in the layout of the BenSMOT files (networkx's GraphML writer)."""
    parts = [_GRAPHML_HEAD]
    parts += [f"    <node id={quoteattr(n)} />\n" for n in names]
    for source, target, labels in edges:
        parts.append(f"    <edge source={quoteattr(source)} target={quoteattr(target)}>\n"
                     f"      <data key=\"d0\">{escape(','.join(labels))}</data>\n"
                     "    </edge>\n")
    parts.append("  </graph>\n</graphml>\n")
    return "".join(parts)


def write_sequence(records: Iterable[Record], video: Video, folder: Path, images: str = "copy") -> None:
    """Write one video's records as a BenSMOT sequence folder (which must not exist yet).

    Track ids are renumbered, if needed, so that caption line k is track k: captioned tracks first
    in id order, then the others. `images` is copy, link (symbolic) or none.
    """
    frames: list[Frame] = []
    captions: dict[int, Caption] = {}
    summary: Summary | None = None
    interactions: list[Interaction] = []
    for record in records:
        if isinstance(record, Frame):
            frames.append(record)
        elif isinstance(record, Caption):
            captions.setdefault(record.track, record)
        elif isinstance(record, Summary):
            summary = record
        elif isinstance(record, Interaction):
            interactions.append(record)

    boxed = set()
    for frame in frames:
        boxed.update(frame.ids.tolist())
    captioned = sorted(captions)
    new_id = {old: new for new, old in enumerate(captioned + sorted(boxed - set(captioned)), 1)}
    if any(old != new for old, new in new_id.items()):
        log.warning("%s: track ids renumbered so that caption line order gives the id", video.id)

    used = {c.name for c in captions.values() if c.name}
    names: dict[int, str] = {}
    spare = 0
    for track in captioned:
        name = captions[track].name
        if not name:
            while f"person{spare}" in used:
                spare += 1
            name = f"person{spare}"
            used.add(name)
        names[track] = name

    folder.mkdir(parents=True)
    (folder / "gt").mkdir()
    numbers = _image_numbers(video)
    text: list[str] = []
    for frame in frames:
        ids = np.array([new_id[i] for i in frame.ids.tolist()], dtype=np.int64)
        number = numbers[frame.frame - 1] if numbers else frame.frame
        text.append(format_frame(frame, "gt", frame_number=number, ids=ids))
    write_atomic(folder / "gt" / "gt.txt", "".join(text))
    write_atomic(folder / "instance_captions.txt",
                 "".join(f"{names[t]}: {captions[t].text}\n" for t in captioned))
    if summary is not None:
        write_atomic(folder / "video_caption.txt", summary.text + "\n")
    else:
        log.warning("%s: no summary record; video_caption.txt not written", video.id)

    edges: dict[tuple[int, int], list[str]] = {}
    for record in interactions:
        if record.subject not in names or record.object not in names:
            log.warning("%s: interaction %d -> %d (%s) involves a track without a caption; not written",
                        video.id, record.subject, record.object, record.predicate)
            continue
        edges.setdefault((record.subject, record.object), []).append(record.predicate)
    write_atomic(folder / "interactions.graphml",
                 format_graphml([names[t] for t in captioned],
                                [(names[s], names[o], labels) for (s, o), labels in edges.items()]))
    _write_images(video, folder / "imgs", images)


def _image_numbers(video: Video) -> list[int] | None:
    if not video.images:
        return None
    stems = [Path(p).stem for p in video.images]
    return [int(s) for s in stems] if all(s.isdigit() for s in stems) else None


def _write_images(video: Video, imgs: Path, mode: str) -> None:
    if mode == "none":
        return
    if not video.source or not video.images:
        log.warning("%s: the video record names no image files; imgs/ not written", video.id)
        return
    source = Path(video.source)
    missing = [p for p in video.images if not (source / p).is_file()]
    if missing:
        log.warning("%s: %d image files are missing under %s (first: %s); imgs/ not written", video.id,
                    len(missing), source, missing[0])
        return
    imgs.mkdir()
    for index, name in enumerate(video.images, 1):
        src = source / name
        dst = imgs / (Path(name).name if _image_numbers(video) else f"{index:03d}{Path(name).suffix}")
        if mode == "link":
            dst.symlink_to(src.resolve())
        else:
            shutil.copyfile(src, dst)
