"""Semantic training: the tracking pass, targets on real tracks, which weights learn, the stages
e2e and semantic, bit-for-bit resume and DDP replicas."""

from __future__ import annotations

import dataclasses
import os
import subprocess
import sys

import numpy as np
import orjson
import pytest
import torch

pytest.importorskip("smot.training.loop")
pytest.importorskip("smot.trackers")

from conftest import BENSMOT_MINI, ROOT, run  # noqa: E402
from drawn import MICRO  # noqa: E402
from semantic_fixtures import CONFIG as SEMANTIC  # noqa: E402
from semantic_fixtures import read  # noqa: E402

from smot.models.checkpoint import load_checkpoint  # noqa: E402
from smot.models.detector import Detector  # noqa: E402
from smot.stages.convert import from_bensmot  # noqa: E402
from smot.streams import StreamWriter, make_header  # noqa: E402
from smot.training.loop import Run, TrainConfig, train  # noqa: E402
from smot.training.semantic import (  # noqa: E402
    SMOTer,
    attach_tracks,
    build_semantics,
    clip_frames,
    load_semantic_sequences,
    make_batch,
    tracking_pass,
)

CONFIG = TrainConfig(steps=4, clips=1, clip_frames=2, lr=5e-3, backbone_lr_factor=1.0, warmup_steps=2,
                     grad_clip=1.0, scale_range=(0.8, 1.2), checkpoint_every=2, log_every=1, seed=3,
                     semantic_start=1, semantic_frames=3, semantic_min_track=1, semantic_chunk=2)
# the semantic model of the stage tests, without the fields training sets from the data
SMALL = dataclasses.replace(SEMANTIC, predicates=(), vocab_size=0)
VIDEO = "hugging/abcDEF12345_0"


@pytest.fixture(scope="module")
def gt_tracks(tmp_path_factory):
    """The fixture's ground truth as a tracks stream: what a perfect tracker would give stage semantic."""
    path = tmp_path_factory.mktemp("gt") / "gt.smot"
    with StreamWriter(str(path), make_header("smot.tracks", "smot convert")) as writer:
        writer.write_all(from_bensmot(str(BENSMOT_MINI)))
    return path


@pytest.fixture(scope="module")
def detector_path(tmp_path_factory):
    """A MICRO detector after one detection step (stage semantic starts from a trained detector)."""
    path = tmp_path_factory.mktemp("det") / "det.pt"
    train(str(BENSMOT_MINI), MICRO, dataclasses.replace(CONFIG, stage="detect", steps=1),
          Run(output=str(path), device="cpu"))
    return path


def test_clip_frames_by_hand():
    rng = np.random.default_rng(0)
    assert clip_frames(5, 8, rng) == ([1, 2, 3, 4, 5], 1)
    # 10 frames, at most 4: stride ceil(10 / 4) = 3, offset 0..2, then every third frame
    frames, stride = clip_frames(10, 4, rng)
    assert stride == 3 and len(frames) in (3, 4) and frames == list(range(frames[0], 11, 3))[:4]
    assert frames[0] in (1, 2, 3)


def sequences_with_gt_tracks(gt_tracks):
    from smot.streams import StreamReader

    sequences = load_semantic_sequences(str(BENSMOT_MINI))
    with StreamReader(str(gt_tracks)) as reader:
        assert attach_tracks(sequences, reader) == 1
    return sequences


def test_targets_of_given_tracks_are_their_own_ground_truth(gt_tracks):
    sequences = sequences_with_gt_tracks(gt_tracks)
    torch.manual_seed(0)
    detector = Detector(MICRO)
    semantics = build_semantics(sequences, MICRO, SMALL, vocab_size=200)
    assert semantics.config.predicates == ("approach.v.01", "embrace.v.02")
    assert (semantics.config.box_dim, semantics.config.context_dim) == (4 * 8, 4 * 4)
    clip = tracking_pass(detector, sequences[0], [1, 2, 3], 0.3, "byte", 1, 2, torch.device("cpu"))
    # 2 boxes a frame, RoIAligned on P3 (16 channels, 7 x 7, flattened); 16 context tokens of a 4 x 4 grid
    assert [tuple(p.shape) for p in clip.pooled] == [(2, 16 * 7 * 7)] * 3
    assert tuple(clip.context.shape) == (3, 16, 16)
    batch = make_batch(clip, sequences[0], semantics, min_track_frames=1, negatives=True)
    assert (batch.trajectories, batch.matched) == (2, 2)
    decoded = [semantics.decode(c.tolist()) for c in batch.captions]
    assert decoded == ["a woman in a blue coat walks toward the man and hugs him.",
                       "a man in a grey sweater stands still and hugs the woman back."]
    # track 1 -> 2: approach and embrace; 2 -> 1: embrace (the fixture's graphml)
    assert batch.pairs == [(0, 1), (1, 0)]
    assert batch.labels.tolist() == [[1.0, 1.0], [0.0, 1.0]]


@pytest.mark.parametrize("train_box_head", [True, False])
def test_semantic_losses_reach_the_box_head_but_never_the_backbone(gt_tracks, train_box_head):
    sequences = sequences_with_gt_tracks(gt_tracks)
    torch.manual_seed(0)
    detector = Detector(MICRO)
    semantics = build_semantics(sequences, MICRO, SMALL, vocab_size=200)
    clip = tracking_pass(detector, sequences[0], [1, 2, 3], 0.3, "byte", 1, 2, torch.device("cpu"))
    batch = make_batch(clip, sequences[0], semantics, 1, True)
    model = SMOTer(detector, semantics.model).train()
    losses = model(batch=batch, train_box_head=train_box_head)
    assert set(losses) == {"caption", "summary", "interaction"}
    sum(losses.values()).backward()
    head = detector.box_head.fc1.weight.grad
    assert (head is not None and head.abs().sum() > 0) == train_box_head
    assert all(p.grad is None for p in detector.backbone.parameters())
    assert all(p.grad is None for p in detector.head.parameters())
    assert semantics.model.trajectory_fusion.fuse.encoder.attention.in_proj_weight.grad.abs().sum() > 0


def weights(path, part):
    return load_checkpoint(path).data["weights"][part]


def test_stage_semantic_trains_heads_on_a_trackers_tracks(gt_tracks, detector_path, tmp_path):
    out = tmp_path / "heads.pt"
    train(str(BENSMOT_MINI), MICRO, dataclasses.replace(CONFIG, stage="semantic", steps=2),
          Run(output=str(out), device="cpu", init_model=str(detector_path), tracks=str(gt_tracks)), SMALL)
    checkpoint = load_checkpoint(out)
    assert set(checkpoint.data["weights"]) == {"detector", "semantic"}
    assert checkpoint.config["semantic"]["predicates"] == ["approach.v.01", "embrace.v.02"]
    assert "json" in checkpoint.data["tokenizer"]
    before, after = weights(detector_path, "detector"), checkpoint.data["weights"]["detector"]
    for name in before:  # the detector stays as trained, except the box-feature head
        assert torch.equal(before[name], after[name]) != name.startswith("box_head."), name
    log = [orjson.loads(line) for line in (tmp_path / "heads.log.jsonl").read_bytes().splitlines()]
    assert [r["step"] for r in log] == [1, 2]
    assert all({"caption", "summary", "interaction"} <= r.keys() and r["matched"] == 2 for r in log)
    assert "heatmap_pos" not in log[0]  # no detection loss in stage semantic
    assert checkpoint.data["provenance"]["tracks"] == str(gt_tracks.resolve())


def test_several_clips_train_on_the_mean_of_their_losses(gt_tracks):
    """A semantic batch of several clips (replay) gives each term the mean over the clips that have
    it."""
    from smot.training.semantic import batch_from_state, batch_state

    sequences = sequences_with_gt_tracks(gt_tracks)
    torch.manual_seed(0)
    detector = Detector(MICRO)
    semantics = build_semantics(sequences, MICRO, SMALL, vocab_size=200)
    model = SMOTer(detector, semantics.model).train()  # SMALL has no dropout: the same input, the same loss
    full = make_batch(tracking_pass(detector, sequences[0], [1, 2, 3], 0.3, "byte", 1, 2, torch.device("cpu")),
                      sequences[0], semantics, 1, True)
    short = make_batch(tracking_pass(detector, sequences[0], [2, 3], 0.3, "byte", 1, 2, torch.device("cpu")),
                       sequences[0], semantics, 1, True)
    short.pairs, short.labels = [], short.labels[:0]  # a clip without interaction targets
    with torch.no_grad():
        a, b = model(batch=full), model(batch=short)
        both = model(batch=[full, short])
        # a batch through its checkpoint form is the same batch
        again = model(batch=batch_from_state(batch_state(full)))
    assert set(both) == {"caption", "summary", "interaction"}
    for name in ("caption", "summary"):
        torch.testing.assert_close(both[name], (a[name] + b[name]) / 2)
    torch.testing.assert_close(both["interaction"], a["interaction"])  # only one clip has the term
    for name in a:
        torch.testing.assert_close(again[name], a[name])


def test_replay_draws_distinct_clips_of_the_buffer_by_seed_step_and_rank():
    from smot.training.loop import replayed

    config = dataclasses.replace(CONFIG, semantic_replay=2, semantic_replay_buffer=4)
    buffer = ["a", "b", "c", "d"]
    drawn = replayed(buffer, config, 5, 0)
    assert len(set(drawn)) == 2 and set(drawn) <= set(buffer)
    assert replayed(buffer, config, 5, 0) == drawn  # a pure function of (seed, step, rank)
    assert {tuple(replayed(buffer, config, step, 0)) for step in range(40)} != {tuple(drawn)}
    assert any(replayed(buffer, config, step, 0) != replayed(buffer, config, step, 1) for step in range(10))
    assert {x for step in range(40) for x in replayed(buffer, config, step, 0)} == set(buffer)
    assert replayed(["a"], config, 5, 0) == ["a"]  # all of a buffer smaller than the draw
    assert replayed([], config, 5, 0) == []
    assert replayed(buffer, dataclasses.replace(config, semantic_replay=0), 5, 0) == []


@pytest.mark.parametrize("stage, replay", [("e2e", 0), ("semantic", 0), ("e2e", 1)])
def test_killed_and_resumed_equals_uninterrupted(stage, replay, gt_tracks, detector_path, tmp_path):
    """With replay, a checkpoint carries the clips that later steps draw from."""
    config = dataclasses.replace(CONFIG, stage=stage, semantic_replay=replay, semantic_replay_buffer=2 * replay)
    extra = {"init_model": str(detector_path), "tracks": str(gt_tracks)} if stage == "semantic" else {}
    whole = tmp_path / "whole.pt"
    train(str(BENSMOT_MINI), MICRO, config, Run(output=str(whole), device="cpu", **extra), SMALL)

    def kill(record):
        if record["step"] == 3:  # after the step-2 checkpoint, before the step-4 one
            raise KeyboardInterrupt

    cut = tmp_path / "cut.pt"
    with pytest.raises(KeyboardInterrupt):
        train(str(BENSMOT_MINI), MICRO, config, Run(output=str(cut), device="cpu", on_step=kill, **extra), SMALL)
    held = load_checkpoint(cut).data["training"]
    assert held["step"] == 2
    # e2e: one semantic step (the second) before the checkpoint, so one clip in the buffer
    assert len(held.get("replay", [[]])[0]) == replay
    train(str(BENSMOT_MINI), MICRO, config, Run(output=str(cut), device="cpu", resume=True, **extra), SMALL)
    a, b = load_checkpoint(whole).data, load_checkpoint(cut).data
    for part in ("detector", "semantic"):
        assert a["weights"][part].keys() == b["weights"][part].keys()
        for name in a["weights"][part]:
            assert torch.equal(a["weights"][part][name], b["weights"][part][name]), (part, name)
    assert a["tokenizer"] == b["tokenizer"]
    log = [orjson.loads(line) for line in (tmp_path / "cut.log.jsonl").read_bytes().splitlines()]
    whole_log = [orjson.loads(line) for line in (tmp_path / "whole.log.jsonl").read_bytes().splitlines()]
    assert [r["loss"] for r in log] == [r["loss"] for r in whole_log]
    # e2e: step 1 (0-based 0) is detection only, the semantic losses switch on at semantic_start = 1
    if stage == "e2e":
        assert "summary" not in whole_log[0] and "summary" in whole_log[1]
    if replay:  # the finished run's file is the model: no replay clips in it
        assert "replay" not in a["training"]


def small_sets(*train_keys: str) -> list[str]:
    """`--set` options that make `smot train` build the MICRO detector, the SMALL semantic model
    and CONFIG's values of `train_keys` (the fields training sets from the data are left out)."""
    sets = []
    for key, value in MICRO.to_dict().items():
        sets += ["--set", f"detector.{key}={orjson.dumps(value).decode()}"]
    for key, value in SMALL.to_dict().items():
        if key not in ("predicates", "vocab_size", "box_tokens", "box_token_dim", "context_dim", "context_tokens"):
            sets += ["--set", f"semantic.{key}={orjson.dumps(value).decode()}"]
    for key in train_keys:
        sets += ["--set", f"train.{key}={getattr(CONFIG, key)}"]
    return sets


def test_train_command_e2e_and_the_checkpoint_runs_the_pipeline(tmp_path):
    """`smot train` end to end, then the same checkpoint through every stage: `smot run` in one
    process equals the stages piped as processes, record for record."""
    from smot.models.semantics import SemanticConfig

    model = tmp_path / "m.pt"
    sets = small_sets("steps", "semantic_start", "semantic_frames", "semantic_min_track", "clip_frames", "clips")
    result = run(["train", BENSMOT_MINI, "-o", model, "--device", "cpu", *sets])
    assert result.code == 0, result.stderr
    checkpoint = load_checkpoint(model)
    assert SemanticConfig.from_dict(checkpoint.config["semantic"]).d_model == SMALL.d_model
    assert checkpoint.data["training"]["stage"] == "e2e"

    # SORT outputs its tracks from the first frames (min_hits), so with its detection threshold at 0
    # the untrained detector's boxes become tracks
    args = ["-m", str(model), "--device", "cpu"]
    tracker = ["-a", "sort", "--set", "det_thresh=0"]
    inproc = run(["run", BENSMOT_MINI, *args, "--score-threshold", "0.05", *tracker, "--threshold", "0.3"])
    assert inproc.code == 0, inproc.stderr
    smot = [sys.executable, "-m", "smot"]
    detect = subprocess.Popen([*smot, "detect", BENSMOT_MINI, *args, "--score-threshold", "0.05"],
                              stdout=subprocess.PIPE, cwd=ROOT)
    associate = subprocess.Popen([*smot, "associate", *tracker], stdin=detect.stdout, stdout=subprocess.PIPE,
                                 cwd=ROOT)
    fuse = subprocess.Popen([*smot, "fuse", *args], stdin=associate.stdout, stdout=subprocess.PIPE, cwd=ROOT)
    caption = subprocess.Popen([*smot, "caption", *args], stdin=fuse.stdout, stdout=subprocess.PIPE, cwd=ROOT)
    piped = subprocess.run([*smot, "interact", *args, "--threshold", "0.3"], stdin=caption.stdout,
                           capture_output=True, cwd=ROOT, check=True).stdout
    for p in (detect, associate, fuse, caption):
        assert p.wait() == 0
    _, piped_records = read(piped)
    header, inproc_records = read(inproc.stdout)
    assert header.tool == "smot run"
    assert inproc_records == piped_records
    kinds = {r.kind for r in piped_records}
    assert {"trajectory_feature", "caption", "summary"} <= kinds


@pytest.mark.slow
def test_two_gloo_processes_keep_identical_replicas(gt_tracks, detector_path, tmp_path):
    """torchrun with 2 CPU processes (gloo): each draws its own clips, DDP averages the gradients,
    and the loop compares a checksum of every weight across processes at each checkpoint."""
    out = tmp_path / "ddp.pt"
    sets = small_sets("semantic_frames", "semantic_min_track", "clip_frames", "clips")
    sets += ["--set", "steps=3", "--set", "checkpoint_every=2", "--set", "semantic_start=0",
             "--set", "semantic_replay=1", "--set", "semantic_replay_buffer=2"]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(
        [sys.executable, "-m", "torch.distributed.run", "--standalone", "--nproc_per_node=2", "-m", "smot", "train",
         str(BENSMOT_MINI), "--stage", "e2e", "-o", str(out), "--device", "cpu", *sets],
        capture_output=True, cwd=ROOT, env=env, timeout=300)
    assert done.returncode == 0, done.stderr.decode()[-3000:]
    checkpoint = load_checkpoint(out)
    history = checkpoint.data["provenance"]["history"][-1]
    assert history["world_size"] == 2 and history["replicas_checked"] == 3
    # the step-2 checkpoint gathered both processes' replay clips (a collective every process joins);
    # the final file is the model and holds none
    assert "replay" not in checkpoint.data["training"]
