"""`smot score`: the command line, its report, and bad input."""

from __future__ import annotations

import json
import shutil
from pathlib import Path

import numpy as np
import orjson
import pytest
from conftest import ROOT, run

from smot.records import Caption, Frame, Interaction, Summary, Video
from smot.stages.score import ScoreConfig, score
from smot.streams import StreamWriter, make_header

SCHEMA = json.loads((ROOT / "formats" / "report.schema.json").read_text())
BOX = (10.0, 10.0, 60.0, 110.0)
OTHER = (200.0, 10.0, 250.0, 110.0)


def records(video: str, frames: int, tracks: dict, captions: dict | None = None, summary: str | None = None,
            interactions: list | None = None) -> list:
    """A video's records: tracks = {id: {frame: box}}; interactions = [(subject, object, predicate, score)]."""
    out: list = [Video(id=video, frames=frames)]
    for t in range(1, frames + 1):
        ids = [i for i, boxes in tracks.items() if t in boxes]
        out.append(Frame(video=video, frame=t, boxes=np.array([tracks[i][t] for i in ids], float).reshape(-1, 4),
                         scores=np.ones(len(ids)), ids=np.array(ids, np.int64)))
    out += [Caption(video=video, track=i, text=text) for i, text in (captions or {}).items()]
    if summary is not None:
        out.append(Summary(video=video, text=summary))
    out += [Interaction(video=video, subject=s, object=o, predicate=p, score=sc) for s, o, p, sc in interactions or []]
    return out


def write(path: Path, *videos: list) -> Path:
    with StreamWriter(str(path), make_header("smot.tracks", "test"), "jsonl") as writer:
        for video in videos:
            writer.write_all(video)
    return path


def gt_video(name="s/clip_0"):
    return records(name, 4, {1: {t: BOX for t in range(1, 5)}, 2: {t: OTHER for t in range(1, 5)}},
                   {1: "A woman walks.", 2: "A man waits."}, "Two people meet.",
                   [(1, 2, "approach.v.01", None), (1, 2, "look.v.01", None), (2, 1, "look.v.01", None)])


@pytest.fixture
def no_java(tmp_path) -> dict:
    """An environment without Java: tests that are not about the Java metrics stay fast (no JVM)."""
    empty = tmp_path / "no-java-bin"
    empty.mkdir()
    return {"PATH": str(empty)}


def valid(report: dict) -> dict:
    import jsonschema

    jsonschema.validate(report, SCHEMA)
    return report


def report_of(result) -> dict:
    assert result.code == 0, result.stderr
    return valid(orjson.loads(result.stdout))


# --------------------------------------------------------------------------------------------
# the shared checks


def test_help():
    result = run(["score", "--help"])
    assert result.code == 0 and "--gt" in result.text and "--protocol" in result.text


def test_self_score_on_the_bensmot_fixture(tmp_path, bensmot_mini, no_java):
    gt_stream = tmp_path / "gt.jsonl"
    assert run(["convert", bensmot_mini, "-o", gt_stream]).code == 0
    report = report_of(run(["score", gt_stream, "--gt", bensmot_mini, "--protocol", "bensmot"], env=no_java))
    assert report["tracking"]["combined"]["HOTA"] == 1.0 and report["tracking"]["combined"]["IDF1"] == 1.0
    assert list(report["tracking"]["sequences"]) == ["hugging/abcDEF12345_0"]
    assert report["matching"] == {"protocol": "bensmot", "threshold": 0.2, "matched": 2, "unmatched_predictions": 0,
                                  "unmatched_ground_truth": 0, "matched_to_uncaptioned": 0}
    # ground-truth interactions carry no score: asserted, so the self-score is perfect
    assert {k: report["interactions"][k] for k in ("precision", "recall", "f1", "accuracy", "pairs")} == \
        {"precision": 1.0, "recall": 1.0, "f1": 1.0, "accuracy": 1.0, "pairs": 2}
    instance = report["captions"]["instance"]["bensmot"]
    assert instance["items"] == 2 and instance["BLEU"] == 1.0 and instance["ROUGE-L"] == 1.0
    assert report["videos"] == {"scored": 1, "without_results": []} and report["warnings"] == []


def test_stdin_and_file_give_the_same_report(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", records("s/clip_0", 4, {5: {t: BOX for t in range(1, 4)}}))
    from_file = report_of(run(["score", pred, "--gt", gt, "--no-table"]))
    from_stdin = report_of(run(["score", "-", "--gt", gt], input=pred.read_bytes()))
    from_file.pop("inputs"), from_stdin.pop("inputs")
    assert from_file == from_stdin


def test_output_file_is_the_report_and_stdout_stays_empty(tmp_path, no_java):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", gt_video())
    result = run(["score", pred, "--gt", gt, "-o", tmp_path / "report.json", "--protocol", "bensmot"], env=no_java)
    assert result.code == 0 and result.stdout == b""
    on_stdout = report_of(run(["score", pred, "--gt", gt, "--protocol", "bensmot"], env=no_java))
    assert valid(json.loads((tmp_path / "report.json").read_text())) == on_stdout
    assert [p.name for p in tmp_path.iterdir() if p.name.startswith(".")] == []  # no temporary left


def test_table_goes_to_stderr_only(tmp_path, no_java):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    result = run(["score", gt, "--gt", gt, "--table", "--protocol", "bensmot"], env=no_java)
    assert "HOTA" in result.stderr and "interactions" in result.stderr
    report_of(result)  # stdout is JSON only


def test_empty_results_score_every_video_as_empty(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video("s/a"), gt_video("s/b"))
    empty = write(tmp_path / "empty.jsonl")
    result = run(["score", empty, "--gt", gt])
    report = report_of(result)
    assert report["videos"] == {"scored": 2, "without_results": ["s/a", "s/b"]}
    assert report["tracking"]["combined"]["HOTA"] == 0 and report["tracking"]["combined"]["CLR_FN"] == 16
    assert "2 ground-truth video(s) have no results" in result.stderr
    assert report["captions"]["instance"] == {"skipped": "the results hold no instance captions"}
    report = report_of(run(["score", empty, "--gt", gt, "--subset"]))
    assert report["videos"]["scored"] == 0 and report["tracking"] == {"skipped": "no videos to score"}


def test_a_stage_that_predicted_no_interactions_scores_as_misses(tmp_path, no_java):
    """Results from `smot interact` (or `smot run`) with no interaction record above its threshold
    predicted "none" for every pair: recall 0 over the annotated pairs, not a skipped section.
    The same records from a tracker alone stay skipped."""
    gt = write(tmp_path / "gt.jsonl", gt_video())
    tracks = records("s/clip_0", 4, {7: {t: BOX for t in range(1, 5)}, 8: {t: OTHER for t in range(1, 5)}})
    interact = tmp_path / "interact.jsonl"
    upstream = make_header("smot.fused", "smot caption", {})
    with StreamWriter(str(interact), make_header("smot.fused", "smot interact", {}, [upstream]), "jsonl") as w:
        w.write_all(tracks)
    report = report_of(run(["score", interact, "--gt", gt, "--protocol", "bensmot"], env=no_java))
    assert {k: report["interactions"][k] for k in ("recall", "f1", "pairs", "tp", "fn")} == \
        {"recall": 0.0, "f1": 0.0, "pairs": 2, "tp": 0, "fn": 3}
    # smot caption upstream: captions are scored too, every one empty
    assert report["captions"]["instance"]["bensmot"]["items"] == 2
    alone = report_of(run(["score", write(tmp_path / "t.jsonl", tracks), "--gt", gt], env=no_java))
    assert alone["interactions"] == {"skipped": "the results hold no interactions"}


def test_shards_combine_into_one_report(tmp_path, no_java):
    gt = write(tmp_path / "gt.jsonl", gt_video("s/a"), gt_video("s/b"))
    pred_a = records("s/a", 4, {7: {t: BOX for t in range(1, 5)}}, {7: "A woman walks."})
    pred_b = records("s/b", 4, {8: {t: OTHER for t in range(1, 3)}}, {8: "A man stands."})
    whole = report_of(run(["score", write(tmp_path / "all.jsonl", pred_a, pred_b), "--gt", gt, "--protocol",
                           "bensmot"], env=no_java))
    shards = report_of(run(["score", write(tmp_path / "1.jsonl", pred_a), write(tmp_path / "2.jsonl", pred_b),
                            "--gt", gt, "--protocol", "bensmot"], env=no_java))
    whole.pop("inputs"), shards.pop("inputs")
    assert whole == shards


def test_engines_agree(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", records("s/clip_0", 4, {5: {1: BOX, 2: BOX}, 6: {3: BOX, 4: OTHER}}))
    fast = report_of(run(["score", pred, "--gt", gt]))["tracking"]
    slow = report_of(run(["score", pred, "--gt", gt, "--engine", "trackeval"]))["tracking"]
    assert fast.keys() == slow.keys()
    for key, value in slow["combined"].items():
        if key != "per_alpha":
            assert fast["combined"][key] == pytest.approx(value, abs=1e-9), key


# --------------------------------------------------------------------------------------------
# strict matching, hand-derived


def test_strict_matching_counts_misses_and_spurious_tracks(tmp_path, no_java):
    # ground truth: tracks 1 and 2, interactions 1->2 {approach, look}, 2->1 {look}.
    # prediction: track 7 on gt 1 (all 4 frames), a spurious track 9 far away, nothing on gt 2.
    # 7 -> 9 is predicted "look" (0.9): 9 is unmatched, so a false positive.
    # strict: gt pair 1->2 has no predicted pair (2 is missed): FN 2; 2->1: FN 1; spurious: FP 1.
    # TP 0, FP 1, FN 3: precision 0, recall 0, F1 0; accuracy 0 of 3 pairs.
    # captions: one item per captioned gt: gt 1 scored against 7's caption, gt 2 against "".
    gt = write(tmp_path / "gt.jsonl", gt_video())
    far = (500.0, 500.0, 520.0, 540.0)
    pred = write(tmp_path / "pred.jsonl", records("s/clip_0", 4, {7: {t: BOX for t in range(1, 5)},
                                                                9: {t: far for t in range(1, 5)}},
                                                  {7: "A woman walks.", 9: "Someone."}, None,
                                                  [(7, 9, "look.v.01", 0.9)]))
    report = report_of(run(["score", pred, "--gt", gt, "--match", "strict", "--protocol", "bensmot"], env=no_java))
    assert report["matching"] == {"protocol": "strict", "threshold": 0.5, "matched": 1, "unmatched_predictions": 1,
                                  "unmatched_ground_truth": 1, "matched_to_uncaptioned": 0}
    inter = report["interactions"]
    assert (inter["tp"], inter["fp"], inter["fn"], inter["pairs"]) == (0, 1, 3, 3)
    assert inter["accuracy"] == 0.0
    assert report["captions"]["instance"]["bensmot"]["items"] == 2
    # the paper's rule scores only matched predictions and annotated pairs: 1 caption item, no pair
    report = report_of(run(["score", pred, "--gt", gt, "--protocol", "bensmot"], env=no_java))
    assert report["captions"]["instance"]["bensmot"]["items"] == 1
    assert report["interactions"]["pairs"] == 0 and report["interactions"]["precision"] is None


# --------------------------------------------------------------------------------------------
# bad input


def test_wrong_kind_of_stream(tmp_path):
    path = tmp_path / "dets.jsonl"
    with StreamWriter(str(path), make_header("smot.detections", "test"), "jsonl") as writer:
        writer.write(Video(id="v", frames=0))
    result = run(["score", path, "--gt", path])
    assert result.code == 3 and result.stdout == b""
    assert result.stderr.startswith("smot score: error: input is a smot.detections stream")
    assert len(result.stderr.strip().splitlines()) == 2  # the error and its hint


def test_results_for_a_video_the_ground_truth_lacks(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", records("s/other", 2, {1: {1: BOX}}))
    result = run(["score", pred, "--gt", gt])
    assert result.code == 3 and result.stdout == b""
    assert "the results hold 1 video(s) the ground truth lacks, e.g. 's/other'" in result.stderr


def test_a_video_in_two_shards(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    a = write(tmp_path / "a.jsonl", records("s/clip_0", 4, {1: {1: BOX}}))
    b = write(tmp_path / "b.jsonl", records("s/clip_0", 4, {1: {1: BOX}}))
    result = run(["score", a, b, "--gt", gt])
    assert result.code == 3 and "is in two result files" in result.stderr


def test_result_frames_beyond_the_ground_truth(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", records("s/clip_0", 6, {1: {5: BOX}}))
    result = run(["score", pred, "--gt", gt])
    assert result.code == 3 and "result frame 5 of video 's/clip_0' is beyond the 4 frames" in result.stderr


def test_fewer_result_frames_warn_and_score(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = write(tmp_path / "pred.jsonl", records("s/clip_0", 2, {1: {1: BOX, 2: BOX}}))
    result = run(["score", pred, "--gt", gt])
    report = report_of(result)
    assert "has 2 frames in the results and 4 in the ground truth" in result.stderr
    assert report["tracking"]["combined"]["CLR_TP"] == 2


def test_duplicate_ids_are_refused_when_read(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    line = orjson.dumps({"kind": "frame", "video": "s/clip_0", "frame": 1, "boxes": [BOX, OTHER], "scores": [1, 1],
                         "ids": [3, 3]})
    text = (tmp_path / "pred.jsonl")
    lines = write(tmp_path / "p.jsonl", records("s/clip_0", 4, {})).read_bytes().splitlines()
    lines[2] = line
    text.write_bytes(b"\n".join(lines) + b"\n")
    result = run(["score", text, "--gt", gt])
    assert result.code == 3 and "track id 3 appears twice in the frame" in result.stderr and "record 3" in result.stderr


def test_unknown_options_are_usage_errors(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    assert run(["score", gt, "--gt", gt, "--match", "greedy"]).code == 2
    assert run(["score", gt, "--gt", gt, "--protocol", "bleu"]).code == 2
    assert run(["score", "-", "-", "--gt", gt]).code == 2


def test_missing_ground_truth_path(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    result = run(["score", gt, "--gt", tmp_path / "nope"])
    assert result.code == 3 and "no such file or folder" in result.stderr


# --------------------------------------------------------------------------------------------
# optional pieces


def test_without_java_the_coco_metrics_are_unavailable_and_the_rest_computed(tmp_path):
    gt = write(tmp_path / "gt.jsonl", gt_video())
    empty_path = tmp_path / "bin"
    empty_path.mkdir()
    result = run(["score", gt, "--gt", gt], env={"PATH": str(empty_path)})
    report = report_of(result)
    coco = report["captions"]["instance"]["coco"]
    assert coco["METEOR"] is None and "Java" in coco["unavailable"]["METEOR"]
    assert report["tracking"]["combined"]["HOTA"] == 1.0 and report["interactions"]["f1"] == 1.0
    hints = {u["metric"]: u["hint"] for u in report["unavailable"]}
    assert "--protocol bensmot" in hints["captions.instance.coco.METEOR"]
    assert report["chota"]["CHOTA"] is None and report["chota"]["CapA_CIDEr"] is not None
    assert "chota.CHOTA" in hints


@pytest.mark.java
@pytest.mark.skipif(shutil.which("java") is None, reason="needs java")
def test_chota_hand_derived(tmp_path, monkeypatch):
    # two people, predicted exactly over 4 frames: DetA = AssA = 1 at alpha 0.5; 8 true positives,
    # 4 per person. Person 1's caption is predicted exactly, person 2's is not.
    # CapA_CIDEr = mean over the 8 items of pycocoevalcap's CIDEr-D on the 8 items as one set;
    # CapA_METEOR = mean of METEOR 1.5 per item; CHOTA = (1 * 1 * CapA)^(1/3).
    from pycocoevalcap.cider.cider import Cider

    from smot.metrics import captions
    from smot.metrics.captions import Meteor

    def no_wordnet():  # the captions section is not under test; loading WordNet takes seconds
        raise captions.Unavailable("not under test")

    monkeypatch.setattr(captions, "_wordnet", no_wordnet)
    gt = write(tmp_path / "gt.jsonl", gt_video())
    pred = records("s/clip_0", 4, {11: {t: BOX for t in range(1, 5)}, 12: {t: OTHER for t in range(1, 5)}},
                   {11: "A woman walks.", 12: "A man runs away."})
    items = [("A woman walks.", "A woman walks.")] * 4 + [("A man runs away.", "A man waits.")] * 4
    _, cider = Cider().compute_score({i: [r] for i, (_, r) in enumerate(items)},
                                     {i: [h] for i, (h, _) in enumerate(items)})
    meteor = Meteor()  # one JVM for the report and for the reference numbers
    try:
        report = valid(score([("memory", pred)], str(gt), ScoreConfig(protocol="bensmot"), meteor=meteor))
        _, per_item = meteor.scores([h for h, _ in items], [r for _, r in items])
    finally:
        meteor.close()
    chota = report["chota"]
    assert chota["items"] == 8 and chota["DetA"] == 1.0 and chota["AssA"] == 1.0
    assert chota["CapA_CIDEr"] == pytest.approx(float(np.mean(cider)), abs=1e-12)
    assert chota["CapA_METEOR"] == pytest.approx(float(np.mean(per_item)), abs=1e-12)
    assert chota["CHOTA"] == pytest.approx(((chota["CapA_CIDEr"] + chota["CapA_METEOR"]) / 2) ** (1 / 3), abs=1e-12)


def test_core_scores_records_in_memory(bensmot_mini, no_java, monkeypatch):
    # the core takes named record sequences, no files: what a Python caller uses
    from smot.datasets.bensmot import find_sequences, read_sequence

    monkeypatch.setenv("PATH", no_java["PATH"])
    (video_id, folder), = find_sequences(bensmot_mini)
    report = score([("memory", read_sequence(folder, video_id))], str(bensmot_mini), ScoreConfig(protocol="bensmot"))
    assert report["videos"]["scored"] == 1 and report["tracking"]["combined"]["HOTA"] == 1.0
    assert report["inputs"] == {}


def test_report_page_documents_every_key():
    page = (ROOT / "formats" / "report.md").read_text()
    for key in SCHEMA["required"]:
        assert f"`{key}`" in page, key
    for key in SCHEMA["properties"]["params"]["required"]:
        assert f"`--{key.replace('_', '-')}" in page, key
