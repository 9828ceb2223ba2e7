"""smot convert: MOTChallenge and BenSMOT in and out, exactly; quirks warned, bad input named."""

from __future__ import annotations

import filecmp
import gzip
import shutil
from pathlib import Path

import numpy as np
import pytest
from conftest import ASSOCIATION_D10, BENSMOT_MINI, run

from smot.datasets import bensmot, motchallenge
from smot.records import Caption, Frame, Interaction, Summary, Video
from smot.streams import StreamReader

SEQUENCE = BENSMOT_MINI / "hugging" / "abcDEF12345_0"


def records_of(data: bytes, tmp_path: Path, name="s.smot"):
    path = tmp_path / name
    path.write_bytes(data)
    reader = StreamReader(str(path))
    return reader.header, list(reader)


def same_tree(a: Path, b: Path) -> list[str]:
    """Relative paths that differ between two folders (missing on either side, or other bytes)."""
    files_a = {p.relative_to(a) for p in a.rglob("*") if p.is_file()}
    files_b = {p.relative_to(b) for p in b.rglob("*") if p.is_file()}
    differ = sorted(str(p) for p in files_a ^ files_b)
    differ += sorted(str(p) for p in files_a & files_b if not filecmp.cmp(a / p, b / p, shallow=False))
    return differ


# ----------------------------------------------------------------------------------------------
# BenSMOT


def test_bensmot_sequence_becomes_the_ground_truth_stream(tmp_path):
    result = run(["convert", BENSMOT_MINI, "--encoding", "jsonl"])
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    header, records = records_of(result.stdout, tmp_path)
    assert header.format == "smot.tracks" and header.tool == "smot convert"
    video_id = "hugging/abcDEF12345_0"
    assert records[0] == Video(id=video_id, frames=3, source=str(SEQUENCE.resolve()), width=640, height=360,
                               images=["imgs/001.jpg", "imgs/002.jpg", "imgs/003.jpg"])
    # gt.txt row `2,2,296.0,61.0,70.0,190.0,1,1,1` is track 2 at xyxy (296, 61, 366, 251) in frame 2
    frame2 = records[2]
    assert frame2 == Frame(video=video_id, frame=2, boxes=np.array([[104.0, 50, 184, 250], [296, 61, 366, 251]]),
                           scores=np.ones(2), ids=np.array([1, 2]), classes=np.array([1, 1]), visibility=np.ones(2))
    # caption line k is track k; the name stays with it
    assert records[4:] == [
        Caption(video=video_id, track=1, text="A woman in a blue coat walks toward the man and hugs him.",
                name="woman0"),
        Caption(video=video_id, track=2, text="A man in a grey sweater stands still and hugs the woman back.",
                name="man0"),
        Summary(video=video_id, text="A woman in a blue coat walks up to a man in a grey sweater and the two hug "
                                     "each other."),
        Interaction(video=video_id, subject=1, object=2, predicate="approach.v.01"),
        Interaction(video=video_id, subject=1, object=2, predicate="embrace.v.02"),
        Interaction(video=video_id, subject=2, object=1, predicate="embrace.v.02"),
    ]


@pytest.mark.parametrize("encoding", ["msgpack", "jsonl"])
def test_bensmot_round_trip_gives_identical_files(tmp_path, encoding):
    stream = tmp_path / "gt.smot"
    assert run(["convert", BENSMOT_MINI, "-o", stream, "--encoding", encoding]).code == 0
    result = run(["convert", stream, "--to", "bensmot", "-o", tmp_path / "back"])
    assert result.code == 0, result.stderr
    assert result.stderr == ""
    assert same_tree(BENSMOT_MINI, tmp_path / "back") == []


def test_bensmot_split_of_several_sequences_and_a_single_sequence(tmp_path):
    split = tmp_path / "test"
    shutil.copytree(BENSMOT_MINI, split)
    shutil.copytree(SEQUENCE, split / "hugging" / "abcDEF12345_1")
    shutil.copytree(SEQUENCE, split / "dancing" / "zzzDEF12345_0")
    _, records = records_of(run(["convert", split]).stdout, tmp_path)
    assert [r.id for r in records if isinstance(r, Video)] == [
        "dancing/zzzDEF12345_0", "hugging/abcDEF12345_0", "hugging/abcDEF12345_1"]
    _, single = records_of(run(["convert", SEQUENCE]).stdout, tmp_path, "one.smot")
    assert single[0].id == "hugging/abcDEF12345_0"
    result = run(["convert", tmp_path])  # the dataset root holds train/test-like folders? no: `test` only
    assert result.code == 3 and "is a dataset root, not a split" in result.stderr


def test_bensmot_quirks_are_warnings_not_crashes(tmp_path):
    """Tracks without caption lines, caption lines without tracks, sparse frame numbers, unknown names."""
    seq = tmp_path / "test" / "hugging" / "q_0"
    shutil.copytree(SEQUENCE, seq)
    # images 001, 002, 004 (sparse); gt rows of frames 1, 2, 4 and one of frame 3 (no image)
    (seq / "imgs" / "003.jpg").rename(seq / "imgs" / "004.jpg")
    (seq / "gt" / "gt.txt").write_text(
        "1,1,100.0,50.0,80.0,200.0,1,1,1\n"
        "1,3,10.0,10.0,5.0,5.0,1,1,0.5\n"
        "2,1,104.0,50.0,80.0,200.0,1,1,1\n"
        "3,1,106.0,50.0,80.0,200.0,1,1,1\n"
        "4,1,108.0,51.0,80.0,200.0,1,1,1\n")
    (seq / "instance_captions.txt").write_text("woman0: A woman walks.\nman0: A man waits.\n\n")
    graph = (seq / "interactions.graphml").read_text().replace('source="man0"', 'source="mna0"')
    (seq / "interactions.graphml").write_text(graph)
    result = run(["convert", seq.parent.parent])
    assert result.code == 0
    warnings = result.stderr.splitlines()
    assert all(line.startswith("smot convert: warning: ") for line in warnings)
    text = result.stderr
    assert "sparse frame numbers (images 1, 2, 4...)" in text
    assert "1 gt.txt rows name frames without an image (lines 4)" in text
    assert "caption line 2 (man0) has no track 2 in gt.txt; kept" in text
    assert "1 tracks have no caption line (ids 3)" in text
    assert "interaction mna0 -> woman0 names mna0, which no caption line has; skipped" in text
    _, records = records_of(result.stdout, tmp_path)
    frames = [r for r in records if isinstance(r, Frame)]
    assert [f.ids.tolist() for f in frames] == [[1, 3], [1], [1]]  # image 004 is frame 3
    assert frames[2].boxes.tolist() == [[108.0, 51.0, 188.0, 251.0]]
    assert [(r.subject, r.object, r.predicate) for r in records if isinstance(r, Interaction)] == [
        (1, 2, "approach.v.01"), (1, 2, "embrace.v.02")]
    # back to BenSMOT: the image numbers return as gt.txt frame numbers
    stream = tmp_path / "q.smot"
    stream.write_bytes(result.stdout)
    assert run(["convert", stream, "--to", "bensmot", "-o", tmp_path / "back"]).code == 0
    gt = (tmp_path / "back" / "hugging" / "q_0" / "gt" / "gt.txt").read_text().splitlines()
    assert [row.split(",")[0] for row in gt] == ["1", "1", "2", "4"]
    assert sorted(p.name for p in (tmp_path / "back" / "hugging" / "q_0" / "imgs").iterdir()) == [
        "001.jpg", "002.jpg", "004.jpg"]


def test_writing_bensmot_renumbers_tracks_so_line_order_gives_the_id(tmp_path):
    records = [
        Frame(video="s/c", frame=1, boxes=np.array([[0, 0, 1, 1.0], [2, 2, 3, 3], [4, 4, 5, 5]]), scores=np.ones(3),
              ids=np.array([9, 4, 7])),
        Caption(video="s/c", track=7, text="Second."), Caption(video="s/c", track=4, text="First.", name="man0"),
        Summary(video="s/c", text="All."), Interaction(video="s/c", subject=7, object=4, predicate="look.v.01"),
    ]
    bensmot.write_sequence(records, Video(id="s/c", frames=1), tmp_path / "c", images="none")
    assert (tmp_path / "c" / "gt" / "gt.txt").read_text() == (
        "1,3,0.0,0.0,1.0,1.0,1,1,1\n1,1,2.0,2.0,1.0,1.0,1,1,1\n1,2,4.0,4.0,1.0,1.0,1,1,1\n")
    assert (tmp_path / "c" / "instance_captions.txt").read_text() == "man0: First.\nperson0: Second.\n"
    graph = bensmot.parse_graphml(tmp_path / "c" / "interactions.graphml")
    assert graph == [("person0", "man0", ["look.v.01"])]


def test_graphml_reader_takes_networkx_variants(tmp_path):
    path = tmp_path / "g.graphml"
    path.write_text(
        '<?xml version="1.0"?><graphml xmlns="http://graphml.graphdrawing.org/xmlns">'
        '<key id="k7" for="edge" attr.name="relationship" attr.type="string"/>'
        '<key id="k1" for="node" attr.name="label" attr.type="string"/>'
        '<graph edgedefault="directed"><node id="a"/><node id="b"/>'
        '<edge source="a" target="b"><data key="k7"> look.v.01, talk.v.02 ,</data></edge>'
        '<edge source="b" target="a"><data key="k7"></data></edge></graph></graphml>')
    assert bensmot.parse_graphml(path) == [("a", "b", ["look.v.01", "talk.v.02"])]


def test_jpeg_and_png_sizes_come_from_headers(tmp_path):
    import cv2

    for suffix in (".jpg", ".png"):
        path = tmp_path / f"x{suffix}"
        cv2.imwrite(str(path), np.zeros((37, 53, 3), np.uint8))
        assert bensmot.image_size(path) == (53, 37)
    (tmp_path / "bad.jpg").write_bytes(b"not an image")
    assert bensmot.image_size(tmp_path / "bad.jpg") is None


# ----------------------------------------------------------------------------------------------
# MOTChallenge


def test_det_txt_becomes_a_detections_stream_with_every_frame(tmp_path):
    det = ASSOCIATION_D10 / "det.txt.gz"
    header, records = records_of(run(["convert", det, "--video", "d10", "--size", "1920x1080", "--fps", "30"]).stdout,
                                 tmp_path)
    assert header.format == "smot.detections"
    assert records[0] == Video(id="d10", frames=600, width=1920, height=1080, fps=30.0)
    frames = records[1:]
    assert [f.frame for f in frames] == list(range(1, 601))
    assert all(f.ids is None for f in frames)
    rows = gzip.decompress(det.read_bytes()).decode().splitlines()
    assert sum(f.n for f in frames) == len(rows)
    # first row `1,-1,712.93,476.80,113.70,157.64,0.1534,-1,-1,-1`
    assert frames[0].boxes[0].tolist() == [712.93, 476.8, 712.93 + 113.70, 476.8 + 157.64]
    assert frames[0].scores[0] == 0.1534


@pytest.mark.parametrize("name, layout", [("gt.txt.gz", "gt"), ("bytetrack.txt.gz", "result"),
                                          ("det.txt.gz", "det")])
def test_motchallenge_files_round_trip(tmp_path, name, layout):
    """Values survive file -> stream -> file exactly; our own output is a fixed point byte for byte."""
    source = ASSOCIATION_D10 / name
    stream = tmp_path / "s.smot"
    assert run(["convert", source, "-o", stream]).code == 0
    first = tmp_path / "first.txt"
    assert run(["convert", stream, "-o", first]).code == 0
    original, written = motchallenge.read_mot(str(source)), motchallenge.read_mot(str(first))
    order = np.lexsort((original.line, original.frame))  # the writer emits rows frame by frame
    assert np.array_equal(written.frame, original.frame[order])
    assert np.array_equal(written.ids, original.ids[order])
    assert np.allclose(written.boxes, original.boxes[order], rtol=0, atol=1e-9)
    assert np.array_equal(written.conf, original.conf[order])
    text = first.read_text().splitlines()
    assert len(text[0].split(",")) == (9 if layout == "gt" else 10)
    again = tmp_path / "again.txt"
    assert run(["convert", first, "--video", "x"]).code == 0
    (tmp_path / "s2.smot").write_bytes(run(["convert", first]).stdout)
    assert run(["convert", tmp_path / "s2.smot", "-o", again]).code == 0
    assert again.read_bytes() == first.read_bytes()


def test_box_values_keep_their_short_form():
    frame = Frame(video="v", frame=3, boxes=np.array([[712.93, 476.80, 712.93 + 113.70, 476.80 + 157.64]]),
                  scores=np.array([0.1534]), ids=np.array([4]))
    assert motchallenge.format_frame(frame, "result") == "3,4,712.93,476.8,113.7,157.64,0.1534,-1,-1,-1\n"
    assert motchallenge.format_frame(frame, "gt") == "3,4,712.93,476.8,113.7,157.64,0.1534,1,1\n"


def test_several_videos_to_motchallenge_files_in_trackeval_layout(tmp_path):
    stream = tmp_path / "gt.smot"
    split = tmp_path / "test"
    shutil.copytree(BENSMOT_MINI, split)
    shutil.copytree(SEQUENCE, split / "dancing" / "zzz_0")
    assert run(["convert", split, "-o", stream]).code == 0
    result = run(["convert", stream, "--to", "mot", "--layout", "result", "-o", tmp_path / "pred" / "data"])
    assert result.code == 0, result.stderr
    written = sorted(str(p.relative_to(tmp_path)) for p in (tmp_path / "pred").rglob("*.txt"))
    assert written == ["pred/data/dancing/zzz_0.txt", "pred/data/hugging/abcDEF12345_0.txt"]
    assert (tmp_path / "pred/data/hugging/abcDEF12345_0.txt").read_text().splitlines()[0] == \
        "1,1,100.0,50.0,80.0,200.0,1,-1,-1,-1"
    result = run(["convert", stream, "--to", "mot"])
    assert result.code == 2 and "give -o FOLDER" in result.stderr


def test_seqinfo_ini_names_the_video(tmp_path):
    seq = tmp_path / "MOT17-02"
    (seq / "gt").mkdir(parents=True)
    (seq / "gt" / "gt.txt").write_text("1,1,1,1,10,10,1,1,1\n3,1,2,1,10,10,1,1,0.5\n")
    (seq / "seqinfo.ini").write_text("[Sequence]\nname=MOT17-02\nimDir=img1\nframeRate=30\nseqLength=5\n"
                                     "imWidth=1920\nimHeight=1080\nimExt=.jpg\n")
    _, records = records_of(run(["convert", seq / "gt" / "gt.txt"]).stdout, tmp_path)
    assert records[0] == Video(id="MOT17-02", frames=5, source=str(seq), width=1920, height=1080, fps=30.0)
    assert [f.n for f in records[1:]] == [1, 0, 1, 0, 0]


@pytest.mark.parametrize("text, message", [
    ("1,1,1,1,10,10,1,1,1\n2,1,1,1,10\n", "expected 9 columns like the first row, found 5 (bad.txt, line 2)"),
    ("1,1,1,1,10,10\n1,1,1,1,abc,10\n", "expected numbers, found '1,1,1,1,abc,10' (bad.txt, line 2)"),
    ("0,1,1,1,10,10\n", "the frame must be an integer >= 1 (bad.txt, line 1)"),
    ("1,1,1,1,10,nan\n", "a value is not finite (NaN or infinite) (bad.txt, line 1)"),
    ("1,1,1,1,-10,10\n", "the box has a negative width or height (bad.txt, line 1)"),
    ("1,1,1,1,10,10\n1,2,1,1,10,10\n1,1,5,5,10,10\n", "this track id already has a box in the same frame "
                                                      "(bad.txt, line 3)"),
    ("1,-1,1,1,10,10\n1,-1,1,1,10,10\n1,5,1,1,10,10\n", "ids mix -1 (detections) with track ids (bad.txt, line 3)"),
    ("1,0,1,1,10,10\n", "track ids must be positive (or -1 for detections) (bad.txt, line 1)"),
    ("1,1,1,1\n", "expected at least 6 columns"),
])
def test_bad_motchallenge_files_name_the_line(tmp_path, monkeypatch, text, message):
    monkeypatch.chdir(tmp_path)
    Path("bad.txt").write_text(text)
    result = run(["convert", "bad.txt"])
    assert result.code == 3
    assert result.stdout == b""
    assert result.stderr.splitlines()[0] == f"smot convert: error: {message}" or message in result.stderr


def test_empty_result_file_is_an_empty_video(tmp_path):
    (tmp_path / "empty.txt").write_text("")
    _, records = records_of(run(["convert", tmp_path / "empty.txt", "--frames", "2"]).stdout, tmp_path)
    assert records == [Video(id="empty", frames=2), Frame.empty("empty", 1, tracks=True),
                       Frame.empty("empty", 2, tracks=True)]


# ----------------------------------------------------------------------------------------------
# the shared checks every stage passes


def test_empty_stream_gives_an_empty_stream(tmp_path):
    empty = tmp_path / "empty.jsonl"
    empty.write_text('{"kind":"header","format":"smot.tracks","version":1,"tool":"t","tool_version":"1"}\n'
                     '{"kind":"end"}\n')
    result = run(["convert", empty])
    header, records = records_of(result.stdout, tmp_path)
    assert result.code == 0 and records == [] and header.inputs[0]["tool"] == "t"
    assert run(["convert", empty, "--to", "mot"]).stdout == b""


def test_stdin_and_file_input_give_identical_output(tmp_path):
    stream = tmp_path / "gt.smot"
    run(["convert", BENSMOT_MINI, "-o", stream])
    from_file = run(["convert", stream, "--encoding", "jsonl"])
    from_stdin = run(["convert", "-", "--encoding", "jsonl"], input=stream.read_bytes())
    assert from_file.code == from_stdin.code == 0
    assert from_file.stdout == from_stdin.stdout


def test_help_and_no_arguments():
    result = run(["convert", "--help"])
    assert result.code == 0 and b"smot convert MOT17-02/det/det.txt" in result.stdout
    assert run(["convert"]).code in (0, 2)


def test_wrong_input_fails_in_one_line(tmp_path):
    (tmp_path / "x.smot").write_bytes(b"\x00\x01garbage")
    result = run(["convert", tmp_path / "x.smot"])
    assert result.code == 3 and result.stdout == b""
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("smot convert: error: not a smot stream")
    result = run(["convert", tmp_path / "missing.txt"])
    assert result.code == 3 and result.stderr.startswith("smot convert: error: cannot read")


def test_stdin_terminal_gets_a_hint_instead_of_a_hang():
    import os
    import pty
    import subprocess
    import sys

    leader, follower = pty.openpty()
    process = subprocess.run([sys.executable, "-m", "smot", "convert", "-"], stdin=follower, capture_output=True,
                             timeout=60, cwd=Path(__file__).resolve().parents[2])
    os.close(leader)
    os.close(follower)
    assert process.returncode == 3
    assert process.stderr.decode().startswith("smot convert: error: no input: stdin is a terminal")


def test_closed_pipe_ends_quietly():
    """`smot convert ... | head -1` exits 0 without a traceback."""
    import subprocess

    command = f"set -o pipefail; python -m smot convert {ASSOCIATION_D10 / 'det.txt.gz'} --encoding jsonl | head -1"
    process = subprocess.run(["bash", "-c", command], capture_output=True, timeout=120,
                             cwd=Path(__file__).resolve().parents[2],
                             env={**__import__("os").environ, "PATH": str(Path(__import__("sys").executable).parent)
                                  + ":" + __import__("os").environ["PATH"]})
    assert process.returncode == 0, process.stderr
    assert process.stderr == b""
    assert process.stdout.startswith(b'{"kind":"header"') and process.stdout.count(b"\n") == 1


def test_output_folder_must_be_new(tmp_path):
    stream = tmp_path / "gt.smot"
    run(["convert", BENSMOT_MINI, "-o", stream])
    (tmp_path / "out").mkdir()
    (tmp_path / "out" / "keep.txt").write_text("mine")
    result = run(["convert", stream, "--to", "bensmot", "-o", tmp_path / "out"])
    assert result.code == 4 and "already exists and is not an empty folder" in result.stderr
    assert [p.name for p in (tmp_path / "out").iterdir()] == ["keep.txt"]
