"""Tracking metrics: hand-derived tiny cases, and parity with TrackEval's own file-based run.

Every parity case is written as a MOTChallenge folder (seqmap, seqinfo.ini, gt.txt, tracker files),
evaluated by `trackeval.Evaluator`, and read back through smot's MOTChallenge reader for
`smot.metrics.tracking`; all fields of every sequence and of the combination must agree to 1e-9,
for both engines (fast: ours; trackeval: TrackEval's metric classes on our in-memory preprocessing).
"""

from __future__ import annotations

import math

import numpy as np
import pytest
from trackeval.utils import TrackEvalException

from smot.datasets.motchallenge import mot_frames, read_mot
from smot.errors import InputError
from smot.metrics import reference, tracking
from smot.records import Frame, Video

# --------------------------------------------------------------------------------------------
# building cases


def gt_row(t, i, x, y, w, h, conf=1, cls=1, vis=1.0) -> str:
    return f"{t},{i},{float(x)!r},{float(y)!r},{float(w)!r},{float(h)!r},{conf},{cls},{vis}\n"


def tr_row(t, i, x, y, w, h) -> str:
    return f"{t},{i},{float(x)!r},{float(y)!r},{float(w)!r},{float(h)!r},1,-1,-1,-1\n"


def random_case(seed: int, sequences: int = 3, frames: int = 25, objects: int = 6, distractors: bool = False,
                crowd: bool = False) -> dict:
    """Walking boxes, a noisy tracker with misses, false positives, id switches and frame gaps."""
    rng = np.random.default_rng(seed)
    case = {}
    for s in range(sequences):
        gt, tr = [], []
        area = 120 if crowd else 600
        pos = rng.uniform(0, area, (objects, 2))
        size = rng.uniform(20, 80, (objects, 2))
        vel = rng.normal(0, 3, (objects, 2))
        gt_id = np.arange(1, objects + 1)
        tr_id = np.arange(1, objects + 1) * 10
        next_tr = 1000
        classes = np.ones(objects, int)
        if distractors:
            classes = rng.choice([1, 1, 1, 2, 3, 7, 8, 12], objects)
        gap = set(rng.choice(np.arange(2, frames), 2, replace=False).tolist())
        for t in range(1, frames + 1):
            pos += vel
            for k in range(objects):
                if rng.random() < 0.1:
                    continue  # not annotated in this frame
                x, y = np.round(pos[k], 1)
                w, h = np.round(size[k], 1)
                conf = 0 if rng.random() < 0.05 else 1
                gt.append(gt_row(t, gt_id[k], x, y, w, h, conf, classes[k]))
                if t in gap or rng.random() < 0.15:
                    continue
                if rng.random() < 0.03:
                    tr_id[k] = next_tr = next_tr + 1  # id switch
                nx, ny, nw, nh = np.round([x, y, w, h] + rng.normal(0, 4 if crowd else 3, 4), 2)
                tr.append(tr_row(t, tr_id[k], nx, ny, max(nw, 1.0), max(nh, 1.0)))
            if t not in gap:
                for _ in range(rng.poisson(0.5)):
                    fx, fy = np.round(rng.uniform(0, area, 2), 2)
                    tr.append(tr_row(t, 5000 + int(rng.integers(0, 3)) * 7 + t % 2, fx, fy, 40.0, 60.0))
        # the false positives above may repeat an id in a frame; keep the first
        seen, unique = set(), []
        for line in tr:
            key = tuple(line.split(",")[:2])
            if key not in seen:
                seen.add(key)
                unique.append(line)
        case[f"scene{s}/clip_{seed}_{s}"] = (frames, "".join(gt), "".join(unique))
    return case


def ours(root, case: dict, preprocess: bool, engine: str) -> dict:
    per_seq = {}
    for name, (frames, _, _) in case.items():
        gt = frames_of(root / "gt" / "BenSMOT-val" / name / "gt" / "gt.txt", name, frames)
        pred = frames_of(root / "trackers" / "BenSMOT-val" / "pred" / "data" / f"{name}.txt", name, frames)
        data = tracking.preprocess(tracking.sequence(name, frames, gt, pred), preprocess)
        per_seq[name] = tracking.evaluate_sequence(data, engine)
    out = dict(per_seq)
    out["COMBINED_SEQ"] = tracking.combine(per_seq)
    return out


def frames_of(path, name: str, frames: int) -> list[Frame]:
    rows = read_mot(str(path))
    if not len(rows.ids):
        return []
    return list(mot_frames(Video(id=name, frames=frames), rows, tracks=True))


def assert_same(ref: dict, got: dict) -> None:
    assert set(ref) == set(got)
    for seq, metrics in ref.items():
        for metric, fields in metrics.items():
            for key, value in fields.items():
                want = np.asarray(value, float)
                have = np.asarray(got[seq][metric][key], float)
                assert want.shape == have.shape, (seq, metric, key)
                assert np.allclose(want, have, rtol=0, atol=1e-9), (seq, metric, key, want, have)


def check_parity(tmp_path, case: dict, preprocess: bool = True) -> dict:
    reference.write_layout(tmp_path, case)
    ref = reference.evaluate(tmp_path, preprocess)
    for engine in ("fast", "trackeval"):
        assert_same(ref, ours(tmp_path, case, preprocess, engine))
    return ref


# --------------------------------------------------------------------------------------------
# hand-derived


def one_sequence(frames: int, gt_rows: str, tr_rows: str) -> dict:
    """The fast engine's results for one video given as MOTChallenge rows."""
    data = tracking.preprocess(tracking.sequence("v", frames, _frames(gt_rows, frames), _frames(tr_rows, frames)))
    return tracking.evaluate_sequence(data)


def _frames(text: str, frames: int) -> list[Frame | None]:
    out: list = [None] * frames
    for line in text.splitlines():
        t, i, x, y, w, h, *_ = (float(v) for v in line.split(","))
        f = out[int(t) - 1]
        box = np.array([[x, y, x + w, y + h]])
        if f is None:
            out[int(t) - 1] = Frame(video="v", frame=int(t), boxes=box, scores=np.ones(1), ids=np.array([int(i)]))
        else:
            out[int(t) - 1] = Frame(video="v", frame=int(t), boxes=np.vstack([f.boxes, box]),
                                    scores=np.ones(f.n + 1), ids=np.append(f.ids, int(i)))
    return out


def test_one_switch_hand_derived():
    # one person over 4 frames, predicted exactly, as tracker 1 in frames 1-2 and tracker 2 in 3-4.
    # CLEAR: TP 4, FN 0, FP 0, one switch: MOTA = (4 - 0 - 1) / 4 = 0.75; tracked throughout: Frag 0, MT 1.
    # Identity: the best one-to-one id match keeps 2 frames: IDTP 2, IDFN 2, IDFP 2, IDF1 = 2 / (2 + 1 + 1) = 0.5.
    # HOTA (IoU 1 at every alpha): DetA 1; each pair is matched 2 times, gt has 4 dets, each tracker 2:
    # A = 2 / (4 + 2 - 2) = 0.5 for both, AssA = (2 * 0.5 + 2 * 0.5) / 4 = 0.5, HOTA = sqrt(0.5).
    gt = "".join(gt_row(t, 1, 10, 10, 50, 100) for t in range(1, 5))
    tr = "".join(tr_row(t, 1 if t <= 2 else 2, 10, 10, 50, 100) for t in range(1, 5))
    res = one_sequence(4, gt, tr)
    assert res["CLEAR"]["MOTA"] == 0.75 and res["CLEAR"]["IDSW"] == 1
    assert res["CLEAR"]["Frag"] == 0 and res["CLEAR"]["MT"] == 1
    assert (res["Identity"]["IDTP"], res["Identity"]["IDFN"], res["Identity"]["IDFP"]) == (2, 2, 2)
    assert res["Identity"]["IDF1"] == 0.5
    assert np.allclose(res["HOTA"]["DetA"], 1) and np.allclose(res["HOTA"]["AssA"], 0.5)
    assert math.isclose(np.mean(res["HOTA"]["HOTA"]), math.sqrt(0.5), abs_tol=1e-12)


def test_iou_exactly_at_threshold_hand_derived():
    # gt 100x100 at the origin; prediction 200x100: intersection 10000, union 20000, IoU exactly 0.5,
    # which matches (>= 0.5 - eps): MOTA 1. HOTA counts it at alphas 0.05..0.5 (10 of 19), so per alpha
    # DetA = AssA = 1 there and 0 above, and HOTA = 10 / 19. With width 200.01 the IoU is
    # 10000 / 20001 < 0.5: no CLEAR match (FP 1, FN 1, MOTA -1) but HOTA still counts it up to 0.45 (9 of 19).
    gt = gt_row(1, 1, 0, 0, 100, 100)
    res = one_sequence(1, gt, tr_row(1, 1, 0, 0, 200, 100))
    assert res["CLEAR"]["CLR_TP"] == 1 and res["CLEAR"]["MOTA"] == 1.0
    assert math.isclose(np.mean(res["HOTA"]["HOTA"]), 10 / 19, abs_tol=1e-12)
    res = one_sequence(1, gt, tr_row(1, 1, 0, 0, 200.01, 100))
    assert (res["CLEAR"]["CLR_FP"], res["CLEAR"]["CLR_FN"], res["CLEAR"]["MOTA"]) == (1, 1, -1.0)
    assert math.isclose(np.mean(res["HOTA"]["HOTA"]), 9 / 19, abs_tol=1e-12)


def test_zero_area_boxes_never_match_hand_derived():
    # a zero-width box has IoU 0 even with an identical box: all FN and FP, MOTA = (0 - 1) / 1 = -1
    res = one_sequence(1, gt_row(1, 1, 5, 5, 0, 10), tr_row(1, 1, 5, 5, 0, 10))
    assert (res["CLEAR"]["CLR_TP"], res["CLEAR"]["CLR_FP"], res["CLEAR"]["CLR_FN"]) == (0, 1, 1)
    assert np.allclose(res["HOTA"]["HOTA"], 0)


def test_box_iou_is_trackeval_bit_for_bit():
    from trackeval.datasets._base_dataset import _BaseDataset

    rng = np.random.default_rng(0)
    for _ in range(300):
        n, m = rng.integers(0, 9, 2)
        a = np.round(rng.uniform(0, 40, (n, 4)), 1)
        b = np.round(rng.uniform(0, 40, (m, 4)), 2)
        a[:, 2:] *= rng.random((n, 2)) > 0.1  # some zero-area boxes
        if n and m:
            b[0] = a[0]
        want = _BaseDataset._calculate_box_ious(a.copy(), b.copy(), box_format="xywh")
        xa, xb = a.copy(), b.copy()
        xa[:, 2:] += xa[:, :2]
        xb[:, 2:] += xb[:, :2]
        assert np.array_equal(tracking.box_iou(xa, xb), want)


# --------------------------------------------------------------------------------------------
# parity with TrackEval's file-based evaluation


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_random_sequences(tmp_path, seed):
    check_parity(tmp_path, random_case(seed))


@pytest.mark.parametrize("preprocess", [True, False])
def test_distractors_zero_marked_and_cars(tmp_path, preprocess):
    # classes 2, 7, 8, 12 remove matching predictions (preprocessing on); cars (3) stay FPs
    check_parity(tmp_path, random_case(7, distractors=True), preprocess)


def test_crowd_needs_the_solver(tmp_path):
    # heavy overlap: frames where the assignment is not fixed by the data, so ties and the
    # continuation bonus decide
    check_parity(tmp_path, random_case(11, sequences=2, frames=40, objects=8, crowd=True))


def test_identical_boxes_tie(tmp_path):
    # two people on the very same box, two predictions on it too, swapping ids half way
    gt = "".join(gt_row(t, i, 10, 10, 40, 80) for t in range(1, 9) for i in (1, 2))
    tr = "".join(tr_row(t, i if t < 5 else 3 - i, 10, 10, 40, 80) for t in range(1, 9) for i in (1, 2))
    check_parity(tmp_path, {"a/tie": (8, gt, tr)})


def test_empty_sequences(tmp_path):
    # early returns: MOTA 0, HOTA 0, LocA 1, IDF1 0 per sequence; combined recomputed from sums
    boxes = "".join(gt_row(t, 1, 0, 0, 10, 10) for t in (1, 2))
    preds = "".join(tr_row(t, 1, 0, 0, 10, 10) for t in (1, 2))
    ref = check_parity(tmp_path, {"a/no_pred": (2, boxes, ""), "a/no_gt": (3, "", preds), "a/none": (2, "", ""),
                                  "a/both": (2, boxes, preds)})
    assert ref["a/no_pred"]["CLEAR"]["MOTA"] == 0 and ref["a/no_pred"]["HOTA"]["LocA(0)"] == 1.0


def test_only_empty_sequences(tmp_path):
    ref = check_parity(tmp_path, {"a/x": (3, "", ""), "a/y": (1, "", "")})
    combined = ref["COMBINED_SEQ"]
    assert np.mean(combined["HOTA"]["HOTA"]) == 0 and np.mean(combined["HOTA"]["LocA"]) == 1.0
    assert combined["CLEAR"]["MOTA"] == 0 and combined["Identity"]["IDF1"] == 0


def test_frame_gaps_are_not_fragments(tmp_path):
    # predictions missing whole frames: TrackEval's CLEAR skips them without touching its state,
    # so the track is not fragmented (Frag 0) and keeps its continuation bonus
    gt = "".join(gt_row(t, 1, 0, 0, 10, 10) + gt_row(t, 2, 100, 0, 10, 10) for t in range(1, 9))
    tr = "".join(tr_row(t, 7, 0, 0, 10, 10) + tr_row(t, 8, 100, 1, 10, 10) for t in range(1, 9) if t not in (3, 6))
    ref = check_parity(tmp_path, {"a/gaps": (8, gt, tr)})
    assert ref["a/gaps"]["CLEAR"]["Frag"] == 0


def test_threshold_and_zero_area_cases_in_files(tmp_path):
    gt = gt_row(1, 1, 0, 0, 100, 100) + gt_row(2, 1, 0, 0, 100, 100) + gt_row(3, 1, 5, 5, 0, 10)
    tr = tr_row(1, 1, 0, 0, 200, 100) + tr_row(2, 1, 0, 0, 200.01, 100) + tr_row(3, 1, 5, 5, 0, 10)
    check_parity(tmp_path, {"a/edges": (3, gt, tr)})


def test_invalid_class_raises_with_preprocessing_only(tmp_path):
    case = {"a/bad": (2, gt_row(1, 1, 0, 0, 10, 10, cls=14), tr_row(1, 1, 0, 0, 10, 10))}
    reference.write_layout(tmp_path, case)
    with pytest.raises(TrackEvalException):
        reference.evaluate(tmp_path, preprocess=True)
    with pytest.raises(InputError, match="class 14"):
        ours(tmp_path, case, True, "fast")
    assert_same(reference.evaluate(tmp_path, preprocess=False), ours(tmp_path, case, False, "fast"))


def test_duplicate_ids_raise_in_both(tmp_path):
    case = {"a/dup": (1, gt_row(1, 1, 0, 0, 10, 10) + gt_row(1, 1, 20, 0, 10, 10), tr_row(1, 1, 0, 0, 10, 10))}
    reference.write_layout(tmp_path, case)
    with pytest.raises(TrackEvalException, match="same ID"):
        reference.evaluate(tmp_path)
    with pytest.raises(InputError, match="already has a box in the same frame"):
        ours(tmp_path, case, True, "fast")


def test_frames_outside_the_sequence_raise_in_trackeval(tmp_path):
    # TrackEval refuses tracker rows beyond seqLength; smot score does too (tests/stages/test_score.py)
    case = {"a/long": (2, gt_row(1, 1, 0, 0, 10, 10), tr_row(3, 1, 0, 0, 10, 10))}
    reference.write_layout(tmp_path, case)
    with pytest.raises(TrackEvalException, match="invalid timesteps"):
        reference.evaluate(tmp_path)


def test_summary_is_flat_json_ready():
    gt = "".join(gt_row(t, 1, 10, 10, 50, 100) for t in range(1, 5))
    res = one_sequence(4, gt, gt.replace(",1,1,1.0\n", ",1,-1,-1,-1\n"))
    out = tracking.summary(tracking.combine({"v": res}), per_alpha=True)
    assert out["HOTA"] == 1.0 and out["IDSW"] == 0 and isinstance(out["CLR_TP"], int)
    assert len(out["per_alpha"]["HOTA"]) == 19 and out["alphas"][9] == 0.5


def random_sequence(rng: np.random.Generator, distractors: bool) -> tracking.Sequence:
    """A short video, sometimes crowded: rounded boxes (exact ties), zero-area boxes, duplicated
    predictions under another id, id switches, misses and zero-marked ground truth."""
    frames, n = int(rng.integers(1, 30)), int(rng.integers(1, 10))
    area = float(rng.choice([30, 80, 300]))
    seq = tracking.Sequence("s", frames)
    pos, size = rng.uniform(0, area, (n, 2)), rng.uniform(5, 40, (n, 2))
    track = np.arange(1, n + 1)
    for _ in range(frames):
        pos += rng.normal(0, 2, pos.shape)
        seen = rng.random(n) > 0.2
        wh = np.round(size[seen]) * (rng.random() > 0.1)
        xy = np.round(pos[seen])
        seq.gt_ids.append(np.arange(1, n + 1)[seen])
        seq.gt_boxes.append(np.hstack([xy, xy + wh]))
        seq.gt_classes.append(rng.choice([1, 1, 1, 2, 7, 3], seen.sum()) if distractors else np.ones(seen.sum(), int))
        seq.gt_consider.append((rng.random(seen.sum()) > 0.05).astype(np.int64))
        if rng.random() < 0.1:
            track = rng.permutation(track)  # a burst of id switches
        found = rng.random(n) > 0.2
        boxes = np.hstack([pos[found], pos[found] + size[found]]) + np.round(rng.normal(0, 3 * rng.integers(0, 2),
                                                                                             (found.sum(), 4)))
        boxes[:, 2:] = np.maximum(boxes[:, 2:], boxes[:, :2])
        ids = track[found]
        if rng.random() < 0.3 and len(boxes):
            boxes, ids = np.vstack([boxes, boxes[:1]]), np.append(ids, 1000)
        seq.pr_ids.append(ids.astype(np.int64))
        seq.pr_boxes.append(boxes)
    return seq


def test_fast_engine_equals_trackeval_classes_on_random_cases():
    # the fast engine against TrackEval's metric classes on the very same per-sequence dicts
    rng = np.random.default_rng(5)
    metrics = tracking.trackeval_metrics()
    for case in range(60):
        seq = random_sequence(rng, distractors=case % 3 == 0)
        for preprocess in (True, False):
            data = tracking.preprocess(seq, preprocess)
            fast = tracking.evaluate_sequence(data)
            for name, metric in metrics.items():
                for key, value in metric.eval_sequence(data).items():
                    assert np.allclose(np.asarray(value, float), np.asarray(fast[name][key], float), rtol=0,
                                       atol=1e-9), (case, preprocess, name, key)
