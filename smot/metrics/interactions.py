"""Interaction metrics: micro precision, recall and F1 over (pair, predicate) cells, and subset accuracy.

What the paper's `eval_vu.py` computes with scikit-learn on multi-hot vectors (one row per scored
ordered pair of trajectories, one column per predicate): a predicted score counts when it is
strictly greater than the threshold (0.4 in the paper); precision = TP / (TP + FP), recall =
TP / (TP + FN), F1 = 2 TP / (2 TP + FP + FN), each summed over every cell; accuracy is the share of
pairs whose predicted set equals the ground-truth set exactly. A ratio with a zero denominator is
0.0, as scikit-learn's default `zero_division` gives (with a warning there, a note here). Cells
that are 0 on both sides never enter these formulas, so sets of predicate names stand for the
vectors and any vocabulary works.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

DEFAULT_THRESHOLD = 0.4


@dataclass
class InteractionScore:
    pairs: int
    tp: int
    fp: int
    fn: int
    exact: int

    def report(self) -> dict:
        notes = []
        if self.pairs == 0:
            return {"precision": None, "recall": None, "f1": None, "accuracy": None, "pairs": 0, "tp": 0, "fp": 0,
                    "fn": 0, "notes": ["no pairs to score"]}
        if self.tp + self.fp == 0:
            notes.append("no predicted interaction above the threshold: precision is 0 by convention")
        if self.tp + self.fn == 0:
            notes.append("no ground-truth interaction: recall is 0 by convention")
        out = {
            "precision": _ratio(self.tp, self.tp + self.fp),
            "recall": _ratio(self.tp, self.tp + self.fn),
            "f1": _ratio(2 * self.tp, 2 * self.tp + self.fp + self.fn),
            "accuracy": self.exact / self.pairs,
            "pairs": self.pairs, "tp": self.tp, "fp": self.fp, "fn": self.fn,
        }
        if notes:
            out["notes"] = notes
        return out


def _ratio(a: int, b: int) -> float:
    return a / b if b else 0.0


def score(items: Iterable[tuple[set[str], set[str]]]) -> InteractionScore:
    """Count over (predicted set, ground-truth set) items, one item per scored ordered pair."""
    pairs = tp = fp = fn = exact = 0
    for predicted, truth in items:
        pairs += 1
        hit = len(predicted & truth)
        tp += hit
        fp += len(predicted) - hit
        fn += len(truth) - hit
        exact += predicted == truth
    return InteractionScore(pairs, tp, fp, fn, exact)


def positive(predictions: Iterable[tuple[str, float | None]], threshold: float = DEFAULT_THRESHOLD) -> set[str]:
    """The predicates predicted for a pair: score > threshold, strictly; no score means asserted."""
    return {predicate for predicate, p in predictions if p is None or p > threshold}
