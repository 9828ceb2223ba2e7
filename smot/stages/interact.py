"""Recognise directed interactions between trajectories (paper §4.3, Eq. 5).

Reads smot.fused (formats/fused.md) as `smot fuse` writes it; writes smot.fused: every input
record in its place except earlier interaction records, which the predictions replace, and after
each video's records one `interaction` per (subject, object, predicate) whose probability reaches
the threshold (formats/semantics.md). Every ordered pair of distinct trajectories is scored; pairs
follow the order of the trajectory features (subject first), labels the model's vocabulary order.
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
from smot.records import Interaction, Record, Video
from smot.stages.caption import _tensor
from smot.stages.semantic_common import fused_features
from smot.streams import by_video

log = logging.getLogger("smot")

HINT = "the order is `smot fuse --model m.pt | smot interact --model m.pt`"


@dataclass(frozen=True)
class InteractConfig:
    threshold: float = 0.4  # the official evaluation threshold (reference §5.1)
    batch_size: int = 256  # pairs scored at once
    device: str = "cpu"


def interact(records: Iterable[Record], semantics, config: InteractConfig = InteractConfig()) -> Iterator[Record]:
    """Every record except earlier interactions, and each video's predictions after its records."""
    replaced = 0
    for video, held in by_video(records):
        kept = [r for r in held if not isinstance(r, Interaction)]
        replaced += len(held) - len(kept)
        if video is not None:
            yield video
        yield from kept
        if video is not None:
            yield from interact_video(video, kept, semantics, config)
    if replaced:
        log.warning("%d interaction records of the input were replaced by predictions", replaced)


def interaction_scores(semantics, tokens: list, batch_size: int
                       ) -> tuple[list[tuple[int, int]], np.ndarray]:
    """Every ordered pair (i, j), i != j, of `tokens` and its (pairs, labels) probabilities."""
    import torch

    pairs = [(i, j) for i in range(len(tokens)) for j in range(len(tokens)) if i != j]
    probabilities = []
    for start in range(0, len(pairs), batch_size):
        logits = semantics.model.interaction_logits(tokens, pairs[start: start + batch_size])
        probabilities.append(torch.sigmoid(logits.float()).cpu().numpy())
    labels = len(semantics.config.predicates)
    return pairs, np.concatenate(probabilities) if probabilities else np.zeros((0, labels), np.float32)


def interact_video(video: Video, held: list[Record], semantics, config: InteractConfig) -> Iterator[Record]:
    import torch

    trajectories, _ = fused_features(held)
    predicates = semantics.config.predicates
    if not predicates or len(trajectories) < 2:
        return
    with torch.no_grad():
        tokens = [_tensor(t.feature, semantics, t, config.device) for t in trajectories]
        pairs, probabilities = interaction_scores(semantics, tokens, config.batch_size)
    for (i, j), row in zip(pairs, probabilities, strict=True):
        for label in np.flatnonzero(row >= config.threshold):
            yield Interaction(video=video.id, subject=trajectories[i].track, object=trajectories[j].track,
                              predicate=predicates[label], score=round(float(row[label]), 6))


def command(
    source: Source = "-",
    model: SemanticModel = ...,  # type: ignore[assignment]
    output: Output = "-",
    threshold: Annotated[float, typer.Option(help="Write labels whose probability is at least this.")] = 0.4,
    device: Device = "auto",
    batch_size: Annotated[int, typer.Option(help="Pairs scored at once.", min=1)] = 256,
    encoding: Encoding = None,
) -> None:
    """Score every ordered pair of trajectories for each predicate (fused -> fused + interactions).

    \b
    smot fuse -m m.pt tracks.smot | smot caption -m m.pt | smot interact -m m.pt > result.smot
    smot interact fused.smot -m m.pt --threshold 0.5 -o result.smot
    """
    from smot.stages.semantic_common import check_same_model, model_stage, resolve_device

    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--threshold must be in 0..1, got {threshold}")
    config = InteractConfig(threshold=threshold, batch_size=batch_size, device=resolve_device(device))
    model_stage(source, output, encoding, model, config.device, "smot interact", {"threshold": threshold},
                lambda records, semantics: interact(records, semantics, config), "smot.fused", HINT, check_same_model)
