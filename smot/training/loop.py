"""The training loop of smot: build, optimise, log, checkpoint, resume; one code path everywhere.

    # CPU (or the one GPU it finds), the tiny preset on a `smot synth` split:
    smot train data/synth/train --stage detect --preset tiny -o tiny.pt
    # continue after an interruption, bit for bit:
    smot train data/synth/train --stage detect -o tiny.pt --resume
    # one node, 4 GPUs:
    torchrun --standalone --nproc_per_node=4 -m smot train data/BenSMOT/train --stage detect --preset paper -o smoter.pt
    # several nodes (run on each; or `srun smot train ...` under SLURM, see bin/):
    torchrun --nnodes=2 --node_rank=$NODE --nproc_per_node=4 --master_addr=$HOST --master_port=29500 \
        -m smot train data/BenSMOT/train --stage detect --preset paper -o smoter.pt

Schedule and optimiser follow the official code (reference §4.10): AdamW, backbone learning rate
x0.1, linear warm-up from a factor then cosine decay to 0, full-model gradient-norm clipping, bf16
autocast on CUDA. Every random draw of step k (the clips, their augmentation, torch's generator)
is seeded by (seed, k, rank), so a resumed run draws exactly what the uninterrupted run drew, and
the checkpoint needs only weights, optimiser state and the step.

Stages: `detect` trains the backbone, neck and CenterNet head with the detection losses. The
semantic stage (issue 7) adds its losses from step `semantic_start` on; the loop is shared.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field, fields, replace
from pathlib import Path
from typing import Any

import numpy as np
import orjson
import torch

from smot import __version__
from smot.errors import InputError, UsageError
from smot.models.checkpoint import load_checkpoint, save_checkpoint
from smot.models.detector import Detector, DetectorConfig
from smot.training import distributed
from smot.training.data import Augment, load_sequences, sample_batch

log = logging.getLogger("smot")

STAGES = ("detect",)
RESUMABLE = {"steps", "checkpoint_every", "log_every"}  # settings a resumed run may change


@dataclass(frozen=True)
class TrainConfig:
    stage: str = "detect"
    steps: int = 70000  # optimiser steps in all
    clips: int = 1  # clips per step and process (official: 1 clip per GPU)
    clip_frames: int = 8  # consecutive frames of a clip that get the detection loss (official: 8)
    lr: float = 5e-5
    backbone_lr_factor: float = 0.1  # learning rate of parameters under `backbone.` (official 0.1)
    weight_decay: float = 1e-4  # on weights; none on norms, biases and fusion weights
    warmup_steps: int = 1000
    warmup_factor: float = 0.001  # learning rate factor at step 0, rising linearly to 1
    grad_clip: float = 0.1  # maximum L2 norm of all gradients
    scale_range: tuple[float, float] = (0.1, 2.0)  # random resize factor on the fitted frame
    flip: float = 0.5
    semantic_start: int = 20000  # the step from which the semantic losses switch on (semantic stage)
    checkpoint_every: int = 5000
    log_every: int = 20
    seed: int = 0

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        unknown = set(d) - {f.name for f in fields(cls)}
        if unknown:
            raise ValueError(f"unknown training config fields: {', '.join(sorted(unknown))}")
        return cls(**{k: tuple(v) if isinstance(v, list) else v for k, v in d.items()})


TRAIN_PRESETS = {
    # official schedule (reference §4.10) for 4 processes of 1 clip; lr as in the code (the paper says 5e-4)
    "paper": TrainConfig(),
    # from scratch on synth frames in minutes on 2 CPU cores; numbers measured in the README
    "tiny": TrainConfig(steps=2400, clips=4, clip_frames=2, lr=2e-3, backbone_lr_factor=1.0, warmup_steps=100,
                        grad_clip=1.0, scale_range=(0.75, 1.33), checkpoint_every=400, log_every=20),
}


def lr_factor(step: int, config: TrainConfig) -> float:
    """detectron2's WarmupCosineLR at `step` (0-based): cosine to 0 at config.steps, times a linear
    warm-up from warmup_factor to 1 over the first warmup_steps."""
    cosine = 0.5 * (1 + math.cos(math.pi * step / config.steps))
    if step >= config.warmup_steps:
        return cosine
    alpha = step / config.warmup_steps
    return cosine * (config.warmup_factor * (1 - alpha) + alpha)


def step_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1, np.uint64)[0] >> 1)


def param_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """AdamW groups: backbone / other x decayed (>= 2-d weights) / not decayed; frozen parameters left out."""
    groups: dict[tuple[bool, bool], list] = {}
    for name, p in model.named_parameters():
        if p.requires_grad:
            groups.setdefault((name.startswith("backbone."), p.ndim >= 2), []).append(p)
    return [{"params": params, "lr_scale": config.backbone_lr_factor if backbone else 1.0,
             "weight_decay": config.weight_decay if decayed else 0.0}
            for (backbone, decayed), params in sorted(groups.items())]


def pick_device(requested: str, local_rank: int = 0) -> torch.device:
    if requested == "auto":
        return torch.device(f"cuda:{local_rank}" if torch.cuda.is_available() else "cpu")
    try:
        device = torch.device(requested)
    except RuntimeError:
        raise UsageError(f"--device must be auto, cpu, cuda or cuda:N, got {requested!r}") from None
    if device.type == "cuda" and not torch.cuda.is_available():
        from smot.errors import EnvironmentErr

        raise EnvironmentErr(f"--device {requested}: this torch has no CUDA device",
                             hint="use --device cpu, or install a CUDA build of torch")
    if device.type == "cuda" and device.index is None:
        device = torch.device(f"cuda:{local_rank}")
    return device


def load_backbone(model: Detector, path: str) -> dict:
    """Initialise the DLA backbone from a user's ImageNet state dict (official or timm names)."""
    import hashlib

    from smot.models.dla import imagenet_state

    try:
        raw = Path(path).read_bytes()
    except OSError as e:
        raise InputError(f"cannot read backbone weights {path}: {e.strerror}") from None
    try:
        if path.endswith(".safetensors"):
            from safetensors.torch import load as load_safetensors

            state = load_safetensors(raw)
        else:
            import io

            state = torch.load(io.BytesIO(raw), map_location="cpu", weights_only=True)
    except Exception as e:  # the many ways a foreign file fails to parse
        raise InputError(f"{path} is not a torch state dict ({type(e).__name__})") from None
    if not isinstance(state, dict):
        raise InputError(f"{path} is not a state dict (found {type(state).__name__})")
    weights, problems = imagenet_state(state, model.backbone)
    if problems:
        more = f" and {len(problems) - 3} more" if len(problems) > 3 else ""
        raise InputError(f"{path} does not fit the {model.config.dla_channels} DLA backbone: "
                         f"{'; '.join(problems[:3])}{more}", hint="the paper preset takes ImageNet DLA-34 weights")
    model.backbone.load_state_dict(weights, strict=True)
    return {"path": str(path), "sha256": hashlib.sha256(raw).hexdigest(), "tensors": len(weights)}


@dataclass
class Run:
    """What a training run needs besides the data: where it writes and how it reports."""

    output: str
    log_path: str | None = None
    resume: bool = False
    device: str = "auto"
    init_backbone: str | None = None
    command: list[str] | None = None
    resume_overrides: dict = field(default_factory=dict)  # with resume: new values of RESUMABLE settings
    on_step: Callable[[dict], None] | None = None  # called on the main process after each logged step
    on_finish: Callable[[torch.nn.Module], None] | None = None  # called on every process with the trained model


def train(data: str, model_config: DetectorConfig, config: TrainConfig, run: Run) -> str:
    """Train from a BenSMOT-layout split; write the checkpoint to run.output; return its sha256."""
    if config.stage not in STAGES:
        raise UsageError(f"unknown stage {config.stage!r}; this smot trains {', '.join(STAGES)}")
    device = pick_device(run.device, distributed.from_environment().local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist = distributed.setup(device.type)
    try:
        return _train(data, model_config, config, run, device, dist)
    finally:
        distributed.teardown()


def _train(data: str, model_config: DetectorConfig, config: TrainConfig, run: Run, device: torch.device,
           dist: distributed.Dist) -> str:
    started = time.time()
    provenance: dict[str, Any] = {"history": []}
    start = 0
    resumed = None
    if run.resume:
        if not Path(run.output).is_file():
            raise InputError(f"--resume: {run.output} does not exist yet", hint="start without --resume")
        resumed = load_checkpoint(run.output, "detector")
        training = resumed.data.get("training")
        if not training:
            raise InputError(f"--resume: {run.output} holds no training state")
        model_config = DetectorConfig.from_dict(resumed.config["detector"])
        config = TrainConfig.from_dict(training["config"])
        changed = set(run.resume_overrides) - RESUMABLE
        if changed:
            raise UsageError(f"--resume continues the run as it was configured; {', '.join(sorted(changed))} "
                             f"cannot change (only {', '.join(sorted(RESUMABLE))} can)")
        config = replace(config, **run.resume_overrides)
        start = int(training["step"])
        provenance = resumed.data.get("provenance", provenance)

    sequences = load_sequences(data)
    torch.manual_seed(config.seed)
    model = Detector(model_config)
    init = None
    if run.init_backbone and resumed is None:
        init = load_backbone(model, run.init_backbone)
    if config.stage == "detect":
        model.box_head.requires_grad_(False)  # trained by the semantic stage (issue 7), not by boxes
    if resumed is not None:
        model.load_state_dict(resumed.data["weights"]["detector"])
    model.to(device)
    if device.type == "cuda":
        model.to(memory_format=torch.channels_last)
    groups = param_groups(model, config)
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    if resumed is not None:
        optimizer.load_state_dict(resumed.data["training"]["optimizer"])
    trained = model
    if dist.world_size > 1:
        trained = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None)

    if dist.main:
        log.info("training %s on %d sequences of %s from step %d to %d (%d process(es), %s)", config.stage,
                 len(sequences), data, start, config.steps, dist.world_size, device)
    history = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "start_step": start, "world_size": dist.world_size,
               "device": str(device), "command": list(run.command or sys.argv)}
    provenance.setdefault("history", []).append(history)
    provenance.update({"smot_version": __version__, "torch_version": torch.__version__,
                       "dataset": str(Path(data).resolve()), "sequences": len(sequences), "seed": config.seed})
    if init is not None:
        provenance["init_backbone"] = init
    log_file = _open_log(run, start) if dist.main else None

    def save(step: int) -> str:
        history["end_step"] = step
        return save_checkpoint(run.output, {
            "config": {"detector": model_config.to_dict()},
            "weights": {"detector": {k: v.detach().cpu() for k, v in model.state_dict().items()}},
            "training": {"stage": config.stage, "step": step, "config": config.to_dict(),
                         "optimizer": optimizer.state_dict(), "world_size": dist.world_size},
            "provenance": provenance,
        })

    sha = resumed.sha256 if resumed is not None else ""
    model.train()
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    augment = Augment(config.scale_range, config.flip)
    tic = time.time()
    try:
        for step in range(start, config.steps):
            torch.manual_seed(step_seed(config.seed, step, dist.rank))
            images, sizes, boxes = sample_batch(sequences, model_config.input_size, config.clips, config.clip_frames,
                                                augment, config.seed, step, dist.rank)
            images_t = torch.from_numpy(images).to(device, non_blocking=True)
            sizes_t = torch.from_numpy(sizes).to(device)
            boxes_t = [torch.from_numpy(b).to(device) for b in boxes]
            factor = lr_factor(step, config)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * factor * group["lr_scale"]
            with autocast:
                losses = trained(images_t, sizes_t, boxes_t, reduce=dist.mean)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            done = step + 1
            if dist.main and (done % config.log_every == 0 or done == config.steps):
                record = {"step": done, "lr": config.lr * factor, "loss": loss.item(),
                          **{k: v.item() for k, v in losses.items()}, "grad_norm": float(grad_norm),
                          "images": len(images) * dist.world_size, "seconds": round(time.time() - started, 3),
                          "step_seconds": round((time.time() - tic) / max(1, done - start), 4)}
                if not math.isfinite(record["loss"]):
                    raise InputError(f"the loss is {record['loss']} at step {done}",
                                     hint="lower the learning rate (--set lr=...) or check the boxes")
                log_file.write(orjson.dumps(record) + b"\n")
                log_file.flush()
                if run.on_step is not None:
                    run.on_step({**record, "total": config.steps})
            if dist.main and (done % config.checkpoint_every == 0 or done == config.steps):
                sha = save(done)
            dist.barrier()
    finally:
        if log_file is not None:
            log_file.close()
    if run.on_finish is not None:
        run.on_finish(model)
    return sha


def _open_log(run: Run, start: int):
    """The JSON Lines log, keeping only the records of steps a resumed checkpoint has."""
    path = Path(run.log_path or default_log_path(run.output))
    kept = b""
    if run.resume and path.is_file():
        lines = path.read_bytes().splitlines(keepends=True)
        kept = b"".join(line for line in lines if line.strip() and orjson.loads(line).get("step", 0) <= start)
    from smot.atomic import write_atomic

    write_atomic(path, kept)
    return open(path, "ab")


def default_log_path(output: str) -> str:
    stem = output[:-3] if output.endswith(".pt") else output
    return stem + ".log.jsonl"
