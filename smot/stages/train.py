"""Train the SMOTer model from a BenSMOT-layout dataset: `smot train DATA --preset tiny -o model.pt`.

Reads a BenSMOT split (e.g. a `smot synth` train split); writes one checkpoint file
(docs/training.md) and a JSON Lines log beside it. The loop itself is smot/training/loop.py; the
semantic half is smot/training/semantic.py (docs/semantics.md).
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Annotated

import typer

from smot.errors import UsageError

PRESET_NAMES = ("tiny", "paper")


def parse_sets(items: list[str], parts: dict[str, dict]) -> dict[str, dict]:
    """`key=value` overrides -> {part: overrides} for parts such as train, detector and semantic
    (each given as {field: preset value}); a `part.` prefix is optional, a bare name goes to the
    first part that has it; values are JSON (numbers, [lists], true/false) or bare strings."""
    out: dict[str, dict] = {name: {} for name in parts}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set takes key=value, got {item!r}")
        prefix, _, name = key.rpartition(".")
        if prefix and prefix not in parts:
            raise UsageError(f"--set {key}: the prefix must be one of {', '.join(p + '.' for p in parts)}")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        part = prefix or next((p for p, known in parts.items() if name in known), None)
        if part is None or name not in parts[part]:
            known = sorted(set().union(*parts.values()))
            raise UsageError(f"--set {key}: no such setting", hint=f"settings: {', '.join(known)}")
        out[part][name] = _coerce(name, value, parts[part][name])
    return out


def _coerce(name: str, value, default):
    if isinstance(default, bool):
        ok = isinstance(value, bool)
    elif isinstance(default, int):
        ok = isinstance(value, int) and not isinstance(value, bool)
    elif isinstance(default, float):
        ok = isinstance(value, (int, float)) and not isinstance(value, bool)
        value = float(value) if ok else value
    elif isinstance(default, tuple):
        ok = isinstance(value, list)
        value = tuple(tuple(v) if isinstance(v, list) else v for v in value) if ok else value
    else:
        ok = isinstance(value, str)
    if not ok:
        raise UsageError(f"--set {name}: expected a value like {json.dumps(default, default=list)}, got {value!r}")
    return value


def command(
    data: Annotated[str, typer.Argument(help="BenSMOT-layout training split, e.g. data/synth/train.",
                                        show_default=False)],
    output: Annotated[str, typer.Option("--output", "-o", help="Checkpoint file to write.")] = "model.pt",
    stage: Annotated[str, typer.Option(
        help="What to train: e2e (SMOTer end to end: detector, then the semantic losses from semantic_start), "
             "detect (backbone, neck, CenterNet head) or semantic (the semantic model on the detector of "
             "--model, tracks from --tracks).")] = "e2e",
    preset: Annotated[str, typer.Option(help="Model and schedule sizes: tiny (CPU, minutes) or paper "
                                             "(official sizes, GPUs).")] = "tiny",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a setting, e.g. --set steps=500 --set lr=1e-3 --set input_size=[448,256] "
                      "--set semantic.d_model=192 (repeatable; prefixes train., detector., semantic.).",
        metavar="KEY=VALUE")] = None,
    model: Annotated[str | None, typer.Option(
        "--model", "-m", help="Start from the detector of this checkpoint (required by --stage semantic).")] = None,
    tracks: Annotated[str | None, typer.Option(
        help="--stage semantic: a tracks stream of the training videos (any tracker's), instead of tracking "
             "with the detector.")] = None,
    tokenizer: Annotated[str | None, typer.Option(
        help="A local tokenizer folder (save_pretrained layout) instead of a WordPiece vocabulary counted "
             "on the training captions.")] = None,
    resume: Annotated[bool, typer.Option(
        "--resume", help="Continue the run saved in --output from its last checkpoint, bit for bit "
                         "(only steps, checkpoint_every and log_every may change).")] = False,
    init_backbone: Annotated[str | None, typer.Option(
        help="ImageNet DLA-34 state dict (.pth/.pt/.safetensors, official or timm names) for the backbone.")] = None,
    device: Annotated[str, typer.Option(help="auto, cpu, cuda or cuda:N (under torchrun: the local GPU).")] = "auto",
    log: Annotated[str | None, typer.Option(help="JSON Lines training log. Default: OUTPUT with .log.jsonl.")] = None,
) -> None:
    """Train the model (dataset -> checkpoint). Multi-GPU: torchrun ... -m smot train ...

    \b
    smot train data/synth/train --preset tiny -o tiny.pt                  # end to end
    smot train data/synth/train -o tiny.pt --resume
    smot train data/synth/train --stage detect -o det.pt
    smot train data/synth/train --stage semantic -m det.pt --tracks train.sort.smot -o sort.pt
    torchrun --standalone --nproc_per_node=4 -m smot train data/BenSMOT/train --preset paper \\
        --init-backbone dla34-ba72cf86.pth -o smoter.pt
    """
    from smot.models.detector import PRESETS, DetectorConfig
    from smot.models.semantics import PRESETS as SEMANTIC_PRESETS
    from smot.models.semantics import SemanticConfig
    from smot.training.loop import STAGES, TRAIN_PRESETS, Run, TrainConfig, train

    if stage not in STAGES:
        raise UsageError(f"--stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if preset not in PRESET_NAMES:
        raise UsageError(f"--preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    if tracks is not None and stage != "semantic":
        raise UsageError("--tracks is for --stage semantic (e2e and detect track with the detector being trained)")
    presets = {"train": TRAIN_PRESETS[preset], "detector": PRESETS[preset], "semantic": SEMANTIC_PRESETS[preset]}
    parts = {name: {f.name: getattr(value, f.name) for f in fields(value)} for name, value in presets.items()}
    sets = parse_sets(set_ or [], parts)
    if resume and (sets["detector"] or sets["semantic"]):
        changed = [*sets["detector"], *sets["semantic"]]
        raise UsageError(f"--resume keeps the model of the run; {', '.join(changed)} cannot change")
    if model is not None and sets["detector"]:
        raise UsageError(f"the detector comes from --model {model}; {', '.join(sets['detector'])} cannot change")
    try:
        model_config = DetectorConfig.from_dict({**parts["detector"], **sets["detector"]})
        config = TrainConfig.from_dict({**parts["train"], **sets["train"], "stage": stage})
        semantic_config = SemanticConfig.from_dict({**parts["semantic"], **sets["semantic"]})
    except (TypeError, ValueError) as e:
        raise UsageError(str(e)) from None
    check_config(model_config, config)
    run = Run(output=output, log_path=log, resume=resume, device=device, init_backbone=init_backbone,
              resume_overrides=sets["train"], on_step=_reporter(), init_model=model, tracks=tracks,
              tokenizer=tokenizer)
    train(data, model_config, config, run, semantic_config)


def check_config(model, config) -> None:
    multiple = 32 * model.stem_stride
    if any(v % multiple for v in model.input_size):
        raise UsageError(f"input_size {list(model.input_size)}: both sides must be multiples of {multiple}")
    if len(model.size_ranges) != model.neck_levels:
        raise UsageError(f"size_ranges has {len(model.size_ranges)} ranges for {model.neck_levels} levels")
    if config.steps < 1 or config.clips < 1 or config.clip_frames < 1:
        raise UsageError("steps, clips and clip_frames must be >= 1")


def _reporter():
    """A progress line per logged step: a rich bar on a terminal, else nothing (the log has it all)."""
    from smot.clikit import stderr_is_terminal

    if not stderr_is_terminal():
        return None
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    from smot.clikit import _stderr_console

    bar = Progress(TextColumn("train"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   TextColumn("{task.fields[loss]}"), console=_stderr_console(), transient=True)
    state: dict = {}

    def report(record: dict) -> None:
        if "task" not in state:
            bar.start()
            state["task"] = bar.add_task("train", total=record.get("total"), loss="")
        bar.update(state["task"], completed=record["step"], total=record.get("total"),
                   loss=f"loss {record['loss']:.3f}")
        if record["step"] == record.get("total"):
            bar.stop()

    return report
