"""Detect people in frames with the SMOTer detector: boxes, scores, box features, frame context.

Reads a video file (OpenCV), an image folder, a BenSMOT sequence folder or a BenSMOT split; writes
smot.detections (formats/detections.md), one frame record per frame as soon as its batch is done.
Boxes are xyxy in source pixels, clipped to the frame; `features` (n, 1024) float16 are the box
features (4 tokens of 256) and `context` (C, 256) float16 the frame's P3 map pooled to 16x16.

tau_p (`--score-threshold`) keeps proposals whose score sqrt(sigmoid(heatmap)) is strictly greater;
the paper uses 0.3 (Table 5), the official code 0.55 at test time (reference §4.2).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from smot.clikit import Encoding, Output, Shard, parse_shard, progress
from smot.errors import InputError, UsageError
from smot.records import Frame, Record, Video

log = logging.getLogger("smot")

VIDEO_SUFFIXES = (".mp4", ".avi", ".mkv", ".mov", ".webm", ".m4v", ".mpg", ".mpeg", ".wmv", ".flv", ".ts")


@dataclass(frozen=True)
class DetectConfig:
    score_threshold: float = 0.3  # tau_p (paper); the official code tests at 0.55
    batch_size: int = 8  # frames per forward pass
    device: str = "auto"  # auto: the first CUDA device if there is one, else cpu
    features: bool = True  # box features and frame context in the output
    shard: tuple[int, int] = (0, 1)  # (index, count): videos whose position % count == index


@dataclass
class VideoInput:
    """One video of the input: its record, and its frames as BGR uint8 arrays on demand."""

    video: Video
    read: Callable[[], Iterator[np.ndarray]]


# --------------------------------------------------------------------------------------------
# inputs


def find_inputs(path: str) -> list[VideoInput]:
    """The videos of INPUT: a video file, an image folder, a BenSMOT sequence or split."""
    from smot.datasets import bensmot

    p = Path(path)
    if not p.exists():
        raise InputError(f"cannot read {path}: no such file or folder")
    if p.is_file():
        if p.suffix.lower() in bensmot.IMAGE_SUFFIXES:
            return [image_folder_input(p.parent, [p.name], p.stem)]
        return [video_file_input(p)]
    if bensmot.is_sequence(p):
        (video_id, folder), = bensmot.find_sequences(p)
        return [sequence_input(folder, video_id)]
    names = bensmot.list_images(p)
    if names:
        return [image_folder_input(p, names, p.resolve().name)]
    return [sequence_input(folder, video_id) for video_id, folder in bensmot.find_sequences(p)]


def sequence_input(folder: Path, video_id: str) -> VideoInput:
    from smot.datasets import bensmot

    imgs = folder / "imgs"
    names = bensmot.list_images(imgs) if imgs.is_dir() else []
    if not names:
        raise InputError(f"no images in {imgs}", hint="a BenSMOT sequence keeps its frames in imgs/")
    source = folder.resolve()
    size = bensmot.image_size(imgs / names[0])
    video = Video(id=video_id, frames=len(names), source=str(source), width=size[0] if size else None,
                  height=size[1] if size else None, images=[f"imgs/{n}" for n in names])
    return VideoInput(video, lambda: read_images(source, video.images or []))


def image_folder_input(folder: Path, names: list[str], video_id: str) -> VideoInput:
    from smot.datasets import bensmot

    source = folder.resolve()
    size = bensmot.image_size(source / names[0])
    video = Video(id=video_id, frames=len(names), source=str(source), width=size[0] if size else None,
                  height=size[1] if size else None, images=list(names))
    return VideoInput(video, lambda: read_images(source, names))


def read_images(source: Path, names: list[str]) -> Iterator[np.ndarray]:
    from smot.training.data import read_image

    for name in names:
        yield read_image(source / name)


def video_file_input(path: Path) -> VideoInput:
    import cv2

    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise InputError(f"cannot open {path} as a video",
                         hint="give a video file OpenCV reads, an image folder or a BenSMOT sequence")
    frames = int(capture.get(cv2.CAP_PROP_FRAME_COUNT))
    width, height = int(capture.get(cv2.CAP_PROP_FRAME_WIDTH)), int(capture.get(cv2.CAP_PROP_FRAME_HEIGHT))
    fps = float(capture.get(cv2.CAP_PROP_FPS))
    capture.release()
    if frames <= 0:  # some containers do not say; count by decoding
        frames = sum(1 for _ in read_video(path, None))
    video = Video(id=path.stem, frames=frames, source=str(path.resolve()), width=width or None,
                  height=height or None, fps=fps if fps > 0 else None)
    return VideoInput(video, lambda: read_video(path, frames))


def read_video(path: Path, frames: int | None) -> Iterator[np.ndarray]:
    """Decoded frames; with `frames`, exactly that many (a short file is padded with None, which the
    caller writes as empty frames, with a warning; extra frames are left out)."""
    import cv2

    capture = cv2.VideoCapture(str(path))
    count = 0
    try:
        while frames is None or count < frames:
            ok, image = capture.read()
            if not ok:
                break
            count += 1
            yield image
        if frames is not None and count < frames:
            log.warning("%s: only %d of the %d frames the file reports could be decoded; frames %d-%d are "
                        "written empty", path, count, frames, count + 1, frames)
            for _ in range(frames - count):
                yield None  # type: ignore[misc]
        elif frames is not None and capture.grab():
            log.warning("%s: the file has more frames than the %d it reports; the rest are left out", path, frames)
    finally:
        capture.release()


# --------------------------------------------------------------------------------------------
# the core


def detect(inputs: Iterable[VideoInput], model, config: DetectConfig) -> Iterator[Record]:
    """For each video: its video record, then one detections frame record per frame, in order.

    `model` is a smot.models.detector.Detector (eval mode) on the device to run on.
    """
    import torch

    from smot.training.data import boxes_to_source, fit_transform, letterbox

    canvas = model.config.input_size
    device = next(model.parameters()).device
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def run(video: Video, batch: list[tuple[int, np.ndarray | None]]) -> Iterator[Frame]:
        images = [(t, image) for t, image in batch if image is not None]
        results: dict[int, Frame] = {}
        if images:
            transforms = [fit_transform(image.shape[1], image.shape[0], canvas) for _, image in images]
            x = torch.from_numpy(np.stack([letterbox(image, tr, canvas) for (_, image), tr in zip(images, transforms)]))
            sizes = torch.tensor([(tr.valid[1], tr.valid[0]) for tr in transforms])
            with autocast:
                found = model.detect(x.to(device, non_blocking=True), sizes.to(device), config.score_threshold,
                                     features=config.features)
            for (t, image), tr, result in zip(images, transforms, found):
                boxes = boxes_to_source(result["boxes"].cpu().double().numpy(), tr, image.shape[1], image.shape[0])
                frame = Frame(video=video.id, frame=t, boxes=boxes, scores=result["scores"].cpu().double().numpy())
                if config.features:
                    frame.features = result["features"].cpu().numpy().astype(np.float16)
                    frame.context = result["context"].cpu().numpy().astype(np.float16)
                results[t] = frame
        for t, _ in batch:
            yield results.get(t) or empty_frame(video.id, t, model, config)

    for item in inputs:
        yield item.video
        batch: list[tuple[int, np.ndarray | None]] = []
        for t, image in enumerate(item.read(), 1):
            if image is not None and image.ndim != 3:
                raise InputError(f"frame {t} is not a colour image", f"{item.video.id}")
            batch.append((t, image))
            if len(batch) == config.batch_size:
                yield from run(item.video, batch)
                batch = []
        if batch:
            yield from run(item.video, batch)


def empty_frame(video: str, t: int, model, config: DetectConfig) -> Frame:
    """A frame whose image could not be decoded: no boxes (and zero context)."""
    frame = Frame.empty(video, t)
    if config.features:
        c = model.config
        frame.features = np.zeros((0, c.box_tokens * c.token_dim), np.float16)
        frame.context = np.zeros((c.neck_channels, c.context_grid ** 2), np.float16)
    return frame


def shard(inputs: list[VideoInput], index: int, count: int) -> list[VideoInput]:
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
    from smot.models.checkpoint import load_detector
    from smot.streams import StreamWriter, make_header
    from smot.training.loop import pick_device

    if not 0 <= score_threshold < 1:
        raise UsageError(f"--score-threshold must be in [0, 1), got {score_threshold}")
    if batch_size < 1:
        raise UsageError(f"--batch-size must be >= 1, got {batch_size}")
    index, count = parse_shard(shard_)
    config = DetectConfig(score_threshold, batch_size, device, features, (index, count))
    inputs = shard(find_inputs(source), index, count)
    detector, checkpoint = load_detector(model, pick_device(device))
    params = {"score_threshold": score_threshold, "input_size": list(detector.config.input_size),
              "features": features, "batch_size": batch_size, "device": device, "shard": f"{index}/{count}",
              "source": source}
    header = make_header("smot.detections", "smot detect", params, model=checkpoint.sha256)
    frames = sum(i.video.frames for i in inputs)
    with StreamWriter(output, header, encoding) as writer:
        for record in progress(detect(inputs, detector, config), frames + len(inputs), "detect"):
            writer.write(record)
