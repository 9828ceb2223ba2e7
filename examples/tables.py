"""Tables 2 and 3 of the paper from `smot score` reports, one row per report, as Markdown.

    python examples/tables.py out/tables/*.report.json
    python examples/tables.py sort.json smoter.json --protocol bensmot   # the paper's caption numbers

The row name is the report's file name up to the first dot (`sort.report.json` -> sort). Table 2
is tracking (TrackEval's values, percentages as the paper prints them); Table 3 is the video and
instance captions (BLEU-4, ROUGE-L, METEOR, CIDEr under the chosen protocol) and the interactions
(precision, recall, F1). A number the report does not have (a skipped section, a metric that
needs Java) is shown as `-`.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

TRACKING = [("HOTA", "HOTA", 100), ("AssA", "AssA", 100), ("DetA", "DetA", 100), ("LocA", "LocA", 100),
            ("MOTA", "MOTA", 100), ("FN", "CLR_FN", 1), ("FP", "CLR_FP", 1), ("IDs", "IDSW", 1),
            ("IDR", "IDR", 100), ("IDP", "IDP", 100), ("IDF1", "IDF1", 100)]
# Table 3's caption columns under each protocol: (column, key in the report)
CAPTIONS = {"coco": [("BLEU", "BLEU-4"), ("ROUGE", "ROUGE-L"), ("METEOR", "METEOR"), ("CIDEr", "CIDEr")],
            "bensmot": [("BLEU", "BLEU"), ("ROUGE", "ROUGE-L"), ("METEOR", "METEOR"), ("CIDEr", "CIDEr")]}


def number(value, scale: float = 1, digits: int = 3) -> str:
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return "-"
    if scale == 1 and float(value).is_integer():
        return str(int(value))
    return f"{value * scale:.{digits}f}"


def markdown(header: list[str], rows: list[list[str]]) -> str:
    lines = ["| " + " | ".join(header) + " |", "|" + "---|" * len(header)]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def tracking_row(report: dict) -> list[str]:
    combined = report.get("tracking", {}).get("combined", {})
    return [number(combined.get(key), scale, 2) for _, key, scale in TRACKING]


def semantic_row(report: dict, protocol: str) -> list[str]:
    captions = report.get("captions", {})
    row = []
    for kind in ("video", "instance"):
        scores = captions.get(kind, {}).get(protocol, {}) if isinstance(captions.get(kind), dict) else {}
        row += [number(scores.get(key)) for _, key in CAPTIONS[protocol]]
    interactions = report.get("interactions", {})
    row += [number(interactions.get(key)) for key in ("precision", "recall", "f1")]
    return row


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("reports", nargs="+", help="smot score reports (JSON)")
    parser.add_argument("--protocol", choices=sorted(CAPTIONS), default="coco", help="caption protocol of Table 3")
    args = parser.parse_args(argv)
    rows = []
    for path in args.reports:
        try:
            report = json.loads(Path(path).read_text())
        except (OSError, ValueError) as e:
            print(f"tables.py: error: cannot read report {path}: {e}", file=sys.stderr)
            return 1
        if report.get("format") != "smot.report":
            print(f"tables.py: error: {path} is not a smot score report", file=sys.stderr)
            return 1
        rows.append((Path(path).name.split(".")[0], report))
    print("Table 2: tracking\n")
    print(markdown(["Method", *(name for name, _, _ in TRACKING)], [[name, *tracking_row(r)] for name, r in rows]))
    print(f"\nTable 3: semantic understanding ({args.protocol} protocol)\n")
    columns = [f"{kind} {name}" for kind in ("Video", "Instance") for name, _ in CAPTIONS[args.protocol]]
    print(markdown(["Method", *columns, "Prec", "Rec", "F1"],
                   [[name, *semantic_row(r, args.protocol)] for name, r in rows]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
