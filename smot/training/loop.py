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

Stages (docs/training.md, docs/semantics.md):

    detect    the backbone, neck and CenterNet head, with the detection losses;
    e2e       SMOTer end to end (paper §4.4): the detection losses every step, and from step
              `semantic_start` on the semantic losses of a clip tracked with the current detector;
    semantic  the semantic model (and the box-feature head) on a trained detector (`init_model`),
              tracks from a tracker's stream (`tracks`) or the detector and `semantic_tracker`:
              the two-stage baselines of Table 3.
"""

from __future__ import annotations

import logging
import math
import sys
import time
from collections import deque
from collections.abc import Callable, Iterable, Sequence
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

import numpy as np
import orjson
import torch

from smot import __version__
from smot.errors import InputError, UsageError
from smot.models.checkpoint import config_from_dict, load_checkpoint, save_checkpoint
from smot.models.detector import Detector, DetectorConfig
from smot.training import distributed
from smot.training.data import Augment, load_sequences, sample_batch
from smot.training.semantic import (
    SMOTer,
    attach_tracks,
    batch_from_state,
    batch_state,
    build_semantics,
    compact,
    load_semantic_sequences,
    step_batch,
)

if TYPE_CHECKING:
    from smot.models.semantics import SemanticConfig

log = logging.getLogger("smot")

STAGES = ("detect", "e2e", "semantic")
SCHEDULES = ("global", "own")
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
    # the semantic losses (stages e2e and semantic; docs/semantics.md, "Training")
    semantic_start: int = 20000  # stage e2e: the step (0-based) from which the semantic losses switch on
    semantic_frames: int = 100  # most frames of a semantic clip (official TRAIN_LEN 100)
    semantic_threshold: float = 0.3  # tau_p of the tracking pass (official 0.3)
    semantic_tracker: str = "byte"  # association of the tracking pass
    semantic_min_track: int = 5  # shortest trajectory, in boxes of the clip, that takes part (official 5)
    semantic_chunk: int = 8  # frames per detector forward in the tracking pass (memory, not results)
    # experience replay: each semantic step also trains on `semantic_replay` clips drawn at random
    # from the last `semantic_replay_buffer` steps' clips (what their tracking passes pooled, kept in
    # float16; box features recomputed by the current box head). A tracking pass costs several
    # times what the semantic losses of its clip do, so more clips a step are cheap this way
    # (official: 0, each clip once; docs/semantics.md, "Replay")
    semantic_replay: int = 0
    semantic_replay_buffer: int = 0
    semantic_lr_factor: float = 1.0  # learning rate of the semantic model relative to lr
    semantic_schedule: str = "global"  # global: the run's schedule; own: warm-up and cosine from semantic_start
    train_box_head: bool = True  # the semantic losses train the box-feature head (official: never trained)
    interaction_negatives: bool = True  # unannotated pairs of matched trajectories train as all-negative
    vocab_size: int = 30522  # most tokens of the caption vocabulary counted on the training captions
    checkpoint_every: int = 5000
    log_every: int = 20
    seed: int = 0

    def to_dict(self) -> dict:
        return {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(self).items()}

    @classmethod
    def from_dict(cls, d: dict) -> TrainConfig:
        return config_from_dict(cls, d, "training")


TRAIN_PRESETS = {
    # official schedule (reference §4.10) for 4 processes of 1 clip; lr as in the code (the paper says 5e-4)
    "paper": TrainConfig(),
    # from scratch on synth frames in minutes on 2 CPU cores; numbers measured in the README
    # (interactions trained on annotated pairs only, as the official code; 3 replayed clips a semantic
    # step: docs/semantics.md, "Training" and "Measured")
    "tiny": TrainConfig(steps=3000, clips=4, clip_frames=2, lr=2e-3, backbone_lr_factor=1.0, warmup_steps=100,
                        grad_clip=1.0, scale_range=(0.75, 1.33), checkpoint_every=400, log_every=20,
                        semantic_start=1000, semantic_frames=24, semantic_min_track=3, semantic_lr_factor=0.5,
                        semantic_schedule="own", interaction_negatives=False,
                        semantic_replay=3, semantic_replay_buffer=64),
}


def lr_factor(step: int, config: TrainConfig) -> float:
    """detectron2's WarmupCosineLR at `step` (0-based): cosine to 0 at config.steps, times a linear
    warm-up from warmup_factor to 1 over the first warmup_steps."""
    cosine = 0.5 * (1 + math.cos(math.pi * step / config.steps))
    if step >= config.warmup_steps:
        return cosine
    alpha = step / config.warmup_steps
    return cosine * (config.warmup_factor * (1 - alpha) + alpha)


def semantic_lr_factor(step: int, config: TrainConfig) -> float:
    """The schedule of the semantic model: the run's (`global`, official), or with `own` a warm-up
    and cosine of its own over the steps from `semantic_start` (stage e2e) to the end."""
    start = config.semantic_start if config.stage == "e2e" else 0
    if config.semantic_schedule == "global" or start == 0:
        return lr_factor(step, config)
    if step < start:
        return 0.0
    return lr_factor(step - start, replace(config, steps=max(1, config.steps - start)))


def step_seed(seed: int, step: int, rank: int) -> int:
    return int(np.random.SeedSequence([seed, step, rank]).generate_state(1, np.uint64)[0] >> 1)


def param_groups(model: torch.nn.Module, config: TrainConfig) -> list[dict]:
    """AdamW groups: detector / backbone / semantic model x decayed (>= 2-d weights) / not decayed;
    frozen parameters left out. `model` is a Detector or a SMOTer (detector. and semantic. names)."""
    kinds = ("detector", "backbone", "semantic")
    scale = {"detector": 1.0, "backbone": config.backbone_lr_factor, "semantic": config.semantic_lr_factor}
    groups: dict[tuple[int, bool], list] = {}
    for name, p in model.named_parameters():
        if not p.requires_grad:
            continue
        name = name.removeprefix("detector.")
        kind = "backbone" if name.startswith("backbone.") else "semantic" if name.startswith("semantic.") \
            else "detector"
        groups.setdefault((kinds.index(kind), p.ndim >= 2), []).append(p)
    return [{"params": params, "lr_scale": scale[kinds[k]], "semantic": kinds[k] == "semantic",
             "weight_decay": config.weight_decay if decayed else 0.0}
            for (k, decayed), params in sorted(groups.items())]


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
    init_model: str | None = None  # a checkpoint whose detector (config and weights) the run starts from
    tracks: str | None = None  # stage semantic: a tracks stream of the training videos
    tokenizer: str | None = None  # a local tokenizer folder instead of one counted on the training captions
    on_step: Callable[[dict], None] | None = None  # called on the main process after each logged step
    on_finish: Callable[[torch.nn.Module], None] | None = None  # called on every process with the trained model


def train(data: str, model_config: DetectorConfig, config: TrainConfig, run: Run,
          semantic_config: SemanticConfig | None = None) -> str:
    """Train from a BenSMOT-layout split; write the checkpoint to run.output; return its sha256.
    `semantic_config` sizes the semantic model of stages e2e and semantic (default: the paper's);
    its input sizes, vocabulary and predicates are set from the detector and the data."""
    if config.stage not in STAGES:
        raise UsageError(f"unknown stage {config.stage!r}; this smot trains {', '.join(STAGES)}")
    if config.semantic_schedule not in SCHEDULES:
        raise UsageError(f"semantic_schedule must be one of {', '.join(SCHEDULES)}, got {config.semantic_schedule!r}")
    if config.semantic_replay < 0 or config.semantic_replay_buffer < config.semantic_replay:
        raise UsageError(f"semantic_replay ({config.semantic_replay}) must be 0 or more and at most "
                         f"semantic_replay_buffer ({config.semantic_replay_buffer})")
    if config.stage == "semantic" and not (run.init_model or run.resume):
        raise UsageError("--stage semantic trains on a trained detector: give it with --model DET.pt",
                         hint="train one: smot train DATA --stage detect -o det.pt")
    device = pick_device(run.device, distributed.from_environment().local_rank)
    if device.type == "cuda":
        torch.cuda.set_device(device)
    dist = distributed.setup(device.type)
    try:
        return _train(data, model_config, config, run, device, dist, semantic_config)
    finally:
        distributed.teardown()


def _train(data: str, model_config: DetectorConfig, config: TrainConfig, run: Run, device: torch.device,
           dist: distributed.Dist, semantic_config: SemanticConfig | None) -> str:
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
        # settings given again with the values the run has are no change (a Makefile repeats them)
        changed = {k for k, v in run.resume_overrides.items() if k not in RESUMABLE and getattr(config, k) != v}
        if changed:
            raise UsageError(f"--resume continues the run as it was configured; {', '.join(sorted(changed))} "
                             f"cannot change (only {', '.join(sorted(RESUMABLE))} can)")
        config = replace(config, **run.resume_overrides)
        start = int(training["step"])
        provenance = resumed.data.get("provenance", provenance)
        if run.tracks is None and provenance.get("tracks"):
            run = replace(run, tracks=provenance["tracks"])  # the stream the run was started with
    semantic = config.stage != "detect"

    initial = None
    if run.init_model and resumed is None:
        initial = load_checkpoint(run.init_model, "detector")
        model_config = DetectorConfig.from_dict(initial.config["detector"])
        provenance["init_model"] = {"path": str(Path(run.init_model).resolve()), "sha256": initial.sha256}
    sequences = load_sequences(data) if config.stage != "semantic" else []
    clips = _semantic_data(data, run, provenance) if semantic else []
    torch.manual_seed(config.seed)
    detector = Detector(model_config)
    init = None
    if run.init_backbone and resumed is None and initial is None:
        init = load_backbone(detector, run.init_backbone)
    source = resumed or initial
    if source is not None:
        detector.load_state_dict(source.data["weights"]["detector"])
    semantics = None
    if semantic:
        semantics = _semantics(clips, model_config, config, run, semantic_config, resumed)
    # which weights learn: detect leaves the box-feature head to the semantic losses; semantic
    # leaves the detector as trained, except that head
    if config.stage == "semantic":
        detector.requires_grad_(False)
    detector.box_head.requires_grad_(semantic and config.train_box_head)
    model: torch.nn.Module = SMOTer(detector, semantics.model) if semantics is not None else detector
    model.to(device)
    if device.type == "cuda":
        detector.to(memory_format=torch.channels_last)
    groups = param_groups(model, config)
    optimizer = torch.optim.AdamW(groups, lr=config.lr, weight_decay=config.weight_decay)
    if resumed is not None:
        optimizer.load_state_dict(resumed.data["training"]["optimizer"])
    trained = model
    if dist.world_size > 1:
        # semantic terms are absent on some steps and some processes (official: find_unused_parameters)
        trained = torch.nn.parallel.DistributedDataParallel(
            model, device_ids=[device.index] if device.type == "cuda" else None, find_unused_parameters=semantic)

    if dist.main:
        log.info("training %s on %d sequences of %s from step %d to %d (%d process(es), %s)", config.stage,
                 max(len(sequences), len(clips)), data, start, config.steps, dist.world_size, device)
    history = {"started": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "start_step": start, "world_size": dist.world_size,
               "device": str(device), "command": list(run.command or sys.argv)}
    if dist.world_size > 1:
        history["replicas_checked"] = 0
    provenance.setdefault("history", []).append(history)
    provenance.update({"smot_version": __version__, "torch_version": torch.__version__,
                       "dataset": str(Path(data).resolve()), "sequences": max(len(sequences), len(clips)),
                       "seed": config.seed})
    if init is not None:
        provenance["init_backbone"] = init
    log_file = _open_log(run, start) if dist.main else None

    # the clips of the last semantic_replay_buffer semantic steps, oldest first, for replay
    replay = deque(_restore_replay(resumed, dist) if semantics is not None else [],
                   maxlen=config.semantic_replay_buffer)

    def save(step: int, replays: list | None) -> str:
        history["end_step"] = step
        data = {"config": {"detector": model_config.to_dict()},
                "weights": {"detector": {k: v.detach().cpu() for k, v in detector.state_dict().items()}}}
        if semantics is not None:
            parts = semantics.checkpoint_parts()
            data["config"].update(parts["config"])
            data["weights"]["semantic"] = {k: v.detach().cpu() for k, v in parts["weights"]["semantic"].items()}
            data["tokenizer"] = parts["tokenizer"]
        return save_checkpoint(run.output, {
            **data,
            "training": {"stage": config.stage, "step": step, "config": config.to_dict(),
                         "optimizer": optimizer.state_dict(), "world_size": dist.world_size,
                         **({"replay": replays} if replays else {})},
            "provenance": provenance,
        })

    sha = resumed.sha256 if resumed is not None else ""
    model.train()
    if config.stage == "semantic":
        detector.eval()  # a frozen detector keeps its batch-norm statistics
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")
    augment = Augment(config.scale_range, config.flip)
    tic = time.time()
    try:
        for step in range(start, config.steps):
            torch.manual_seed(step_seed(config.seed, step, dist.rank))
            inputs: dict[str, Any] = {}
            if config.stage != "semantic":
                images, sizes, boxes = sample_batch(sequences, model_config.input_size, config.clips,
                                                    config.clip_frames, augment, config.seed, step, dist.rank)
                inputs = {"images": torch.from_numpy(images).to(device, non_blocking=True),
                          "sizes": torch.from_numpy(sizes).to(device),
                          "boxes": [torch.from_numpy(b).to(device) for b in boxes], "reduce": dist.mean}
            batch = None
            if semantic and (config.stage == "semantic" or step >= config.semantic_start):
                batch = step_batch(detector, semantics, clips, config, step, dist.rank, device)
                inputs.update(batch=[batch, *replayed(replay, config, step, dist.rank)],
                              train_box_head=config.train_box_head)
                if config.semantic_replay_buffer:
                    replay.append(compact(batch))
            factor = lr_factor(step, config)
            semantic_factor = semantic_lr_factor(step, config)
            for group in optimizer.param_groups:
                group["lr"] = config.lr * (semantic_factor if group["semantic"] else factor) * group["lr_scale"]
            with autocast:
                losses = trained(**inputs)
            loss = sum(losses.values())
            optimizer.zero_grad(set_to_none=True)
            loss.backward()
            grad_norm = torch.nn.utils.clip_grad_norm_(model.parameters(), config.grad_clip)
            optimizer.step()
            if dist.world_size > 1:
                _check_replicas(model, dist, step + 1)
                history["replicas_checked"] += 1
            done = step + 1
            if dist.main and (done % config.log_every == 0 or done == config.steps):
                record = {"step": done, "lr": config.lr * factor, "loss": loss.item(),
                          **{k: v.item() for k, v in losses.items()}, "grad_norm": float(grad_norm),
                          "seconds": round(time.time() - started, 3),
                          "step_seconds": round((time.time() - tic) / max(1, done - start), 4)}
                if "images" in inputs:
                    record["images"] = len(inputs["images"]) * dist.world_size
                if batch is not None:
                    record.update(trajectories=batch.trajectories, matched=batch.matched)
                if not math.isfinite(record["loss"]):
                    raise InputError(f"the loss is {record['loss']} at step {done}",
                                     hint="lower the learning rate (--set lr=...) or check the boxes")
                log_file.write(orjson.dumps(record) + b"\n")
                log_file.flush()
                if run.on_step is not None:
                    run.on_step({**record, "total": config.steps})
            if done % config.checkpoint_every == 0 or done == config.steps:
                # a finished run's file is the model: it keeps no replay clips (an extended run starts without)
                keep = config.semantic_replay_buffer and done < config.steps
                replays = _gather_replay(replay, dist) if keep else None
                if dist.main:
                    sha = save(done, replays)
            dist.barrier()
    finally:
        if log_file is not None:
            log_file.close()
    if run.on_finish is not None:
        run.on_finish(model)
    return sha


def _semantic_data(data: str, run: Run, provenance: dict) -> list:
    """The training videos with their semantic ground truth, and in two-stage mode their tracks."""
    clips = load_semantic_sequences(data)
    if run.tracks is None:
        return clips
    from smot.streams import StreamReader

    with StreamReader(run.tracks, expect=("smot.tracks", "smot.fused")) as reader:
        attach_tracks(clips, reader)
    missing = [c.video.id for c in clips if c.tracks is None]
    if missing:
        more = f" and {len(missing) - 3} more" if len(missing) > 3 else ""
        raise InputError(f"--tracks {run.tracks} has no tracks for {', '.join(missing[:3])}{more} of {data}",
                         hint="track every training video: smot detect DATA -m det.pt | smot associate -o tracks.smot")
    provenance["tracks"] = str(Path(run.tracks).resolve())
    return clips


def _semantics(clips: list, model_config: DetectorConfig, config: TrainConfig, run: Run,
               semantic_config: SemanticConfig | None, resumed):
    """The semantic model: from the checkpoint being resumed, else new for this detector and data."""
    from smot.models.semantics import SemanticConfig, Semantics

    if resumed is not None:
        semantics = Semantics.from_checkpoint(resumed)
        semantics.model.train()
        return semantics
    if not any(c.captions or c.summary is not None for c in clips):
        raise InputError("the training data has no captions or video captions to learn from",
                         hint="BenSMOT sequences need their caption and summary files")
    return build_semantics(clips, model_config, semantic_config or SemanticConfig(), config.vocab_size,
                           run.tokenizer)


def replayed(buffer: Sequence, config: TrainConfig, step: int, rank: int) -> list:
    """The replay clips of a step: `semantic_replay` of the buffer, drawn without replacement by a
    generator of (seed, step, rank) as every other draw of the step (all of it while it is smaller)."""
    if not config.semantic_replay or not buffer:
        return []
    rng = np.random.default_rng([config.seed, step, rank, 2])
    chosen = rng.choice(len(buffer), size=min(config.semantic_replay, len(buffer)), replace=False)
    return [buffer[int(i)] for i in sorted(chosen)]


def _gather_replay(replay: Iterable, dist_: distributed.Dist) -> list:
    """Every process's replay clips as plain data, indexed by rank (on the main process)."""
    mine = [batch_state(b) for b in replay]
    if dist_.world_size == 1:
        return [mine]
    gathered: list = [None] * dist_.world_size
    torch.distributed.all_gather_object(gathered, mine)
    return gathered


def _restore_replay(resumed, dist_: distributed.Dist) -> list:
    """This process's replay clips from the checkpoint being resumed (none in a new run)."""
    if resumed is None:
        return []
    replays = resumed.data["training"].get("replay") or []
    if not replays:
        return []
    if len(replays) != dist_.world_size:
        raise UsageError(f"--resume: the run held clips of {len(replays)} process(es), this one has "
                         f"{dist_.world_size}; resume with the same number of processes")
    return [batch_from_state(state) for state in replays[dist_.rank]]


def _check_replicas(model: torch.nn.Module, dist_: distributed.Dist, step: int) -> None:
    """Every process holds the same weights after a step (DDP's promise); stop when they differ."""
    with torch.no_grad():
        sums = torch.stack([p.detach().double().sum() for p in model.parameters()])
    gathered = [torch.empty_like(sums) for _ in range(dist_.world_size)]
    torch.distributed.all_gather(gathered, sums)
    if any(not torch.equal(gathered[0], g) for g in gathered[1:]):
        raise RuntimeError(f"the model replicas differ after step {step}: the processes no longer train one model")


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
