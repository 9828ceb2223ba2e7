"""Frames per second of the detector's forward pass with feature extraction (what `smot detect` runs).

    python benchmarks/detect.py                       # paper preset at 1088x608: CPU, and GPU if present
    python benchmarks/detect.py --device cpu --preset tiny
    python benchmarks/detect.py --device cuda --batch 16 --compile

One timed call is `Detector.detect` on a batch of uint8 frames already in the canvas: normalisation,
DLA + BiFPN + CenterNet head, decoding, NMS, RoIAlign on P3, the box-feature MLP and the context
grid. Decoding keeps every box above tau_p = 0 (up to the post-NMS top-k: 128 per frame for
`paper`), the most feature work a frame can ask for. Weights are random (speed does not depend
on them). Frame reading and stream writing are not included.

CPU: batch 1, float32, torch's default threads. GPU: bf16 autocast, channels-last, batch 16 by
default, cudnn autotuning, optional torch.compile of the network. FLOPs per frame are counted with
torch.utils.flop_counter on the network (convolutions and matrix products); achieved TFLOP/s is
that count times frames/s, against the device's dense bf16 peak.
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import time

os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")  # as smot.cli: no spinning threads on a shared machine

import torch  # noqa: E402

from smot.models.detector import PRESETS, Detector  # noqa: E402

# dense (no sparsity) bf16 tensor-core peaks, TFLOP/s, from the vendors' data sheets
PEAK_BF16 = {"H100 SXM": 989.4, "H100 NVL": 835.0, "H100 PCIe": 756.0, "H100": 989.4, "H200": 989.4, "GH200": 989.4,
             "B200": 2250.0, "A100": 312.0, "L40S": 362.1, "L4": 121.0, "A10": 125.0, "V100": 125.0}


def peak_for(name: str) -> float | None:
    for key in sorted(PEAK_BF16, key=len, reverse=True):  # the most specific name first
        if key.replace(" ", "").lower() in name.replace(" ", "").lower():
            return PEAK_BF16[key]
    return None


def network_flops(model: Detector, images: torch.Tensor, sizes: torch.Tensor) -> float:
    """FLOPs of one call of the network part (pyramid + head) per frame, as torch counts them."""
    from torch.utils.flop_counter import FlopCounterMode

    counter = FlopCounterMode(display=False)
    with counter, torch.no_grad():
        model.head(model.pyramid(images, sizes))
    return counter.get_total_flops() / len(images)


def bench(model: Detector, device: torch.device, batch: int, iters: int, warmup: int, threshold: float) -> float:
    W, H = model.config.input_size
    gen = torch.Generator().manual_seed(0)
    images = torch.randint(0, 256, (batch, 3, H, W), dtype=torch.uint8, generator=gen).to(device)
    sizes = torch.tensor([[H, W]] * batch, device=device)
    autocast = torch.autocast("cuda", dtype=torch.bfloat16, enabled=device.type == "cuda")

    def once():
        with autocast:
            out = model.detect(images, sizes, threshold)
        if device.type == "cuda":
            torch.cuda.synchronize()
        return out

    for _ in range(warmup):
        once()
    start = time.perf_counter()
    for _ in range(iters):
        out = once()
    seconds = time.perf_counter() - start
    boxes = sum(len(r["boxes"]) for r in out) / batch
    print(f"  boxes per frame {boxes:.0f}, feature {tuple(out[0]['features'].shape[1:])}, "
          f"context {tuple(out[0]['context'].shape)}")
    return batch * iters / seconds


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--preset", default="paper", choices=sorted(PRESETS))
    parser.add_argument("--size", default=None,
                        help="canvas WIDTHxHEIGHT (default: 1088x608 for paper, the preset's otherwise)")
    parser.add_argument("--device", default="auto", help="auto (CPU, then GPU if present), cpu or cuda")
    parser.add_argument("--batch", type=int, default=None, help="frames per call (default: 1 on CPU, 16 on GPU)")
    parser.add_argument("--iters", type=int, default=None, help="timed calls (default: 5 on CPU, 50 on GPU)")
    parser.add_argument("--threshold", type=float, default=0.0, help="tau_p; 0 keeps the top-k boxes per frame")
    parser.add_argument("--compile", action="store_true", help="GPU: torch.compile the backbone, neck and head")
    args = parser.parse_args()

    config = PRESETS[args.preset]
    if args.size:
        w, h = (int(v) for v in args.size.lower().split("x"))
        config = dataclasses.replace(config, input_size=(w, h))
    elif args.preset == "paper":
        config = dataclasses.replace(config, input_size=(1088, 608))
    devices = [args.device] if args.device != "auto" else ["cpu"] + (["cuda"] if torch.cuda.is_available() else [])
    torch.manual_seed(0)
    for name in devices:
        device = torch.device(name)
        model = Detector(config).eval().to(device)
        W, H = config.input_size
        sample = torch.zeros(1, 3, H, W, dtype=torch.uint8, device=device)
        flops = network_flops(model, sample, torch.tensor([[H, W]], device=device))
        if device.type == "cuda":
            torch.backends.cudnn.benchmark = True
            model = model.to(memory_format=torch.channels_last)
            if args.compile:
                model.backbone = torch.compile(model.backbone)
                model.neck = torch.compile(model.neck)
                model.head = torch.compile(model.head)
            label = torch.cuda.get_device_name(device)
            batch, iters, warmup = args.batch or 16, args.iters or 50, 10
            precision = "bf16 autocast, channels-last" + (", compiled" if args.compile else "")
        else:
            label = f"CPU, {torch.get_num_threads()} threads"
            batch, iters, warmup = args.batch or 1, args.iters or 5, 2
            precision = "float32"
        print(f"{args.preset} preset, {W}x{H}, {label}, batch {batch}, {precision}")
        print(f"  network: {flops / 1e9:.1f} GFLOP per frame")
        fps = bench(model, device, batch, iters, warmup, args.threshold)
        achieved = flops * fps / 1e12
        line = f"  {fps:.1f} frames/s, {1000 / fps:.1f} ms per frame, {achieved:.2f} TFLOP/s achieved"
        peak = peak_for(label) if device.type == "cuda" else None
        if peak:
            line += f" ({100 * achieved / peak:.1f}% of the {peak:.0f} TFLOP/s bf16 peak)"
        print(line)


if __name__ == "__main__":
    main()
