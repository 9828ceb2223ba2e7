"""Drawing SMOT results on frames: boxes, ids, trails, captions, interaction arrows, the video caption.

Pure functions over NumPy images (BGR uint8, drawn in place with OpenCV) and plain values, so the
render stage, the contact sheet and the synth docs share one look.
"""

from __future__ import annotations

import colorsys
import textwrap
from dataclasses import dataclass

import cv2
import numpy as np

FONT = cv2.FONT_HERSHEY_SIMPLEX
WHITE = (255, 255, 255)


def track_color(track: int) -> tuple[int, int, int]:
    """A stable, saturated BGR colour per track id (golden-ratio hues, so neighbours differ)."""
    hue = (track * 0.618033988749895) % 1.0
    r, g, b = colorsys.hsv_to_rgb(hue, 0.85, 1.0)
    return int(b * 255), int(g * 255), int(r * 255)


@dataclass(frozen=True)
class Style:
    """Sizes scaled to the frame: a 360-pixel-high frame gets scale 0.4 and 1-pixel lines."""

    scale: float
    thickness: int
    line_height: int
    pad: int

    @classmethod
    def for_height(cls, height: int) -> Style:
        scale = max(0.35, height / 900)
        return cls(scale=scale, thickness=max(1, round(height / 400)),
                   line_height=int(round(28 * scale)) + 2, pad=max(2, int(round(6 * scale))))


def text_size(text: str, style: Style) -> tuple[int, int]:
    (width, height), _ = cv2.getTextSize(text, FONT, style.scale, style.thickness)
    return width, height


def wrap(text: str, width: int, max_lines: int) -> list[str]:
    """Word-wrap `text` to `width` characters, at most `max_lines` lines (an ellipsis when cut)."""
    lines = textwrap.wrap(" ".join(text.split()), width) or [""]
    if len(lines) > max_lines:
        lines = lines[:max_lines]
        lines[-1] = lines[-1][: max(0, width - 3)].rstrip() + "..."
    return lines


def ascii_text(text: str) -> str:
    """OpenCV's Hershey fonts draw ASCII only: replace the rest."""
    return text.encode("ascii", "replace").decode("ascii")


def block_size(lines: list[str], style: Style) -> tuple[int, int]:
    width = max(text_size(line, style)[0] for line in lines) + 2 * style.pad
    return width, len(lines) * style.line_height + 2 * style.pad


def draw_block(image: np.ndarray, lines: list[str], x: int, y: int, style: Style,
               accent: tuple[int, int, int] | None = None, alpha: float = 0.7) -> tuple[int, int, int, int]:
    """Lines of white text on a translucent dark panel with its top-left at (x, y); its rectangle."""
    width, height = block_size(lines, style)
    h, w = image.shape[:2]
    x0, y0 = max(0, min(x, w - width)), max(0, min(y, h - height))
    x1, y1 = min(w, x0 + width), min(h, y0 + height)
    if x1 > x0 and y1 > y0:
        region = image[y0:y1, x0:x1]
        region[:] = (region * (1 - alpha)).astype(np.uint8)
        if accent is not None:
            cv2.rectangle(image, (x0, y0), (x0 + max(2, style.pad // 2), y1 - 1), accent, -1)
    for i, line in enumerate(lines):
        baseline = y0 + style.pad + (i + 1) * style.line_height - style.line_height // 4
        cv2.putText(image, ascii_text(line), (x0 + style.pad, baseline), FONT, style.scale, WHITE,
                    style.thickness, cv2.LINE_AA)
    return x0, y0, x0 + width, y0 + height


def _overlap(a: tuple[int, int, int, int], b: tuple[int, int, int, int]) -> bool:
    return a[0] < b[2] and b[0] < a[2] and a[1] < b[3] and b[1] < a[3]


def place_label(box: np.ndarray, size: tuple[int, int], frame: tuple[int, int],
                taken: list[tuple[int, int, int, int]], avoid: list[tuple[int, int, int, int]]) -> tuple[int, int]:
    """Top-left corner for a label of `size` beside `box`: below it, above it, right, left, in that
    order of preference, the first that stays in the frame and covers no placed label and no
    head (`avoid`: the upper third of every box); else the least bad of them."""
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    width, height = size
    frame_w, frame_h = frame
    gap = 3
    candidates = [(x1, y2 + gap), (x1, y1 - height - gap), (x2 + gap, y1), (x1 - width - gap, y1)]
    best, best_cost = candidates[0], None
    for x, y in candidates:
        rect = (x, y, x + width, y + height)
        inside = x >= 0 and y >= 0 and x + width <= frame_w and y + height <= frame_h
        cost = (0 if inside else 4) + 2 * sum(_overlap(rect, t) for t in taken) + sum(_overlap(rect, a) for a in avoid)
        if cost == 0:
            return x, y
        if best_cost is None or cost < best_cost:
            best, best_cost = (x, y), cost
    return best


def draw_box(image: np.ndarray, box: np.ndarray, track: int, style: Style) -> None:
    x1, y1, x2, y2 = (int(round(v)) for v in box)
    color = track_color(track)
    cv2.rectangle(image, (x1, y1), (x2, y2), color, style.thickness + 1, cv2.LINE_AA)
    label = str(track)
    width, height = text_size(label, style)
    top = max(0, y1 - height - 2 * style.pad)
    cv2.rectangle(image, (x1, top), (x1 + width + 2 * style.pad, top + height + 2 * style.pad), color, -1)
    cv2.putText(image, label, (x1 + style.pad, top + height + style.pad), FONT, style.scale, (0, 0, 0),
                style.thickness, cv2.LINE_AA)


def draw_trail(image: np.ndarray, points: list[tuple[float, float]], track: int, style: Style) -> None:
    """A fading polyline through the track's last foot points (bottom centres), oldest first."""
    color = np.array(track_color(track), dtype=np.float64)
    for i in range(1, len(points)):
        fade = 0.25 + 0.75 * i / len(points)
        a = (int(round(points[i - 1][0])), int(round(points[i - 1][1])))
        b = (int(round(points[i][0])), int(round(points[i][1])))
        cv2.line(image, a, b, tuple(int(c) for c in color * fade), style.thickness + 1, cv2.LINE_AA)


def anchor(box: np.ndarray) -> tuple[float, float]:
    """Where an interaction arrow starts and ends on a person: the chest, a third down the box."""
    x1, y1, x2, y2 = box
    return (x1 + x2) / 2, y1 + (y2 - y1) / 3


def draw_interaction(image: np.ndarray, subject_box: np.ndarray, object_box: np.ndarray, label: str,
                     subject: int, style: Style, offset: float = 0.0) -> tuple[int, int, int, int] | None:
    """An arrow from the subject to the object (the object end has the head), labelled beside its middle.

    `offset` shifts the arrow sideways (pixels, to its left as it points) and puts the label on that
    side, so the two directions of a pair and their labels stay apart.
    """
    (sx, sy), (ox, oy) = anchor(subject_box), anchor(object_box)
    dx, dy = ox - sx, oy - sy
    length = float(np.hypot(dx, dy))
    if length < 1:
        return None
    ux, uy = dx / length, dy / length
    nx, ny = uy, -ux  # the arrow's left in image coordinates (y points down)
    # stop short of the anchors so the head does not hide under the object's box label
    shrink = min(0.15 * length, 12 * style.scale / 0.4)
    start = (int(round(sx + nx * offset + ux * shrink)), int(round(sy + ny * offset + uy * shrink)))
    end = (int(round(ox + nx * offset - ux * shrink)), int(round(oy + ny * offset - uy * shrink)))
    color = track_color(subject)
    tip = min(0.3, 18 * style.scale / 0.4 / max(length, 1.0))
    cv2.arrowedLine(image, start, end, (0, 0, 0), style.thickness + 3, cv2.LINE_AA, tipLength=tip)
    cv2.arrowedLine(image, start, end, color, style.thickness + 1, cv2.LINE_AA, tipLength=tip)
    width, height = block_size([label], style)
    middle_x, middle_y = (start[0] + end[0]) / 2, (start[1] + end[1]) / 2
    if offset:  # beside the arrow, on its own side
        reach = abs(nx) * width / 2 + abs(ny) * height / 2 + 2
        middle_x += nx * reach * np.sign(offset)
        middle_y += ny * reach * np.sign(offset)
    return draw_block(image, [label], int(middle_x - width / 2), int(middle_y - height / 2), style, accent=color)


def banner_lines(image: np.ndarray, text: str, style: Style) -> list[str]:
    chars = max(20, int(image.shape[1] / (text_size("n", style)[0] + 0.5)) - 4)
    return wrap(text, chars, 3)


def draw_banner(image: np.ndarray, text: str, style: Style) -> tuple[int, int, int, int]:
    """The video caption across the top of the frame; its rectangle."""
    return draw_block(image, banner_lines(image, text, style), 0, 0, style, alpha=0.75)
