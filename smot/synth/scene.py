"""Scenes: the place a video is set (its `<scenario>` folder), its background, camera and lighting.

A background is drawn once per video, a little larger than the frame so that camera jitter is a
crop, and kept. Backgrounds use muted, low-saturation colours with soft texture, so the saturated
garments of the people stand out; the ground follows a one-point perspective whose horizon also
sets how tall a person is at each depth.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from smot.synth import SCENARIOS  # noqa: F401  (the places, in folder-name order)

# How a caption names the place: (preposition, noun).
PLACES = {
    "park": ("in", "park"),
    "street": ("on", "street"),
    "court": ("on", "court"),
    "hall": ("in", "hall"),
    "beach": ("on", "beach"),
    "plaza": ("in", "square"),
}


@dataclass
class Scene:
    """One video's place, camera and light. Pixel values are frame pixels (y down)."""

    scenario: str
    width: int
    height: int
    horizon: float  # image y of the horizon
    near: float  # image y of the feet of the nearest person
    far: float  # image y of the feet of the farthest person
    scale: float  # a person's height in pixels per pixel of feet below the horizon
    gain: float  # light: colour = clip(colour * gain + tint)
    tint: tuple[float, float, float]  # BGR offsets
    margin: int  # the background is this much larger than the frame on each side
    background: np.ndarray  # (height + 2 margin, width + 2 margin, 3) uint8 BGR, already lit

    def person_height(self, y: float) -> float:
        """Standing height in pixels of an average person whose feet are at image row `y`."""
        return self.scale * (y - self.horizon)

    def light(self, rgb: tuple[int, int, int]) -> tuple[int, int, int]:
        """The BGR colour a surface of colour `rgb` shows under this scene's light."""
        b, g, r = rgb[2], rgb[1], rgb[0]
        lit = (round(c * self.gain + t) for c, t in zip((b, g, r), self.tint, strict=True))
        return tuple(int(min(255, max(0, v))) for v in lit)


def make_scene(rng: np.random.Generator, scenario: str, width: int, height: int, margin: int) -> Scene:
    """A random background of `scenario` at `width` x `height` (plus `margin` on each side)."""
    horizon = height * float(rng.uniform(0.27, 0.33))
    near = height * 0.965
    far = horizon + (near - horizon) * 0.47
    scale = height * 0.56 / (near - horizon)  # the nearest average person is 56% of the frame height
    gain = float(rng.uniform(0.82, 1.1))
    tint = tuple(float(v) for v in rng.uniform(-6, 6, 3))
    W, H = width + 2 * margin, height + 2 * margin
    hz = int(round(horizon + margin))
    bg = np.empty((H, W, 3), np.uint8)
    draw = _DRAW[scenario]
    draw(bg, rng, hz, W, H)
    bg = _finish(bg, gain, tint, rng)
    return Scene(scenario, width, height, horizon, near, far, scale, gain, tint, margin, bg)


# --------------------------------------------------------------------------------------------
# drawing helpers (colours BGR)


def _jitter(rng: np.random.Generator, bgr: tuple[int, int, int], amount: int = 14) -> tuple[int, int, int]:
    return tuple(int(np.clip(c + rng.integers(-amount, amount + 1), 0, 255)) for c in bgr)


def _vertical_gradient(bg: np.ndarray, y0: int, y1: int, top, bottom) -> None:
    if y1 <= y0:
        return
    t = np.linspace(0.0, 1.0, y1 - y0)[:, None]
    rows = (np.array(top, float)[None] * (1 - t) + np.array(bottom, float)[None] * t).astype(np.uint8)
    bg[y0:y1] = rows[:, None, :]


def _perspective_rows(hz: int, H: int, n: int, rng: np.random.Generator) -> list[int]:
    """Image rows of n equally spaced ground lines, denser towards the horizon."""
    depth = np.linspace(1.0, 7.0, n) * rng.uniform(0.9, 1.1)
    return sorted({int(hz + (H - hz) / d) for d in depth})


def _rays(bg: np.ndarray, hz: int, W: int, H: int, colour, n: int, spread: float = 3.0) -> None:
    cx = W / 2
    for k in np.linspace(-1, 1, n):
        cv2.line(bg, (int(cx + k * W * 0.08), hz), (int(cx + k * W * spread), H + H), colour, 1, cv2.LINE_AA)


def _park(bg, rng, hz, W, H):
    _vertical_gradient(bg, 0, hz, _jitter(rng, (215, 195, 170)), _jitter(rng, (225, 215, 200)))
    grass = _jitter(rng, (95, 140, 120), 10)
    _vertical_gradient(bg, hz, H, grass, tuple(max(0, c - 25) for c in grass))
    for x in range(-20, W, 26):  # distant tree line
        r = int(rng.integers(16, 30))
        centre = (x + int(rng.integers(0, 20)), hz - int(rng.integers(0, 10)))
        cv2.circle(bg, centre, r, _jitter(rng, (70, 100, 80), 8), -1)
    path = _jitter(rng, (150, 175, 190), 8)
    x0 = rng.uniform(0.3, 0.7) * W
    corners = np.array([[x0 - 12, hz], [x0 + 12, hz], [x0 + W * 0.5, H], [x0 - W * 0.5, H]], np.int32)
    cv2.fillConvexPoly(bg, corners, path)
    for _ in range(int(rng.integers(2, 5))):  # trees near the horizon
        x = int(rng.uniform(0, W))
        top = hz - int(rng.integers(40, 80))
        cv2.line(bg, (x, hz + 8), (x, top + 20), _jitter(rng, (60, 80, 100), 8), int(rng.integers(5, 9)))
        cv2.circle(bg, (x, top + 10), int(rng.integers(22, 34)), _jitter(rng, (80, 115, 90), 10), -1)


def _street(bg, rng, hz, W, H):
    _vertical_gradient(bg, 0, hz, _jitter(rng, (205, 195, 185)), _jitter(rng, (215, 210, 205)))
    x = -int(rng.integers(0, 40))
    while x < W:  # building fronts
        w = int(rng.integers(70, 150))
        top = int(rng.integers(0, max(hz - 40, 1)))
        wall = _jitter(rng, [(140, 150, 165), (120, 130, 150), (150, 150, 150), (110, 120, 140)][rng.integers(4)], 12)
        cv2.rectangle(bg, (x, top), (x + w, hz), wall, -1)
        win = tuple(max(0, c - 45) for c in wall)
        for wy in range(top + 10, hz - 20, 26):
            for wx in range(x + 8, x + w - 14, 22):
                cv2.rectangle(bg, (wx, wy), (wx + 11, wy + 14), win, -1)
        x += w + int(rng.integers(0, 6))
    pave = _jitter(rng, (150, 150, 148), 5)
    _vertical_gradient(bg, hz, H, pave, tuple(max(0, c - 20) for c in pave))
    cv2.rectangle(bg, (0, hz), (W, hz + 5), _jitter(rng, (175, 175, 172), 6), -1)  # kerb
    line = tuple(max(0, c - 18) for c in pave)
    for y in _perspective_rows(hz + 5, H, 9, rng):
        cv2.line(bg, (0, y), (W, y), line, 1, cv2.LINE_AA)
    _rays(bg, hz, W, H, line, 9)


def _court(bg, rng, hz, W, H):
    wall = _jitter(rng, [(95, 110, 90), (120, 110, 100), (130, 120, 110)][rng.integers(3)], 10)
    _vertical_gradient(bg, 0, hz, wall, tuple(min(255, c + 15) for c in wall))
    for x in range(0, W, 16):  # fence mesh
        cv2.line(bg, (x, 0), (x, hz), tuple(max(0, c - 20) for c in wall), 1)
    floor = _jitter(rng, [(95, 115, 160), (140, 120, 100), (110, 130, 120)][rng.integers(3)], 10)
    _vertical_gradient(bg, hz, H, floor, tuple(max(0, c - 20) for c in floor))
    white = (215, 215, 215)
    rows = _perspective_rows(hz, H, 4, rng)
    for y in rows[:3]:
        cv2.line(bg, (0, y), (W, y), white, 2, cv2.LINE_AA)
    cx = W / 2 + rng.uniform(-0.2, 0.2) * W
    for k in (-1, 1):
        cv2.line(bg, (int(cx + k * W * 0.15), hz), (int(cx + k * W * 0.9), H), white, 2, cv2.LINE_AA)
    px = int(rng.uniform(0.1, 0.9) * W)  # a hoop on a pole
    cv2.line(bg, (px, hz + 4), (px, hz - 70), (90, 90, 95), 4)
    cv2.rectangle(bg, (px - 18, hz - 95), (px + 18, hz - 68), (225, 225, 225), -1)


def _hall(bg, rng, hz, W, H):
    wall = _jitter(rng, [(185, 195, 205), (170, 180, 175), (200, 190, 180)][rng.integers(3)], 10)
    _vertical_gradient(bg, 0, hz, tuple(max(0, c - 15) for c in wall), wall)
    step = int(rng.integers(90, 140))
    for x in range(int(rng.integers(0, step)), W, step):  # windows and pillars
        cv2.rectangle(bg, (x, int(hz * 0.2)), (x + step // 3, int(hz * 0.8)), _jitter(rng, (200, 185, 160), 8), -1)
        cv2.rectangle(bg, (x + step // 2, 0), (x + step // 2 + 10, hz), tuple(max(0, c - 25) for c in wall), -1)
    floor = _jitter(rng, [(120, 135, 150), (150, 150, 145), (100, 120, 140)][rng.integers(3)], 10)
    _vertical_gradient(bg, hz, H, floor, tuple(max(0, c - 25) for c in floor))
    line = tuple(max(0, c - 22) for c in floor)
    for y in _perspective_rows(hz, H, 10, rng):
        cv2.line(bg, (0, y), (W, y), line, 1, cv2.LINE_AA)
    _rays(bg, hz, W, H, line, 13)


def _beach(bg, rng, hz, W, H):
    _vertical_gradient(bg, 0, hz - 22, _jitter(rng, (215, 190, 160)), _jitter(rng, (225, 210, 190)))
    _vertical_gradient(bg, hz - 22, hz + 6, _jitter(rng, (150, 125, 95), 8), _jitter(rng, (170, 150, 120), 8))
    sand = _jitter(rng, (165, 190, 205), 8)
    _vertical_gradient(bg, hz + 6, H, sand, tuple(max(0, c - 20) for c in sand))
    for _ in range(40):  # footprints and pebbles
        x, y = int(rng.uniform(0, W)), int(rng.uniform(hz + 10, H))
        cv2.ellipse(bg, (x, y), (int(rng.integers(2, 6)), 2), 0, 0, 360, tuple(max(0, c - 25) for c in sand), -1)


def _plaza(bg, rng, hz, W, H):
    _vertical_gradient(bg, 0, hz, _jitter(rng, (210, 200, 190)), _jitter(rng, (220, 215, 210)))
    x = 0
    while x < W:  # low distant buildings
        w = int(rng.integers(90, 200))
        top = int(rng.integers(hz // 3, max(hz // 3 + 1, hz - 30)))
        cv2.rectangle(bg, (x, top), (x + w, hz), _jitter(rng, (150, 160, 170), 14), -1)
        x += w
    stone = _jitter(rng, (160, 165, 170), 10)
    _vertical_gradient(bg, hz, H, stone, tuple(max(0, c - 22) for c in stone))
    line = tuple(max(0, c - 25) for c in stone)
    for y in _perspective_rows(hz, H, 12, rng):
        cv2.line(bg, (0, y), (W, y), line, 1, cv2.LINE_AA)
    _rays(bg, hz, W, H, line, 15, 2.5)
    for _ in range(int(rng.integers(1, 4))):  # lamp posts
        px = int(rng.uniform(0, W))
        cv2.line(bg, (px, hz + 6), (px, hz - 80), (70, 70, 75), 3)
        cv2.circle(bg, (px, hz - 82), 6, (190, 210, 220), -1)


_DRAW = {"park": _park, "street": _street, "court": _court, "hall": _hall, "beach": _beach, "plaza": _plaza}


def _finish(bg: np.ndarray, gain: float, tint, rng: np.random.Generator) -> np.ndarray:
    """Soft blotches, so no region of the background is flat, then the scene's light: gain, tint
    and a gentle left-right falloff (one pass in float32)."""
    H, W = bg.shape[:2]
    low = rng.normal(0.0, 7.0, (H // 24 + 2, W // 24 + 2)).astype(np.float32)
    field = cv2.resize(low, (W, H), interpolation=cv2.INTER_CUBIC)
    ramp = 1.0 + rng.uniform(-0.08, 0.08) * np.linspace(-1.0, 1.0, W, dtype=np.float32)
    out = bg.astype(np.float32)
    out += field[..., None]
    out *= (gain * ramp)[None, :, None]
    out += np.array(tint, np.float32)
    return np.clip(out, 0, 255, out=out).astype(np.uint8)
