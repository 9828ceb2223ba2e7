"""Frames per second of writing then reading a stream, per encoding.

    python benchmarks/streams.py [--frames N] [--boxes 50] [--feature-dim 1024]

Each case writes N frames of B tracked boxes (with and without one float16 feature per box) to a
file through StreamWriter and reads it back through StreamReader (full validation). Figures are
frames/s of write + read together, on one core (the process is single-threaded).
"""

from __future__ import annotations

import argparse
import os
import tempfile
import time

import numpy as np

from smot.records import Frame, Video
from smot.streams import StreamReader, StreamWriter, make_header


def frames(n: int, boxes: int, dim: int, seed: int = 0) -> list[Frame]:
    rng = np.random.default_rng(seed)
    out = []
    for t in range(1, n + 1):
        xy = rng.uniform(0, 1800, (boxes, 2))
        wh = rng.uniform(20, 200, (boxes, 2))
        out.append(Frame(
            video="bench/clip", frame=t, boxes=np.hstack([xy, xy + wh]), scores=rng.uniform(0, 1, boxes),
            ids=np.arange(1, boxes + 1), det_index=np.arange(boxes),
            features=rng.standard_normal((boxes, dim)).astype(np.float16) if dim else None,
        ))
    return out


def run(encoding: str, records: list[Frame], repeat: int) -> tuple[float, int]:
    best = float("inf")
    path = os.path.join(tempfile.mkdtemp(), f"bench.{'smot' if encoding == 'msgpack' else 'jsonl'}")
    header = make_header("smot.tracks", "benchmark")
    for _ in range(repeat):
        start = time.perf_counter()
        with StreamWriter(path, header) as writer:
            writer.write(Video(id="bench/clip", frames=len(records)))
            for frame in records:
                writer.write(frame)
        count = sum(1 for record in StreamReader(path) if isinstance(record, Frame))
        best = min(best, time.perf_counter() - start)
        assert count == len(records)
    size = os.path.getsize(path)
    os.unlink(path)
    return len(records) / best, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--frames", type=int, default=5000)
    parser.add_argument("--boxes", type=int, default=50)
    parser.add_argument("--feature-dim", type=int, default=1024)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    print(f"{'encoding':<9} {'features':<22} {'frames/s':>10} {'MB/frame':>9}")
    for dim in (0, args.feature_dim):
        n = args.frames if dim == 0 else max(args.frames // 10, 100)
        records = frames(n, args.boxes, dim)
        label = f"{args.boxes}x{dim} float16" if dim else "none"
        for encoding in ("msgpack", "jsonl"):
            fps, size = run(encoding, records, args.repeat)
            print(f"{encoding:<9} {label:<22} {fps:>10,.0f} {size / n / 1e6:>9.3f}")


if __name__ == "__main__":
    main()
