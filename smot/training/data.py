"""Frames into the detector's canvas, and training clips from a BenSMOT-layout dataset.

`letterbox` is the one geometric transform of both inference and training: resize by one factor
per axis, optionally crop and flip, place at the canvas's top-left, pad the rest. Inference uses
the factor that fits the frame into the canvas; training multiplies it by a random scale (the
official EfficientDet-style resize-crop, reference §4.10) and flips with probability 0.5. One
transform serves every frame of a clip.

Training batches are a pure function of (seed, step, rank): `--resume` replays the same data
without saving any loader state, and each process of a DDP run draws its own clips.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

import cv2
import numpy as np

from smot.errors import InputError

if TYPE_CHECKING:
    from smot.media import ImageFrames


@dataclass(frozen=True)
class Transform:
    """source pixel (x, y) -> canvas pixel (x * sx - ox, y * sy - oy), mirrored in a valid width if flip."""

    sx: float
    sy: float
    ox: int
    oy: int
    size: tuple[int, int]  # resized (width, height) before cropping
    valid: tuple[int, int]  # (width, height) of the image inside the canvas
    flip: bool = False


def fit_transform(width: int, height: int, canvas: tuple[int, int], scale: float = 1.0,
                  crop: tuple[float, float] = (0.0, 0.0), flip: bool = False) -> Transform:
    """The transform of a width x height frame: fit into canvas (W, H), times `scale`, crop at the
    fractions `crop` of the spare width and height, mirror if `flip`."""
    factor = min(canvas[0] / width, canvas[1] / height) * scale
    rw, rh = max(1, round(width * factor)), max(1, round(height * factor))
    ox, oy = int(crop[0] * max(0, rw - canvas[0])), int(crop[1] * max(0, rh - canvas[1]))
    valid = (min(canvas[0], rw - ox), min(canvas[1], rh - oy))
    return Transform(rw / width, rh / height, ox, oy, (rw, rh), valid, flip)


def letterbox(image: np.ndarray, t: Transform, canvas: tuple[int, int]) -> np.ndarray:
    """BGR uint8 (h, w, 3) -> RGB uint8 (3, H, W) canvas, zero padding right and bottom."""
    resized = image
    if (image.shape[1], image.shape[0]) != t.size:
        resized = cv2.resize(image, t.size, interpolation=cv2.INTER_LINEAR)
    vw, vh = t.valid
    part = resized[t.oy:t.oy + vh, t.ox:t.ox + vw, ::-1]  # BGR -> RGB
    if t.flip:
        part = part[:, ::-1]
    out = np.zeros((3, canvas[1], canvas[0]), dtype=np.uint8)
    out[:, :vh, :vw] = part.transpose(2, 0, 1)
    return out


def boxes_to_canvas(boxes: np.ndarray, t: Transform, min_side: float = 2.0) -> np.ndarray:
    """(n, 4) source xyxy -> canvas xyxy clipped to the valid image; boxes thinner than min_side dropped."""
    out = boxes * np.array([t.sx, t.sy, t.sx, t.sy]) - np.array([t.ox, t.oy, t.ox, t.oy])
    out = np.clip(out, 0, np.array([t.valid[0], t.valid[1]] * 2, dtype=np.float64))
    if t.flip:
        out = np.stack([t.valid[0] - out[:, 2], out[:, 1], t.valid[0] - out[:, 0], out[:, 3]], axis=1)
    keep = ((out[:, 2] - out[:, 0]) >= min_side) & ((out[:, 3] - out[:, 1]) >= min_side)
    return out[keep].reshape(-1, 4)


def boxes_to_source(boxes: np.ndarray, t: Transform, width: int, height: int) -> np.ndarray:
    """(n, 4) canvas xyxy of an unflipped, uncropped transform -> source pixels, clipped to the frame."""
    out = (boxes + np.array([t.ox, t.oy, t.ox, t.oy])) / np.array([t.sx, t.sy, t.sx, t.sy])
    return np.clip(out, 0, np.array([width, height, width, height], dtype=np.float64))


# --------------------------------------------------------------------------------------------
# training clips


@dataclass
class Sequence:
    frames: ImageFrames  # .video: the video record; .read(t): frame t (1-based) as BGR uint8
    boxes: list[np.ndarray]  # per frame (n, 4) xyxy source pixels (rows with consider flag 0 dropped)

    @property
    def length(self) -> int:
        return self.frames.video.frames


def load_sequences(root: str | Path) -> list[Sequence]:
    """Every sequence of a BenSMOT split (or one sequence folder) with frames and boxes."""
    from smot.datasets.bensmot import find_sequences, read_sequence
    from smot.media import from_video_record
    from smot.records import Frame, Video

    sequences = []
    for video_id, folder in find_sequences(root):
        records = read_sequence(folder, video_id)
        video = next(r for r in records if isinstance(r, Video))
        if not video.images:
            raise InputError(f"sequence {video_id} has no images", str(folder),
                             hint="training reads frames from <sequence>/imgs/")
        boxes = [f.boxes[f.scores != 0] for f in records if isinstance(f, Frame)]
        sequences.append(Sequence(from_video_record(video), boxes))  # type: ignore[arg-type]
    return sequences


@dataclass(frozen=True)
class Augment:
    scale_range: tuple[float, float] = (0.1, 2.0)  # random factor on the fitted size (official)
    flip: float = 0.5  # probability of a horizontal flip


def sample_batch(sequences: list[Sequence], canvas: tuple[int, int], clips: int, clip_frames: int,
                 augment: Augment, seed: int, step: int, rank: int = 0
                 ) -> tuple[np.ndarray, np.ndarray, list[np.ndarray]]:
    """The detection batch of one process at one step: `clips` clips (videos drawn uniformly with
    replacement) of `clip_frames` consecutive frames, one random transform per clip.

    Returns images (B, 3, H, W) uint8 RGB, valid sizes (B, 2) (h, w) and boxes per image (n, 4)
    canvas pixels, B = clips * clip_frames (fewer frames when a video is shorter).
    """
    rng = np.random.default_rng([seed, step, rank])
    images, sizes, boxes = [], [], []
    for _ in range(clips):
        seq = sequences[rng.integers(len(sequences))]
        n = min(clip_frames, seq.length)
        start = int(rng.integers(seq.length - n + 1))
        scale = float(rng.uniform(*augment.scale_range))
        crop = (float(rng.random()), float(rng.random()))
        flip = bool(rng.random() < augment.flip)
        t = None
        for index in range(start, start + n):
            image = seq.frames.read(index + 1)
            if t is None:
                t = fit_transform(image.shape[1], image.shape[0], canvas, scale, crop, flip)
            images.append(letterbox(image, t, canvas))
            sizes.append((t.valid[1], t.valid[0]))
            boxes.append(boxes_to_canvas(seq.boxes[index], t).astype(np.float32))
    return np.stack(images), np.array(sizes, dtype=np.int64), boxes
