"""The semantic half of SMOTer's training (paper §4.4; reference §4.9-4.12).

One semantic step takes one clip of a training video:

1. the tracking pass, without gradients and with the detector in eval mode: every frame of the
   clip through the detector (proposals above `threshold`), RoIAlign of each box on P3 and the
   frame's context tokens; then association (BYTE by default) over the whole clip, in source pixels
   as at inference. In two-stage mode the tracks come from a tracker's stream instead (`--tracks`),
   and only RoIAlign runs at their boxes;
2. targets: each trajectory matched to the captioned ground truth (targets.py), which gives its
   caption and the interaction labels of each ordered pair; the video caption is the clip's;
3. with gradients: the box-feature head over the pooled RoIs of the trajectories, then fusion and
   the three heads' losses.

Step 3 differs from the official code on purpose: there the box-feature head is a fixed random
projection, never trained (reference §4.12); here the semantic losses train it (so the per-box
1024-d feature learns what captions need: colours, clothes, pose), unless `train_box_head` is off.
The detector's backbone and neck still learn from the detection loss only, as in the official code.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from dataclasses import dataclass, fields, replace

import numpy as np
import torch
from torch import nn

from smot.records import Caption, Frame, Interaction, Summary, Video


@dataclass
class SemanticSequence:
    """A training video with everything the semantic losses need."""

    frames: object  # smot.media.FrameSource: .video, .read(frame) -> BGR uint8
    truth: list[Frame]  # ground-truth frames 1..N (ids; scores = consider flag), source pixels
    captions: list[Caption]
    summary: Summary | None
    interactions: list[Interaction]
    tracks: dict[int, Frame] | None = None  # two-stage mode: a tracker's frames by number

    @property
    def video(self) -> Video:
        return self.frames.video  # type: ignore[attr-defined]


def load_semantic_sequences(root: str) -> list[SemanticSequence]:
    """Every sequence of a BenSMOT-layout split with its frames and semantic ground truth."""
    from smot.datasets.bensmot import find_sequences, read_sequence
    from smot.errors import InputError
    from smot.media import from_video_record

    out = []
    for video_id, folder in find_sequences(root):
        records = read_sequence(folder, video_id)
        video = next(r for r in records if isinstance(r, Video))
        if not video.images:
            raise InputError(f"sequence {video_id} has no images", str(folder))
        summaries = [r for r in records if isinstance(r, Summary)]
        out.append(SemanticSequence(
            frames=from_video_record(video),
            truth=[r for r in records if isinstance(r, Frame)],
            captions=[r for r in records if isinstance(r, Caption)],
            summary=summaries[0] if summaries else None,
            interactions=[r for r in records if isinstance(r, Interaction)]))
    return out


def attach_tracks(sequences: list[SemanticSequence], records: Iterable) -> int:
    """Two-stage mode: give each sequence the frames of its video in a tracks stream; returns how
    many sequences got tracks. Features in the stream are dropped (they are recomputed)."""
    by_id = {s.video.id: s for s in sequences}
    found = 0
    current = None
    for record in records:
        if isinstance(record, Video):
            current = by_id.get(record.id)
            if current is not None:
                current.tracks = {}
                found += 1
        elif isinstance(record, Frame) and current is not None and record.video == current.video.id:
            current.tracks[record.frame] = Frame(video=record.video, frame=record.frame, boxes=record.boxes,
                                                 scores=record.scores, ids=record.ids)
    return found


def vocabulary_texts(sequences: Iterable[SemanticSequence]) -> list[str]:
    """Every caption and video caption of the training data, in dataset order (tokenizer input)."""
    texts = []
    for s in sequences:
        texts += [c.text for c in s.captions]
        if s.summary is not None:
            texts.append(s.summary.text)
    return texts


def predicate_vocabulary(sequences: Iterable[SemanticSequence]) -> tuple[str, ...]:
    """The interaction labels of the training data, sorted."""
    return tuple(sorted({r.predicate for s in sequences for r in s.interactions}))


def clip_frames(length: int, max_frames: int, rng: np.random.Generator) -> tuple[list[int], int]:
    """(1-based frame numbers, stride): the whole video when it fits, else every stride-th frame
    from a random offset, stride = ceil(length / max_frames), so motion between the kept frames
    stays small enough for the tracker."""
    stride = max(1, math.ceil(length / max_frames))
    offset = int(rng.integers(stride)) if stride > 1 else 0
    frames = list(range(1 + offset, length + 1, stride))[:max_frames]
    return frames, stride


# --------------------------------------------------------------------------------------------
# step 1: the tracking pass


@dataclass
class ClipPass:
    """What the tracking pass keeps of a clip, per kept frame (in order)."""

    numbers: list[int]  # frame numbers in the video
    tracks: list[Frame]  # tracks (ids, source-pixel boxes, det_index into `pooled`)
    pooled: list[torch.Tensor]  # per frame (k, inputs) box-head inputs of its boxes (Detector.pool_boxes)
    context: torch.Tensor  # (N, C, g*g) context tokens


@torch.no_grad()
def tracking_pass(detector, seq: SemanticSequence, numbers: list[int], threshold: float, tracker: str,
                  stride: int, chunk: int, device: torch.device) -> ClipPass:
    """Detect (or take the given tracks), pool and associate one clip; detector in eval mode."""
    from smot.models.centernet import decode
    from smot.trackers import make_tracker
    from smot.training.data import boxes_to_source, fit_transform, letterbox

    c = detector.config
    was_training = detector.training
    detector.eval()
    video = seq.video
    canvas = c.input_size
    pooled, context, detections = [], [], []
    transform = None
    for start in range(0, len(numbers), chunk):
        part = numbers[start: start + chunk]
        images = []
        for n in part:
            image = seq.frames.read(n)  # type: ignore[attr-defined]
            if transform is None:
                transform = fit_transform(image.shape[1], image.shape[0], canvas)
            images.append(letterbox(image, transform, canvas))
        images_t = torch.from_numpy(np.stack(images)).to(device)
        sizes = torch.tensor([[transform.valid[1], transform.valid[0]]] * len(part), device=device)
        feats = detector.pyramid(images_t, sizes)
        p3 = feats[0].float()
        if seq.tracks is None:
            heatmaps, ltrbs = detector.head(feats)
            found = decode(heatmaps, ltrbs, c.strides, min_score=threshold, pre_nms_topk=c.pre_nms_topk,
                           nms_iou=c.nms_iou, post_nms_topk=c.post_nms_topk)
        else:
            found = []
            for n in part:
                given = seq.tracks.get(n)
                boxes = given.boxes if given is not None else np.zeros((0, 4))
                scale = np.array([transform.sx, transform.sy] * 2)
                shift = np.array([transform.ox, transform.oy] * 2)
                found.append((torch.tensor(boxes * scale - shift, dtype=torch.float32, device=device),
                              torch.ones(len(boxes), device=device)))
        for b, (boxes, scores) in enumerate(found):
            pooled.append(detector.pool_boxes(p3[b], images_t[b], boxes.float()))
            context.append(detector.frame_context(p3[b], images_t[b], (transform.valid[1], transform.valid[0])))
            detections.append((boxes.float().cpu().numpy().astype(np.float64), scores.float().cpu().numpy()))
    detector.train(was_training)

    tracks = []
    if seq.tracks is None:
        fps = (video.fps or 30.0) / stride
        tracking = make_tracker(tracker, fps=fps)
        for i, (n, (boxes, scores)) in enumerate(zip(numbers, detections, strict=True)):
            source = boxes_to_source(boxes, transform, video.width or 1, video.height or 1) if len(boxes) else boxes
            frame = Frame(video=video.id, frame=i + 1, boxes=source.reshape(-1, 4), scores=scores.astype(np.float64))
            out = tracking.update(frame)
            tracks.append(Frame(video=video.id, frame=n, boxes=out.boxes, scores=out.scores, ids=out.ids,
                                det_index=out.det_index))
    else:
        for n in numbers:
            given = seq.tracks.get(n) or Frame.empty(video.id, n, tracks=True)
            tracks.append(Frame(video=video.id, frame=n, boxes=given.boxes, scores=given.scores, ids=given.ids,
                                det_index=np.arange(given.n)))
    return ClipPass(numbers, tracks, pooled, torch.stack(context) if context else torch.zeros(0))


# --------------------------------------------------------------------------------------------
# step 2: targets


@dataclass
class SemanticBatch:
    """One clip's inputs (no gradients) and targets for the semantic losses."""

    pooled: list[torch.Tensor]  # per trajectory (L_j, inputs), in order of first appearance
    geometry: list[torch.Tensor]  # per trajectory (L_j, GEOMETRY): where its boxes are (box_geometry)
    context: torch.Tensor  # (N, C, D)
    captions: list[torch.Tensor | None]  # token ids per trajectory
    summary: torch.Tensor | None
    pairs: list[tuple[int, int]]
    labels: torch.Tensor  # (len(pairs), predicates)
    matched: int = 0  # trajectories matched to ground truth
    trajectories: int = 0


def make_batch(clip: ClipPass, seq: SemanticSequence, semantics, min_track_frames: int, negatives: bool,
               match_threshold: float = 0.2) -> SemanticBatch:
    """Trajectories of the clip (at least `min_track_frames` boxes), matched to the ground truth."""
    from smot.models.semantics import box_geometry
    from smot.training.targets import match_trajectories, semantic_targets

    rows: dict[int, list[torch.Tensor]] = {}
    where: dict[int, tuple[list[int], list[np.ndarray]]] = {}
    for frame, pooled in zip(clip.tracks, clip.pooled, strict=True):
        for i in np.lexsort((frame.ids,)):
            rows.setdefault(int(frame.ids[i]), []).append(pooled[int(frame.det_index[i])])
            numbers, boxes = where.setdefault(int(frame.ids[i]), ([], []))
            numbers.append(frame.frame)
            boxes.append(frame.boxes[i])
    order = [t for t, r in rows.items() if len(r) >= min_track_frames]
    kept = set(order)
    tracks = [f.select(np.isin(f.ids, list(kept))) for f in clip.tracks]
    captioned = [c.track for c in seq.captions]
    truth = {f.frame: f.select(f.scores != 0) for f in seq.truth}
    matches = match_trajectories(tracks, [truth.get(n) for n in clip.numbers], captioned,
                                 match_threshold)
    targets = semantic_targets(order, matches, seq.captions, seq.summary, seq.interactions,
                               semantics.config.predicates, negatives)
    video = seq.video
    return SemanticBatch(
        pooled=[torch.stack(rows[t]) for t in order], context=clip.context,
        geometry=[box_geometry(where[t][0], np.stack(where[t][1]), video.frames, video.width or 1, video.height or 1)
                  for t in order],
        captions=[torch.tensor(semantics.encode(t)) if t is not None else None for t in targets.captions],
        summary=torch.tensor(semantics.encode(targets.summary)) if targets.summary is not None else None,
        pairs=targets.pairs, labels=torch.from_numpy(targets.labels), matched=len(matches),
        trajectories=len(order))


# --------------------------------------------------------------------------------------------
# step 3: the losses, with gradients


class SMOTer(nn.Module):
    """The detector and the semantic model as one module, so one DDP wrapper syncs every gradient.

    forward: the detection losses of an image batch (if given) and the semantic losses of one clip
    batch or several (if given; each term the mean over the clips that have it), in one dict.
    """

    def __init__(self, detector: nn.Module, semantic: nn.Module | None):
        super().__init__()
        self.detector = detector
        self.semantic = semantic

    def forward(self, images=None, sizes=None, boxes=None, reduce=None,
                batch: SemanticBatch | list[SemanticBatch] | None = None,
                train_box_head: bool = True) -> dict[str, torch.Tensor]:
        losses = {}
        if images is not None:
            losses.update(self.detector(images, sizes, boxes, reduce=reduce))
        if batch is not None and self.semantic is not None:
            per_clip = [semantic_losses(self.detector, self.semantic, b, train_box_head)
                        for b in (batch if isinstance(batch, list) else [batch])]
            for name in sorted({name for terms in per_clip for name in terms}):
                values = [terms[name] for terms in per_clip if name in terms]
                losses[name] = sum(values) / len(values)
            if not losses:  # nothing to learn from this clip: a zero that still reaches every parameter (DDP)
                losses["semantic_none"] = sum(p.sum() for p in self.semantic.parameters()) * 0.0
        return losses


def semantic_losses(detector, semantic, batch: SemanticBatch, train_box_head: bool = True) -> dict[str, torch.Tensor]:
    """Box features of the trajectories (the box head, with gradients unless frozen), fusion, heads."""
    device = next(semantic.parameters()).device
    trajectories = []
    if batch.pooled:
        lengths = [len(p) for p in batch.pooled]
        pooled = torch.cat(batch.pooled).to(device, torch.float32)
        with torch.set_grad_enabled(train_box_head and torch.is_grad_enabled()):
            features = detector.box_head(pooled)  # (sum L, box_tokens * token_dim)
        trajectories = list(features.float().split(lengths))
    context = batch.context.to(device, torch.float32) if len(batch.context) else None
    video, fused = semantic.fuse(context, trajectories, [g.to(device) for g in batch.geometry])
    def move(t: torch.Tensor | None) -> torch.Tensor | None:
        return t.to(device) if t is not None else None

    return semantic.losses(video, fused, [move(c) for c in batch.captions], move(batch.summary), batch.pairs,
                           batch.labels.to(device))


def compact(batch: SemanticBatch) -> SemanticBatch:
    """A batch to keep for replay, on the CPU: what the tracking pass pooled and the context tokens
    in float16 (half the memory; a replay buffer holds many), the rest as it is."""
    def cpu(t: torch.Tensor | None, dtype: torch.dtype | None = None) -> torch.Tensor | None:
        return t.detach().to("cpu", dtype) if t is not None else None

    return replace(batch, pooled=[cpu(p, torch.float16) for p in batch.pooled],
                   context=cpu(batch.context, torch.float16), geometry=[cpu(g) for g in batch.geometry],
                   captions=[cpu(c) for c in batch.captions], summary=cpu(batch.summary),
                   labels=cpu(batch.labels))


def batch_state(batch: SemanticBatch) -> dict:
    """A compacted batch as plain data for a checkpoint, so a resumed run can train on the clips
    that the interrupted one still held (TrainConfig.semantic_replay_buffer)."""
    return {f.name: getattr(batch, f.name) for f in fields(batch)}


def batch_from_state(state: dict) -> SemanticBatch:
    return SemanticBatch(**{**state, "pairs": [tuple(p) for p in state["pairs"]]})


# --------------------------------------------------------------------------------------------
# what the training loop calls


def build_semantics(sequences: list[SemanticSequence], detector_config, config, vocab_size: int,
                    tokenizer_dir: str | None = None):
    """The semantic model for a detector: its input sizes from the detector, the tokenizer trained on
    the training captions (or loaded from `tokenizer_dir`), the predicates of the training data."""
    from smot.models.semantics import Semantics
    from smot.models.tokenizer import load_tokenizer_dir, train_tokenizer

    tokenizer = load_tokenizer_dir(tokenizer_dir) if tokenizer_dir else \
        train_tokenizer(vocabulary_texts(sequences), vocab_size)
    config = config.replace(box_tokens=detector_config.box_tokens, box_token_dim=detector_config.token_dim,
                            context_dim=detector_config.context_grid ** 2,
                            context_tokens=detector_config.context_tokens, predicates=predicate_vocabulary(sequences))
    return Semantics.build(config, tokenizer)


def step_batch(detector, semantics, sequences: list[SemanticSequence], config, step: int, rank: int,
               device: torch.device) -> SemanticBatch:
    """The semantic batch of one process at one step: a clip of a video drawn uniformly (with
    replacement), a pure function of (seed, step, rank) like the detection batch."""
    rng = np.random.default_rng([config.seed, step, rank, 1])  # [seed, step, rank] draws the detection batch
    seq = sequences[int(rng.integers(len(sequences)))]
    numbers, stride = clip_frames(seq.video.frames, config.semantic_frames, rng)
    clip = tracking_pass(detector, seq, numbers, config.semantic_threshold, config.semantic_tracker, stride,
                         config.semantic_chunk, device)
    return make_batch(clip, seq, semantics, config.semantic_min_track, config.interaction_negatives)
