"""Parity with the official trackers on ../shared/fixtures/association-d10 (see its README).

Each official tracker was run unmodified on the fixture's detections; `smot associate` with the same
parameters and `--box filter` must give, in every frame, the same set of boxes (within 0.05 px: the
official files have two decimals) and ids equal up to a one-to-one renaming over the whole stream.
Then TrackEval's HOTA of our output, converted to a MOTChallenge file by `smot convert`, equals
HOTA of the official file.
"""

from __future__ import annotations

import gzip

import numpy as np
import pytest
from conftest import ASSOCIATION_D10, run

from smot.datasets import motchallenge
from smot.records import Frame
from smot.streams import StreamReader, StreamWriter, make_header

# the parameters of the README, as --set items
RUNS = {
    "byte": ("bytetrack", ["track_thresh=0.6", "track_buffer=30", "match_thresh=0.9", "mot20=false"]),
    "sort": ("sort", ["det_thresh=0.6", "max_age=1", "min_hits=3", "iou_threshold=0.3"]),
    "ocsort": ("ocsort", ["det_thresh=0.6", "max_age=30", "min_hits=3", "iou_threshold=0.3", "delta_t=3",
                          "asso_func=iou", "inertia=0.2", "use_byte=false"]),
    "deepsort": ("deepsort", ["min_confidence=0.6", "max_cosine_distance=0.2", "nn_budget=none",
                              "max_iou_distance=0.7", "max_age=30", "n_init=3"]),
}


@pytest.fixture(scope="module")
def detections(tmp_path_factory) -> str:
    """The fixture's detections as a smot.detections stream, each box with its feat.npy row."""
    rows = motchallenge.read_mot(str(ASSOCIATION_D10 / "det.txt.gz"))
    video = motchallenge.mot_video(rows, "d10", fps=30.0)
    features = np.load(ASSOCIATION_D10 / "feat.npy")
    assert len(features) == len(rows.frame)
    order = np.argsort(rows.frame, kind="stable")  # det.txt order within each frame
    bounds = np.searchsorted(rows.frame[order], np.arange(1, video.frames + 2))
    path = str(tmp_path_factory.mktemp("d10") / "det.smot")
    with StreamWriter(path, make_header("smot.detections", "test")) as writer:
        writer.write(video)
        for t in range(1, video.frames + 1):
            take = order[bounds[t - 1]:bounds[t]]
            writer.write(Frame(video="d10", frame=t, boxes=rows.boxes[take], scores=rows.conf[take],
                               features=features[take]))
    return path


def official(name: str) -> np.ndarray:
    with gzip.open(ASSOCIATION_D10 / f"{name}.txt.gz", "rt") as f:
        return np.loadtxt(f, delimiter=",", ndmin=2)


def rows_of(frames: list[Frame]) -> np.ndarray:
    """MOTChallenge-like rows frame, id, x, y, w, h of tracks frames."""
    out = [np.column_stack([np.full(f.n, f.frame), f.ids, f.boxes[:, :2], f.boxes[:, 2:] - f.boxes[:, :2]])
           for f in frames if f.n]
    return np.concatenate(out)


def assert_parity(ours: np.ndarray, theirs: np.ndarray, tolerance: float = 0.05) -> None:
    """Every frame the same boxes (within `tolerance` px); ids one-to-one over the whole stream."""
    forward: dict[int, int] = {}
    backward: dict[int, int] = {}
    frames = np.union1d(ours[:, 0], theirs[:, 0])
    for t in frames:
        a, b = ours[ours[:, 0] == t], theirs[theirs[:, 0] == t]
        assert len(a) == len(b), f"frame {t:.0f}: {len(a)} boxes, official {len(b)}"
        free = np.ones(len(b), dtype=bool)
        for row in a:
            gap = np.where(free, np.abs(b[:, 2:6] - row[2:6]).max(axis=1), np.inf)
            j = int(np.argmin(gap))
            assert gap[j] <= tolerance, f"frame {t:.0f}: box {row[2:6]} not in the official output"
            free[j] = False
            mine, theirs_id = int(row[1]), int(b[j, 1])
            assert forward.setdefault(mine, theirs_id) == theirs_id, f"frame {t:.0f}: id {mine} renamed twice"
            assert backward.setdefault(theirs_id, mine) == mine, f"frame {t:.0f}: official id {theirs_id} split"


def hota(gt: np.ndarray, result: np.ndarray) -> float:
    """TrackEval's HOTA of MOTChallenge rows (frame, id, x, y, w, h, ...), computed in memory on all
    boxes (no MOTChallenge preprocessing: the fixture has no distractor classes)."""
    from trackeval.datasets._base_dataset import _BaseDataset
    from trackeval.metrics import HOTA

    frames = int(max(gt[:, 0].max(), result[:, 0].max()))
    gt_ids = {v: i for i, v in enumerate(np.unique(gt[:, 1]))}
    tr_ids = {v: i for i, v in enumerate(np.unique(result[:, 1]))}
    data = {"num_timesteps": frames, "num_gt_ids": len(gt_ids), "num_tracker_ids": len(tr_ids),
            "num_gt_dets": len(gt), "num_tracker_dets": len(result), "gt_ids": [], "tracker_ids": [],
            "similarity_scores": []}
    for t in range(1, frames + 1):
        g, r = gt[gt[:, 0] == t], result[result[:, 0] == t]
        data["gt_ids"].append(np.array([gt_ids[v] for v in g[:, 1]], dtype=int))
        data["tracker_ids"].append(np.array([tr_ids[v] for v in r[:, 1]], dtype=int))
        data["similarity_scores"].append(_BaseDataset._calculate_box_ious(g[:, 2:6], r[:, 2:6], box_format="xywh"))
    return float(np.mean(HOTA().eval_sequence(data)["HOTA"]))


@pytest.mark.parametrize("algorithm", list(RUNS))
def test_parity_with_the_official_tracker(algorithm, detections, tmp_path):
    name, settings = RUNS[algorithm]
    out = tmp_path / "tracks.smot"
    args = ["associate", detections, "-a", algorithm, "--box", "filter", "-o", out]
    for item in settings:
        args += ["--set", item]
    result = run(args)
    assert result.code == 0, result.stderr
    with StreamReader(str(out), expect=["smot.tracks"]) as reader:
        frames = [r for r in reader if isinstance(r, Frame)]
    assert [f.frame for f in frames] == list(range(1, 601))
    theirs = official(name)
    assert_parity(rows_of(frames), theirs)

    # the same HOTA through smot convert's MOTChallenge file
    text = tmp_path / "result.txt"
    assert run(["convert", out, "-o", text]).code == 0
    ours = np.loadtxt(text, delimiter=",", ndmin=2)
    gt = official("gt")
    expected = hota(gt, theirs)
    assert hota(gt, ours) == pytest.approx(expected, abs=1e-4)
    # written with the official files' two decimals, the HOTA is the same number
    ours[:, 2:6] = np.round(ours[:, 2:6], 2)
    assert hota(gt, ours) == expected
