"""CHOTA, the captioning extension of HOTA from Dense Video Object Captioning (Zhou et al., 2024).

CHOTA = (DetA * AssA * CapA)^(1/3), as in the authors' released evaluation (scenic,
projects/densevoc/chota.py), at its default single localisation threshold alpha = 0.5:

- DetA and AssA are HOTA's at alpha = 0.5 (TrackEval's, combined over sequences).
- CapA is a caption score per true-positive detection: every box pair HOTA matches at alpha 0.5
  whose ground-truth track has a caption contributes one item, the predicted track's caption
  (empty if it has none) against the ground-truth track's caption, as raw strings. Per sequence,
  each caption metric is summed over its items (CIDEr-D computed on the sequence's items as one
  set, so its idf comes from that sequence, duplicates included); CapA of a metric is the sum over
  sequences divided by the number of items, and CapA the mean over metrics.
- The authors average CIDEr, METEOR and SPICE. SPICE is left out here: pycocoevalcap's SPICE
  downloads Stanford CoreNLP on first use, which cannot work offline. So CapA = (CIDEr + METEOR) / 2,
  and CHOTA needs Java for METEOR.
"""

from __future__ import annotations

from collections import Counter

from smot.metrics.captions import Meteor, Unavailable

METRICS = ("CIDEr", "METEOR")


class Chota:
    """Collects caption items sequence by sequence; `report` gives CapA and CHOTA."""

    def __init__(self):
        self.items = 0
        self.cider_sum = 0.0
        self.pairs: Counter[tuple[str, str]] = Counter()  # (prediction, reference) -> items

    def add_sequence(self, items: list[tuple[str, str]]) -> None:
        """The (predicted caption, ground-truth caption) items of one sequence."""
        if not items:
            return
        from pycocoevalcap.cider.cider import Cider

        _, scores = Cider().compute_score({i: [r] for i, (_, r) in enumerate(items)},
                                          {i: [h] for i, (h, _) in enumerate(items)})
        self.cider_sum += float(sum(scores))
        self.items += len(items)
        self.pairs.update(items)

    def report(self, det_a: float, ass_a: float, meteor: Meteor) -> dict:
        out: dict = {"CHOTA": None, "CapA": None, "DetA": det_a, "AssA": ass_a, "alpha": 0.5,
                     "CapA_CIDEr": None, "CapA_METEOR": None, "items": self.items,
                     "caption_metrics": list(METRICS)}
        if not self.items:
            out["notes"] = ["no true-positive detection of a captioned ground-truth track"]
            return out
        out["CapA_CIDEr"] = self.cider_sum / self.items
        pairs = list(self.pairs)
        try:
            # each METEOR segment score depends on its pair only: score every distinct pair once
            _, scores = meteor.scores([h for h, _ in pairs], [r for _, r in pairs])
        except Unavailable as u:
            out["unavailable"] = {"CapA_METEOR": u.reason, "CHOTA": u.reason}
            return out
        out["CapA_METEOR"] = sum(s * self.pairs[p] for s, p in zip(scores, pairs, strict=True)) / self.items
        out["CapA"] = (out["CapA_CIDEr"] + out["CapA_METEOR"]) / 2
        out["CHOTA"] = (det_a * ass_a * out["CapA"]) ** (1 / 3)
        return out
