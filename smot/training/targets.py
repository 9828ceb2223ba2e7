"""Caption and interaction targets for predicted trajectories (paper §4.4; reference §3.2).

Training associates the detector's boxes over a whole clip, then asks which ground-truth person
each predicted trajectory follows: that person's caption is the trajectory's caption target, and
the ground-truth interactions between two people are the targets of every ordered pair of
trajectories that follow them. The matching is the official one (reference §3.2) as `smot score`
implements it, in one coordinate frame: a predicted trajectory goes to the captioned ground-truth
trajectory with the highest mean IoU over the frames both are in, if that mean is above 0.2;
greedy and many-to-one, so two fragments of one person both learn that person's caption.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import numpy as np

from smot.records import Caption, Frame, Interaction, Summary


def match_trajectories(predicted: Sequence[Frame | None], truth: Sequence[Frame | None], captioned: Iterable[int],
                       threshold: float = 0.2) -> dict[int, int]:
    """Predicted track id -> ground-truth track id by the official greedy many-to-one rule, as
    `smot score --match bensmot` matches (smot/metrics/matching.py); frame i of both lists is the
    same video frame."""
    from smot.metrics.matching import match_bensmot

    return match_bensmot(list(predicted), list(truth), set(captioned), threshold).pairs


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
