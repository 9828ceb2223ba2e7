"""Frames per second of association alone, per algorithm, at 10, 50 and 150 people per frame.

    python benchmarks/associate.py [--frames 600] [--people 10 50 150] [--algorithms byte sort ...]
    python benchmarks/associate.py --reference /tmp/ref     # also the official implementations

Each stream is generated here (seeded): people walking in a 1920x1080 frame, boxes jittered by 3 % of
their size, detections missed or scored lower when occluded by someone in front, 5 % of people
missed at random, false positives, and a 128-d appearance feature per box (a per-person direction
plus noise, float16) for DeepSORT. The frames are smot Frame records already in memory; the timed
loop is `tracker.update(frame)` for every frame of a fresh tracker, output Frame records included.
Figures: frames/s, best of --repeat runs, on one core: the clock is the process's CPU time
(`time.process_time`), which equals wall time on an idle core and does not count time spent waiting
while other programs use the machine (the process is single-threaded; run with OMP_NUM_THREADS=1 and
OPENBLAS_NUM_THREADS=1 so BLAS stays on one thread too; `--clock wall` times wall-clock instead).

Parameters (both ours and the official ones): BYTE track_thresh 0.6, match_thresh 0.9, track_buffer
30; SORT max_age 1, min_hits 3, IoU 0.3 on detections with s > 0.6; OC-SORT det_thresh 0.6 and its
defaults; DeepSORT min_confidence 0.6, max_cosine_distance 0.2, nn_budget 100, max_age 30, n_init 3.

--reference DIR times the official code on the same frames, each fed as its own demo or app feeds
it (the conversion of a Frame to its input array is inside the timed loop, as building our output
Frame is inside ours). DIR holds unmodified copies of the official files, apart from NumPy 2
fixes (`np.float` -> `float`) and unused imports (torch, cv2, matplotlib, skimage) removed:

    DIR/bytetrack/yolox/tracker/{byte_tracker,basetrack,kalman_filter,matching}.py  (+ empty __init__.py)
    DIR/sort/sort.py
    DIR/ocsort/ocsort_tracker/{ocsort,association,kalmanfilter}.py  (+ empty __init__.py)
    DIR/deep_sort/deep_sort/{tracker,track,kalman_filter,linear_assignment,iou_matching,nn_matching,
                             detection}.py  (+ empty __init__.py)
    DIR/site/  packages they need that smot does not: cython_bbox, filterpy (pip install --target)
"""

from __future__ import annotations

import argparse
import importlib
import os
import sys
import time
from types import SimpleNamespace

import numpy as np

from smot.records import Frame
from smot.trackers import make_tracker

WIDTH, HEIGHT = 1920, 1080
ALGORITHMS = ("byte", "sort", "ocsort", "deepsort")
PARAMS = {
    "byte": {"track_thresh": 0.6, "match_thresh": 0.9, "track_buffer": 30},
    "sort": {"max_age": 1, "min_hits": 3, "iou_threshold": 0.3, "det_thresh": 0.6},
    "ocsort": {"det_thresh": 0.6},
    "deepsort": {"min_confidence": 0.6, "max_cosine_distance": 0.2, "nn_budget": 100, "max_age": 30, "n_init": 3},
}


def synthetic_stream(people: int, frames: int = 600, seed: int = 0, dim: int = 128) -> list[Frame]:
    """Detection frames of `people` walkers (see the module docstring)."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(120, 320, people)
    w = 0.41 * h
    cx = rng.uniform(w / 2, WIDTH - w / 2)
    cy = rng.uniform(h / 2, HEIGHT - h / 2)
    vx, vy = rng.normal(0, 3, people), rng.normal(0, 1, people)
    looks = rng.standard_normal((people, dim))
    looks /= np.linalg.norm(looks, axis=1, keepdims=True)
    out = []
    for t in range(1, frames + 1):
        vx = np.clip(vx + rng.normal(0, 0.3, people), -6, 6)
        vy = np.clip(vy + rng.normal(0, 0.15, people), -2, 2)
        cx, cy = cx + vx, cy + vy
        for pos, vel, half, limit in ((cx, vx, w / 2, WIDTH), (cy, vy, h / 2, HEIGHT)):
            low, high = pos < half, pos > limit - half
            vel[low | high] *= -1
            pos[low] = 2 * half[low] - pos[low]
            pos[high] = 2 * (limit - half[high]) - pos[high]
        boxes = np.column_stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2])
        # the fraction of each box covered by the nearest (lowest-standing) box in front of it
        iw = np.clip(np.minimum(boxes[:, None, 2], boxes[None, :, 2])
                     - np.maximum(boxes[:, None, 0], boxes[None, :, 0]), 0, None)
        ih = np.clip(np.minimum(boxes[:, None, 3], boxes[None, :, 3])
                     - np.maximum(boxes[:, None, 1], boxes[None, :, 1]), 0, None)
        covered = iw * ih / (w * h)[:, None]
        in_front = boxes[None, :, 3] > boxes[:, None, 3]
        occlusion = np.where(in_front, covered, 0).max(axis=1, initial=0)
        seen = (occlusion < 0.7) & (rng.random(people) > 0.05)
        n = int(seen.sum())
        size = np.column_stack([w, h, w, h])[seen]
        det = boxes[seen] + rng.normal(0, 0.03, (n, 4)) * size
        score = rng.uniform(0.55, 0.98, n) * (1 - 0.8 * occlusion[seen])
        features = looks[seen] + rng.normal(0, 0.3, (n, dim)) / np.sqrt(dim)
        # false positives
        k = rng.poisson(0.05 * people)
        fh = rng.uniform(80, 300, k)
        fx, fy = rng.uniform(0, WIDTH - 0.41 * fh), rng.uniform(0, HEIGHT - fh)
        det = np.concatenate([det, np.column_stack([fx, fy, fx + 0.41 * fh, fy + fh])])
        score = np.concatenate([score, rng.uniform(0.1, 0.7, k)])
        features = np.concatenate([features, rng.standard_normal((k, dim)) / np.sqrt(dim)])
        order = rng.permutation(len(det))
        out.append(Frame(video="bench", frame=t, boxes=det[order], scores=score[order],
                         features=features[order].astype(np.float16)))
    return out


CLOCK = time.process_time


def time_ours(algorithm: str, frames: list[Frame], repeat: int) -> float:
    best = float("inf")
    for _ in range(repeat):
        tracker = make_tracker(algorithm, PARAMS[algorithm], fps=30)
        start = CLOCK()
        for frame in frames:
            tracker.update(frame)
        best = min(best, CLOCK() - start)
    return len(frames) / best


# --------------------------------------------------------------------------------------------
# the official implementations, fed as their demos feed them


def _import(folder: str, module: str):
    if folder not in sys.path:
        sys.path.insert(0, folder)
    return importlib.import_module(module)


def official_byte(root: str):
    module = _import(os.path.join(root, "bytetrack"), "yolox.tracker.byte_tracker")
    args = SimpleNamespace(track_thresh=0.6, track_buffer=30, match_thresh=0.9, mot20=False)
    size = (HEIGHT, WIDTH)

    def run(frames):
        module.BaseTrack._count = 0
        tracker = module.BYTETracker(args, frame_rate=30)
        for frame in frames:
            dets = np.column_stack([frame.boxes, frame.scores])
            online = tracker.update(dets, size, size)
            np.array([[*t.tlwh, t.track_id] for t in online])
    return run


def official_sort(root: str):
    module = _import(os.path.join(root, "sort"), "sort")

    def run(frames):
        module.KalmanBoxTracker.count = 0
        tracker = module.Sort(max_age=1, min_hits=3, iou_threshold=0.3)
        for frame in frames:
            keep = frame.scores > 0.6
            tracker.update(np.column_stack([frame.boxes[keep], frame.scores[keep]]))
    return run


def official_ocsort(root: str):
    module = _import(os.path.join(root, "ocsort"), "ocsort_tracker.ocsort")
    size = (HEIGHT, WIDTH)

    def run(frames):
        tracker = module.OCSort(det_thresh=0.6, max_age=30, min_hits=3, iou_threshold=0.3, delta_t=3,
                                asso_func="iou", inertia=0.2, use_byte=False)
        for frame in frames:
            tracker.update(np.column_stack([frame.boxes, frame.scores]), size, size)
    return run


def official_deepsort(root: str):
    folder = os.path.join(root, "deep_sort")
    nn_matching = _import(folder, "deep_sort.nn_matching")
    tracker_module = _import(folder, "deep_sort.tracker")
    detection = _import(folder, "deep_sort.detection")

    def run(frames):
        metric = nn_matching.NearestNeighborDistanceMetric("cosine", 0.2, 100)
        tracker = tracker_module.Tracker(metric, max_iou_distance=0.7, max_age=30, n_init=3)
        for frame in frames:
            tlwh = frame.boxes.copy()
            tlwh[:, 2:] -= frame.boxes[:, :2]
            dets = [detection.Detection(tlwh[i], frame.scores[i], frame.features[i])
                    for i in range(frame.n) if frame.scores[i] >= 0.6]
            # deep_sort_app's non-maximum suppression at 1.0 keeps every box, highest score first
            dets = [dets[i] for i in np.argsort([d.confidence for d in dets])[::-1]]
            tracker.predict()
            tracker.update(dets)
            [(t.track_id, t.to_tlwh()) for t in tracker.tracks if t.is_confirmed() and t.time_since_update <= 1]
    return run


OFFICIAL = {"byte": official_byte, "sort": official_sort, "ocsort": official_ocsort, "deepsort": official_deepsort}


def time_official(algorithm: str, root: str, frames: list[Frame], repeat: int) -> float:
    run = OFFICIAL[algorithm](root)
    best = float("inf")
    for _ in range(repeat):
        start = CLOCK()
        run(frames)
        best = min(best, CLOCK() - start)
    return len(frames) / best


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=600)
    parser.add_argument("--people", type=int, nargs="+", default=[10, 50, 150])
    parser.add_argument("--algorithms", nargs="+", default=list(ALGORITHMS), choices=ALGORITHMS)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--reference", metavar="DIR", help="folder of the official implementations (see above)")
    parser.add_argument("--clock", choices=("cpu", "wall"), default="cpu")
    args = parser.parse_args()
    global CLOCK
    CLOCK = time.process_time if args.clock == "cpu" else time.perf_counter
    if args.reference:
        site = os.path.join(args.reference, "site")
        if os.path.isdir(site):
            sys.path.insert(0, site)
    header = f"{'algorithm':<10} {'people':>6} {'dets/frame':>10} {'smot fps':>10}"
    if args.reference:
        header += f" {'official fps':>13} {'speed-up':>9}"
    print(header)
    for people in args.people:
        frames = synthetic_stream(people, args.frames)
        per_frame = sum(f.n for f in frames) / len(frames)
        for algorithm in args.algorithms:
            ours = time_ours(algorithm, frames, args.repeat)
            line = f"{algorithm:<10} {people:>6} {per_frame:>10.1f} {ours:>10,.0f}"
            if args.reference:
                theirs = time_official(algorithm, args.reference, frames, args.repeat)
                line += f" {theirs:>13,.0f} {ours / theirs:>8.1f}x"
            print(line, flush=True)


if __name__ == "__main__":
    main()
