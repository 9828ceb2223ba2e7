"""The training loop: schedule, clips and augmentation, bit-for-bit resume, the command line."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import orjson
import pytest
import torch
from conftest import run
from drawn import MICRO, write_split

from smot.errors import InputError, UsageError
from smot.models.checkpoint import load_checkpoint
from smot.training.data import Augment, boxes_to_canvas, fit_transform, letterbox, load_sequences, sample_batch
from smot.training.loop import Run, TrainConfig, lr_factor, train

CONFIG = TrainConfig(steps=4, clips=2, clip_frames=2, lr=5e-3, backbone_lr_factor=1.0, warmup_steps=2,
                     grad_clip=1.0, scale_range=(0.8, 1.2), checkpoint_every=2, log_every=1, seed=5)


@pytest.fixture(scope="module")
def split(tmp_path_factory):
    return write_split(tmp_path_factory.mktemp("drawn") / "train", videos=2, frames=4)


def test_lr_schedule_by_hand():
    c = TrainConfig(steps=1000, warmup_steps=100, warmup_factor=0.001)
    assert lr_factor(0, c) == pytest.approx(0.001)  # cosine 1 x warm-up 0.001
    # step 50: warm-up 0.001 * 0.5 + 0.5 = 0.5005; cosine 0.5 (1 + cos(pi / 20))
    assert lr_factor(50, c) == pytest.approx(0.5005 * 0.5 * (1 + math.cos(math.pi / 20)))
    assert lr_factor(500, c) == pytest.approx(0.5)  # half way down the cosine
    assert lr_factor(1000, c) == pytest.approx(0.0)


def test_letterbox_keeps_boxes_on_their_pixels():
    # a 200x100 frame with one red box; scaled 1.5x into a 128x96 canvas, cropped and flipped, the
    # transformed box must still cover red pixels and its surroundings must not be red
    frame = np.full((100, 200, 3), 90, np.uint8)
    frame[30:70, 120:150] = (0, 0, 255)  # BGR red at x 120..150, y 30..70
    box = np.array([[120.0, 30.0, 150.0, 70.0]])
    for flip in (False, True):
        t = fit_transform(200, 100, (128, 96), scale=1.5, crop=(0.5, 0.0), flip=flip)
        canvas = letterbox(frame, t, (128, 96))  # (3, 96, 128) RGB
        (x1, y1, x2, y2), = boxes_to_canvas(box, t)
        inner = canvas[:, int(y1) + 1:int(y2) - 1, int(x1) + 1:int(x2) - 1]
        assert inner.size and (inner[0] > 200).all() and (inner[2] < 50).all()
        ring = canvas[0, int(y1) - 3:int(y2) + 3, int(x1) - 3:int(x2) + 3].astype(int)
        assert (ring < 200).sum() > 0  # the ring around the box is not red


def test_clips_are_a_function_of_seed_step_rank(split):
    sequences = load_sequences(split)
    assert [s.frames.video.id for s in sequences] == ["walking/clip00_0", "walking/clip01_0"]
    a = sample_batch(sequences, (128, 96), 2, 2, Augment((0.5, 1.5), 0.5), seed=1, step=7)
    b = sample_batch(sequences, (128, 96), 2, 2, Augment((0.5, 1.5), 0.5), seed=1, step=7)
    c = sample_batch(sequences, (128, 96), 2, 2, Augment((0.5, 1.5), 0.5), seed=1, step=7, rank=1)
    assert np.array_equal(a[0], b[0]) and all(np.array_equal(x, y) for x, y in zip(a[2], b[2], strict=True))
    assert not np.array_equal(a[0], c[0])
    assert a[0].shape == (4, 3, 96, 128) and a[0].dtype == np.uint8 and a[1].shape == (4, 2)


def weights(path) -> dict:
    return load_checkpoint(path).data["weights"]["detector"]


def test_killed_and_resumed_equals_uninterrupted(split, tmp_path):
    whole = tmp_path / "whole.pt"
    train(str(split), MICRO, CONFIG, Run(output=str(whole), device="cpu"))

    cut = tmp_path / "cut.pt"

    def kill(record):
        if record["step"] == 3:  # after the step-2 checkpoint, before the step-4 one
            raise KeyboardInterrupt

    with pytest.raises(KeyboardInterrupt):
        train(str(split), MICRO, CONFIG, Run(output=str(cut), device="cpu", on_step=kill))
    assert load_checkpoint(cut).data["training"]["step"] == 2
    train(str(split), MICRO, CONFIG, Run(output=str(cut), device="cpu", resume=True))

    a, b = load_checkpoint(whole).data, load_checkpoint(cut).data
    assert b["training"]["step"] == 4
    for k in a["weights"]["detector"]:
        assert torch.equal(a["weights"]["detector"][k], b["weights"]["detector"][k]), k
    sa, sb = a["training"]["optimizer"]["state"], b["training"]["optimizer"]["state"]
    assert sa.keys() == sb.keys()
    for k in sa:
        assert all(torch.equal(sa[k][n], sb[k][n]) for n in sa[k]), k
    # the log of the resumed run has each step once, as the uninterrupted one
    steps = [orjson.loads(line)["step"] for line in (tmp_path / "cut.log.jsonl").read_bytes().splitlines()]
    assert steps == [1, 2, 3, 4]
    history = b["provenance"]["history"]
    assert [(h["start_step"], h["end_step"]) for h in history] == [(0, 2), (2, 4)]


def test_detect_stage_leaves_box_features_untrained(split, tmp_path):
    torch.manual_seed(CONFIG.seed)
    from smot.models.detector import Detector

    initial = Detector(MICRO).state_dict()
    train(str(split), MICRO, dataclasses.replace(CONFIG, steps=2), Run(output=str(tmp_path / "m.pt"), device="cpu"))
    trained = weights(tmp_path / "m.pt")
    assert torch.equal(trained["box_head.fc1.weight"], initial["box_head.fc1.weight"])
    assert not torch.equal(trained["head.heatmap.weight"], initial["head.heatmap.weight"])


def test_resume_errors(split, tmp_path):
    with pytest.raises(InputError, match="does not exist yet"):
        train(str(split), MICRO, CONFIG, Run(output=str(tmp_path / "none.pt"), resume=True))
    train(str(split), MICRO, dataclasses.replace(CONFIG, steps=1), Run(output=str(tmp_path / "m.pt"), device="cpu"))
    with pytest.raises(UsageError, match="lr cannot change"):
        train(str(split), MICRO, CONFIG, Run(output=str(tmp_path / "m.pt"), resume=True, resume_overrides={"lr": 1.0}))
    # a setting given again with the value the run already has is no change (make demo repeats its --set)
    train(str(split), MICRO, CONFIG, Run(output=str(tmp_path / "m.pt"), device="cpu", resume=True,
                                         resume_overrides={"lr": CONFIG.lr, "steps": 2}))
    assert load_checkpoint(tmp_path / "m.pt").data["training"]["step"] == 2


def micro_sets() -> list[str]:
    """--set options that turn the tiny preset into the MICRO test config."""
    from smot.models.detector import PRESETS

    tiny = PRESETS["tiny"].to_dict()
    out = []
    for key, value in MICRO.to_dict().items():
        if tiny[key] != value:
            out += ["--set", f"{key}={orjson.dumps(value).decode()}"]
    return out


def test_train_command(split, tmp_path):
    out = tmp_path / "cli.pt"
    result = run(["train", split, "--stage", "detect", "--preset", "tiny", "-o", out, "--device", "cpu",
                  *micro_sets(), "--set", "steps=2", "--set", "train.log_every=1", "--set", "clip_frames=1"])
    assert result.code == 0, result.stderr
    checkpoint = load_checkpoint(out, "detector")
    assert checkpoint.config["detector"]["input_size"] == [128, 96]
    assert checkpoint.data["training"]["config"]["clip_frames"] == 1
    records = [orjson.loads(line) for line in (tmp_path / "cli.log.jsonl").read_bytes().splitlines()]
    assert [r["step"] for r in records] == [1, 2]
    assert {"lr", "loss", "heatmap_pos", "heatmap_neg", "box", "grad_norm"} <= records[0].keys()
    assert result.stdout == b""


@pytest.mark.parametrize("args,message", [
    (["--set", "nope=1"], "--set nope: no such setting"),
    (["--set", "steps=ten"], "--set steps: expected a value like"),
    (["--set", "input_size=[100,100]"], "both sides must be multiples of 64"),
    (["--stage", "caption"], "--stage must be one of detect"),
    (["--preset", "huge"], "--preset must be one of tiny, paper"),
])
def test_train_command_bad_options(split, tmp_path, args, message):
    result = run(["train", split, "-o", tmp_path / "x.pt", *args])
    assert result.code == 2 and message in result.stderr, result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_train_command_bad_data(split, tmp_path):
    result = run(["train", tmp_path / "missing", "-o", tmp_path / "x.pt"])
    assert result.code == 3 and "is not a folder" in result.stderr
    (tmp_path / "bad.pth").write_bytes(b"not torch")
    result = run(["train", split, "-o", tmp_path / "x.pt", "--init-backbone", tmp_path / "bad.pth"])
    assert result.code == 3 and "bad.pth is not a torch state dict" in result.stderr, result.stderr
    assert not (tmp_path / "x.pt").exists()


def test_init_backbone_checks_shapes(split, tmp_path):
    from smot.models.dla import DLA

    torch.save(DLA().state_dict(), tmp_path / "dla34.pth")  # DLA-34 widths into the narrow MICRO backbone
    with pytest.raises(InputError, match="does not fit the"):
        train(str(split), MICRO, CONFIG, Run(output=str(tmp_path / "m.pt"), init_backbone=str(tmp_path / "dla34.pth")))
    torch.manual_seed(3)
    source = DLA(MICRO.dla_channels)
    for p in source.parameters():
        p.data.normal_()
    torch.save({"state_dict": {f"module.{k}": v for k, v in source.state_dict().items()}}, tmp_path / "ok.pth")
    train(str(split), MICRO, dataclasses.replace(CONFIG, steps=1, lr=0.0),
          Run(output=str(tmp_path / "m.pt"), device="cpu", init_backbone=str(tmp_path / "ok.pth")))
    checkpoint = load_checkpoint(tmp_path / "m.pt")
    # lr 0: the backbone convolutions are the loaded ones (BatchNorm running stats move in training)
    assert torch.equal(checkpoint.data["weights"]["detector"]["backbone.base_layer.0.weight"],
                       source.state_dict()["base_layer.0.weight"])
    assert checkpoint.data["provenance"]["init_backbone"]["tensors"] == len(source.state_dict())


def _ddp_worker(rank: int, split: str, folder: str, port: int) -> None:
    import os

    os.environ.update({"RANK": str(rank), "WORLD_SIZE": "2", "LOCAL_RANK": "0", "MASTER_ADDR": "127.0.0.1",
                       "MASTER_PORT": str(port)})
    torch.set_num_threads(1)

    def keep(model):
        torch.save({k: v.detach().clone() for k, v in model.named_parameters()}, f"{folder}/rank{rank}.pt")

    train(split, MICRO, dataclasses.replace(CONFIG, steps=3), Run(output=f"{folder}/ddp.pt", device="cpu",
                                                                  on_finish=keep))


@pytest.mark.slow  # two processes that each import torch: about 15 s
def test_two_process_gloo_ddp_keeps_replicas_identical(split, tmp_path):
    import socket

    import torch.multiprocessing as mp

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    mp.spawn(_ddp_worker, args=(str(split), str(tmp_path), port), nprocs=2, join=True)
    a, b = torch.load(tmp_path / "rank0.pt"), torch.load(tmp_path / "rank1.pt")
    assert a.keys() == b.keys()
    for k in a:
        assert torch.equal(a[k], b[k]), k
    checkpoint = load_checkpoint(tmp_path / "ddp.pt")  # written by rank 0 only
    assert checkpoint.data["training"]["world_size"] == 2
    for k, v in a.items():
        assert torch.equal(checkpoint.data["weights"]["detector"][k], v), k


def test_rank_and_world_from_torchrun_or_slurm():
    from smot.training.distributed import Dist, first_host, from_environment

    assert from_environment({}) == Dist(0, 1, 0)
    assert from_environment({"RANK": "3", "WORLD_SIZE": "8", "LOCAL_RANK": "1"}) == Dist(3, 8, 1)
    env = {"SLURM_PROCID": "5", "SLURM_NTASKS": "8", "SLURM_LOCALID": "1", "SLURM_JOB_NODELIST": "gpu[03-04,7]",
           "SLURM_JOB_ID": "1234"}
    assert from_environment(env) == Dist(5, 8, 1)
    # torch.distributed's env:// rendezvous reads these
    assert (env["RANK"], env["WORLD_SIZE"], env["LOCAL_RANK"]) == ("5", "8", "1")
    assert (env["MASTER_ADDR"], env["MASTER_PORT"]) == ("gpu03", str(29500 + 234))
    assert from_environment({"SLURM_PROCID": "0", "SLURM_NTASKS": "1"}) == Dist()  # one task: no group
    assert first_host("node7") == "node7" and first_host("a[1-2],b3") == "a1"
    with pytest.raises(UsageError, match="bad distributed environment"):
        from_environment({"RANK": "x", "WORLD_SIZE": "2"})
