"""Caption every trajectory and the whole video (paper §4.3, Eq. 3-4).

Reads smot.fused (formats/fused.md) as `smot fuse` writes it; writes smot.fused: every input
record in its place except earlier caption and summary records, which the predictions replace, and
after each video's records one `caption` per trajectory feature (in their order) and one `summary`
(formats/semantics.md). Scores are the decoder's mean token log-probability.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

import numpy as np
import typer

from smot.clikit import Device, Encoding, Output, SemanticModel, Source
from smot.errors import UsageError
from smot.records import Caption, Record, Summary, TrajectoryFeature, Video, VideoFeature
from smot.stages.semantic_common import fused_features
from smot.streams import by_video

log = logging.getLogger("smot")

HINT = "the order is `smot associate | smot fuse --model m.pt | smot caption --model m.pt`"


@dataclass(frozen=True)
class CaptionConfig:
    beams: int = 1  # 1 = greedy, as the official decoder
    max_length: int | None = None  # tokens including begin and end; None: the model's
    batch_size: int = 32  # trajectories decoded at once
    device: str = "cpu"
    instances: bool = True  # caption each trajectory (Eq. 4)
    summary: bool = True  # caption the video (Eq. 3)


def caption(records: Iterable[Record], semantics, config: CaptionConfig = CaptionConfig()) -> Iterator[Record]:
    """Every record except earlier captions and summaries, and each video's predictions after its records."""
    replaced = 0
    for video, held in by_video(records):
        kept = []
        for record in held:
            if (config.instances and isinstance(record, Caption)) or (config.summary and isinstance(record, Summary)):
                replaced += 1
            else:
                kept.append(record)
        if video is not None:
            yield video
        yield from kept
        if video is not None:
            yield from caption_video(video, kept, semantics, config)
    if replaced:
        log.warning("%d caption or summary records of the input were replaced by predictions", replaced)


def caption_video(video: Video, held: list[Record], semantics, config: CaptionConfig) -> Iterator[Record]:
    import torch

    trajectories, video_feature = fused_features(held)
    model, device = semantics.model, config.device
    with torch.no_grad():
        tokens = [_tensor(t.feature, semantics, t, device) for t in trajectories]
        if config.instances:
            for start in range(0, len(tokens), config.batch_size):
                memory, pad = model.instance_caption_memory(tokens[start: start + config.batch_size])
                ids, scores = model.instance_decoder.generate(memory, pad, config.beams, config.max_length)
                for t, seq, score in zip(trajectories[start:], ids, scores, strict=False):
                    yield Caption(video=video.id, track=t.track, text=semantics.decode(seq), score=round(score, 6))
        if config.summary and video_feature is not None:
            memory, pad = model.video_caption_memory(_tensor(video_feature.feature, semantics, video_feature, device),
                                                     tokens)
            ids, scores = model.video_decoder.generate(memory, pad, config.beams, config.max_length)
            yield Summary(video=video.id, text=semantics.decode(ids[0]), score=round(scores[0], 6))


def _tensor(feature: np.ndarray, semantics, record: TrajectoryFeature | VideoFeature, device: str):
    import torch

    d = semantics.config.d_model
    if feature.ndim != 2 or feature.shape[1] != d or not len(feature):
        from smot.errors import InputError

        what = f"track {record.track}" if isinstance(record, TrajectoryFeature) else "the video feature"
        raise InputError(f"{record.kind} of {what} of video {record.video!r} has shape {tuple(feature.shape)}, "
                         f"the model expects (L, {d})", hint="fuse and caption with the same --model")
    return torch.tensor(feature, dtype=torch.float32, device=device)


def command(
    source: Source = "-",
    model: SemanticModel = ...,  # type: ignore[assignment]
    output: Output = "-",
    beams: Annotated[int, typer.Option(help="Beam width; 1 decodes greedily.", min=1)] = 1,
    max_length: Annotated[int | None, typer.Option(
        help="Longest caption in tokens, begin and end included (default: the model's).", min=3)] = None,
    what: Annotated[str, typer.Option(help="instances, summary or both.")] = "both",
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Trajectories decoded at once.", min=1)] = 32,
    encoding: Encoding = None,
) -> None:
    """Caption each trajectory and the whole video (fused -> fused + captions).

    \b
    smot fuse -m m.pt tracks.smot | smot caption -m m.pt | smot interact -m m.pt > result.smot
    smot caption fused.smot -m m.pt --beams 3 -o captioned.smot
    """
    from smot.stages.semantic_common import check_same_model, model_stage, resolve_device

    if what not in ("instances", "summary", "both"):
        raise UsageError(f"--what must be instances, summary or both, got {what!r}")
    config = CaptionConfig(beams=beams, max_length=max_length, batch_size=batch_size, device=resolve_device(device),
                           instances=what != "summary", summary=what != "instances")
    params = {"beams": beams, "max_length": max_length, "what": what}
    model_stage(source, output, encoding, model, config.device, "smot caption", params,
                lambda records, semantics: caption(records, semantics, config), "smot.fused", HINT, check_same_model)
