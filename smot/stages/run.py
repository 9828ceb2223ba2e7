"""The whole SMOTer pipeline in one process: detect, associate, fuse, caption, interact.

Reads what `smot detect` reads (a video file, an image folder, a BenSMOT sequence or split); writes
the smot.fused stream that

    smot detect IN -m M | smot associate | smot fuse -m M | smot caption -m M | smot interact -m M

writes, record for record (the header differs: it is one `smot run` header naming every stage's
parameters). The stages are the same generators chained in Python, one video held at a time.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from typing import Annotated

import typer

from smot.clikit import Device, Encoding, Output, Shard, parse_shard, progress
from smot.errors import UsageError
from smot.records import Record


@dataclass(frozen=True)
class RunConfig:
    detect: object  # smot.stages.detect.DetectConfig
    associate: object  # smot.stages.associate.AssociateConfig
    fuse: object = None  # smot.stages.fuse.FuseConfig
    caption: object = None  # smot.stages.caption.CaptionConfig
    interact: object = None  # smot.stages.interact.InteractConfig
    drop_features: bool = False


def run(inputs: Iterable, detector, semantics, config: RunConfig) -> Iterator[Record]:
    """The records of the piped pipeline over frame sources `inputs` (smot.media.FrameSource)."""
    from smot.stages.associate import associate
    from smot.stages.caption import CaptionConfig, caption
    from smot.stages.convert import drop_features
    from smot.stages.detect import detect
    from smot.stages.fuse import FuseConfig, fuse
    from smot.stages.interact import InteractConfig, interact

    records = detect(inputs, detector, config.detect)
    records = associate(records, config.associate)
    records = fuse(records, semantics, config.fuse or FuseConfig())
    records = caption(records, semantics, config.caption or CaptionConfig())
    records = interact(records, semantics, config.interact or InteractConfig())
    return drop_features(records) if config.drop_features else records


def command(
    source: Annotated[str, typer.Argument(
        help="A video file, an image folder, a BenSMOT sequence folder or a BenSMOT split.", show_default=False)],
    model: Annotated[str, typer.Option("--model", "-m", help="Model checkpoint from `smot train` (detector and "
                                                             "semantic heads).", show_default=False)],
    output: Output = "-",
    score_threshold: Annotated[float, typer.Option(
        "--score-threshold", help="detect: tau_p, keep boxes scoring above it.")] = 0.3,
    algorithm: Annotated[str, typer.Option("--algorithm", "-a", help="associate: byte, sort, deepsort or ocsort.")
                         ] = "byte",
    settings: Annotated[list[str] | None, typer.Option(
        "--set", metavar="KEY=VALUE", help="associate: an algorithm parameter (repeatable).")] = None,
    min_track_length: Annotated[int, typer.Option(help="associate: drop tracks with fewer boxes.")] = 0,
    beams: Annotated[int, typer.Option(help="caption: beam width; 1 decodes greedily.", min=1)] = 1,
    max_length: Annotated[int | None, typer.Option(help="caption: longest caption in tokens.", min=3)] = None,
    threshold: Annotated[float, typer.Option(help="interact: write labels with at least this probability.")] = 0.4,
    drop_features_: Annotated[bool, typer.Option(
        "--drop-features", help="Leave feature arrays out of the output.")] = False,
    batch_size: Annotated[int, typer.Option(help="detect: frames per forward pass.", min=1)] = 8,
    device: Device = "auto",
    shard_: Shard = None,
    encoding: Encoding = None,
) -> None:
    """Run detect, associate, fuse, caption and interact in one process (video -> fused + semantics).

    \b
    smot run clip.mp4 -m smoter.pt -o clip.smot
    smot run data/synth/test -m tiny.pt --drop-features | smot score - --gt data/synth/test
    smot run data/BenSMOT/test -m smoter.pt --shard 3/8 -o part3.smot     # one of 8 processes
    """
    from smot.media import open_frames
    from smot.models.checkpoint import load_detector
    from smot.models.semantics import load_semantics
    from smot.stages.associate import AssociateConfig, parse_settings
    from smot.stages.caption import CaptionConfig
    from smot.stages.detect import DetectConfig, shard
    from smot.stages.fuse import FuseConfig
    from smot.stages.interact import InteractConfig
    from smot.stages.semantic_common import resolve_device
    from smot.streams import StreamWriter, make_header
    from smot.trackers import ALGORITHMS

    if not 0 <= score_threshold < 1:
        raise UsageError(f"--score-threshold must be in [0, 1), got {score_threshold}")
    if algorithm not in ALGORITHMS:
        raise UsageError(f"--algorithm must be one of {', '.join(ALGORITHMS)}, got {algorithm!r}")
    if not 0.0 <= threshold <= 1.0:
        raise UsageError(f"--threshold must be in 0..1, got {threshold}")
    index, count = parse_shard(shard_)
    device = resolve_device(device)
    inputs = shard(open_frames(source), index, count)
    detector, checkpoint = load_detector(model, device)
    semantics, _ = load_semantics(model, device)
    config = RunConfig(
        detect=DetectConfig(score_threshold, batch_size, device, True, (index, count)),
        associate=AssociateConfig(algorithm=algorithm, params=parse_settings(algorithm, settings or []),
                                  min_track_length=min_track_length),
        fuse=FuseConfig(device=device), caption=CaptionConfig(beams=beams, max_length=max_length, device=device),
        interact=InteractConfig(threshold=threshold, device=device), drop_features=drop_features_)
    params = {"source": source, "score_threshold": score_threshold, "algorithm": algorithm,
              "params": config.associate.resolved_params(), "min_track_length": min_track_length, "beams": beams,
              "max_length": max_length, "threshold": threshold, "drop_features": drop_features_,
              "shard": f"{index}/{count}"}
    header = make_header("smot.fused", "smot run", params, model=checkpoint.sha256)
    with StreamWriter(output, header, encoding) as writer:
        for record in progress(run(inputs, detector, semantics, config), None, "run"):
            writer.write(record)
