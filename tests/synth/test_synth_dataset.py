"""smot synth datasets on disk: the BenSMOT layout exactly, read back by smot convert, the same bytes
for the same arguments, and the statistics of a folder."""

from __future__ import annotations

import filecmp
import re
import xml.etree.ElementTree as ET
from pathlib import Path

import cv2
import numpy as np
import pytest
from conftest import BENSMOT_MINI, SHARED, run

from smot.datasets.bensmot import image_size
from smot.synth import SynthConfig
from smot.synth.dataset import image_names, make_video, write_dataset
from smot.synth.stats import dataset_stats

SMALL = SynthConfig(train=5, test=3, seed=3)


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side, or other bytes)."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(p) for p in files_a ^ files_b)
    differ += sorted(str(p) for p in files_a & files_b if not filecmp.cmp(a / p, b / p, shallow=False))
    return differ


@pytest.fixture(scope="module")
def dataset(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("synth") / "data"
    totals = write_dataset(root, SMALL, workers=1)
    assert totals["videos"] == 8
    return root


def vocabulary() -> set[str]:
    lines = (SHARED / "reference" / "bensmot-interactions.txt").read_text().splitlines()
    return {line.split(" | ")[0] for line in lines if line.strip()}


def test_every_sequence_is_in_the_bensmot_layout(dataset):
    """The validator: layout, images, gt.txt, captions, graphml (../shared/reference/
    bensmot-and-smoter.md §1)."""
    senses = vocabulary()
    sequences = sorted(p for p in dataset.glob("*/*/*") if p.is_dir())
    assert {p.parent.parent.name for p in sequences} == {"train", "test"} and len(sequences) == 8
    assert sorted(p.name for p in (dataset / "train").glob("*/*")) == [f"train00000{k}_0" for k in range(5)]
    for seq in sequences:
        assert sorted(p.name for p in seq.iterdir()) == ["gt", "imgs", "instance_captions.txt",
                                                         "interactions.graphml", "video_caption.txt"]
        images = sorted(p.name for p in (seq / "imgs").iterdir())
        assert images == [f"{t:03d}.jpg" for t in range(1, len(images) + 1)]
        assert 36 <= len(images) <= 48
        assert image_size(seq / "imgs" / images[0]) == (640, 360)
        assert cv2.imread(str(seq / "imgs" / images[-1])).shape == (360, 640, 3)

        rows = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",", ndmin=2)
        assert rows.shape[1] == 9
        frame, track, x, y, w, h, consider, cls, vis = rows.T
        assert set(frame) <= set(range(1, len(images) + 1))
        assert (x >= 0).all() and (y >= 0).all() and (x + w <= 640 + 1e-6).all() and (y + h <= 360 + 1e-6).all()
        assert (w >= 4).all() and (h >= 4).all()
        assert (consider == 1).all() and (cls == 1).all() and ((vis >= 0.2) & (vis <= 1)).all()
        ids = sorted(set(track.astype(int)))
        assert ids == list(range(1, len(ids) + 1))  # contiguous, 1..K
        pairs = list(zip(frame, track, strict=True))
        assert len(pairs) == len(set(pairs))  # one box per track and frame

        lines = (seq / "instance_captions.txt").read_text().splitlines()
        assert len(lines) == len(ids)  # one caption line per track, line k = track k
        names = [line.split(": ", 1)[0] for line in lines]
        counters = {"man": 0, "woman": 0}
        for name in names:  # man0, woman0, man1...: a counter per role, in line order
            role = re.fullmatch(r"(man|woman)(\d+)", name)
            assert role and int(role.group(2)) == counters[role.group(1)], names
            counters[role.group(1)] += 1
        summary = (seq / "video_caption.txt").read_text()
        assert summary.endswith(".\n") and summary.count("\n") == 1

        graph = ET.parse(seq / "interactions.graphml").getroot()
        ns = {"g": "http://graphml.graphdrawing.org/xmlns"}
        assert graph.find("g:key", ns).get("attr.name") == "relationship"
        nodes = [n.get("id") for n in graph.iter(f"{{{ns['g']}}}node")]
        assert nodes == names
        for edge in graph.iter(f"{{{ns['g']}}}edge"):
            assert edge.get("source") in names and edge.get("target") in names  # every endpoint exists
            assert edge.get("source") != edge.get("target")
            labels = edge.find("g:data", ns).text.split(",")
            assert labels and set(labels) <= senses and len(set(labels)) == len(labels)


def test_provenance_records_the_parameters(dataset):
    import orjson

    info = orjson.loads((dataset / "synth.json").read_bytes())
    assert info["tool"] == "smot synth" and info["params"]["seed"] == 3 and info["params"]["train"] == 5


def test_smot_convert_round_trips_it(dataset, tmp_path):
    """BenSMOT folders -> stream -> BenSMOT folders gives the same files, images included."""
    for split in ("train", "test"):
        stream = tmp_path / f"{split}.smot"
        assert run(["convert", dataset / split, "-o", stream]).code == 0
        back = tmp_path / f"{split}-back"
        result = run(["convert", stream, "--to", "bensmot", "-o", back])
        assert result.code == 0, result.stderr
        assert result.stderr == ""  # no quirk warnings: nothing renumbered, nothing missing
        assert same_tree(dataset / split, back) == []


def test_same_arguments_same_bytes_whatever_the_workers(dataset, tmp_path):
    again = tmp_path / "again"
    write_dataset(again, SMALL, workers=2)
    assert same_tree(dataset, again) == []
    # the test videos do not depend on how many training videos there are
    fewer = tmp_path / "fewer"
    write_dataset(fewer, SynthConfig(train=1, test=3, seed=3), workers=1)
    assert same_tree(dataset / "test", fewer / "test") == []
    first = next((dataset / "train").glob("*/train000000_0"))
    assert same_tree(first, fewer / "train" / first.relative_to(dataset / "train")) == []
    # another seed gives other videos
    other = tmp_path / "other"
    write_dataset(other, SynthConfig(train=0, test=1, seed=4), workers=1)
    assert same_tree(dataset / "test", other / "test") != []


def test_knobs_reach_the_files(tmp_path):
    out = tmp_path / "small"
    write_dataset(out, SynthConfig(train=2, test=0, frames=(12, 12), people=(1, 1), width=320, height=180,
                                   scenarios=("beach",), noise=0, jitter=0), workers=1)
    sequences = sorted(out.glob("train/*/*"))
    assert [p.parent.name for p in sequences] == ["beach", "beach"]
    for seq in sequences:
        assert len(list((seq / "imgs").iterdir())) == 12
        assert image_size(seq / "imgs" / "001.jpg") == (320, 180)
        rows = np.loadtxt(seq / "gt" / "gt.txt", delimiter=",", ndmin=2)
        assert set(rows[:, 1]) == {1.0} and (rows[:, 2] + rows[:, 4] <= 320 + 1e-6).all()


# ---------------------------------------------------------------------------------------------
# statistics


def test_stats_of_the_invented_bensmot_fixture():
    stats = dataset_stats(BENSMOT_MINI)["test"]
    # fixture (../shared/fixtures/bensmot-mini): 1 clip of 3 frames, tracks 1 and 2 in every frame
    # (6 boxes); captions of 13 and 13 words; a video caption of 21 words; edges woman0->man0
    # `approach.v.01,embrace.v.02` and man0->woman0 `embrace.v.02`: 3 labels over 2 ordered pairs
    assert stats == {
        "videos": 1, "scenarios": 1, "frames": 3, "length_frames": {"min": 3, "mean": 3.0, "max": 3},
        "tracks": 2, "boxes": 6, "boxes_per_frame": 2.0, "mean_visibility": 1.0,
        "instance_captions": 2, "caption_words": {"min": 13, "mean": 13.0, "max": 13},
        "video_captions": 1, "video_caption_words": {"min": 21, "mean": 21.0, "max": 21},
        "interactions": 3, "interacting_pairs": 2,
        "predicates": {"embrace.v.02": 2, "approach.v.01": 1},
    }


def test_stats_of_a_generated_dataset_agree_with_its_files(dataset):
    stats = dataset_stats(dataset)
    assert list(stats) == ["train", "test", "total"]
    total = stats["total"]
    images = list(dataset.glob("*/*/*/imgs/*.jpg"))
    rows = sum(len((p / "gt" / "gt.txt").read_text().splitlines()) for p in dataset.glob("*/*/*"))
    edges = [len(e.text.split(",")) for p in dataset.glob("*/*/*/interactions.graphml")
             for e in ET.parse(p).getroot().iter("{http://graphml.graphdrawing.org/xmlns}data")]
    assert total["videos"] == 8 and total["frames"] == len(images) and total["boxes"] == rows
    assert total["interactions"] == sum(edges) and total["interacting_pairs"] == len(edges)
    assert total["videos"] == stats["train"]["videos"] + stats["test"]["videos"]
    assert total["length_seconds"]["mean"] == pytest.approx(total["length_frames"]["mean"] / 10, abs=0.05)
    assert 15 <= total["caption_words"]["min"] and total["caption_words"]["max"] <= 40


@pytest.mark.parametrize("knobs", [
    {"people": (6, 9)}, {"frames": (1, 1)}, {"fps": 30.0}, {"fps": 2.0}, {"width": 96, "height": 64},
    {"occlusion": 1.0, "jitter": 20.0}, {"people": (1, 1), "scenarios": ("hall",)},
])
def test_extreme_knobs_still_give_valid_videos(knobs):
    from smot.records import Caption, Frame, Interaction

    config = SynthConfig(seed=5, **knobs)
    for k in range(3):
        video = make_video(config, "test", k)
        frames = [r for r in video.records if isinstance(r, Frame)]
        assert [f.frame for f in frames] == list(range(1, video.script.frames + 1))
        for f in frames:
            assert (f.boxes[:, :2] >= 0).all() and (f.boxes[:, 2] <= config.width).all()
            assert (f.boxes[:, 3] <= config.height).all()
        tracks = sorted({int(t) for f in frames for t in f.ids})
        captions = [r for r in video.records if isinstance(r, Caption)]
        assert [c.track for c in captions] == tracks == list(range(1, len(tracks) + 1))
        assert all(15 <= len(c.text.split()) <= 40 for c in captions)
        assert all(r.subject in tracks and r.object in tracks for r in video.records if isinstance(r, Interaction))


def test_image_names_widen_beyond_999_frames():
    assert image_names(3) == ["imgs/001.jpg", "imgs/002.jpg", "imgs/003.jpg"]
    names = image_names(1000)
    assert names[0] == "imgs/0001.jpg" and names[-1] == "imgs/1000.jpg" and names == sorted(names)
