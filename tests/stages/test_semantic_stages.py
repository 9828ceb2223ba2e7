"""smot fuse, smot caption, smot interact: records in, the same records plus predictions out."""

from __future__ import annotations

import shlex
import subprocess
import sys

import numpy as np
import pytest
import torch
from conftest import ROOT, run
from semantic_fixtures import build_semantics, read, save_model, track_stream_records, write_stream

from smot.errors import InputError
from smot.models.semantics import load_semantics
from smot.records import Caption, Extension, Frame, Interaction, Summary, TrajectoryFeature, VideoFeature
from smot.stages.caption import CaptionConfig, caption
from smot.stages.fuse import fuse
from smot.stages.interact import InteractConfig, interact
from smot.streams import StreamReader


@pytest.fixture(scope="module")
def model_path(tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "m.pt"
    save_model(path, build_semantics())
    return path


@pytest.fixture
def tracks_path(tmp_path):
    return write_stream(tmp_path / "tracks.smot", track_stream_records())


def ok(result):
    assert result.code == 0, result.stderr
    return read(result.stdout)


# ----------------------------------------------------------------------------------------------
# fuse


def test_fuse_appends_one_feature_per_track_in_order_of_first_appearance(model_path, tracks_path):
    header, records = ok(run(["fuse", tracks_path, "-m", model_path, "--device", "cpu"]))
    semantics, checkpoint = load_semantics(str(model_path))
    assert header.format == "smot.fused" and header.tool == "smot fuse" and header.model == checkpoint.sha256
    assert header.inputs[0]["tool"] == "smot associate"
    inputs = track_stream_records()
    # video a: its 8 input records as they were, then tracks 3 (frame 1), 1 (frame 2), 2 (frame 4), the video
    assert records[:9] == inputs[:9]
    assert [(type(r).__name__, getattr(r, "track", None)) for r in records[9:13]] == [
        ("TrajectoryFeature", 3), ("TrajectoryFeature", 1), ("TrajectoryFeature", 2), ("VideoFeature", None)]
    assert records[13:15] == inputs[9:11]
    assert isinstance(records[15], VideoFeature) and records[15].video == "street/b" and len(records) == 16
    # the features are the model's fusion of the track's box features in frame order
    frames = [r for r in inputs if isinstance(r, Frame) and r.video == "park/a"]
    rows = [f.features[list(f.ids).index(1)] for f in frames if 1 in f.ids]
    with torch.no_grad():
        expected = semantics.model.trajectory_fusion([torch.tensor(np.stack(rows), dtype=torch.float32)])[0]
        video = semantics.model.video_fusion(torch.tensor(np.stack([f.context for f in frames]), dtype=torch.float32))
    np.testing.assert_allclose(records[10].feature, expected.numpy(), rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(records[12].feature, video.numpy(), rtol=1e-5, atol=1e-5)
    assert records[10].feature.dtype == np.float32


def test_fuse_gives_motion_tokens_the_tracks_boxes_in_video_time(tmp_path):
    """With motion_tokens, `smot fuse` feeds each track's boxes to the model as box_geometry: frame
    numbers over the video's length, boxes over its size."""
    from semantic_fixtures import CONFIG

    from smot.models.semantics import box_geometry

    semantics = build_semantics(CONFIG.replace(motion_tokens=2))
    path = tmp_path / "motion.pt"
    save_model(path, semantics)
    _, records = ok(run(["fuse", write_stream(tmp_path / "t.smot", track_stream_records()), "-m", path,
                         "--device", "cpu"]))
    # track 1 of park/a (4 frames, 640 x 360) is in frames 2-4 at x 10..40, y 20..90
    frames = [r for r in track_stream_records() if isinstance(r, Frame) and r.video == "park/a" and 1 in r.ids]
    features = torch.tensor(np.stack([f.features[list(f.ids).index(1)] for f in frames]), dtype=torch.float32)
    geometry = box_geometry([2, 3, 4], [[10.0, 20.0, 40.0, 90.0]] * 3, 4, 640, 360)
    with torch.no_grad():
        expected = semantics.model.eval().trajectory_fusion([features], [geometry])[0]
    fused = next(r for r in records if isinstance(r, TrajectoryFeature) and r.track == 1)
    assert fused.feature.shape == (4 * 3 + 2, CONFIG.d_model)  # 4 tokens a box (concatenation), 2 motion
    np.testing.assert_allclose(fused.feature, expected.numpy(), rtol=1e-5, atol=1e-5)


def test_fuse_names_frames_without_features(model_path, tmp_path):
    records = track_stream_records()
    records[2] = Frame(video="park/a", frame=2, boxes=records[2].boxes, scores=records[2].scores,
                       ids=records[2].ids, context=records[2].context)
    path = write_stream(tmp_path / "bare.smot", records)
    result = run(["fuse", path, "-m", model_path, "--device", "cpu"])
    assert result.code == 3
    assert result.stderr.splitlines()[0] == (
        "smot fuse: error: frame 2 of video 'park/a' has boxes but no box features")
    # the stream stops before the video and without an end record, so no reader takes it as complete
    assert b"park/a" not in result.stdout
    with pytest.raises(InputError, match="ended without its end record"):
        read(result.stdout)


def test_fuse_names_features_of_another_size(model_path, tmp_path):
    records = track_stream_records()
    f = records[1]
    records[1] = Frame(video=f.video, frame=1, boxes=f.boxes, scores=f.scores, ids=f.ids,
                       features=np.zeros((1, 1024), np.float16), context=f.context)
    result = run(["fuse", write_stream(tmp_path / "big.smot", records), "-m", model_path, "--device", "cpu"])
    assert result.code == 3
    assert "box features of frame 1 of video 'park/a' have 1024 values, the model expects 64" in result.stderr


# ----------------------------------------------------------------------------------------------
# caption


@pytest.fixture
def fused_path(model_path, tracks_path, tmp_path):
    path = tmp_path / "fused.smot"
    result = run(["fuse", tracks_path, "-m", model_path, "--device", "cpu", "-o", path])
    assert result.code == 0, result.stderr
    return path


def test_caption_replaces_captions_with_one_per_trajectory_and_a_summary(model_path, fused_path):
    result = run(["caption", fused_path, "-m", model_path, "--device", "cpu"])
    header, records = ok(result)
    assert header.tool == "smot caption" and header.inputs[0]["tool"] == "smot fuse"
    assert "2 caption or summary records of the input were replaced by predictions" in result.stderr
    _, fused = read(open(fused_path, "rb").read())
    # ground-truth caption and summary of video a are gone; everything else stays in place
    kept = [r for r in fused if not isinstance(r, (Caption, Summary))]
    assert records[: len(kept) - 3] == kept[: len(kept) - 3]
    semantics, _ = load_semantics(str(model_path))
    trajectories = [r for r in fused if isinstance(r, TrajectoryFeature)]
    with torch.no_grad():
        tokens = [torch.tensor(t.feature) for t in trajectories]
        memory, pad = semantics.model.instance_caption_memory(tokens)
        ids, scores = semantics.model.instance_decoder.generate(memory, pad)
        video_feature = torch.tensor(next(r for r in fused if isinstance(r, VideoFeature)).feature)
        memory, pad = semantics.model.video_caption_memory(video_feature, tokens)
        summary_ids, summary_scores = semantics.model.video_decoder.generate(memory, pad)
    predicted = [r for r in records if isinstance(r, (Caption, Summary)) and r.video == "park/a"]
    assert predicted == [
        *(Caption(video="park/a", track=t.track, text=semantics.decode(i), score=round(s, 6))
          for t, i, s in zip(trajectories, ids, scores, strict=True)),
        Summary(video="park/a", text=semantics.decode(summary_ids[0]), score=round(summary_scores[0], 6))]
    # a video without people still gets a summary, and no caption
    b = [r for r in records if getattr(r, "video", None) == "street/b" or getattr(r, "id", None) == "street/b"]
    assert [type(r).__name__ for r in b] == ["Video", "Frame", "VideoFeature", "Summary"]


def test_caption_what_instances_keeps_the_input_summary(model_path, fused_path):
    _, records = ok(run(["caption", fused_path, "-m", model_path, "--device", "cpu", "--what", "instances"]))
    assert Summary(video="park/a", text="People walk.") in records
    assert sum(isinstance(r, Caption) for r in records) == 3
    assert not any(isinstance(r, Summary) and r.score is not None for r in records)


def test_caption_refuses_features_fused_by_another_model(model_path, fused_path, tmp_path):
    other = tmp_path / "other.pt"
    save_model(other, build_semantics(seed=1))
    result = run(["caption", fused_path, "-m", other, "--device", "cpu"])
    assert result.code == 3
    first = result.stderr.splitlines()[0]
    assert first.startswith("smot caption: error: the features were fused by model ") and "but --model is" in first
    assert result.stderr.splitlines()[1] == "  hint: fuse, caption and interact with the same --model"


def test_fuse_refuses_box_features_of_another_checkpoints_detector(model_path, tmp_path):
    """A stream detected with det.pt, fused with heads trained on another box-feature head, would
    caption from features the heads never saw: refused; the same checkpoint's detector is accepted."""
    from smot.models.checkpoint import load_checkpoint
    from smot.streams import StreamWriter, make_header

    def detected_by(model, name):
        path = tmp_path / name
        detect = make_header("smot.detections", "smot detect", {}, model=model)
        with StreamWriter(str(path), make_header("smot.tracks", "smot associate", {}, [detect])) as writer:
            writer.write_all(track_stream_records())
        return path

    other = detected_by("ab" * 32, "other.smot")
    result = run(["fuse", other, "-m", model_path, "--device", "cpu"])
    assert result.code == 3 and result.stdout == b""
    assert result.stderr.splitlines()[0] == (f"smot fuse: error: the box features were made by model abababababab, "
                                             f"but --model is {load_checkpoint(model_path).sha256[:12]} ({other})")
    same = detected_by(load_checkpoint(model_path).sha256, "same.smot")
    assert run(["fuse", same, "-m", model_path, "--device", "cpu"]).code == 0


# ----------------------------------------------------------------------------------------------
# interact


def test_interact_scores_every_ordered_pair_and_writes_labels_at_the_threshold(model_path, fused_path):
    result = run(["interact", fused_path, "-m", model_path, "--device", "cpu", "--threshold", "0"])
    _, records = ok(result)
    assert "1 interaction records of the input were replaced by predictions" in result.stderr
    semantics, _ = load_semantics(str(model_path))
    predicted = [r for r in records if isinstance(r, Interaction)]
    # 3 tracks in first-appearance order 3, 1, 2: 6 ordered pairs x 3 labels, subject-major
    order = [3, 1, 2]
    pairs = [(a, b) for a in order for b in order if a != b]
    assert [(r.subject, r.object, r.predicate) for r in predicted] == [
        (a, b, p) for a, b in pairs for p in semantics.config.predicates]
    _, fused = read(open(fused_path, "rb").read())
    tokens = [torch.tensor(r.feature) for r in fused if isinstance(r, TrajectoryFeature)]
    with torch.no_grad():
        index = [(order.index(a), order.index(b)) for a, b in pairs]
        p = torch.sigmoid(semantics.model.interaction_logits(tokens, index)).numpy()
    np.testing.assert_allclose([r.score for r in predicted], p.reshape(-1), atol=1e-6)
    # a threshold keeps exactly the labels whose probability reaches it
    cut = float(np.median(p))
    _, records = ok(run(["interact", fused_path, "-m", model_path, "--device", "cpu", "--threshold", str(cut)]))
    assert sum(isinstance(r, Interaction) for r in records) == int((p >= cut).sum())


# ----------------------------------------------------------------------------------------------
# the checks every stage passes


STAGES = [("fuse", "smot.tracks"), ("caption", "smot.fused"), ("interact", "smot.fused")]


@pytest.mark.parametrize("stage, format", STAGES)
def test_empty_input_gives_an_empty_stream(stage, format, model_path, tmp_path):
    path = write_stream(tmp_path / "empty.smot", [], format=format)
    header, records = ok(run([stage, path, "-m", model_path, "--device", "cpu"]))
    assert header.format == "smot.fused" and records == []


@pytest.mark.parametrize("stage", ["fuse", "caption", "interact"])
def test_stdin_and_file_give_the_same_bytes(stage, model_path, tracks_path, fused_path):
    path = tracks_path if stage == "fuse" else fused_path
    from_file = run([stage, path, "-m", model_path, "--device", "cpu", "--encoding", "jsonl"])
    from_stdin = run([stage, "-m", model_path, "--device", "cpu", "--encoding", "jsonl"],
                     input=open(path, "rb").read())
    assert from_file.code == 0, from_file.stderr
    assert from_file.stdout == from_stdin.stdout
    # stdout holds records only, one JSON object a line
    assert all(line.startswith(b'{"kind":') for line in from_file.stdout.splitlines())


@pytest.mark.parametrize("stage, wrong, expected", [
    ("fuse", "smot.detections", "smot.tracks"), ("fuse", "smot.fused", "smot.tracks"),
    ("caption", "smot.tracks", "smot.fused"), ("interact", "smot.detections", "smot.fused")])
def test_wrong_kind_of_input_is_one_line(stage, wrong, expected, model_path, tmp_path):
    path = write_stream(tmp_path / "w.smot", [], format=wrong)
    result = run([stage, path, "-m", model_path, "--device", "cpu"])
    assert result.code == 3
    lines = result.stderr.splitlines()
    assert lines[0] == f"smot {stage}: error: input is a {wrong} stream, expected {expected} ({path}, record 1)"
    assert lines[1].startswith("  hint: the order is")


@pytest.mark.parametrize("stage", ["fuse", "caption", "interact"])
def test_help_and_a_missing_model(stage, tmp_path, tracks_path, fused_path):
    result = run([stage, "--help"])
    assert result.code == 0 and "--model" in result.text
    result = run([stage, tracks_path if stage == "fuse" else fused_path, "-m", tmp_path / "none.pt", "--device", "cpu"])
    assert result.code == 3 and "no such file" in result.stderr.splitlines()[0]


def test_piped_processes_equal_the_composed_core_functions(model_path, tracks_path):
    """`smot fuse | smot caption | smot interact` as real processes, record for record equal to the
    generators composed in Python."""
    smot = f"{shlex.quote(sys.executable)} -m smot"
    args = f"-m {shlex.quote(str(model_path))} --device cpu"
    pipeline = (f"set -o pipefail; {smot} fuse {shlex.quote(str(tracks_path))} {args} | {smot} caption {args} "
                f"| {smot} interact {args} --threshold 0.3")
    done = subprocess.run(["bash", "-c", pipeline], capture_output=True, cwd=ROOT, check=True)
    _, piped = read(done.stdout)
    semantics, _ = load_semantics(str(model_path))
    with StreamReader(str(tracks_path)) as reader:
        composed = list(interact(caption(fuse(reader, semantics), semantics, CaptionConfig()), semantics,
                                 InteractConfig(threshold=0.3)))
    assert piped == composed
    assert any(isinstance(r, Extension) for r in piped)
