"""The detector: output shapes, targets and losses derived by hand, decoding, overfitting, checkpoints."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest
import torch
from drawn import MICRO, draw_frame, walk

from smot.errors import InputError
from smot.models.centernet import build_targets, decode, giou_loss
from smot.models.checkpoint import load_checkpoint, load_detector, save_checkpoint
from smot.models.detector import PRESETS, Detector, DetectorConfig
from smot.models.dla import DLA, imagenet_state
from smot.models.ops import box_iou
from smot.training.data import fit_transform, letterbox


def test_paper_sizes_give_official_shapes():
    # the paper preset on a small canvas: P3..P7 of 160 channels at strides 8..128, 1024-d box
    # features (4 tokens of 256) and 160 context tokens of 16 x 16 = 256 (reference §4.2, §4.4)
    config = dataclasses.replace(PRESETS["paper"], input_size=(256, 128))
    torch.manual_seed(0)
    model = Detector(config).eval()
    images = torch.randint(0, 256, (2, 3, 128, 256), dtype=torch.uint8)
    sizes = torch.tensor([[128, 256], [100, 256]])
    with torch.no_grad():
        feats = model.pyramid(images, sizes)
    assert [tuple(f.shape) for f in feats] == [(2, 160, 16, 32), (2, 160, 8, 16), (2, 160, 4, 8), (2, 160, 2, 4),
                                               (2, 160, 1, 2)]
    out = model.detect(images, sizes, score_threshold=0.0)
    for result in out:
        k = len(result["boxes"])
        assert 0 < k <= config.post_nms_topk
        assert result["boxes"].shape == (k, 4) and result["scores"].shape == (k,)
        assert result["features"].shape == (k, 1024)
        assert result["context"].shape == (160, 256)
        assert torch.all(result["scores"][:-1] >= result["scores"][1:])  # best first


def test_dla34_stages():
    # DLA-34 levels 3-5: 128, 256, 512 channels at strides 8, 16, 32
    feats = DLA()(torch.zeros(1, 3, 64, 96))
    assert [tuple(f.shape) for f in feats] == [(1, 128, 8, 12), (1, 256, 4, 6), (1, 512, 2, 3)]


def test_targets_of_one_box_by_hand():
    # One level of stride 8, a 4x4 map (locations at 4, 12, 20, 28 on each axis). Box [4, 4, 20, 28]:
    # centre (12, 16) lies in cell x=1, y=2 (location (12, 20)), flat index 2 * 4 + 1 = 9.
    box = torch.tensor([[4.0, 4.0, 20.0, 28.0]])
    heatmap, ltrb, positives = build_targets([box], [(4, 4)], [8], [(0, 1e8)], min_overlap=0.8, min_radius=4)
    assert positives.tolist() == [9]
    # area 16 * 24 = 384; delta = 0.2 / 1.8; r^2 = 2 delta^2 384 = 9.48 -> the min radius 4 gives 16.
    # location (12, 20) is 4 pixels from the centre: exp(-16 / 16) = e^-1; so is (12, 12) (index 5)
    assert heatmap[0, 9].item() == pytest.approx(math.exp(-1))
    assert heatmap[0, 5].item() == pytest.approx(math.exp(-1))
    # location (4, 4), index 0: distance^2 = 64 + 144 = 208, exp(-13) > 1e-4? no: 2.3e-6 -> 0
    assert heatmap[0, 0].item() == 0.0
    # regression: 3x3 cells around (1, 2) strictly inside the box: x = 4 and 20 touch the box sides,
    # y = 28 touches the bottom, so only (12, 12) and (12, 20) regress, ltrb / 8:
    regress = (ltrb[0].max(dim=1).values >= 0).nonzero().squeeze(1).tolist()
    assert regress == [5, 9]
    assert ltrb[0, 9].tolist() == [1.0, 2.0, 1.0, 1.0]  # (12-4, 20-4, 20-12, 28-20) / 8
    assert ltrb[0, 5].tolist() == [1.0, 1.0, 1.0, 2.0]  # (12-4, 12-4, 20-12, 28-12) / 8


def test_targets_assign_levels_by_half_diagonal():
    # half diagonals: 3-4-5 box of 30 x 40 -> 25; 90 x 120 -> 75. Ranges [0, 32] and [24, 64], [64, inf]
    boxes = torch.tensor([[0.0, 0.0, 30.0, 40.0], [0.0, 0.0, 90.0, 120.0]])
    shapes, strides = [(16, 16), (8, 8), (4, 4)], [8, 16, 32]
    _, _, positives = build_targets([boxes], shapes, strides, [(0, 32), (24, 64), (64, 1e8)], 0.8, 4)
    # box 1 centre (15, 20): level 0 cell (1, 2) -> 2*16+1 = 33; level 1 cell (0, 1) -> 256 + 8 = 264
    # box 2 centre (45, 60): level 2 cell (1, 1) -> 256 + 64 + 4 + 1 = 325
    assert sorted(positives.tolist()) == [33, 264, 325]


def test_giou_loss_by_hand():
    same = torch.tensor([[1.0, 2.0, 3.0, 4.0]])
    assert giou_loss(same, same).item() == pytest.approx(0.0, abs=1e-7)
    # pred 2x2, target 4x4 around the same point: inter 4, union 16, enclosing 16
    # iou = (4 + 1) / (16 + 1), giou = iou - 0 -> loss 1 - 5/17
    loss = giou_loss(torch.tensor([[1.0, 1, 1, 1]]), torch.tensor([[2.0, 2, 2, 2]]))
    assert loss.item() == pytest.approx(1 - 5 / 17)


def test_decode_by_hand():
    # one level, stride 8, 4x4: a peak at cell (1, 2) (location (12, 20)) with logit 0 -> score
    # sqrt(0.5); ltrb (1, 2, 1, 1) strides -> box (4, 4, 20, 28). A weaker twin one cell to the
    # right (logit -1) with the same ltrb, box (12, 4, 28, 28), overlaps it by IoU 192 / 576 = 1/3:
    # suppressed at an NMS threshold of 0.3, kept at 0.5
    logits = torch.full((1, 1, 4, 4), -10.0)
    logits[0, 0, 2, 1], logits[0, 0, 2, 2] = 0.0, -1.0
    ltrb = torch.zeros(1, 4, 4, 4)
    ltrb[0, :, 2, 1] = torch.tensor([1.0, 2.0, 1.0, 1.0])
    ltrb[0, :, 2, 2] = torch.tensor([1.0, 2.0, 1.0, 1.0])
    (boxes, scores), = decode([logits], [ltrb], [8], min_score=0.3, pre_nms_topk=10, nms_iou=0.3, post_nms_topk=5)
    assert boxes.tolist() == [[4.0, 4.0, 20.0, 28.0]]
    assert scores.tolist() == pytest.approx([math.sqrt(0.5)])
    (boxes, scores), = decode([logits], [ltrb], [8], min_score=0.3, pre_nms_topk=10, nms_iou=0.5, post_nms_topk=5)
    assert boxes.tolist() == [[4.0, 4.0, 20.0, 28.0], [12.0, 4.0, 28.0, 28.0]]
    assert scores.tolist() == pytest.approx([math.sqrt(0.5), math.sqrt(1 / (1 + math.e))])
    # tau_p is strict: a threshold equal to the best score drops it (and the twin scores less)
    (boxes, _), = decode([logits], [ltrb], [8], min_score=float(torch.tensor(0.5).sqrt()), pre_nms_topk=10,
                         nms_iou=0.3, post_nms_topk=5)
    assert len(boxes) == 0


def test_config_round_trip():
    for config in PRESETS.values():
        assert DetectorConfig.from_dict(config.to_dict()) == config
    with pytest.raises(ValueError, match="unknown detector config fields: nope"):
        DetectorConfig.from_dict({"nope": 1})


def overfit_frames(n: int = 4) -> tuple[torch.Tensor, torch.Tensor, list[torch.Tensor]]:
    W, H = MICRO.input_size
    boxes = walk(n, 2, W, H, seed=3)
    images = np.stack([letterbox(draw_frame(W, H, b, seed=t), fit_transform(W, H, (W, H)), (W, H))
                       for t, b in enumerate(boxes)])
    sizes = torch.tensor([[H, W]] * n)
    return torch.from_numpy(images), sizes, [torch.tensor(b, dtype=torch.float32) for b in boxes]


def test_micro_model_overfits_drawn_frames():
    torch.manual_seed(0)
    model = Detector(MICRO)
    images, sizes, boxes = overfit_frames()
    optimizer = torch.optim.AdamW(model.parameters(), lr=1e-2, weight_decay=0)
    for _ in range(120):  # all boxes found after about 80 steps
        losses = model(images, sizes, boxes)
        optimizer.zero_grad()
        sum(losses.values()).backward()
        optimizer.step()
    assert losses["box"].item() < 0.15
    model.eval()
    for result, truth in zip(model.detect(images, sizes, score_threshold=0.4), boxes, strict=True):
        assert len(result["boxes"]) == len(truth), result
        iou = box_iou(result["boxes"], truth)
        assert (iou.max(dim=1).values > 0.75).all(), iou


def test_checkpoint_round_trip(tmp_path):
    torch.manual_seed(1)
    model = Detector(MICRO)
    path = tmp_path / "m.pt"
    sha = save_checkpoint(path, {"config": {"detector": MICRO.to_dict()}, "weights": {"detector": model.state_dict()},
                                 "provenance": {"torch_version": torch.__version__}})
    loaded, checkpoint = load_detector(path)
    assert checkpoint.sha256 == sha
    assert loaded.config == MICRO
    for (k, a), (_, b) in zip(model.state_dict().items(), loaded.state_dict().items(), strict=True):
        assert torch.equal(a, b), k
    # a plain torch.load with weights_only=True reads it (no code runs from the file)
    raw = torch.load(path, weights_only=True)
    assert raw["format"] == "smot.model" and type(raw["provenance"]["torch_version"]) is str


def test_checkpoint_errors(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        load_checkpoint(tmp_path / "missing.pt")
    (tmp_path / "text.pt").write_text("hello")
    with pytest.raises(InputError, match="is not a smot model checkpoint"):
        load_checkpoint(tmp_path / "text.pt")
    torch.save({"a": torch.zeros(1)}, tmp_path / "other.pt")
    with pytest.raises(InputError, match="no format 'smot.model'"):
        load_checkpoint(tmp_path / "other.pt")
    save_checkpoint(tmp_path / "empty.pt", {"config": {}, "weights": {}})
    with pytest.raises(InputError, match="holds no detector"):
        load_checkpoint(tmp_path / "empty.pt", "detector")
    with pytest.raises(TypeError, match="cannot go into a checkpoint"):
        save_checkpoint(tmp_path / "bad.pt", {"config": {"x": object()}})
    assert not (tmp_path / "bad.pt").exists()


def test_imagenet_weights_in_official_and_timm_names():
    torch.manual_seed(2)
    source = DLA()
    for p in source.parameters():
        p.data.normal_()
    timm = {**source.state_dict(), "fc.weight": torch.zeros(1000, 512, 1, 1), "fc.bias": torch.zeros(1000)}
    # the official code also holds projections of the two-level trees that it never uses
    official = {f"module.{k}": v for k, v in timm.items()}
    official.update({"level3.project.0.weight": torch.zeros(128, 64, 1, 1), "level3.project.1.weight": torch.ones(128),
                     "level4.project.0.weight": torch.zeros(256, 128, 1, 1)})
    for state in (timm, {"state_dict": official}):
        target = DLA()
        weights, problems = imagenet_state(state, target)
        assert problems == []
        target.load_state_dict(weights, strict=True)
        for k, v in source.state_dict().items():
            assert torch.equal(target.state_dict()[k], v), k
    narrow = DLA((8, 16, 24, 48, 96, 128))
    _, problems = imagenet_state(timm, narrow)
    assert problems and problems[0].startswith("shape of base_layer.0.weight: (16, 3, 7, 7), expected (8, 3, 7, 7)")


def test_box_rgb_adds_each_boxs_own_normalised_pixels():
    """`box_rgb`: after the P3 samples, RoIAlign of the image itself, normalised like the backbone's
    input; on a box inside a flat-coloured patch every sample is that colour."""
    from smot.models.ops import roi_align

    config = dataclasses.replace(MICRO, box_rgb=True)
    torch.manual_seed(0)
    detector = Detector(config).eval()
    image = torch.zeros(3, 96, 128, dtype=torch.uint8)
    image[:, 20:60, 30:70] = torch.tensor([200, 100, 50], dtype=torch.uint8)[:, None, None]
    stride = config.strides[0]
    p3 = torch.randn(config.neck_channels, 96 // stride, 128 // stride)
    boxes = torch.tensor([[32.0, 22.0, 68.0, 58.0]])
    pooled = detector.pool_boxes(p3, image, boxes)
    cells = config.roi_size ** 2
    assert pooled.shape == (1, (config.neck_channels + 3) * cells)
    torch.testing.assert_close(pooled[0, : config.neck_channels * cells],
                               roi_align(p3, boxes, config.roi_size, 1.0 / stride, config.roi_sampling).flatten())
    mean, std = torch.tensor(config.pixel_mean), torch.tensor(config.pixel_std)
    expected = ((torch.tensor([200.0, 100.0, 50.0]) - mean) / std)[:, None].expand(3, cells)
    torch.testing.assert_close(pooled[0, config.neck_channels * cells:].view(3, cells), expected)
    assert detector.box_head(pooled).shape == (1, config.box_tokens * config.token_dim)
    # without it, P3 only: the official head's inputs
    assert Detector(MICRO).pool_boxes(p3, image, boxes).shape == (1, config.neck_channels * cells)


def test_box_rgb_token_reads_the_pixels_only_and_the_others_p3_only():
    """`box_rgb`: the last token is a Linear of the pixel inputs alone, the others the official
    FC-ReLU-FC-ReLU of P3 alone; changing one part of the inputs changes only its tokens."""
    config = dataclasses.replace(MICRO, box_rgb=True)
    torch.manual_seed(0)
    head = Detector(config).box_head
    p3_inputs = config.neck_channels * config.roi_size ** 2
    pooled = torch.randn(3, p3_inputs + 3 * config.roi_size ** 2)
    out = head(pooled)
    d = config.token_dim
    assert out.shape == (3, config.box_tokens * d)
    torch.testing.assert_close(out[:, -d:], pooled[:, p3_inputs:] @ head.rgb.weight.T + head.rgb.bias)
    expected = torch.relu(head.fc2(torch.relu(head.fc1(pooled[:, :p3_inputs]))))
    torch.testing.assert_close(out[:, :-d], expected)
    other = pooled.clone()
    other[:, p3_inputs:] += 1.0
    changed = head(other)
    torch.testing.assert_close(changed[:, :-d], out[:, :-d])
    assert not torch.allclose(changed[:, -d:], out[:, -d:])
    with pytest.raises(ValueError, match="box_tokens >= 2"):
        Detector(dataclasses.replace(config, box_tokens=1))


def test_context_rgb_adds_the_frames_pooled_normalised_pixels():
    """`context_rgb`: after one token per P3 channel (the valid part pooled to g x g), the frame's
    R, G and B over its valid part pooled the same way and normalised like the backbone's input.
    The left half of the valid part is one colour and the right half another, so each grid cell
    is one of the two colours; the letterbox padding right of the valid part is never read."""
    import torch.nn.functional as F

    config = dataclasses.replace(MICRO, context_rgb=True, context_grid=4)
    detector = Detector(config).eval()
    assert config.context_tokens == config.neck_channels + 3
    stride = config.strides[0]
    image = torch.zeros(3, 64, 128, dtype=torch.uint8)
    image[:, :, :48] = torch.tensor([200, 100, 50], dtype=torch.uint8)[:, None, None]
    image[:, :, 48:96] = torch.tensor([20, 40, 60], dtype=torch.uint8)[:, None, None]
    image[:, :, 96:] = 255  # padding beyond the valid width of 96
    torch.manual_seed(0)
    p3 = torch.randn(config.neck_channels, 64 // stride, 128 // stride)
    context = detector.frame_context(p3, image, (64, 96))
    assert context.shape == (config.neck_channels + 3, 16)
    torch.testing.assert_close(context[: config.neck_channels],
                               F.adaptive_avg_pool2d(p3[:, :, : 96 // stride], 4).flatten(1))
    mean, std = torch.tensor(config.pixel_mean), torch.tensor(config.pixel_std)
    left = (torch.tensor([200.0, 100.0, 50.0]) - mean) / std
    right = (torch.tensor([20.0, 40.0, 60.0]) - mean) / std
    expected = torch.stack([left, left, right, right], 1)[:, None, :].expand(3, 4, 4).reshape(3, 16)
    torch.testing.assert_close(context[config.neck_channels:], expected)
    # without it, P3 only: the official context
    assert Detector(MICRO).frame_context(p3, image, (64, 96)).shape == (config.neck_channels, 16)
    assert MICRO.context_tokens == MICRO.neck_channels


def test_running_standardiser_by_hand():
    """The first batch sets mean and mean square; later ones move them by max(1/batches, momentum);
    training and evaluation both divide by the running statistics, never the batch's own."""
    from smot.models.detector import RunningStandardiser

    norm = RunningStandardiser(2, momentum=0.25, eps=0.0)
    a = torch.tensor([[1.0, 10.0], [3.0, 10.0]])
    # batch 1 (weight 1): mean (2, 10), mean square (5, 100), std (1, 0)
    out = norm(a)
    torch.testing.assert_close(norm.mean, torch.tensor([2.0, 10.0]))
    torch.testing.assert_close(out[:, 0], torch.tensor([-1.0, 1.0]))
    b = torch.tensor([[6.0, 14.0], [6.0, 14.0]])
    # batch 2 (weight 1/2): mean (4, 12), mean square ((5 + 36) / 2, (100 + 196) / 2) = (20.5, 148)
    out = norm(b)
    torch.testing.assert_close(norm.mean, torch.tensor([4.0, 12.0]))
    std = torch.tensor([20.5 - 16.0, 148.0 - 144.0]).sqrt()
    torch.testing.assert_close(out, (b - torch.tensor([4.0, 12.0])) / std)  # not the batch's own (std 0)
    # batches 3 and 4: weights 1/3, then the momentum (1/4 = 0.25 is not below it; 1/5 would be)
    for _ in range(2):
        norm(b)
    assert int(norm.batches) == 4
    mean = torch.tensor([4.0, 12.0])
    for w in (1 / 3, 0.25):
        mean = mean + w * (torch.tensor([6.0, 14.0]) - mean)
    torch.testing.assert_close(norm.mean, mean)
    norm(b)
    mean = mean + 0.25 * (torch.tensor([6.0, 14.0]) - mean)  # max(1/5, 0.25)
    torch.testing.assert_close(norm.mean, mean)
    # evaluation: statistics frozen, same formula
    norm.eval()
    before = norm.mean.clone()
    std = (norm.square - norm.mean ** 2).sqrt()
    torch.testing.assert_close(norm(a), (a - before) / std)
    torch.testing.assert_close(norm.mean, before)
    assert set(norm.state_dict()) == {"mean", "square", "batches"}  # checkpointed with the detector
