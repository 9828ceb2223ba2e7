"""Make a SMOT dataset in the BenSMOT layout, or count what is in one.

Reads nothing (or, with --stats, any BenSMOT-layout folder); writes `OUT/{train,test}/<scenario>/
<clip>/` sequences (formats/bensmot.md) whose frames, boxes, captions, interactions and video
captions all come from one script per video (docs/synth.md).
"""

from __future__ import annotations

from typing import Annotated

import orjson
import typer

from smot.clikit import parse_size, progress
from smot.errors import UsageError
from smot.synth import SCENARIOS, SynthConfig  # the frozen config; its defaults make the tiny training set

DEFAULT = SynthConfig()


def _span(pair: tuple[int, int]) -> str:
    return str(pair[0]) if pair[0] == pair[1] else f"{pair[0]}-{pair[1]}"


def parse_range(option: str, text: str) -> tuple[int, int]:
    """`N` or `MIN-MAX` as (min, max)."""
    try:
        parts = [int(p) for p in text.split("-")]
        if len(parts) == 1:
            return parts[0], parts[0]
        if len(parts) == 2:
            return parts[0], parts[1]
    except ValueError:
        pass
    raise UsageError(f"{option} must be N or MIN-MAX, e.g. 2-4, got {text!r}")


def command(
    output: Annotated[str | None, typer.Argument(
        help="Folder to create (it must not exist, or be empty); it appears only when complete.",
        show_default=False)] = None,
    train: Annotated[int, typer.Option(help="Videos in train/.")] = DEFAULT.train,
    test: Annotated[int, typer.Option(help="Videos in test/.")] = DEFAULT.test,
    seed: Annotated[int, typer.Option(help="Seed; the same arguments give byte-identical files.")] = DEFAULT.seed,
    frames: Annotated[str, typer.Option(help="Frames per video: N or MIN-MAX.")] = _span(DEFAULT.frames),
    people: Annotated[str, typer.Option(help="People per video: N or MIN-MAX (at most 9).")] = _span(DEFAULT.people),
    size: Annotated[str, typer.Option(help="Frame size, WIDTHxHEIGHT.")] = f"{DEFAULT.width}x{DEFAULT.height}",
    fps: Annotated[float, typer.Option(help="Frames per second: how far people move between frames.")] = DEFAULT.fps,
    occlusion: Annotated[float, typer.Option(
        help="0..1: how often people's paths cross and how close groups stand.")] = DEFAULT.occlusion,
    jitter: Annotated[float, typer.Option(help="Camera shake, pixels (standard deviation).")] = DEFAULT.jitter,
    noise: Annotated[float, typer.Option(help="Image noise, grey levels (standard deviation).")] = DEFAULT.noise,
    quality: Annotated[int, typer.Option(help="JPEG quality, 1..100.")] = DEFAULT.quality,
    scenarios: Annotated[str | None, typer.Option(
        help="Comma-separated places to use (park, street, court, hall, beach, plaza). Default: all.")] = None,
    workers: Annotated[int, typer.Option(help="Processes; 0 = one per CPU core.")] = 0,
    stats: Annotated[str | None, typer.Option(
        "--stats", metavar="DIR", help="Instead of making data, print the statistics of a BenSMOT-layout "
                                       "folder (a dataset root, a split or one sequence).")] = None,
    json_: Annotated[bool, typer.Option("--json", help="With --stats: print JSON instead of a table.")] = False,
) -> None:
    """Make a synthetic SMOT dataset in the BenSMOT layout, with exact labels.

    People walk, run, wave, meet, follow, chase and hand things over; their boxes, captions,
    interactions and video captions are written from the same script that moved them.

    \b
    smot synth data/synth                          # the tiny training set: 240 + 40 videos
    smot synth data/demo --train 24 --test 6       # a demo set in a few seconds
    smot synth data/hard --occlusion 0.8 --noise 8 --people 4-6
    smot synth --stats data/synth                  # videos, frames, tracks, boxes, captions, predicates
    """
    if stats is not None:
        from smot.synth.stats import dataset_stats, format_stats

        if output is not None:
            raise UsageError("give either OUTPUT (make a dataset) or --stats DIR (count one), not both")
        figures = dataset_stats(stats)
        typer.echo(orjson.dumps(figures, option=orjson.OPT_INDENT_2).decode() if json_ else format_stats(figures))
        return
    if output is None:
        raise UsageError("missing OUTPUT folder", hint="smot synth data/synth")
    if json_:
        raise UsageError("--json goes with --stats")
    from smot.synth.dataset import write_dataset

    width, height = parse_size(size)
    chosen = tuple(s.strip() for s in scenarios.split(",") if s.strip()) if scenarios is not None else SCENARIOS
    if workers < 0:
        raise UsageError(f"--workers must be >= 0, got {workers}")
    config = SynthConfig(train=train, test=test, seed=seed, frames=parse_range("--frames", frames),
                         people=parse_range("--people", people), width=width or 640, height=height or 360, fps=fps,
                         occlusion=occlusion, jitter=jitter, noise=noise, quality=quality, scenarios=chosen).check()
    totals = write_dataset(output, config, workers, progress)
    typer.echo(f"smot synth: wrote {totals['videos']} videos, {totals['frames']} frames, {totals['boxes']} boxes "
               f"to {output}", err=True)
