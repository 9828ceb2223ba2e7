"""Caption and interaction targets for predicted trajectories (paper §4.4; reference §3.2).

Training associates the detector's boxes over a whole clip, then asks which ground-truth person
each predicted trajectory follows: that person's caption is the trajectory's caption target, and
the ground-truth interactions between two people are the targets of every ordered pair of
trajectories that follow them. The matching is the official one (reference §3.2), in one
coordinate frame: a predicted trajectory goes to the captioned ground-truth trajectory with the
highest mean IoU over the frames both are in (ties to the later one), if that mean is above 0.2;
greedy and many-to-one, so two fragments of one person both learn that person's caption.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from smot.records import Caption, Frame, Interaction, Summary


def iou(a: np.ndarray, b: np.ndarray, plus_one: bool = False) -> np.ndarray:
    """(n, 4) x (m, 4) xyxy boxes -> (n, m) IoU; `plus_one` is the official "+1 pixel" sides."""
    e = 1.0 if plus_one else 0.0
    x1 = np.maximum(a[:, None, 0], b[None, :, 0])
    y1 = np.maximum(a[:, None, 1], b[None, :, 1])
    x2 = np.minimum(a[:, None, 2], b[None, :, 2])
    y2 = np.minimum(a[:, None, 3], b[None, :, 3])
    inter = np.clip(x2 - x1 + e, 0, None) * np.clip(y2 - y1 + e, 0, None)
    area_a = (a[:, 2] - a[:, 0] + e) * (a[:, 3] - a[:, 1] + e)
    area_b = (b[:, 2] - b[:, 0] + e) * (b[:, 3] - b[:, 1] + e)
    union = area_a[:, None] + area_b[None] - inter
    return np.divide(inter, union, out=np.zeros_like(inter), where=union > 0)


def mean_iou(predicted: Iterable[Frame], truth: Iterable[Frame], gt_ids: Sequence[int] | None = None,
             plus_one: bool = False) -> tuple[list[int], list[int], np.ndarray]:
    """(predicted ids, ground-truth ids, (p, g) mean IoU over shared frames, NaN where none).

    Frames pair by frame number; ids are listed in order of first appearance. `gt_ids` limits the
    ground truth to those tracks (the captioned ones), in that order.
    """
    truth_by_frame = {f.frame: f for f in truth}
    pred_index: dict[int, int] = {}
    gt_index: dict[int, int] = {int(g): i for i, g in enumerate(gt_ids)} if gt_ids is not None else {}
    sums: dict[tuple[int, int], float] = {}
    counts: dict[tuple[int, int], int] = {}
    for frame in predicted:
        for t in frame.ids.tolist():
            pred_index.setdefault(int(t), len(pred_index))
        gt = truth_by_frame.get(frame.frame)
        if gt is None or not frame.n or not gt.n:
            continue
        if gt_ids is None:
            for g in gt.ids.tolist():
                gt_index.setdefault(int(g), len(gt_index))
        overlaps = iou(frame.boxes, gt.boxes, plus_one)
        for i, t in enumerate(frame.ids.tolist()):
            for j, g in enumerate(gt.ids.tolist()):
                if g not in gt_index:
                    continue
                key = (pred_index[t], gt_index[g])
                sums[key] = sums.get(key, 0.0) + float(overlaps[i, j])
                counts[key] = counts.get(key, 0) + 1
    matrix = np.full((len(pred_index), len(gt_index)), np.nan)
    for key, total in sums.items():
        matrix[key] = total / counts[key]
    return list(pred_index), list(gt_index), matrix


def match_trajectories(predicted: Iterable[Frame], truth: Iterable[Frame], gt_ids: Sequence[int] | None = None,
                       threshold: float = 0.2, plus_one: bool = False) -> dict[int, int]:
    """Predicted track id -> ground-truth track id, the official greedy many-to-one rule."""
    pred_ids, truth_ids, matrix = mean_iou(predicted, truth, gt_ids, plus_one)
    matches = {}
    for p, row in zip(pred_ids, matrix, strict=True):
        if np.isnan(row).all():
            continue
        scores = np.where(np.isnan(row), -np.inf, row)
        best = len(scores) - 1 - int(np.argmax(scores[::-1]))  # ties: the later ground truth
        if scores[best] > threshold:
            matches[p] = truth_ids[best]
    return matches


@dataclass
class Targets:
    """The semantic targets of one clip, for trajectories in a given order.

    captions[j]: the caption of trajectory j's person, or None; pairs: ordered (active, passive)
    trajectory indices; labels: (len(pairs), predicates) multi-hot.
    """

    captions: list[str | None]
    summary: str | None
    pairs: list[tuple[int, int]]
    labels: np.ndarray


def semantic_targets(order: Sequence[int], matches: dict[int, int], captions: Iterable[Caption],
                     summary: Summary | None, interactions: Iterable[Interaction], predicates: Sequence[str],
                     negatives: bool = True) -> Targets:
    """Targets for the trajectories `order` (track ids) given their matches to ground truth.

    Pairs are every ordered pair of matched trajectories that follow two different people; with
    `negatives`, pairs whose people have no annotated interaction are kept with all labels 0 (the
    official code trains only annotated pairs, but inference scores every pair). Labels outside
    `predicates` are ignored.
    """
    text = {c.track: c.text for c in captions}
    index = {p: i for i, p in enumerate(predicates)}
    annotated: dict[tuple[int, int], set[int]] = {}
    for r in interactions:
        if r.predicate in index:
            annotated.setdefault((r.subject, r.object), set()).add(index[r.predicate])
    caption_targets = [text.get(matches[t]) if t in matches else None for t in order]
    pairs, rows = [], []
    for a, ta in enumerate(order):
        for b, tb in enumerate(order):
            if a == b or ta not in matches or tb not in matches:
                continue
            people = (matches[ta], matches[tb])
            if people[0] == people[1] or (people not in annotated and not negatives):
                continue
            row = np.zeros(len(predicates), np.float32)
            row[sorted(annotated.get(people, ()))] = 1.0
            pairs.append((a, b))
            rows.append(row)
    labels = np.stack(rows) if rows else np.zeros((0, len(predicates)), np.float32)
    return Targets(caption_targets, summary.text if summary is not None else None, pairs, labels)
