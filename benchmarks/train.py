"""Training speed: end-to-end SMOTer steps (detection and semantic losses every step).

    python benchmarks/train.py data/synth/train                         # paper preset, 100 steps
    python benchmarks/train.py data/synth/train --preset tiny --steps 20
    torchrun --standalone --nproc_per_node=4 benchmarks/train.py data/BenSMOT/train

Runs `smot train --stage e2e` with the semantic losses on from the first step (as after step
20,000 of the official schedule), bf16 autocast on CUDA, and prints the seconds per step after a
warm-up, clips per second over all processes, and peak memory (CUDA: the most allocated by torch;
CPU: the process's peak resident set). Weights start random; speed does not depend on them.
"""

from __future__ import annotations

import argparse
import resource
import sys
import tempfile
import time
from dataclasses import replace
from pathlib import Path


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("data", help="a BenSMOT-layout training split, e.g. data/synth/train")
    parser.add_argument("--preset", default="paper", choices=("paper", "tiny"))
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--warmup", type=int, default=10, help="steps left out of the timing")
    parser.add_argument("--device", default="auto")
    args = parser.parse_args()

    import torch

    from smot.models.detector import PRESETS
    from smot.models.semantics import PRESETS as SEMANTIC_PRESETS
    from smot.training import distributed
    from smot.training.loop import TRAIN_PRESETS, Run, train

    config = replace(TRAIN_PRESETS[args.preset], stage="e2e", steps=args.steps, semantic_start=0,
                     warmup_steps=1, log_every=1, checkpoint_every=args.steps)
    if args.warmup >= args.steps:
        parser.error("--warmup must be below --steps")
    times: list[float] = []
    last = [time.perf_counter()]

    def on_step(record: dict) -> None:
        now = time.perf_counter()
        times.append(now - last[0])
        last[0] = now

    with tempfile.TemporaryDirectory() as tmp:
        run = Run(output=str(Path(tmp) / "bench.pt"), device=args.device, on_step=on_step)
        train(args.data, PRESETS[args.preset], config, run, SEMANTIC_PRESETS[args.preset])
    if not distributed.from_environment().main:
        return 0
    timed = times[args.warmup:]
    step = sum(timed) / len(timed)
    world = distributed.from_environment().world_size
    cuda = torch.cuda.is_available() and args.device != "cpu"
    if cuda:
        memory = f"{torch.cuda.max_memory_allocated() / 2**30:.1f} GiB allocated by torch (peak, rank 0)"
        device = torch.cuda.get_device_name()
    else:
        memory = f"{resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20:.2f} GiB resident (peak, rank 0)"
        device = "CPU"
    print(f"{args.preset} preset, e2e with semantic losses, {world} process(es) on {device}"
          f"{' (bf16 autocast)' if cuda else ''}")
    print(f"  {step:.3f} s per step (mean of steps {args.warmup + 1}-{args.steps})")
    print(f"  {config.clips * world / step:.2f} clips/s ({config.clips} clip(s) of {config.clip_frames} frames "
          f"per process for detection, one semantic clip of up to {config.semantic_frames} frames)")
    print(f"  {memory}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
