"""Frames per second of `smot synth` on one core, JPEG writing included.

    python benchmarks/synth.py [--videos 24] [--size 640x360] [--people 2-4] [--noise 2] [--repeat 3]

Makes videos one after the other in this process (one core; `smot synth` runs one such process
per core) and writes them to a temporary folder exactly as the command does. Prints frames/s for
the whole job and the share of its parts: script and geometry (plan, layout), drawing (paint),
JPEG encoding, and writing the files. CPU time of this process is reported beside wall time, since
other work on a shared machine slows the wall clock but not the CPU time.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

from smot.synth import SynthConfig, render
from smot.synth.dataset import make_video, write_video


def parts(config: SynthConfig, videos: int) -> dict[str, float]:
    """CPU seconds in each part, for `videos` videos."""
    out = {"script+layout": 0.0, "paint": 0.0, "encode": 0.0}
    frames = 0
    for k in range(videos):
        t0 = time.process_time()
        video = make_video(config, "train", k)
        t1 = time.process_time()
        rng = np.random.default_rng(video.paint_seed)
        painted = encode = 0.0
        last = time.process_time()
        for image in render.paint(video.script, video.layout, rng, config.noise):
            now = time.process_time()
            painted += now - last
            render.encode(image, config.quality)
            last = time.process_time()
            encode += last - now
        out["script+layout"] += t1 - t0
        out["paint"] += painted
        out["encode"] += encode
        frames += video.script.frames
    out["frames"] = frames
    return out


def whole(config: SynthConfig, videos: int) -> tuple[int, float, float]:
    """(frames, wall seconds, CPU seconds) of writing `videos` videos to disk."""
    root = Path(tempfile.mkdtemp())
    try:
        (root / "train").mkdir()
        wall, cpu = time.perf_counter(), time.process_time()
        frames = sum(write_video(config, root, ("train", k))[0] for k in range(videos))
        return frames, time.perf_counter() - wall, time.process_time() - cpu
    finally:
        shutil.rmtree(root)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--videos", type=int, default=24)
    parser.add_argument("--size", default="640x360")
    parser.add_argument("--people", default="2-4")
    parser.add_argument("--noise", type=float, default=2.0)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    cv2.setNumThreads(1)
    width, height = (int(v) for v in args.size.split("x"))
    lo, _, hi = args.people.partition("-")
    config = SynthConfig(width=width, height=height, people=(int(lo), int(hi or lo)), noise=args.noise)
    whole(config, 2)  # warm up: imports, OpenCV's first calls
    best = None
    for _ in range(args.repeat):
        frames, wall, cpu = whole(config, args.videos)
        if best is None or cpu < best[2]:
            best = (frames, wall, cpu)
    frames, wall, cpu = best
    print(f"smot synth, {args.videos} videos, {frames} frames at {width}x{height}, people {args.people}, "
          f"noise {args.noise}: best of {args.repeat}")
    print(f"  {frames / cpu:7.1f} frames/s per core (CPU time)   {frames / wall:7.1f} frames/s (wall clock)")
    split = parts(config, args.videos)
    total = sum(v for k, v in split.items() if k != "frames")
    for name in ("script+layout", "paint", "encode"):
        print(f"  {name:14s} {1e3 * split[name] / split['frames']:6.2f} ms/frame  ({100 * split[name] / total:4.1f}%)")


if __name__ == "__main__":
    main()
