"""The quantities of the paper's Table 1 for any BenSMOT-layout folder (ours or the real one).

Videos, frames and video lengths, tracks and boxes, instance captions and their lengths in words,
video captions, interaction labels and the histogram of their predicates: per split and in total.
Sequences are read with `smot.datasets.bensmot.read_sequence`, so the numbers are those of what
`smot convert` reads (its warnings about quirks of the real data included).
"""

from __future__ import annotations

from collections import Counter
from pathlib import Path

import orjson

from smot.datasets.bensmot import find_sequences, read_sequence
from smot.errors import InputError
from smot.records import Caption, Frame, Interaction, Summary, Video


def _splits(root: Path) -> list[tuple[str, Path]]:
    """(name, folder) of each split of a dataset root; else the folder itself as one split."""
    found = [(name, root / name) for name in ("train", "val", "test") if (root / name).is_dir()]
    return found or [(root.name or str(root), root)]


def _words(text: str) -> int:
    return len(text.split())


def split_stats(folder: Path, fps: float | None) -> dict:
    videos = frames = boxes = 0
    lengths: list[int] = []
    tracks: set[tuple[str, int]] = set()
    scenarios: set[str] = set()
    caption_words: list[int] = []
    summary_words: list[int] = []
    predicates: Counter[str] = Counter()
    pairs: set[tuple[str, int, int]] = set()
    visible: list[float] = []
    for video_id, path in find_sequences(folder):
        scenarios.add(video_id.split("/")[0])
        for record in read_sequence(path, video_id):
            if isinstance(record, Video):
                videos += 1
                frames += record.frames
                lengths.append(record.frames)
            elif isinstance(record, Frame):
                boxes += record.n
                tracks.update((video_id, int(t)) for t in record.ids.tolist())
                if record.visibility is not None:
                    visible.extend(record.visibility.tolist())
            elif isinstance(record, Caption):
                caption_words.append(_words(record.text))
            elif isinstance(record, Summary):
                summary_words.append(_words(record.text))
            elif isinstance(record, Interaction):
                predicates[record.predicate] += 1
                pairs.add((video_id, record.subject, record.object))
    out = {
        "videos": videos,
        "scenarios": len(scenarios),
        "frames": frames,
        "length_frames": _spread(lengths),
        "tracks": len(tracks),
        "boxes": boxes,
        "boxes_per_frame": round(boxes / frames, 2) if frames else 0.0,
        "mean_visibility": round(sum(visible) / len(visible), 3) if visible else None,
        "instance_captions": len(caption_words),
        "caption_words": _spread(caption_words),
        "video_captions": len(summary_words),
        "video_caption_words": _spread(summary_words),
        "interactions": sum(predicates.values()),
        "interacting_pairs": len(pairs),
        "predicates": dict(sorted(predicates.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    if fps:
        out["length_seconds"] = {k: round(v / fps, 1) for k, v in out["length_frames"].items()}
        out["total_seconds"] = round(frames / fps, 1)
    return out


def _spread(values: list[int]) -> dict:
    if not values:
        return {"min": 0, "mean": 0.0, "max": 0}
    return {"min": min(values), "mean": round(sum(values) / len(values), 1), "max": max(values)}


def dataset_stats(root: str | Path) -> dict:
    """Statistics per split (and in total when there are several) of a dataset root, a split folder
    or one sequence. The frame rate, for lengths in seconds, comes from synth.json when present."""
    root = Path(root)
    if not root.is_dir():
        raise InputError(f"{root} is not a folder", hint="give a dataset root, a split or a sequence folder")
    fps = None
    provenance = root / "synth.json"
    if provenance.is_file():
        try:
            fps = float(orjson.loads(provenance.read_bytes())["params"]["fps"])
        except (orjson.JSONDecodeError, KeyError, TypeError, ValueError):
            raise InputError(f"cannot read the frame rate from {provenance}") from None
    splits = {name: split_stats(folder, fps) for name, folder in _splits(root)}
    if len(splits) > 1:
        splits["total"] = _total(list(splits.values()), fps)
    return splits


def _total(parts: list[dict], fps: float | None) -> dict:
    def spread(key: str) -> dict:
        counts = [p[_count_key(key)] for p in parts]
        n = sum(counts)
        if not n:
            return {"min": 0, "mean": 0.0, "max": 0}
        return {"min": min(p[key]["min"] for p, c in zip(parts, counts, strict=True) if c),
                "mean": round(sum(p[key]["mean"] * c for p, c in zip(parts, counts, strict=True)) / n, 1),
                "max": max(p[key]["max"] for p in parts)}

    predicates: Counter[str] = Counter()
    for p in parts:
        predicates.update(p["predicates"])
    frames = sum(p["frames"] for p in parts)
    boxes = sum(p["boxes"] for p in parts)
    vis = [(p["mean_visibility"], p["boxes"]) for p in parts if p["mean_visibility"] is not None]
    out = {
        "videos": sum(p["videos"] for p in parts),
        "scenarios": max(p["scenarios"] for p in parts),
        "frames": frames,
        "length_frames": spread("length_frames"),
        "tracks": sum(p["tracks"] for p in parts),
        "boxes": boxes,
        "boxes_per_frame": round(boxes / frames, 2) if frames else 0.0,
        "mean_visibility": round(sum(v * b for v, b in vis) / sum(b for _, b in vis), 3) if vis and
        sum(b for _, b in vis) else None,
        "instance_captions": sum(p["instance_captions"] for p in parts),
        "caption_words": spread("caption_words"),
        "video_captions": sum(p["video_captions"] for p in parts),
        "video_caption_words": spread("video_caption_words"),
        "interactions": sum(p["interactions"] for p in parts),
        "interacting_pairs": sum(p["interacting_pairs"] for p in parts),
        "predicates": dict(sorted(predicates.items(), key=lambda kv: (-kv[1], kv[0]))),
    }
    if fps:
        out["length_seconds"] = {k: round(v / fps, 1) for k, v in out["length_frames"].items()}
        out["total_seconds"] = round(frames / fps, 1)
    return out


def _count_key(key: str) -> str:
    return {"length_frames": "videos", "caption_words": "instance_captions",
            "video_caption_words": "video_captions"}[key]


def format_stats(stats: dict) -> str:
    """A plain table: one column per split, then the predicate histogram."""
    names = list(stats)
    rows = [
        ("videos", lambda s: f"{s['videos']:,}"),
        ("scenarios", lambda s: f"{s['scenarios']:,}"),
        ("frames", lambda s: f"{s['frames']:,}"),
        ("length, frames (min/mean/max)", lambda s: _triple(s["length_frames"])),
    ]
    if "length_seconds" in stats[names[0]]:
        rows += [("length, s (min/mean/max)", lambda s: _triple(s["length_seconds"])),
                 ("total length, s", lambda s: f"{s['total_seconds']:,}")]
    rows += [
        ("tracks", lambda s: f"{s['tracks']:,}"),
        ("boxes", lambda s: f"{s['boxes']:,}"),
        ("boxes per frame", lambda s: f"{s['boxes_per_frame']}"),
        ("mean visibility", lambda s: "-" if s["mean_visibility"] is None else f"{s['mean_visibility']}"),
        ("instance captions", lambda s: f"{s['instance_captions']:,}"),
        ("caption words (min/mean/max)", lambda s: _triple(s["caption_words"])),
        ("video captions", lambda s: f"{s['video_captions']:,}"),
        ("video caption words (min/mean/max)", lambda s: _triple(s["video_caption_words"])),
        ("interactions (labels)", lambda s: f"{s['interactions']:,}"),
        ("interacting pairs", lambda s: f"{s['interacting_pairs']:,}"),
        ("predicates", lambda s: f"{len(s['predicates']):,}"),
    ]
    table = [["", *names]] + [[label, *(fmt(stats[n]) for n in names)] for label, fmt in rows]
    widths = [max(len(row[k]) for row in table) for k in range(len(table[0]))]
    lines = ["  ".join(cell.ljust(widths[0]) if k == 0 else cell.rjust(widths[k]) for k, cell in enumerate(row))
             for row in table]
    last = stats[names[-1]]
    if last["predicates"]:
        lines.append("")
        lines.append(f"predicates ({names[-1]}):")
        width = max(len(p) for p in last["predicates"])
        top = max(last["predicates"].values())
        for predicate, count in last["predicates"].items():
            bar = "#" * max(1, round(30 * count / top))
            lines.append(f"  {predicate.ljust(width)}  {count:>7,}  {bar}")
    return "\n".join(lines)


def _triple(spread: dict) -> str:
    return f"{spread['min']} / {spread['mean']} / {spread['max']}"
