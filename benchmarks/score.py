"""Tracking scoring time: smot against TrackEval's own file-based run, on the same data, side by side.

    python benchmarks/score.py [--frames 5000] [--objects 50] [--repeat 3]

One video of N frames with B people walking (they leave and come back under new ids), and a noisy
tracker (misses, false positives, id switches). The same boxes, rounded to 0.01 px, are written as a
MOTChallenge folder (seqmap, seqinfo.ini, gt.txt, tracker file: not timed) and as smot streams.
Timed, best of --repeat:

- TrackEval (files): `trackeval.Evaluator` on that folder, HOTA + CLEAR + Identity (+ Count),
  MOTChallenge preprocessing on: reading, preprocessing and metrics, as a user runs it;
- TrackEval (in memory): its metric classes alone on the preprocessed per-sequence dict;
- smot (in memory): `smot.metrics.tracking` from frame records to the combined numbers;
- smot score (streams): the score stage's core on the two stream files, reading included.

Every field of every result is checked equal (to 1e-9) before anything is printed.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import tempfile
import time
from pathlib import Path

import numpy as np

from smot.metrics import reference, tracking
from smot.records import Frame, Video
from smot.streams import StreamWriter, make_header

VIDEO = "bench/clip"


def make(frames: int, objects: int, seed: int = 0) -> tuple[list[Frame], list[Frame]]:
    rng = np.random.default_rng(seed)
    pos = rng.uniform(0, 1800, (objects, 2))
    vel = rng.normal(0, 2, (objects, 2))
    size = rng.uniform(30, 120, (objects, 2))
    gt_id = np.arange(1, objects + 1)
    tr_id = np.arange(1, objects + 1)
    next_gt = next_tr = objects + 1
    gt, pred = [], []
    for t in range(1, frames + 1):
        pos = (pos + vel) % 1800
        leave = rng.random(objects) < 0.002  # a person leaves; someone new comes in
        for k in np.flatnonzero(leave):
            gt_id[k], tr_id[k] = next_gt, next_tr
            next_gt, next_tr = next_gt + 1, next_tr + 1
        switch = rng.random(objects) < 0.003
        for k in np.flatnonzero(switch):
            tr_id[k], next_tr = next_tr, next_tr + 1
        xywh = np.round(np.hstack([pos, size]), 2)
        gt.append(_frame(t, gt_id, xywh))
        seen = rng.random(objects) > 0.1
        noisy = np.round(xywh + rng.normal(0, 4, (objects, 4)), 2)
        noisy[:, 2:] = np.maximum(noisy[:, 2:], 1)
        n_fp = rng.poisson(3)
        fp = np.round(np.hstack([rng.uniform(0, 1800, (n_fp, 2)), rng.uniform(30, 120, (n_fp, 2))]), 2)
        fp_id = 10 ** 6 + rng.choice(300, n_fp, replace=False)
        pred.append(_frame(t, np.concatenate([tr_id[seen], fp_id]), np.vstack([noisy[seen], fp])))
    return gt, pred


def _frame(t: int, ids: np.ndarray, xywh: np.ndarray) -> Frame:
    boxes = xywh.copy()
    boxes[:, 2:] += boxes[:, :2]  # as a MOTChallenge reader makes them: x + w
    return Frame(video=VIDEO, frame=t, boxes=boxes, scores=np.ones(len(ids)), ids=ids.astype(np.int64),
                 classes=np.ones(len(ids), np.int64))


def mot_text(frames: list[Frame], gt: bool) -> str:
    lines = []
    for f in frames:
        for i, (x1, y1, x2, y2) in zip(f.ids.tolist(), f.boxes.tolist(), strict=True):
            w, h = round(x2 - x1, 2), round(y2 - y1, 2)
            tail = "1,1,1" if gt else "1,-1,-1,-1"
            lines.append(f"{f.frame},{i},{x1!r},{y1!r},{w!r},{h!r},{tail}\n")
    return "".join(lines)


def best_of(repeat: int, run):
    best, out = float("inf"), None
    for _ in range(repeat):
        start = time.perf_counter()
        out = run()
        best = min(best, time.perf_counter() - start)
    return best, out


def smot_in_memory(gt: list[Frame], pred: list[Frame]) -> dict:
    data = tracking.preprocess(tracking.sequence(VIDEO, len(gt), gt, pred))
    per_seq = {VIDEO: tracking.evaluate_sequence(data)}
    return {**per_seq, "COMBINED_SEQ": tracking.combine(per_seq)}


def check(ref: dict, got: dict) -> int:
    checked = 0
    for seq in ref:
        for metric, fields in ref[seq].items():
            for key, value in fields.items():
                want, have = np.asarray(value, float), np.asarray(got[seq][metric][key], float)
                if want.shape != have.shape or not np.allclose(want, have, rtol=0, atol=1e-9):
                    raise SystemExit(f"MISMATCH {seq} {metric}.{key}: TrackEval {want} smot {have}")
                checked += want.size
    return checked


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--objects", type=int, default=50)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    gt, pred = make(args.frames, args.objects)
    root = Path(tempfile.mkdtemp(prefix="smot-bench-score-"))
    reference.write_layout(root / "mot", {VIDEO: (args.frames, mot_text(gt, True), mot_text(pred, False))})
    header = make_header("smot.tracks", "benchmark")
    for name, frames in (("gt.smot", gt), ("pred.smot", pred)):
        with StreamWriter(str(root / name), header, "msgpack") as writer:
            writer.write(Video(id=VIDEO, frames=args.frames))
            writer.write_all(frames)

    t_files, ref = best_of(args.repeat, lambda: reference.evaluate(root / "mot"))
    data = tracking.preprocess(tracking.sequence(VIDEO, args.frames, gt, pred))
    metrics = tracking.trackeval_metrics()
    with contextlib.redirect_stdout(io.StringIO()):
        t_classes, _ = best_of(args.repeat, lambda: {n: m.eval_sequence(data) for n, m in metrics.items()})
    t_memory, ours = best_of(args.repeat, lambda: smot_in_memory(gt, pred))
    checked = check(ref, ours)

    from smot.stages.score import ScoreConfig, score
    from smot.streams import StreamReader

    def from_streams() -> dict:
        with StreamReader(str(root / "pred.smot")) as reader:
            return score([("pred.smot", reader)], str(root / "gt.smot"), ScoreConfig())

    t_streams, report = best_of(args.repeat, from_streams)
    combined = report["tracking"]["combined"]
    assert abs(combined["HOTA"] - float(np.mean(ref["COMBINED_SEQ"]["HOTA"]["HOTA"]))) < 1e-9

    n_gt = sum(f.n for f in gt)
    n_pred = sum(f.n for f in pred)
    print(f"{args.frames} frames, {n_gt} ground-truth boxes ({data['num_gt_ids']} ids), {n_pred} predicted boxes "
          f"({data['num_tracker_ids']} ids); best of {args.repeat}")
    print(f"HOTA {combined['HOTA']:.4f}  MOTA {combined['MOTA']:.4f}  IDF1 {combined['IDF1']:.4f}; "
          f"{checked} values equal to TrackEval's within 1e-9")
    print(f"{'':34}{'seconds':>9}{'vs TrackEval (files)':>22}")
    for name, seconds in (("TrackEval (files)", t_files), ("TrackEval metric classes (memory)", t_classes),
                          ("smot (memory)", t_memory), ("smot score core (streams)", t_streams)):
        print(f"{name:34}{seconds:9.2f}{t_files / seconds:21.1f}x")


if __name__ == "__main__":
    main()
