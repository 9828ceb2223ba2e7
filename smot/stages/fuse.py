"""Fuse per-frame features into trajectory and video features (paper §4.2, Eq. 1-2).

Reads smot.tracks whose frames carry box features and frame context tokens, as `smot detect |
smot associate` write them (formats/tracks.md); writes smot.fused (formats/fused.md): every input
record in its place, and after each video's records one `trajectory_feature` per track (in order
of first appearance, ties by id) and one `video_feature`.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import typer

from smot.clikit import Device, Encoding, Output, SemanticModel, Source
from smot.errors import InputError
from smot.records import Frame, Record, TrajectoryFeature, Video, VideoFeature
from smot.streams import by_video

HINT = "the order is `smot detect | smot associate | smot fuse --model m.pt`"


@dataclass(frozen=True)
class FuseConfig:
    device: str = "cpu"
    batch_size: int = 64  # tracks fused at once


def fuse(records: Iterable[Record], semantics, config: FuseConfig = FuseConfig()) -> Iterator[Record]:
    """Every record, and each video's fused features after its records; one video held at a time."""
    for video, held in by_video(records):
        if video is None:
            yield from held
            continue
        # fused before anything of the video is written: a video with bad input never half appears
        fused = list(fuse_video(video, [r for r in held if isinstance(r, Frame)], semantics, config))
        yield video
        yield from held
        yield from fused


def track_rows(video: Video, frames: list[Frame], box_dim: int) -> dict[int, list[tuple[int, np.ndarray, np.ndarray]]]:
    """Per track id, in order of first appearance (ties by id), (frame number, box, box feature) in
    frame order."""
    tracks: dict[int, list[tuple[int, np.ndarray, np.ndarray]]] = {}
    for frame in frames:
        if not frame.n:
            continue
        if frame.features is None:
            raise InputError(f"frame {frame.frame} of video {video.id!r} has boxes but no box features",
                             hint=HINT)
        features = frame.features.reshape(frame.n, -1)
        if features.shape[1] != box_dim:
            raise InputError(f"box features of frame {frame.frame} of video {video.id!r} have "
                             f"{features.shape[1]} values, the model expects {box_dim}",
                             hint="use the detector of the same checkpoint")
        for i in np.lexsort((frame.ids,)):  # a frame's new tracks by id
            tracks.setdefault(int(frame.ids[i]), []).append((frame.frame, frame.boxes[i], features[i]))
    return tracks


def frame_context(video: Video, frames: list[Frame], tokens: int, context_dim: int) -> np.ndarray | None:
    """(N, C, D) context tokens of the video's frames, or None for a video without frames."""
    if not frames:
        return None
    for frame in frames:
        if frame.context is None:
            raise InputError(f"frame {frame.frame} of video {video.id!r} carries no context tokens", hint=HINT)
        if frame.context.shape != (tokens, context_dim):
            raise InputError(f"context tokens of frame {frame.frame} of video {video.id!r} have shape "
                             f"{tuple(frame.context.shape)}, the model expects ({tokens}, {context_dim})",
                             hint="use the detector of the same checkpoint")
    return np.stack([f.context for f in frames]).astype(np.float32)


def fuse_video(video: Video, frames: list[Frame], semantics, config: FuseConfig) -> Iterator[Record]:
    import torch

    from smot.models.semantics import box_geometry

    c = semantics.config
    tracks = track_rows(video, frames, c.box_dim)
    context = frame_context(video, frames, c.context_tokens, c.context_dim)
    ids = list(tracks)
    # time is a fraction of the video: of its length, or of the frames seen when that is unknown
    length = video.frames or max((f.frame for f in frames), default=1)
    with torch.no_grad():
        model = semantics.model
        for start in range(0, len(ids), config.batch_size):
            chunk = ids[start: start + config.batch_size]
            inputs = [torch.from_numpy(np.stack([f for _, _, f in tracks[t]]).astype(np.float32)).to(config.device)
                      for t in chunk]
            geometry = [box_geometry([n for n, _, _ in tracks[t]], np.stack([b for _, b, _ in tracks[t]]), length,
                                     video.width or 1, video.height or 1).to(config.device)
                        for t in chunk] if c.motion_tokens else None
            for track, fused in zip(chunk, model.trajectory_fusion(inputs, geometry), strict=True):
                yield TrajectoryFeature(video=video.id, track=track, feature=fused.float().cpu().numpy())
        if context is not None:
            fused = model.video_fusion(torch.from_numpy(context).to(config.device))
            yield VideoFeature(video=video.id, feature=fused.float().cpu().numpy())


def command(
    source: Source = "-",
    model: SemanticModel = ...,  # type: ignore[assignment]
    output: Output = "-",
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Tracks fused at once.", min=1)] = 64,
    encoding: Encoding = None,
) -> None:
    """Fuse box and frame features into trajectory and video features (tracks -> fused).

    \b
    smot detect clip.mp4 -m m.pt | smot associate | smot fuse -m m.pt | smot caption -m m.pt
    """
    from smot.stages.semantic_common import check_same_detector, model_stage, resolve_device

    config = FuseConfig(device=resolve_device(device), batch_size=batch_size)
    model_stage(source, output, encoding, model, config.device, "smot fuse", {"batch_size": batch_size},
                lambda records, semantics: fuse(records, semantics, config), "smot.tracks", HINT, check_same_detector)
