"""Train the SMOTer model from a BenSMOT-layout dataset: `smot train DATA --stage detect -o model.pt`.

Reads a BenSMOT split (e.g. a `smot synth` train split); writes one checkpoint file
(docs/training.md) and a JSON Lines log beside it. The loop itself is smot/training/loop.py.
"""

from __future__ import annotations

import json
from dataclasses import fields
from typing import Annotated

import typer

from smot.errors import UsageError

PRESET_NAMES = ("tiny", "paper")


def parse_sets(items: list[str], model_fields: dict, train_fields: dict) -> tuple[dict, dict]:
    """`key=value` overrides -> (detector overrides, training overrides); `detector.` / `train.`
    prefixes are optional; values are JSON (numbers, [lists], true/false) or bare strings."""
    model, train = {}, {}
    for item in items:
        key, sep, text = item.partition("=")
        if not sep or not key:
            raise UsageError(f"--set takes key=value, got {item!r}")
        part, _, name = key.rpartition(".")
        if part not in ("", "detector", "train"):
            raise UsageError(f"--set {key}: the prefix must be detector. or train.")
        try:
            value = json.loads(text)
        except json.JSONDecodeError:
            value = text
        if part != "detector" and name in train_fields:
            train[name] = _coerce(name, value, train_fields[name])
        elif part != "train" and name in model_fields:
            model[name] = _coerce(name, value, model_fields[name])
        else:
            known = sorted(set(model_fields) | set(train_fields))
            raise UsageError(f"--set {key}: no such setting", hint=f"settings: {', '.join(known)}")
    return model, train


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
    stage: Annotated[str, typer.Option(help="What to train: detect (backbone, neck, CenterNet head).")] = "detect",
    preset: Annotated[str, typer.Option(help="Model and schedule sizes: tiny (CPU, minutes) or paper "
                                             "(official sizes, GPUs).")] = "tiny",
    set_: Annotated[list[str] | None, typer.Option(
        "--set", help="Override a setting, e.g. --set steps=500 --set lr=1e-3 --set input_size=[448,256] "
                      "(repeatable).", metavar="KEY=VALUE")] = None,
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
    smot train data/synth/train --stage detect --preset tiny -o tiny.pt
    smot train data/synth/train --stage detect -o tiny.pt --resume
    torchrun --standalone --nproc_per_node=4 -m smot train data/BenSMOT/train --preset paper \\
        --init-backbone dla34-ba72cf86.pth -o smoter.pt
    """
    from smot.models.detector import PRESETS, DetectorConfig
    from smot.training.loop import STAGES, TRAIN_PRESETS, Run, TrainConfig, train

    if stage not in STAGES:
        raise UsageError(f"--stage must be one of {', '.join(STAGES)}, got {stage!r}")
    if preset not in PRESET_NAMES:
        raise UsageError(f"--preset must be one of {', '.join(PRESET_NAMES)}, got {preset!r}")
    model_fields = {f.name: getattr(PRESETS[preset], f.name) for f in fields(DetectorConfig)}
    train_fields = {f.name: getattr(TRAIN_PRESETS[preset], f.name) for f in fields(TrainConfig)}
    model_sets, train_sets = parse_sets(set_ or [], model_fields, train_fields)
    if resume and model_sets:
        raise UsageError(f"--resume keeps the model of the run; {', '.join(model_sets)} cannot change")
    try:
        model_config = DetectorConfig.from_dict({**model_fields, **model_sets})
        config = TrainConfig.from_dict({**train_fields, **train_sets, "stage": stage})
    except (TypeError, ValueError) as e:
        raise UsageError(str(e)) from None
    check_config(model_config, config)
    run = Run(output=output, log_path=log, resume=resume, device=device, init_backbone=init_backbone,
              resume_overrides=train_sets, on_step=_reporter())
    train(data, model_config, config, run)


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
