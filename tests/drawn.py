"""Frames the detector tests draw themselves: coloured upright boxes ("people") on a textured ground.

Used until (and besides) `smot synth`: small, fast, and with boxes known exactly.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np

from smot.models.detector import DetectorConfig

# a detector small enough to train in seconds on a CPU; every size is a field of the same config
MICRO = DetectorConfig(
    input_size=(128, 96), dla_channels=(4, 8, 8, 16, 16, 32), neck_channels=16, neck_levels=3, neck_repeats=1,
    norm_groups=4, head_convs=1, size_ranges=((0, 32), (24, 64), (48, 1e8)), pre_nms_topk=100, post_nms_topk=20,
    box_tokens=4, token_dim=8, context_grid=4)


def draw_frame(width: int, height: int, boxes: np.ndarray, seed: int) -> np.ndarray:
    """BGR uint8 frame: a smooth noisy background and one filled box (with a darker head) per row."""
    rng = np.random.default_rng(seed)
    ground = rng.integers(60, 140, size=(height // 8 + 1, width // 8 + 1, 3)).astype(np.uint8)
    image = cv2.resize(ground, (width, height), interpolation=cv2.INTER_LINEAR)
    for i, (x1, y1, x2, y2) in enumerate(np.round(boxes).astype(int)):
        colour = [(40, 40, 220), (220, 60, 40), (40, 200, 60), (200, 200, 40)][i % 4]
        cv2.rectangle(image, (x1, y1), (x2 - 1, y2 - 1), colour, thickness=-1)
        head = max(1, (y2 - y1) // 5)
        cv2.rectangle(image, (x1, y1), (x2 - 1, y1 + head), (30, 30, 30), thickness=-1)
    return image


def walk(frames: int, people: int, width: int, height: int, seed: int) -> list[np.ndarray]:
    """Per frame (people, 4) xyxy boxes of people walking across the frame in straight lines."""
    rng = np.random.default_rng(seed)
    h = rng.uniform(0.35, 0.7, people) * height
    w = h * rng.uniform(0.3, 0.45, people)
    x = rng.uniform(0, width - w)
    y = rng.uniform(0, height - h)
    vx = rng.uniform(-2, 2, people)
    out = []
    for _ in range(frames):
        out.append(np.stack([x, y, x + w, y + h], axis=1))
        x = np.clip(x + vx, 0, width - w)
    return out


def write_sequence(folder: Path, frames: int, people: int, width: int, height: int, seed: int) -> list[np.ndarray]:
    """A BenSMOT sequence folder (imgs/, gt/gt.txt, captions); returns the boxes per frame."""
    (folder / "imgs").mkdir(parents=True)
    (folder / "gt").mkdir()
    boxes = walk(frames, people, width, height, seed)
    rows = []
    for t, frame_boxes in enumerate(boxes, 1):
        cv2.imwrite(str(folder / "imgs" / f"{t:03d}.jpg"), draw_frame(width, height, frame_boxes, seed * 1000 + t),
                    [cv2.IMWRITE_JPEG_QUALITY, 95])
        for track, (x1, y1, x2, y2) in enumerate(frame_boxes, 1):
            rows.append(f"{t},{track},{x1:.2f},{y1:.2f},{x2 - x1:.2f},{y2 - y1:.2f},1,1,1.0\n")
    (folder / "gt" / "gt.txt").write_text("".join(rows))
    (folder / "instance_captions.txt").write_text("".join(f"man{i}: a person walks.\n" for i in range(people)))
    (folder / "video_caption.txt").write_text("people walk.\n")
    return boxes


def write_split(root: Path, videos: int = 2, frames: int = 4, people: int = 2, width: int = 160, height: int = 120,
                seed: int = 0) -> Path:
    for v in range(videos):
        write_sequence(root / "walking" / f"clip{v:02d}_0", frames, people, width, height, seed + v)
    return root
