"""Tracking metrics equal to TrackEval's (HOTA, CLEAR, Identity, Count), computed in memory.

TrackEval reads MOTChallenge folders (seqmaps, seqinfo.ini, one text file per sequence), applies
the MOTChallenge preprocessing and hands each metric a per-sequence dict (`data` below). Here the
same dict is built from arrays (`preprocess`), and the metrics run on it in one of two engines:

- `fast` (default): vectorised re-implementations in this module. They feed scipy's
  `linear_sum_assignment` exactly the matrices TrackEval feeds it, whenever the assignment is not
  already fixed by the data (see `_assignment`), so ties are broken identically; everything else is
  array arithmetic over all frames at once instead of Python loops per frame and per HOTA alpha.
- `trackeval`: TrackEval's own metric classes on the same dict (the reference the tests check the
  fast engine against, on every case).

Combining sequences always uses TrackEval's `combine_sequences`, and the final fields TrackEval's
`_compute_final_fields`, so combined numbers follow its rules (sums, TP-weighted AssA and LocA).
The behaviours parity depends on are listed in ../shared/reference/metrics-protocols.md §2.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
from scipy.optimize import linear_sum_assignment

from smot.errors import InputError
from smot.records import Frame

EPS = np.finfo("float").eps
ALPHAS = np.arange(0.05, 0.99, 0.05)  # HOTA's 19 localisation thresholds, exactly TrackEval's array
ALPHA_05 = 9  # index of alpha 0.5 in ALPHAS
THRESHOLD = 0.5  # CLEAR and Identity match threshold
PEDESTRIAN = 1
# MOTChallenge classes whose boxes make matching predictions disappear instead of counting as FPs:
# person_on_vehicle, static_person, distractor, reflection (MOT16/17 rules, used by BenSMOT)
DISTRACTORS = np.array([2, 7, 8, 12])
VALID_CLASSES = np.arange(1, 14)
METRICS = ("HOTA", "CLEAR", "Identity", "Count")


@dataclass
class Sequence:
    """One video's boxes before preprocessing: per frame t (index t-1), ground truth and predictions.

    Boxes are xyxy float pixels. `gt_consider` is the MOTChallenge column 7 (0 = ignore this box);
    `gt_classes` column 8 (1 = pedestrian). Prediction classes are not kept: every predicted box is a
    person (TrackEval's `-1` class in result files).
    """

    name: str
    frames: int
    gt_ids: list[np.ndarray] = field(default_factory=list)
    gt_boxes: list[np.ndarray] = field(default_factory=list)
    gt_classes: list[np.ndarray] = field(default_factory=list)
    gt_consider: list[np.ndarray] = field(default_factory=list)
    pr_ids: list[np.ndarray] = field(default_factory=list)
    pr_boxes: list[np.ndarray] = field(default_factory=list)


_NO_IDS = np.zeros(0, np.int64)
_NO_BOXES = np.zeros((0, 4))


def sequence(name: str, frames: int, gt: list[Frame | None], pred: list[Frame | None]) -> Sequence:
    """A Sequence from the frame records of one video (index t-1 holds frame t, None = no boxes).

    Ground-truth frames without classes count as pedestrians; their `scores` are the consider flag.
    """
    seq = Sequence(name, frames)
    for t in range(frames):
        g = gt[t] if t < len(gt) else None
        p = pred[t] if t < len(pred) else None
        if g is None or not g.n:
            seq.gt_ids.append(_NO_IDS)
            seq.gt_boxes.append(_NO_BOXES)
            seq.gt_classes.append(_NO_IDS)
            seq.gt_consider.append(_NO_IDS)
        else:
            seq.gt_ids.append(g.ids)
            seq.gt_boxes.append(g.boxes)
            seq.gt_classes.append(g.classes if g.classes is not None else np.full(g.n, PEDESTRIAN, np.int64))
            # TrackEval reads column 7 with astype(int): 0.5 is "zero-marked" too
            seq.gt_consider.append(g.scores.astype(np.int64))
        if p is None or not p.n:
            seq.pr_ids.append(_NO_IDS)
            seq.pr_boxes.append(_NO_BOXES)
        else:
            seq.pr_ids.append(p.ids)
            seq.pr_boxes.append(p.boxes)
    return seq


def box_iou(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """(n, m) IoU of xyxy boxes, bit for bit TrackEval's `_calculate_box_ious` (the same elementwise
    operations, without the work on coordinates it throws away).

    Zero-area boxes have IoU 0 (even with an identical box); so does a pair whose union is <= eps.
    """
    ax1, ay1, ax2, ay2 = (a[:, i, None] for i in range(4))
    bx1, by1, bx2, by2 = (b[None, :, i] for i in range(4))
    width = np.minimum(ax2, bx2)
    width -= np.maximum(ax1, bx1)
    np.maximum(width, 0, out=width)
    height = np.minimum(ay2, by2)
    height -= np.maximum(ay1, by1)
    np.maximum(height, 0, out=height)
    intersection = width
    intersection *= height
    area_a = (a[:, 2] - a[:, 0]) * (a[:, 3] - a[:, 1])
    area_b = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    union = area_a[:, None] + area_b[None, :]
    union -= intersection
    flat_a, flat_b = area_a <= 0 + EPS, area_b <= 0 + EPS
    if flat_a.any():
        intersection[flat_a, :] = 0
    if flat_b.any():
        intersection[:, flat_b] = 0
    empty = union <= 0 + EPS
    if empty.any():
        intersection[empty] = 0
        union[empty] = 1
    intersection /= union
    return intersection


# --------------------------------------------------------------------------------------------
# preprocessing: MotChallenge2DBox.get_preprocessed_seq_data without files


def preprocess(seq: Sequence, mot_preprocessing: bool = True) -> dict:
    """TrackEval's per-sequence `data` dict for the pedestrian class.

    With `mot_preprocessing` (MOT16/17 rules, as BenSMOT's evaluation): per frame, predictions that
    match (Hungarian, IoU >= 0.5) a ground-truth box of a distractor class are removed, and only
    pedestrian ground truth is kept. Either way ground truth with consider flag 0 is dropped. Ids
    are relabelled 0..N-1; `gt_id_values` / `tracker_id_values` map them back to track ids.
    """
    n = seq.frames
    sims = frame_ious(seq.gt_boxes, seq.pr_boxes)
    gt_ids, tr_ids = list(seq.gt_ids), list(seq.pr_ids)
    gt_dets, tr_dets = list(seq.gt_boxes), list(seq.pr_boxes)
    classes = np.concatenate([_NO_IDS, *seq.gt_classes])
    consider = np.concatenate([_NO_IDS, *seq.gt_consider])
    # the per-frame rules below change nothing when every box is a considered pedestrian
    if (mot_preprocessing and (classes != PEDESTRIAN).any()) or (consider == 0).any():
        for t in range(n):
            _preprocess_frame(seq, t, mot_preprocessing, gt_ids, tr_ids, gt_dets, tr_dets, sims)
    gt_values = _relabel(gt_ids)
    tr_values = _relabel(tr_ids)
    return {
        "gt_ids": gt_ids, "tracker_ids": tr_ids, "similarity_scores": sims,
        "gt_dets": gt_dets, "tracker_dets": tr_dets,
        "num_gt_dets": sum(len(x) for x in gt_ids), "num_tracker_dets": sum(len(x) for x in tr_ids),
        "num_gt_ids": len(gt_values), "num_tracker_ids": len(tr_values),
        "num_timesteps": n, "seq": seq.name,
        "gt_id_values": gt_values, "tracker_id_values": tr_values,
    }


def _preprocess_frame(seq: Sequence, t: int, mot_preprocessing: bool, gt_ids: list, tr_ids: list, gt_dets: list,
                      tr_dets: list, sims: list) -> None:
    g_ids, g_boxes, g_cls = seq.gt_ids[t], seq.gt_boxes[t], seq.gt_classes[t]
    p_ids, p_boxes, sim = seq.pr_ids[t], seq.pr_boxes[t], sims[t]
    if mot_preprocessing and len(g_ids) and len(p_ids):
        if g_cls.min() < 1 or g_cls.max() > 13:
            bad = np.setdiff1d(g_cls, VALID_CLASSES)
            raise InputError(f"ground-truth class {int(bad[0])} is not a MOTChallenge class (1..13)",
                             f"video {seq.name!r}, frame {t + 1}",
                             hint="MOTChallenge preprocessing needs classes 1..13; score with --no-preprocess")
        distractor = np.isin(g_cls, DISTRACTORS)
        # only a match with a distractor removes anything, so without one the Hungarian step is moot
        if distractor.any():
            scores = sim.copy()
            scores[scores < 0.5 - EPS] = 0
            rows, cols = linear_sum_assignment(-scores)
            matched = scores[rows, cols] > 0 + EPS
            remove = cols[matched][distractor[rows[matched]]]
            if len(remove):
                keep = np.ones(len(p_ids), bool)
                keep[remove] = False
                p_ids, p_boxes, sim = p_ids[keep], p_boxes[keep], sim[:, keep]
    keep_gt = seq.gt_consider[t] != 0
    if mot_preprocessing:
        keep_gt &= g_cls == PEDESTRIAN
    if not keep_gt.all():
        g_ids, g_boxes, sim = g_ids[keep_gt], g_boxes[keep_gt], sim[keep_gt]
    gt_ids[t], tr_ids[t], gt_dets[t], tr_dets[t], sims[t] = g_ids, p_ids, g_boxes, p_boxes, np.ascontiguousarray(sim)


def frame_ious(gt_boxes: list[np.ndarray], pr_boxes: list[np.ndarray]) -> list[np.ndarray]:
    """`box_iou(gt_boxes[t], pr_boxes[t])` for every frame t."""
    return [box_iou(g, p) for g, p in zip(gt_boxes, pr_boxes, strict=True)]


def _relabel(ids: list[np.ndarray]) -> np.ndarray:
    """Replace track ids by their rank among all ids of the sequence, in place; return the ids."""
    present = [x for x in ids if len(x)]
    if not present:
        return _NO_IDS
    values = np.unique(np.concatenate(present))
    for t, x in enumerate(ids):
        if len(x):
            ids[t] = np.searchsorted(values, x)
    return values


# --------------------------------------------------------------------------------------------
# the fast engine


def _overlaps(data: dict) -> dict:
    """Every (frame, gt, tracker) pair whose IoU is > 0, in frame order, row-major within a frame.

    Pairs with IoU 0 never count for any metric, so the metrics work on these arrays. `norm` is
    HOTA's per-frame normalised similarity, from the same dense row and column sums as TrackEval.
    """
    if "_overlaps" in data:
        return data["_overlaps"]
    parts = []
    for t, (g, p, sim) in enumerate(zip(data["gt_ids"], data["tracker_ids"], data["similarity_scores"],
                                         strict=True)):
        if not len(g) or not len(p):
            continue
        rows, cols = np.nonzero(sim)
        if not len(rows):
            continue
        value = sim[rows, cols]
        denom = sim.sum(0)[cols] + sim.sum(1)[rows] - value
        norm = np.divide(value, denom, out=np.zeros_like(value), where=denom > 0 + EPS)
        parts.append((np.full(len(rows), t), rows, cols, g[rows], p[cols], value, norm))
    names = ("frame", "row", "col", "gt", "tracker", "sim", "norm")
    if parts:
        out = {name: np.concatenate(column) for name, column in zip(names, zip(*parts, strict=True), strict=True)}
    else:
        out = {name: (np.zeros(0) if name in ("sim", "norm") else _NO_IDS) for name in names}
    data["_overlaps"] = out
    return out


def _shared_line(frame: np.ndarray, row: np.ndarray, col: np.ndarray) -> np.ndarray:
    """Frames in which two of the given entries share a row or a column (entries in frame order,
    row-major within a frame)."""
    if len(frame) < 2:
        return _NO_IDS
    same_row = (frame[1:] == frame[:-1]) & (row[1:] == row[:-1])
    order = np.lexsort((col, frame))
    f, c = frame[order], col[order]
    same_col = (f[1:] == f[:-1]) & (c[1:] == c[:-1])
    return np.union1d(frame[1:][same_row], f[1:][same_col])


def hota(data: dict, matches: list | None = None) -> dict:
    """HOTA, DetA, AssA, LocA ... per alpha, as `trackeval.metrics.HOTA().eval_sequence(data)`.

    If `matches` is a list, the matched pairs (frame index, gt, tracker, IoU) of every frame are
    appended to it as four arrays (for CHOTA's caption accuracy).
    """
    from trackeval.metrics import HOTA

    k = len(ALPHAS)
    res = {f: np.zeros(k) for f in ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA",
                                     "HOTA_TP", "HOTA_FN", "HOTA_FP")}
    res.update({"HOTA(0)": 0, "LocA(0)": 0, "HOTALocA(0)": 0})
    if data["num_tracker_dets"] == 0 or data["num_gt_dets"] == 0:
        if data["num_tracker_dets"] == 0:
            res["HOTA_FN"] = data["num_gt_dets"] * np.ones(k)
        else:
            res["HOTA_FP"] = data["num_tracker_dets"] * np.ones(k)
        res["LocA"] = np.ones(k)
        res["LocA(0)"] = 1.0
        if matches is not None:
            matches.extend([_NO_IDS, _NO_IDS, _NO_IDS, np.zeros(0)])
        return res

    n_gt, n_tr = data["num_gt_ids"], data["num_tracker_ids"]
    o = _overlaps(data)
    # global alignment between ids. bincount adds in input order, so each entry is the same sum,
    # in the same order, as TrackEval's frame-by-frame `+=` (whose extra terms are all zeros)
    potential = np.bincount(o["gt"] * n_tr + o["tracker"], weights=o["norm"], minlength=n_gt * n_tr)
    potential = potential.reshape(n_gt, n_tr)
    gt_count = np.bincount(np.concatenate(data["gt_ids"]), minlength=n_gt).astype(float)[:, None]
    tr_count = np.bincount(np.concatenate(data["tracker_ids"]), minlength=n_tr).astype(float)[None, :]
    alignment = potential / (gt_count + tr_count - potential)

    # per frame, TrackEval matches by Hungarian on alignment * IoU; solved only where it is not fixed
    score = alignment[o["gt"], o["tracker"]] * o["sim"]
    positive = score > 0
    frame, row, col = o["frame"][positive], o["row"][positive], o["col"][positive]
    hard = _shared_line(frame, row, col)
    easy = ~np.isin(frame, hard)
    m_frame, m_gt, m_tr, m_sim = ([x[positive][easy]] for x in (o["frame"], o["gt"], o["tracker"], o["sim"]))
    for t in hard:
        g, p, sim = data["gt_ids"][t], data["tracker_ids"][t], data["similarity_scores"][t]
        rows, cols = linear_sum_assignment(-(alignment[g[:, np.newaxis], p[np.newaxis, :]] * sim))
        m_frame.append(np.full(len(rows), t))
        m_gt.append(g[rows])
        m_tr.append(p[cols])
        m_sim.append(sim[rows, cols])
    m_frame, m_gt, m_tr, m_sim = (np.concatenate(x) for x in (m_frame, m_gt, m_tr, m_sim))
    if matches is not None:
        order = np.argsort(m_frame, kind="stable")
        matches.extend([m_frame[order], m_gt[order], m_tr[order], m_sim[order]])

    # all alphas at once: a match counts at alpha when its IoU >= alpha - eps
    counted = m_sim[:, None] >= ALPHAS[None, :] - EPS  # (M, 19)
    tp = counted.sum(0).astype(float)
    res["HOTA_TP"] = tp
    res["HOTA_FN"] = data["num_gt_dets"] - tp
    res["HOTA_FP"] = data["num_tracker_dets"] - tp
    res["LocA"] = np.maximum(1e-10, m_sim @ counted) / np.maximum(1e-10, tp)

    # association: how often each (gt, tracker) pair is matched, per alpha, over the pairs that occur
    pair, inverse = np.unique(m_gt * n_tr + m_tr, return_inverse=True)
    gt_n = gt_count[pair // n_tr, 0]
    tr_n = tr_count[0, pair % n_tr]
    for a in range(k):
        mc = np.bincount(inverse, weights=counted[:, a], minlength=len(pair))
        res["AssA"][a] = np.sum(mc * (mc / np.maximum(1, gt_n + tr_n - mc))) / np.maximum(1, tp[a])
        res["AssRe"][a] = np.sum(mc * (mc / np.maximum(1, gt_n))) / np.maximum(1, tp[a])
        res["AssPr"][a] = np.sum(mc * (mc / np.maximum(1, tr_n))) / np.maximum(1, tp[a])
    return HOTA._compute_final_fields(res)


def clear(data: dict, threshold: float = THRESHOLD) -> dict:
    """MOTA, MOTP, IDSW, Frag, MT/PT/ML ..., as `trackeval.metrics.CLEAR().eval_sequence(data)`.

    TrackEval walks the frames that have both ground truth and predictions ("steps"), keeping which
    tracker each gt had in the previous step for a 1000x continuation bonus in its Hungarian
    matching. Where the pairs above the threshold share no row or column the matching is fixed and
    the bonus cannot change it; only the other steps are solved, in order, with that state. The
    counts then come from the matches of all steps at once.
    """
    from trackeval.metrics import CLEAR

    res = dict.fromkeys(("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA", "CLR_F1",
                         "FP_per_frame", "MOTAL", "MOTP_sum", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT",
                         "ML", "Frag", "CLR_Frames"), 0)
    if data["num_tracker_dets"] == 0:
        res.update(CLR_FN=data["num_gt_dets"], ML=data["num_gt_ids"], MLR=1.0)
        return res
    if data["num_gt_dets"] == 0:
        res.update(CLR_FP=data["num_tracker_dets"], MLR=1.0)
        return res

    n_gt = data["num_gt_ids"]
    limit = threshold - EPS
    gt_ids, tr_ids, sims = data["gt_ids"], data["tracker_ids"], data["similarity_scores"]
    both = np.array([len(g) > 0 and len(p) > 0 for g, p in zip(gt_ids, tr_ids, strict=True)], bool)
    step_of = np.cumsum(both) - 1  # step index of each frame that has both
    o = _overlaps(data)
    candidate = o["sim"] >= limit
    frame, row, col = o["frame"][candidate], o["row"][candidate], o["col"][candidate]
    hard = _shared_line(frame, row, col)
    easy = ~np.isin(frame, hard)
    e_step = step_of[frame[easy]]
    e_gt, e_tr, e_sim = o["gt"][candidate][easy], o["tracker"][candidate][easy], o["sim"][candidate][easy]

    m_step, m_gt, m_tr, m_sim = [e_step], [e_gt], [e_tr], [e_sim]
    solved: dict[int, tuple[np.ndarray, np.ndarray]] = {}
    previous = np.full(n_gt, -1)
    for t in hard:
        step = step_of[t]
        if step - 1 in solved:
            before_gt, before_tr = solved[step - 1]
        else:
            lo, hi = np.searchsorted(e_step, [step - 1, step])
            before_gt, before_tr = e_gt[lo:hi], e_tr[lo:hi]
        previous[before_gt] = before_tr
        g, p, sim = gt_ids[t], tr_ids[t], sims[t]
        score = 1000 * (p[np.newaxis, :] == previous[g][:, np.newaxis]) + sim
        previous[before_gt] = -1
        score[sim < limit] = 0
        rows, cols = linear_sum_assignment(-score)
        keep = score[rows, cols] > 0 + EPS
        rows, cols = rows[keep], cols[keep]
        solved[step] = (g[rows], p[cols])
        m_step.append(np.full(len(rows), step))
        m_gt.append(g[rows])
        m_tr.append(p[cols])
        m_sim.append(sim[rows, cols])
    m_step, m_gt, m_tr, m_sim = (np.concatenate(x) for x in (m_step, m_gt, m_tr, m_sim))

    # per gt, its matches in time order: a switch is a change of tracker since its previous match
    # (any number of frames back); a fragment starts where it was not matched in the previous step
    order = np.lexsort((m_step, m_gt))
    g_sorted, s_sorted, p_sorted = m_gt[order], m_step[order], m_tr[order]
    same_gt = g_sorted[1:] == g_sorted[:-1]
    res["IDSW"] = int(np.sum(same_gt & (p_sorted[1:] != p_sorted[:-1])))
    starts = np.ones(len(order), bool)
    starts[1:] = ~(same_gt & (s_sorted[1:] == s_sorted[:-1] + 1))
    frag = np.bincount(g_sorted[starts], minlength=n_gt)
    res["Frag"] = int(np.sum(frag[frag > 0] - 1))

    gt_count = np.bincount(np.concatenate(gt_ids), minlength=n_gt)
    matched_count = np.bincount(m_gt, minlength=n_gt)
    ratio = matched_count[gt_count > 0] / gt_count[gt_count > 0]
    res["MT"] = int(np.sum(ratio > 0.8))
    res["PT"] = int(np.sum(ratio >= 0.2)) - res["MT"]
    res["ML"] = n_gt - res["MT"] - res["PT"]
    res["CLR_TP"] = len(m_gt)
    res["CLR_FN"] = data["num_gt_dets"] - len(m_gt)
    res["CLR_FP"] = data["num_tracker_dets"] - len(m_gt)
    res["MOTP_sum"] = float(m_sim.sum())
    res["CLR_Frames"] = data["num_timesteps"]
    return CLEAR._compute_final_fields(res)


def identity(data: dict, threshold: float = THRESHOLD) -> dict:
    """IDF1, IDP, IDR, IDTP, IDFN, IDFP, as `trackeval.metrics.Identity().eval_sequence(data)`.

    TrackEval solves a (G+T)^2 assignment whose optimal cost is sum(gt dets) + sum(tracker dets)
    - 2 * (the most frames any one-to-one id matching keeps at IoU >= threshold). IDTP is that
    maximum, which the (smaller) matching between the ids that ever meet gives directly; the counts
    do not depend on which optimal matching the solver picks.
    """
    from trackeval.metrics import Identity

    res = {"IDF1": 0, "IDR": 0, "IDP": 0, "IDTP": 0, "IDFN": 0, "IDFP": 0}
    if data["num_tracker_dets"] == 0:
        res["IDFN"] = data["num_gt_dets"]
        return res
    if data["num_gt_dets"] == 0:
        res["IDFP"] = data["num_tracker_dets"]
        return res
    n_tr = data["num_tracker_ids"]
    o = _overlaps(data)
    near = o["sim"] >= threshold  # no eps here, unlike CLEAR and HOTA
    pairs, counts = np.unique(o["gt"][near] * n_tr + o["tracker"][near], return_counts=True)
    idtp = 0
    if len(pairs):
        gts, gt_index = np.unique(pairs // n_tr, return_inverse=True)
        trs, tr_index = np.unique(pairs % n_tr, return_inverse=True)
        table = np.zeros((len(gts), len(trs)))
        table[gt_index, tr_index] = counts
        rows, cols = linear_sum_assignment(table, maximize=True)
        idtp = int(table[rows, cols].sum())
    res["IDTP"] = idtp
    res["IDFN"] = data["num_gt_dets"] - idtp
    res["IDFP"] = data["num_tracker_dets"] - idtp
    return Identity._compute_final_fields(res)


def count(data: dict) -> dict:
    """Boxes, ids and frames, as `trackeval.metrics.Count().eval_sequence(data)`."""
    return {"Dets": data["num_tracker_dets"], "GT_Dets": data["num_gt_dets"], "IDs": data["num_tracker_ids"],
            "GT_IDs": data["num_gt_ids"], "Frames": data["num_timesteps"]}


# --------------------------------------------------------------------------------------------
# whole evaluations


def trackeval_metrics() -> dict:
    """TrackEval's metric objects, keyed by name (the reference engine, and the combiners)."""
    import trackeval

    config = {"THRESHOLD": THRESHOLD, "PRINT_CONFIG": False}
    return {"HOTA": trackeval.metrics.HOTA(), "CLEAR": trackeval.metrics.CLEAR(config),
            "Identity": trackeval.metrics.Identity(config), "Count": trackeval.metrics.Count()}


def evaluate_sequence(data: dict, engine: str = "fast", matches: list | None = None) -> dict:
    """{metric name: per-sequence result} for one preprocessed sequence."""
    if engine == "trackeval":
        metrics = trackeval_metrics()
        out = {name: metric.eval_sequence(data) for name, metric in metrics.items()}
        if matches is not None:
            matches.extend(_fast_matches(data))
        return out
    if engine != "fast":
        raise ValueError(f"unknown engine {engine!r}")
    return {"HOTA": hota(data, matches), "CLEAR": clear(data), "Identity": identity(data), "Count": count(data)}


def _fast_matches(data: dict) -> list:
    found: list = []
    hota(data, found)
    return found


def combine(per_sequence: dict[str, dict]) -> dict:
    """{metric name: combined result} over sequences, by TrackEval's own combine_sequences."""
    metrics = trackeval_metrics()
    return {name: metric.combine_sequences({seq: res[name] for seq, res in per_sequence.items()})
            for name, metric in metrics.items()}


# Fields of the report: TrackEval's names; arrays over alphas are reported as their mean, as
# TrackEval's summaries do.
HOTA_FIELDS = ("HOTA", "DetA", "AssA", "DetRe", "DetPr", "AssRe", "AssPr", "LocA", "OWTA")
HOTA_COUNTS = ("HOTA_TP", "HOTA_FN", "HOTA_FP")
HOTA_SCALARS = ("HOTA(0)", "LocA(0)", "HOTALocA(0)")
CLEAR_FIELDS = ("MOTA", "MOTP", "MODA", "CLR_Re", "CLR_Pr", "MTR", "PTR", "MLR", "sMOTA", "CLR_F1", "FP_per_frame",
                "MOTAL", "CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag")
IDENTITY_FIELDS = ("IDF1", "IDR", "IDP", "IDTP", "IDFN", "IDFP")
COUNT_FIELDS = ("Dets", "GT_Dets", "IDs", "GT_IDs")
INTEGER_FIELDS = {"CLR_TP", "CLR_FN", "CLR_FP", "IDSW", "MT", "PT", "ML", "Frag", "IDTP", "IDFN", "IDFP",
                  *COUNT_FIELDS}


def summary(result: dict, per_alpha: bool = False) -> dict:
    """A flat, JSON-ready dict of one (per-sequence or combined) result: the report's fields."""
    out: dict = {}
    hota_res = result["HOTA"]
    for name in HOTA_FIELDS:
        out[name] = float(np.mean(hota_res[name]))
    for name in HOTA_SCALARS:
        out[name] = float(hota_res[name])
    for name in CLEAR_FIELDS:
        out[name] = _number(result["CLEAR"][name], name)
    for name in IDENTITY_FIELDS:
        out[name] = _number(result["Identity"][name], name)
    for name in COUNT_FIELDS:
        out[name] = int(result["Count"][name])
    if per_alpha:
        out["alphas"] = [round(float(a), 2) for a in ALPHAS]
        out["per_alpha"] = {name: [float(v) for v in np.asarray(hota_res[name], float)]
                            for name in (*HOTA_FIELDS, *HOTA_COUNTS)}
    return out


def _number(value, name: str):
    return int(round(float(value))) if name in INTEGER_FIELDS else float(value)
