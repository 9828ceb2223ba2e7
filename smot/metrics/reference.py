"""TrackEval's own file-based evaluation, on a MOTChallenge folder written here.

The reference that the parity tests and benchmarks/score.py hold `smot score` to: the layout the
BenSMOT evaluation uses (`<root>/gt/BenSMOT-val/<seq>/gt/gt.txt` and `seqinfo.ini`, a seqmap, and
`<root>/trackers/BenSMOT-val/pred/data/<seq>.txt`), then `trackeval.Evaluator` with
`MotChallenge2DBox`, exactly as a user would run it.
"""

from __future__ import annotations

import contextlib
import io
from pathlib import Path

BENCHMARK, SPLIT, TRACKER = "BenSMOT", "val", "pred"


def write_layout(root: str | Path, sequences: dict[str, tuple[int, str, str]]) -> None:
    """`sequences[name] = (frames, gt.txt text, tracker file text)`; names may hold `/`."""
    root = Path(root)
    gt_root = root / "gt" / f"{BENCHMARK}-{SPLIT}"
    tr_root = root / "trackers" / f"{BENCHMARK}-{SPLIT}" / TRACKER / "data"
    (root / "gt" / "seqmaps").mkdir(parents=True, exist_ok=True)
    (root / "gt" / "seqmaps" / f"{BENCHMARK}-{SPLIT}.txt").write_text("name\n" + "".join(f"{s}\n" for s in sequences))
    for name, (frames, gt_text, tr_text) in sequences.items():
        (gt_root / name / "gt").mkdir(parents=True, exist_ok=True)
        (gt_root / name / "gt" / "gt.txt").write_text(gt_text)
        (gt_root / name / "seqinfo.ini").write_text(f"[Sequence]\nname={name}\nseqLength={frames}\n")
        (tr_root / name).parent.mkdir(parents=True, exist_ok=True)
        (tr_root / f"{name}.txt").write_text(tr_text)


def evaluate(root: str | Path, preprocess: bool = True, quiet: bool = True) -> dict:
    """TrackEval's results for the pedestrian class: {sequence or 'COMBINED_SEQ': {metric: result}}.

    TrackEval's errors (`TrackEvalException`) propagate.
    """
    import trackeval

    root = Path(root)
    eval_config = {"USE_PARALLEL": False, "PRINT_RESULTS": False, "PRINT_CONFIG": False, "TIME_PROGRESS": False,
                   "OUTPUT_SUMMARY": False, "OUTPUT_DETAILED": False, "PLOT_CURVES": False,
                   "BREAK_ON_ERROR": True, "LOG_ON_ERROR": None}
    dataset_config = {"GT_FOLDER": str(root / "gt"), "TRACKERS_FOLDER": str(root / "trackers"),
                      "BENCHMARK": BENCHMARK, "SPLIT_TO_EVAL": SPLIT, "TRACKERS_TO_EVAL": [TRACKER],
                      "DO_PREPROC": preprocess, "PRINT_CONFIG": False}
    config = {"THRESHOLD": 0.5, "PRINT_CONFIG": False}
    metrics = [trackeval.metrics.HOTA(), trackeval.metrics.CLEAR(config), trackeval.metrics.Identity(config)]
    sink = io.StringIO() if quiet else None
    with contextlib.redirect_stdout(sink) if quiet else contextlib.nullcontext():
        evaluator = trackeval.Evaluator(eval_config)
        dataset = trackeval.datasets.MotChallenge2DBox(dataset_config)
        results, messages = evaluator.evaluate([dataset], metrics)
    res = results["MotChallenge2DBox"][TRACKER]
    if res is None:
        raise RuntimeError(messages["MotChallenge2DBox"][TRACKER])
    return {seq: by_class["pedestrian"] for seq, by_class in res.items()}
