"""Detect people in frames with the SMOTer detector: boxes, scores, box features, frame context.

Reads a video file (OpenCV), an image folder, a BenSMOT sequence folder or a BenSMOT split; writes
smot.detections (formats/detections.md), one frame record per frame as soon as its batch is done.
Boxes are xyxy in source pixels, clipped to the frame; `features` (n, 1024) float16 are the box
features (4 tokens of 256) and `context` (C, 256) float16 the frame's P3 map pooled to 16x16
(and, with the detector's `context_rgb`, its pixels pooled the same way: three more tokens).

tau_p (`--score-threshold`) keeps proposals whose score sqrt(sigmoid(heatmap)) is strictly greater;
the paper uses 0.3 (Table 5), the official code 0.55 at test time (reference §4.2).
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Annotated

import numpy as np
import typer

from smot.clikit import Encoding, Output, Shard, parse_shard, progress
from smot.errors import UsageError
from smot.records import Frame, Record, Video

if TYPE_CHECKING:
    from smot.media import FrameSource

log = logging.getLogger("smot")


@dataclass(frozen=True)
class DetectConfig:
    score_threshold: float = 0.3  # tau_p (paper); the official code tests at 0.55
    batch_size: int = 8  # frames per forward pass
    device: str = "auto"  # auto: the first CUDA device if there is one, else cpu
    features: bool = True  # box features and frame context in the output
    shard: tuple[int, int] = (0, 1)  # (index, count): videos whose position % count == index


# --------------------------------------------------------------------------------------------
# the core


def detect(inputs: Iterable[FrameSource], model, config: DetectConfig) -> Iterator[Record]:
    """For each video: its video record, then one detections frame record per frame, in order.

    `model` is a smot.models.detector.Detector (eval mode) on the device to run on.
    """
    import torch

    from smot.training.data import boxes_to_source, fit_transform, letterbox

    canvas = model.config.input_size
    device = next(model.parameters()).device
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def run(video: Video, batch: list[tuple[int, np.ndarray]]) -> Iterator[Frame]:
        transforms = [fit_transform(image.shape[1], image.shape[0], canvas) for _, image in batch]
        x = torch.from_numpy(np.stack([letterbox(image, tr, canvas)
                                       for (_, image), tr in zip(batch, transforms, strict=True)]))
        sizes = torch.tensor([(tr.valid[1], tr.valid[0]) for tr in transforms])
        with autocast:
            found = model.detect(x.to(device, non_blocking=True), sizes.to(device), config.score_threshold,
                                 features=config.features)
        for (t, image), tr, result in zip(batch, transforms, found, strict=True):
            boxes = boxes_to_source(result["boxes"].cpu().double().numpy(), tr, image.shape[1], image.shape[0])
            frame = Frame(video=video.id, frame=t, boxes=boxes, scores=result["scores"].cpu().double().numpy())
            if config.features:
                frame.features = result["features"].cpu().numpy().astype(np.float16)  # (n, 1024)
                frame.context = result["context"].cpu().numpy().astype(np.float16)  # (C, 256)
            yield frame

    for source in inputs:
        yield source.video
        batch: list[tuple[int, np.ndarray]] = []
        for t, image in enumerate(source, 1):
            batch.append((t, image))
            if len(batch) == config.batch_size:
                yield from run(source.video, batch)
                batch = []
        if batch:
            yield from run(source.video, batch)


def shard(inputs: list[FrameSource], index: int, count: int) -> list[FrameSource]:
    """Shard `index` of `count`: the inputs at positions index, index + count, ..."""
    return inputs[index::count]


# --------------------------------------------------------------------------------------------
# the command


def command(
    source: Annotated[str, typer.Argument(
        help="A video file, an image folder, a BenSMOT sequence folder or a BenSMOT split.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="Model checkpoint from `smot train`.",
                                       show_default=False)],
    output: Output = "-",
    score_threshold: Annotated[float, typer.Option(
        "--score-threshold", help="tau_p: keep boxes scoring above it (paper 0.3; official code 0.55).")] = 0.3,
    batch_size: Annotated[int, typer.Option(help="Frames per forward pass.")] = 8,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N.")] = "auto",
    features: Annotated[bool, typer.Option(
        "--features/--no-features", help="Write box features and frame context (needed by fuse, caption, "
                                         "interact and DeepSORT).")] = True,
    shard_: Shard = None,
    encoding: Encoding = None,
) -> None:
    """Detect people in a video, an image folder or a BenSMOT dataset (-> detections).

    \b
    smot detect clip.mp4 --model tiny.pt -o clip.dets.smot
    smot detect data/synth/test --model tiny.pt | smot associate | smot score - --gt data/synth/test
    smot detect data/BenSMOT/test --model smoter.pt --score-threshold 0.55 --shard 0/4 -o part0.smot
    """
    from smot.media import open_frames
    from smot.models.checkpoint import load_detector
    from smot.streams import StreamWriter, make_header
    from smot.training.loop import pick_device

    if not 0 <= score_threshold < 1:
        raise UsageError(f"--score-threshold must be in [0, 1), got {score_threshold}")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
    index, count = parse_shard(shard_)
    config = DetectConfig(score_threshold, batch_size, device, features, (index, count))
    inputs = shard(open_frames(source), index, count)
    detector, checkpoint = load_detector(model, pick_device(device))
    params = {"score_threshold": score_threshold, "input_size": list(detector.config.input_size),
              "features": features, "batch_size": batch_size, "device": device, "shard": f"{index}/{count}",
              "source": source}
    header = make_header("smot.detections", "smot detect", params, model=checkpoint.sha256)
    frames = sum(i.video.frames for i in inputs)
    with StreamWriter(output, header, encoding) as writer:
        for record in progress(detect(inputs, detector, config), frames + len(inputs), "detect"):
            writer.write(record)
