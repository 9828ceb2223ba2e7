"""People: what they look like (identity cues a caption can name) and how a pose is drawn.

A person is a 2-D paper-doll figure built from cv2 primitives (filled polygons, thick lines,
circles), so a frame costs a few dozen primitive calls per person. Every colour a caption names is a
palette entry drawn as that entry (lit by the scene, never mixed with another), so "a red shirt" is
red in the frames.

Geometry is in units of the person's standing height `h` (feet to the top of the head), measured
up from the feet; image y grows down. Joint angles are measured from straight down, positive
towards +x (the right of the image).
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import cv2
import numpy as np

# Named colours (RGB). Garments use saturated entries so that people stand out from the muted
# backgrounds and from each other; a name is used in captions exactly as written here.
PALETTE: dict[str, tuple[int, int, int]] = {
    "red": (205, 30, 35),
    "blue": (35, 75, 205),
    "green": (35, 155, 55),
    "yellow": (240, 210, 35),
    "orange": (245, 125, 20),
    "purple": (125, 45, 165),
    "pink": (245, 125, 185),
    "white": (242, 242, 242),
    "black": (28, 28, 30),
    "grey": (125, 125, 128),
    "brown": (115, 70, 35),
    "beige": (215, 190, 145),
    "blond": (225, 195, 110),
}

TOP_COLOURS = ("red", "blue", "green", "yellow", "orange", "purple", "pink", "white", "black")
TROUSER_COLOURS = ("black", "blue", "grey", "brown", "beige")
SKIRT_COLOURS = ("red", "blue", "black", "purple", "green", "yellow", "pink")
HAIR_COLOURS = ("black", "brown", "blond", "grey")
HAT_COLOURS = ("red", "blue", "black", "white", "yellow", "green", "orange")
BAG_COLOURS = ("black", "red", "blue", "green", "brown", "orange")
# Skin tones are drawn but never named.
SKIN_TONES = ((240, 200, 170), (222, 170, 130), (190, 135, 95), (140, 95, 65), (100, 65, 45))
SHOE_COLOUR = (40, 34, 30)
EYE_COLOUR = (25, 20, 20)

BUILDS = {"slim": 0.85, "average": 1.0, "broad": 1.2}

# facing: which way the person looks
LEFT, FRONT, RIGHT, BACK = -1, 0, 1, 2

# body proportions, in units of the standing height
HEAD_R = 0.068
SHOULDER_Y = 0.82
HIP_Y = 0.50
THIGH = 0.25
SHIN = 0.25
UPPER_ARM = 0.165
FOREARM = 0.165
SHIFT = 3  # cv2 fixed-point bits: coordinates are drawn with 1/8-pixel precision
ONE = 1 << SHIFT


@dataclass(frozen=True)
class Appearance:
    """What stays the same about a person through a video: the cues a caption names."""

    gender: str  # man | woman
    build: str  # slim | average | broad
    tall: float  # standing height relative to the average person at the same depth
    skin: tuple[int, int, int]  # RGB
    hair: str  # colour name
    hair_style: str  # short | long
    top: str  # shirt colour name
    sleeves: str  # short | long
    lower: str  # trousers | skirt | shorts
    lower_colour: str
    hat: str | None = None  # cap colour name
    bag: str | None = None  # backpack colour name

    @property
    def width(self) -> float:
        return BUILDS[self.build]


def sample_appearance(rng: np.random.Generator, gender: str, taken_tops: set[str]) -> Appearance:
    """A random appearance whose shirt colour no one else in the video wears (`taken_tops`)."""
    tops = [c for c in TOP_COLOURS if c not in taken_tops] or list(TOP_COLOURS)
    top = tops[rng.integers(len(tops))]
    woman = gender == "woman"
    lower = "trousers"
    if woman and rng.random() < 0.45:
        lower = "skirt"
    elif rng.random() < 0.15:
        lower = "shorts"
    lower_colours = [c for c in (SKIRT_COLOURS if lower == "skirt" else TROUSER_COLOURS) if c != top]
    hat = HAT_COLOURS[rng.integers(len(HAT_COLOURS))] if rng.random() < 0.22 else None
    if hat == top:
        hat = None
    bag = BAG_COLOURS[rng.integers(len(BAG_COLOURS))] if rng.random() < 0.25 else None
    if bag == top:
        bag = None
    return Appearance(
        gender=gender,
        build=("slim", "average", "broad")[rng.choice(3, p=(0.3, 0.5, 0.2) if woman else (0.2, 0.5, 0.3))],
        tall=float(rng.uniform(0.92, 1.0) if woman else rng.uniform(0.97, 1.06)),
        skin=SKIN_TONES[rng.integers(len(SKIN_TONES))],
        hair=HAIR_COLOURS[rng.choice(4, p=(0.4, 0.35, 0.15, 0.1))],
        hair_style="long" if woman and rng.random() < 0.75 else "short",
        top=top,
        sleeves="short" if rng.random() < 0.5 else "long",
        lower=lower,
        lower_colour=lower_colours[rng.integers(len(lower_colours))],
        hat=hat,
        bag=bag,
    )


# --------------------------------------------------------------------------------------------
# poses


@dataclass
class Pose:
    """Where a person is and what their limbs do in one frame (image pixels)."""

    x: float  # feet, image pixels
    y: float
    height: float  # standing height in pixels at this depth
    facing: int  # LEFT, FRONT, RIGHT or BACK
    action: str  # the motion being drawn (people.MOTIONS)
    phase: float  # radians through the motion's cycle
    toward: int = 0  # -1 or +1: the side a reach, hug, throw or gesture goes to


MOTIONS = ("stand", "walk", "run", "wave", "jump", "crouch", "reach", "shake", "hug", "push", "stumble",
           "talk", "clap", "throw", "catch", "hold", "dance")


def _limb(x: float, y: float, angle: float, length: float) -> tuple[float, float]:
    """End of a limb of `length` from (x, y) at `angle` from straight down (image coords)."""
    return x + length * math.sin(angle), y + length * math.cos(angle)


def _reach(sx: float, sy: float, tx: float, ty: float, px: float, py: float) -> tuple[float, float, float, float]:
    """Elbow and hand of a two-link arm from shoulder (sx, sy) towards target (tx, ty), in h with y
    down; the elbow bends to the side of the preferred direction (px, py)."""
    dx, dy = tx - sx, ty - sy
    d = math.hypot(dx, dy)
    reach = UPPER_ARM + FOREARM
    if d > reach * 0.999:
        tx, ty = sx + dx / d * reach * 0.999, sy + dy / d * reach * 0.999
        d = reach * 0.999
    if d < 1e-9:
        return sx + px * UPPER_ARM, sy + py * UPPER_ARM, tx, ty
    mx, my = (sx + tx) / 2, (sy + ty) / 2
    off = math.sqrt(max(UPPER_ARM * UPPER_ARM - d * d / 4, 0.0))
    nx, ny = -dy / d, dx / d
    if nx * px + ny * py < 0:
        nx, ny = -nx, -ny
    return mx + off * nx, my + off * ny, tx, ty


def _legs(pose: Pose, f: int) -> tuple[float, float, float, float, float]:
    """(left thigh, left shin, right thigh, right shin, body lift in h) for a motion."""
    a, p = pose.action, pose.phase
    d = f if f in (LEFT, RIGHT) else 1
    if a == "walk":
        s = 0.42 * math.sin(p)
        knee_l = 0.45 * max(0.0, math.sin(p + 1.2))
        knee_r = 0.45 * max(0.0, math.sin(p + 1.2 + math.pi))
        return d * s, d * (s - knee_l), -d * s, d * (-s - knee_r), 0.0
    if a == "run":
        s = 0.75 * math.sin(p)
        knee_l = 1.1 * max(0.0, math.sin(p + 1.0))
        knee_r = 1.1 * max(0.0, math.sin(p + 1.0 + math.pi))
        return d * s, d * (s - knee_l), -d * s, d * (-s - knee_r), 0.04 * abs(math.sin(p))
    if a == "jump":
        up = max(0.0, math.sin(p))  # airborne half of the cycle
        tuck = 0.5 * up
        return -0.12 - tuck * 0.3, -0.12 + tuck, 0.12 + tuck * 0.3, 0.12 - tuck, 0.22 * up
    if a == "crouch":
        c = 0.5 - 0.5 * math.cos(p)  # 0 standing, 1 fully down
        k = 1.05 * c
        return d * k - 0.08, -d * k - 0.08, d * k + 0.08, -d * k + 0.08, 0.0
    if a == "dance":
        s = 0.25 * math.sin(p)
        return -0.15 + s, -0.1 + s, 0.15 + s, 0.1 + s, 0.05 * abs(math.sin(p))
    if a == "stumble":
        return -0.18 * d, -0.05 * d, 0.12 * d, 0.05 * d, 0.0
    if a == "push":
        return 0.2 * d, 0.1 * d, -0.25 * d, -0.2 * d, 0.0
    return -0.05, -0.05, 0.05, 0.05, 0.0


def _hands(pose: Pose, f: int) -> tuple[tuple[float, float], tuple[float, float]]:
    """Hand targets (x, up) relative to the body centre at shoulder height, left then right hand, in h."""
    a, p, t = pose.action, pose.phase, pose.toward or (f if f in (LEFT, RIGHT) else 1)
    d = f if f in (LEFT, RIGHT) else 0
    hang_l, hang_r = (-0.13, -0.32), (0.13, -0.32)

    def one(hand):  # the hand on the `toward` side does the work, the other hangs
        return (hang_l, hand) if t > 0 else (hand, hang_r)

    if a == "walk":
        s = 0.11 * math.sin(pose.phase)
        return (-0.10 - d * s + d * 0.04, -0.31), (0.10 + d * s + d * 0.04, -0.31)
    if a == "run":
        s = 0.16 * math.sin(p)
        return (-0.08 - d * s + d * 0.1, -0.18), (0.08 + d * s + d * 0.1, -0.18)
    if a == "wave":
        return one((t * 0.20 + 0.07 * math.sin(p), 0.27))
    if a == "jump":
        up = max(0.0, math.sin(p))
        return (-0.22, -0.15 + 0.45 * up), (0.22, -0.15 + 0.45 * up)
    if a == "dance":
        return (-0.24, 0.15 + 0.1 * math.sin(p)), (0.24, 0.15 - 0.1 * math.sin(p))
    if a == "crouch":
        c = 0.5 - 0.5 * math.cos(p)
        return (-0.13 + 0.12 * c * (d or 1), -0.3 + 0.1 * c), (0.13 + 0.12 * c * (d or 1), -0.3 + 0.1 * c)
    if a in ("reach", "shake"):
        bob = 0.035 * math.sin(p) if a == "shake" else 0.0
        return one((t * 0.235, -0.12 + bob))  # half the distance a handshake or a handover is done at
    if a == "hold":
        return one((t * 0.22, -0.17))
    if a == "hug":
        return (t * 0.30, -0.04), (t * 0.30, -0.08)
    if a == "push":
        return (t * 0.36, -0.02), (t * 0.36, -0.06)
    if a == "stumble":
        return (-t * 0.18, 0.05), (-t * 0.24, -0.05)
    if a == "talk":
        return one((t * 0.2, -0.16 + 0.05 * math.sin(p)))
    if a == "clap":
        gap = 0.025 + 0.025 * (1 + math.sin(p))
        cx = t * 0.16 if d else 0.0
        return (cx - gap, -0.12), (cx + gap, -0.12)
    if a == "throw":
        # wind up behind the head, then release forward (phase 0..pi)
        k = min(max(p / math.pi, 0.0), 1.0)
        return one((t * (-0.12 + 0.42 * k), 0.22 - 0.2 * k))
    if a == "catch":
        return (t * 0.26, 0.02), (t * 0.26, 0.07)
    return hang_l, hang_r


@dataclass
class Figure:
    """One person in one frame: the primitives to draw and their extent."""

    prims: list  # ("poly"|"line"|"circle"|"ellipse", geometry..., colour key)
    box: tuple[float, float, float, float]  # x1, y1, x2, y2 tight around every primitive
    hands: tuple[tuple[float, float], tuple[float, float]]  # image pixels
    head: tuple[float, float, float]  # centre x, centre y, radius
    anchors: dict[str, tuple[float, float]]  # garment -> a point inside it (top, lower, hat, hair, bag)


def figure(app: Appearance, pose: Pose) -> Figure:
    """The primitives of `app` in `pose`, in drawing order (back to front)."""
    h = pose.height
    f = pose.facing
    w = app.width
    ll_t, ll_s, rl_t, rl_s, lift = _legs(pose, f)
    # the hip sits as high as the longer (straighter) leg allows, so the feet stay on the ground
    leg_drop = max(THIGH * math.cos(ll_t) + SHIN * math.cos(ll_s), THIGH * math.cos(rl_t) + SHIN * math.cos(rl_s))
    down = (HIP_Y - leg_drop) - lift  # how far the body sits below its standing place, in h
    X, Y = pose.x, pose.y

    def P(x: float, up: float) -> tuple[float, float]:  # body units -> image pixels
        return X + x * h, Y - (up - down) * h

    prims: list = []
    xs: list[float] = []
    ys: list[float] = []

    def line(a, b, thick, key):
        prims.append(("line", a, b, thick, key))
        r = thick / 2
        xs.extend((a[0] - r, a[0] + r, b[0] - r, b[0] + r))
        ys.extend((a[1] - r, a[1] + r, b[1] - r, b[1] + r))

    def circle(c, r, key):
        prims.append(("circle", c, r, key))
        xs.extend((c[0] - r, c[0] + r))
        ys.extend((c[1] - r, c[1] + r))

    def poly(points, key):
        prims.append(("poly", points, key))
        xs.extend(p[0] for p in points)
        ys.extend(p[1] for p in points)

    sw, hw = 0.105 * w, 0.072 * w
    arm_t, leg_t = 0.05 * h * math.sqrt(w), 0.062 * h * math.sqrt(w)
    hip_l, hip_r = P(-hw + 0.028, HIP_Y), P(hw - 0.028, HIP_Y)
    head_c = P(0.0, 1.0 - HEAD_R)
    head_r = HEAD_R * h

    # long hair and a backpack seen from the side or back go behind the body
    if app.hair_style == "long" and f != BACK:
        poly([P(-0.085, 0.93), P(0.085, 0.93), P(0.09, 0.76), P(-0.09, 0.76)], "hair")
    if app.bag and f in (LEFT, RIGHT):
        poly([P(-f * (sw + 0.07), 0.80), P(-f * (sw - 0.02), 0.80), P(-f * (sw - 0.02), 0.56),
              P(-f * (sw + 0.07), 0.56)], "bag")

    # legs: skin under a skirt or shorts, cloth in trousers; shoes at the ends
    leg_key = "lower" if app.lower == "trousers" else "skin"
    shorts_at = hip_l
    for hip, thigh, shin in ((hip_l, ll_t, ll_s), (hip_r, rl_t, rl_s)):
        knee = _limb(hip[0], hip[1], thigh, THIGH * h)
        foot = _limb(knee[0], knee[1], shin, SHIN * h)
        line(hip, knee, leg_t, leg_key)
        line(knee, foot, leg_t * 0.9, leg_key)
        if app.lower == "shorts":
            line(hip, _limb(hip[0], hip[1], thigh, THIGH * h * 0.55), leg_t * 1.1, "lower")
            if hip is hip_l:
                shorts_at = _limb(hip[0], hip[1], thigh, THIGH * h * 0.25)
        if f in (LEFT, RIGHT):
            line((foot[0] - 0.01 * h * f, foot[1]), (foot[0] + 0.04 * h * f, foot[1]), leg_t * 0.7, "shoe")
        else:
            line((foot[0] - 0.018 * h, foot[1]), (foot[0] + 0.018 * h, foot[1]), leg_t * 0.7, "shoe")
    if app.lower == "skirt":
        poly([P(-hw, HIP_Y + 0.01), P(hw, HIP_Y + 0.01), P(hw + 0.075, 0.31), P(-hw - 0.075, 0.31)], "lower")
    elif app.lower == "trousers":
        poly([P(-hw, HIP_Y + 0.01), P(hw, HIP_Y + 0.01), P(hw - 0.01, 0.44), P(-hw + 0.01, 0.44)], "lower")

    # torso and neck
    line(P(0.0, SHOULDER_Y), P(0.0, 1.0 - 2 * HEAD_R + 0.01), 0.045 * h, "skin")
    poly([P(-sw, SHOULDER_Y), P(sw, SHOULDER_Y), P(hw, HIP_Y), P(-hw, HIP_Y)], "top")
    if app.bag and f == BACK:
        poly([P(-0.075, 0.79), P(0.075, 0.79), P(0.075, 0.56), P(-0.075, 0.56)], "bag")
    elif app.bag and f == FRONT:
        line(P(-0.06, SHOULDER_Y), P(-0.07, 0.6), arm_t * 0.45, "bag")
        line(P(0.06, SHOULDER_Y), P(0.07, 0.6), arm_t * 0.45, "bag")

    # head, hair, face, cap
    circle(head_c, head_r, "skin")
    if f == BACK:
        circle(head_c, head_r * 1.04, "hair")
    else:
        poly([P(-HEAD_R * 1.05, 0.955), P(-HEAD_R * 0.6, 1.0 + 0.006), P(HEAD_R * 0.6, 1.0 + 0.006),
              P(HEAD_R * 1.05, 0.955), P(0.0 - f * HEAD_R * 0.9 if f else 0.0, 0.975)], "hair")
        eye_r = max(0.011 * h, 0.9)
        ey = head_c[1] + 0.005 * h
        if f == FRONT:
            prims.append(("circle", (head_c[0] - 0.026 * h, ey), eye_r, "eye"))
            prims.append(("circle", (head_c[0] + 0.026 * h, ey), eye_r, "eye"))
        else:
            prims.append(("circle", (head_c[0] + f * 0.036 * h, ey), eye_r, "eye"))
            poly([P(f * 0.062, 0.925), P(f * 0.085, 0.905), P(f * 0.062, 0.895)], "skin")
    if app.hat:
        poly([P(-HEAD_R * 1.08, 0.955), P(-HEAD_R * 0.75, 1.012), P(HEAD_R * 0.75, 1.012), P(HEAD_R * 1.08, 0.955)],
             "hat")
        if f in (LEFT, RIGHT):
            line(P(f * 0.02, 0.955), P(f * 0.12, 0.955), 0.018 * h, "hat")

    # arms over the torso: sleeve (shirt colour) then skin, hands at the ends
    targets = _hands(pose, f)
    d = f if f in (LEFT, RIGHT) else 0
    hands = []
    for side, (tx, tu) in zip((-1, 1), targets, strict=True):
        sx, su = side * (sw - 0.02), SHOULDER_Y - 0.02
        # elbows bend backwards, outwards and down, as elbows do
        ex, eu, hx, hu = _reach(sx, -su, tx, -(SHOULDER_Y + tu), -d + 0.6 * side, 0.4)
        shoulder, elbow, hand = P(sx, su), P(ex, -eu), P(hx, -hu)
        # forearm first, then the sleeve over the elbow (thick lines have round caps)
        sleeve = app.sleeves == "long"
        line(elbow, hand, arm_t * (0.9 if sleeve else 0.85), "top" if sleeve else "skin")
        line(shoulder, elbow, arm_t, "top")
        circle(hand, arm_t * 0.6, "skin")
        hands.append(hand)
    box = (min(xs), min(ys), max(xs), max(ys))
    # points inside each garment (below a backpack, away from hanging hands), for checking colours
    anchors = {"top": P(0.0, 0.545), "lower": shorts_at if app.lower == "shorts" else
               P(0.0, 0.40 if app.lower == "skirt" else 0.475)}
    if app.hat:
        anchors["hat"] = P(0.0, 0.985)
    else:
        anchors["hair"] = P(0.0, 0.99)
    if app.bag and f == BACK:
        anchors["bag"] = P(0.0, 0.67)
    elif app.bag and f in (LEFT, RIGHT):
        anchors["bag"] = P(-f * (sw + 0.025), 0.68)
    return Figure(prims=prims, box=box, hands=(hands[0], hands[1]), head=(head_c[0], head_c[1], head_r),
                  anchors=anchors)


def _fixed(p: tuple[float, float], ox: float = 0.0, oy: float = 0.0, s: float = 1.0) -> tuple[int, int]:
    return int(round((p[0] - ox) * s * ONE)), int(round((p[1] - oy) * s * ONE))


def draw(canvas: np.ndarray, fig: Figure, colours: dict, outline: tuple[int, int, int] | None = None) -> None:
    """Draw a figure on a BGR canvas; `colours` maps each key to a BGR tuple. With `outline`, a
    one-pixel line of that colour goes round the silhouette first, so that skin and clothes stand
    out from a background of a similar colour."""
    lt = cv2.LINE_AA
    fixed = []
    for prim in fig.prims:
        kind = prim[0]
        if kind == "line":
            fixed.append((0, _fixed(prim[1]), _fixed(prim[2]), max(1, int(round(prim[3]))), colours[prim[-1]]))
        elif kind == "circle":
            fixed.append((1, _fixed(prim[1]), int(round(prim[2] * ONE)), 0, colours[prim[-1]]))
        else:
            fixed.append((2, np.array([_fixed(p) for p in prim[1]], np.int32), None, 0, colours[prim[-1]]))
    if outline is not None:
        for (kind, a, b, thick, _), prim in zip(fixed, fig.prims, strict=True):
            if prim[-1] == "eye":
                continue
            if kind == 0:
                cv2.line(canvas, a, b, outline, thick + 2, cv2.LINE_8, SHIFT)
            elif kind == 1:
                cv2.circle(canvas, a, b + ONE, outline, -1, cv2.LINE_8, SHIFT)
            else:
                cv2.polylines(canvas, [a], True, outline, 2, cv2.LINE_8, SHIFT)
    for kind, a, b, thick, colour in fixed:
        if kind == 0:
            cv2.line(canvas, a, b, colour, thick, lt, SHIFT)
        elif kind == 1:
            cv2.circle(canvas, a, b, colour, -1, lt, SHIFT)
        else:
            cv2.fillConvexPoly(canvas, a, colour, lt, SHIFT)


# small parts left out of visibility silhouettes: they change the count by a few pixels at most
_DETAILS = {"eye", "shoe", "hat", "bag"}


def draw_mask(mask: np.ndarray, fig: Figure, ox: float, oy: float, scale: float) -> None:
    """Draw the silhouette of a figure (value 1) on a uint8 mask whose pixel (0, 0) is image point
    (ox, oy) and whose pixels are 1/scale image pixels wide."""
    for prim in fig.prims:
        kind = prim[0]
        if prim[-1] in _DETAILS:
            continue
        if kind == "line":
            cv2.line(mask, _fixed(prim[1], ox, oy, scale), _fixed(prim[2], ox, oy, scale), 1,
                     max(1, int(round(prim[3] * scale))), cv2.LINE_8, SHIFT)
        elif kind == "circle":
            cv2.circle(mask, _fixed(prim[1], ox, oy, scale), int(round(prim[2] * scale * ONE)), 1, -1,
                       cv2.LINE_8, SHIFT)
        else:
            pts = np.array([_fixed(p, ox, oy, scale) for p in prim[1]], np.int32)
            cv2.fillConvexPoly(mask, pts, 1, cv2.LINE_8, SHIFT)
