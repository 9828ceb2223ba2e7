"""Rendering a script: where every figure is in every frame (boxes, visibility), then the pixels.

`layout` works out the geometry of every frame without drawing a pixel: the camera's jitter, each
person's figure in depth order, the props, and for each person the ground-truth box (the tight
box of the whole figure, clipped to the frame) and the fraction of the figure that is visible
(inside the frame and not hidden by someone nearer), measured on half-resolution silhouettes. A
person gets a box in a frame only when enough of them shows. `paint` then draws the frames:
the cached background cropped at the camera's offset, shadows, people far to near with what they
hold, speech bubbles, and sensor noise from a cached noise bank.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from functools import lru_cache

import cv2
import numpy as np

from smot.synth.people import EYE_COLOUR, PALETTE, SHOE_COLOUR, Figure, Pose, draw, draw_mask, figure
from smot.synth.script import Script, pose_at, speaking

MIN_VISIBILITY = 0.2  # a person shows in a frame (has a box) when at least this much of them is seen
MIN_SIDE = 4.0  # ... and the clipped box is at least this many pixels wide and high
MASK_SCALE = 0.5  # silhouettes for visibility are drawn at half resolution


@dataclass
class FrameLayout:
    """The geometry of one frame (0-based t)."""

    t: int
    camera: tuple[int, int]  # how far the camera has moved right and down, pixels
    figures: list[Figure]  # per person, image pixels
    order: list[int]  # people far to near (drawing order)
    boxes: dict[int, tuple[float, float, float, float]] = field(default_factory=dict)  # person -> xyxy
    visibility: dict[int, float] = field(default_factory=dict)  # person -> visible fraction
    props: list[tuple[str, str, float, float, float, int | None]] = field(default_factory=list)
    bubbles: list[tuple[float, float, float, int]] = field(default_factory=list)  # x, y, size, side


def camera_path(rng: np.random.Generator, frames: int, jitter: float, margin: int) -> list[tuple[int, int]]:
    """Integer camera offsets per frame: a mean-reverting random walk whose spread is `jitter` pixels."""
    if jitter <= 0:
        return [(0, 0)] * frames
    keep = 0.85
    steps = rng.normal(0.0, jitter * math.sqrt(1 - keep * keep), (frames, 2))
    out, c = [], np.zeros(2)
    for t in range(frames):
        c = keep * c + steps[t]
        out.append(tuple(int(v) for v in np.clip(np.round(c), -margin, margin)))
    return out


def layout(script: Script, camera: list[tuple[int, int]]) -> list[FrameLayout]:
    """The geometry of every frame of `script` seen through `camera`."""
    scene = script.scene
    W, H = scene.width, scene.height
    frames: list[FrameLayout] = []
    poses = []
    for t in range(script.frames):
        cx, cy = camera[t]
        figs, feet, beats = [], [], []
        for i, actor in enumerate(script.actors):
            x, y, height, facing, motion, phase, toward, beat = pose_at(script, i, t)
            figs.append(figure(actor.appearance, Pose(x - cx, y - cy, height, facing, motion, phase, toward)))
            feet.append(y)
            beats.append(beat)
        order = sorted(range(len(figs)), key=lambda i: (feet[i], i))
        frame = FrameLayout(t, (cx, cy), figs, order)
        _measure(frame, W, H)
        for i in order:
            beat = beats[i]
            if speaking(beat, t, script.fps):
                head = figs[i].head
                side = beat.toward or (1 if beat.facing >= 0 else -1)
                frame.bubbles.append((head[0] + side * head[2] * 2.6, head[1] - head[2] * 2.2, head[2], side))
        frames.append(frame)
        poses.append(beats)
    _place_props(script, frames, poses)
    return frames


def _measure(frame: FrameLayout, W: int, H: int) -> None:
    """Boxes and visible fractions, nearest person first: what a nearer person covers is hidden."""
    s = MASK_SCALE
    covered = np.zeros((int(math.ceil(H * s)), int(math.ceil(W * s))), np.uint8)
    boxes = [fig.box for fig in frame.figures]
    for i in reversed(frame.order):
        fig = frame.figures[i]
        x1, y1, x2, y2 = fig.box
        alone = x1 >= 0 and y1 >= 0 and x2 <= W and y2 <= H and not any(
            j != i and b[0] < x2 + 2 and x1 < b[2] + 2 and b[1] < y2 + 2 and y1 < b[3] + 2 for j, b in enumerate(boxes))
        if alone:  # the common case: inside the frame and clear of everyone, so wholly visible
            if x2 - x1 >= MIN_SIDE and y2 - y1 >= MIN_SIDE:
                frame.boxes[i] = (round(x1, 1), round(y1, 1), round(x2, 1), round(y2, 1))
                frame.visibility[i] = 1.0
            continue
        ox, oy = int(math.floor(x1 * s)), int(math.floor(y1 * s))
        mask = np.zeros((int(math.ceil(y2 * s)) - oy + 2, int(math.ceil(x2 * s)) - ox + 2), np.uint8)
        draw_mask(mask, fig, ox / s, oy / s, s)
        total = cv2.countNonZero(mask)
        # the part of the mask inside the frame
        r0, c0 = max(0, -oy), max(0, -ox)
        r1, c1 = min(mask.shape[0], covered.shape[0] - oy), min(mask.shape[1], covered.shape[1] - ox)
        if total == 0 or r1 <= r0 or c1 <= c0:
            continue
        inside = mask[r0:r1, c0:c1]
        under = covered[oy + r0:oy + r1, ox + c0:ox + c1]
        visible = cv2.countNonZero(cv2.bitwise_and(inside, cv2.bitwise_not(under) & 1))
        np.bitwise_or(under, inside, out=under)
        fraction = visible / total
        bx1, by1, bx2, by2 = max(x1, 0.0), max(y1, 0.0), min(x2, float(W)), min(y2, float(H))
        if fraction >= MIN_VISIBILITY and bx2 - bx1 >= MIN_SIDE and by2 - by1 >= MIN_SIDE:
            frame.boxes[i] = (round(bx1, 1), round(by1, 1), round(bx2, 1), round(by2, 1))
            frame.visibility[i] = round(fraction, 2)


def _hand(fig: Figure, side: int) -> tuple[float, float]:
    return fig.hands[1] if side > 0 else fig.hands[0]


def _place_props(script: Script, frames: list[FrameLayout], beats: list) -> None:
    """Each prop in each frame: in its holder's hand, or on its way between two people's hands."""
    for prop in script.props:
        for start, end, holder, catcher in prop.spans:
            for t in range(start, min(end, script.frames)):
                fig = frames[t].figures[holder]
                size = fig.head[2] * (0.55 if prop.kind == "ball" else 0.75)
                beat = beats[t][holder]
                side = beat.toward or (1 if beat.facing == 1 else -1 if beat.facing == -1 else 1)
                if catcher is None:
                    x, y = _hand(fig, side)
                    frames[t].props.append((prop.kind, prop.colour, x, y - size * 0.3, size, holder))
                else:  # a throw: from the hand at release to the catcher's hands at the catch, arcing up
                    t_end = min(end, script.frames - 1)
                    release = frames[start].figures[holder]
                    catch = frames[t_end].figures[catcher]
                    to = 1 if catch.box[0] > release.box[0] else -1
                    ax, ay = _hand(release, to)
                    bx, by = _hand(catch, -to)
                    u = (t - start + 1) / (end - start + 1)
                    lift = 4 * u * (1 - u) * fig.head[2] * 4
                    frames[t].props.append((prop.kind, prop.colour, ax + (bx - ax) * u, ay + (by - ay) * u - lift,
                                            size, None))


# --------------------------------------------------------------------------------------------
# pixels


@lru_cache(maxsize=4)
def _noise_bank(width: int, height: int, sigma: float, pad: int = 64) -> tuple[np.ndarray, np.ndarray]:
    """Positive and negative parts of Gaussian sensor noise, a little larger than a frame; frames
    take crops of it at random offsets. Built from a fixed seed, so every process has the same bank."""
    rng = np.random.default_rng(20240704)
    noise = rng.normal(0.0, sigma, (height + pad, width + pad, 3)).astype(np.float32)
    return (np.clip(noise, 0, 255).astype(np.uint8), np.clip(-noise, 0, 255).astype(np.uint8))


def colour_table(script: Script, index: int) -> dict[str, tuple[int, int, int]]:
    """BGR colours of person `index`'s keys under the scene's light."""
    app = script.actors[index].appearance
    light = script.scene.light
    return {
        "top": light(PALETTE[app.top]), "lower": light(PALETTE[app.lower_colour]), "hair": light(PALETTE[app.hair]),
        "hat": light(PALETTE[app.hat or "black"]), "bag": light(PALETTE[app.bag or "black"]),
        "skin": light(app.skin), "shoe": light(SHOE_COLOUR), "eye": light(EYE_COLOUR),
    }


def paint(script: Script, frames: list[FrameLayout], rng: np.random.Generator, noise: float):
    """The BGR image of each frame, in order (one array reused: copy it to keep it)."""
    scene = script.scene
    W, H, m = scene.width, scene.height, scene.margin
    colours = [colour_table(script, i) for i in range(len(script.actors))]
    prop_colours = {name: scene.light(rgb) for name, rgb in PALETTE.items()}
    white, ink = scene.light((250, 250, 250)), scene.light((40, 40, 40))
    outline = scene.light((30, 28, 26))
    bank = _noise_bank(W, H, float(noise)) if noise > 0 else None
    offsets = rng.integers(0, 64, (len(frames), 2)) if bank is not None else None
    image = np.empty((H, W, 3), np.uint8)
    for frame in frames:
        cx, cy = frame.camera
        np.copyto(image, scene.background[m + cy:m + cy + H, m + cx:m + cx + W])
        for i in frame.order:
            _shadow(image, frame.figures[i])
        for i in frame.order:
            draw(image, frame.figures[i], colours[i], outline)
            for kind, colour, x, y, size, holder in frame.props:
                if holder == i:
                    _prop(image, kind, prop_colours[colour], x, y, size)
        for kind, colour, x, y, size, holder in frame.props:
            if holder is None:
                _prop(image, kind, prop_colours[colour], x, y, size)
        for x, y, r, side in frame.bubbles:
            _bubble(image, x, y, r, side, white, ink)
        if bank is not None:
            oy, ox = offsets[frame.t]
            cv2.add(image, bank[0][oy:oy + H, ox:ox + W], dst=image)
            cv2.subtract(image, bank[1][oy:oy + H, ox:ox + W], dst=image)
        yield image


def _shadow(image: np.ndarray, fig: Figure) -> None:
    """A soft dark ellipse on the ground under the feet."""
    x1, _, x2, y2 = fig.box
    h = fig.head[2] / 0.068
    cx, cy = (x1 + x2) / 2, y2 - 0.01 * h
    ax, ay = 0.17 * h, 0.03 * h
    X1, Y1 = max(int(cx - ax) - 1, 0), max(int(cy - ay) - 1, 0)
    X2, Y2 = min(int(cx + ax) + 2, image.shape[1]), min(int(cy + ay) + 2, image.shape[0])
    if X2 <= X1 or Y2 <= Y1:
        return
    roi = image[Y1:Y2, X1:X2]
    dark = (roi * 0.72).astype(np.uint8)
    mask = np.zeros(roi.shape[:2], np.uint8)
    cv2.ellipse(mask, (int(round((cx - X1) * 8)), int(round((cy - Y1) * 8))),
                (max(1, int(ax * 8)), max(1, int(ay * 8))), 0, 0, 360, 1, -1, cv2.LINE_8, 3)
    np.copyto(roi, dark, where=mask[..., None].astype(bool))


def _prop(image: np.ndarray, kind: str, colour, x: float, y: float, size: float) -> None:
    if kind == "ball":
        cv2.circle(image, (int(round(x * 8)), int(round(y * 8))), max(8, int(size * 8)), colour, -1, cv2.LINE_AA, 3)
    else:
        p1 = (int(round((x - size) * 8)), int(round((y - size * 0.8) * 8)))
        p2 = (int(round((x + size) * 8)), int(round((y + size * 0.8) * 8)))
        cv2.rectangle(image, p1, p2, colour, -1, cv2.LINE_AA, 3)
        cv2.rectangle(image, p1, p2, tuple(int(c * 0.6) for c in colour), 1, cv2.LINE_AA, 3)


def _bubble(image: np.ndarray, x: float, y: float, r: float, side: int, white, ink) -> None:
    """A speech bubble beside a head: an ellipse, a tail towards the mouth and three dots."""
    ax, ay = r * 1.5, r * 0.95
    c = (int(round(x * 8)), int(round(y * 8)))
    tail = np.array([[x - side * ax * 0.3, y + ay * 0.6], [x - side * ax * 0.1, y + ay * 0.8],
                     [x - side * ax * 1.1, y + ay * 1.9]]) * 8
    cv2.fillConvexPoly(image, tail.round().astype(np.int32), white, cv2.LINE_AA, 3)
    cv2.ellipse(image, c, (int(ax * 8), int(ay * 8)), 0, 0, 360, white, -1, cv2.LINE_AA, 3)
    dot = max(1, int(r * 0.16 * 8))
    for k in (-1, 0, 1):
        cv2.circle(image, (int(round((x + k * ax * 0.45) * 8)), c[1]), dot, ink, -1, cv2.LINE_AA, 3)


def encode(image: np.ndarray, quality: int) -> bytes:
    """JPEG bytes with fixed settings, so the same image always gives the same bytes."""
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, int(quality)])
    if not ok:
        raise RuntimeError("JPEG encoding failed")
    return data.tobytes()
