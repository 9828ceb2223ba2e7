"""The script of a video: who is there, what each person does when, and who does what to whom.

Everything else is derived from the script: the renderer draws it, and the captions, the
interactions and the video caption are written from it, so every label is true by construction.

A script is a set of stories. A pair story (two people meeting and shaking hands, one chasing the
other, two throwing a ball...) writes beats for both people and the directed interactions between
them, with predicates from the BenSMOT vocabulary (WordNet senses, ../shared/reference/
bensmot-interactions.txt). A solo story (walking across, waving, jumping...) writes beats for one.
Each person's beats cover the video's frames without gaps; frames are 0-based here.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from smot.synth.people import BACK, FRONT, LEFT, RIGHT, Appearance, sample_appearance
from smot.synth.scene import Scene

# Speeds in standing heights per second.
WALK = 0.55
RUN = 1.25
DEPTH_WALK = 0.25  # towards or away from the camera: feet-row change in heights per second

# The predicates the scripts act out, each a sense in the BenSMOT vocabulary.
PREDICATES = {
    "approach.v.01": "move towards",
    "handshake.n.01": "grasping and shaking a person's hand",
    "embrace.v.02": "squeeze (someone) tightly in your arms",
    "give.v.03": "transfer possession of something concrete",
    "receive.v.01": "get something; come into possession of",
    "talk.v.01": "exchange thoughts; talk with",
    "push.v.01": "move with force",
    "beckon.v.03": "summon with a wave, nod, or some other gesture",
    "follow.v.01": "to travel behind, go after, come after",
    "chase.v.01": "go after with the intent to catch",
    "flee.v.01": "run away quickly",
    "accompany.v.02": "go or travel along with",
    "pass.v.20": "throw (a ball) to another player",
    "catch.v.04": "take hold of so as to stop the motion of",
    "look.v.01": "direct one's gaze towards",
    "applaud.v.01": "clap one's hands to indicate approval",
}

# What a beat's action draws (people.MOTIONS), when it is not the action's own name.
MOTION = {
    "approach": "walk", "follow": "walk", "accompany": "walk", "chase": "run", "flee": "run",
    "handshake": "shake", "embrace": "hug", "give": "reach", "receive": "reach", "pushed": "stumble",
    "look": "stand", "applaud": "clap", "beckon": "wave", "pass": "throw", "turn": "stand",
    "walk_depth": "walk",
}

# Seconds each timed action takes.
SECONDS = {
    "wave": 1.2, "jump": 1.4, "crouch": 1.6, "turn": 0.6, "handshake": 1.2, "embrace": 1.5, "give": 1.2,
    "talk": 2.0, "push": 0.5, "pushed": 0.6, "beckon": 1.2, "throw": 0.4, "flight": 0.5, "applaud": 1.5,
    "dance": 2.0,
}

# Distance between the feet of two people doing an act together, in heights.
GAP = {"handshake": 0.45, "embrace": 0.24, "give": 0.47, "talk": 0.62, "push": 0.38}

SOLO_ACTIONS = ("wave", "jump", "crouch", "turn", "dance")


@dataclass
class Beat:
    """One action of one person over frames [start, end), moving from (x0, y0) to (x1, y1)."""

    action: str
    start: int
    end: int
    x0: float
    y0: float
    x1: float
    y1: float
    facing: int  # at the start
    facing_end: int  # at the end (differs for a turn)
    partner: int | None = None  # index of the other person of an interaction
    toward: int = 0  # -1/+1: the side hands reach to
    speaking: int = -1  # for talk: the parity of the 0.6 s turns in which this person speaks

    @property
    def motion(self) -> str:
        return MOTION.get(self.action, self.action)

    def at(self, t: int) -> tuple[float, float]:
        u = 0.0 if self.end - self.start <= 1 else (t - self.start) / (self.end - self.start)
        return self.x0 + (self.x1 - self.x0) * u, self.y0 + (self.y1 - self.y0) * u


@dataclass(frozen=True)
class Relation:
    """A directed interaction: `subject` does `predicate` to `object` during frames [start, end)."""

    subject: int
    object: int
    predicate: str
    start: int
    end: int


@dataclass
class Prop:
    """A thing passed between people: a box handed over or a ball thrown.

    `spans` lists (start, end, holder, catcher): held by `holder` when catcher is None, else flying
    from holder's hand to catcher's hand.
    """

    kind: str  # box | ball
    colour: str
    spans: list[tuple[int, int, int, int | None]] = field(default_factory=list)


@dataclass
class Story:
    """What the video caption tells: a kind, its people, and what they did."""

    kind: str
    actors: tuple[int, ...]
    act: str | None = None  # the act of a meeting
    direction: int = 0  # -1 left, +1 right, for stories that move


@dataclass
class Actor:
    appearance: Appearance
    beats: list[Beat]


@dataclass
class Script:
    scene: Scene
    frames: int
    fps: float
    actors: list[Actor]
    relations: list[Relation]
    props: list[Prop]
    stories: list[Story]


# --------------------------------------------------------------------------------------------
# building timelines


class Timeline:
    """Appends beats to one person's timeline, from where and when the last one ended."""

    def __init__(self, ctx: _Context, x: float, y: float, facing: int):
        self.ctx = ctx
        self.t = 0
        self.x, self.y, self.facing = x, y, facing
        self.beats: list[Beat] = []

    def height(self, y: float | None = None) -> float:
        return self.ctx.scene.person_height(self.y if y is None else y)

    def hold(self, action: str, frames: int, facing: int | None = None, partner: int | None = None,
             toward: int = 0, turn_to: int | None = None, speaking: int = -1) -> tuple[int, int]:
        """Stay in place doing `action` for `frames`; returns the frame span."""
        facing = self.facing if facing is None else facing
        end_facing = facing if turn_to is None else turn_to
        return self._add(Beat(action, self.t, self.t + max(frames, 1), self.x, self.y, self.x, self.y, facing,
                              end_facing, partner, toward, speaking))

    def move(self, action: str, x: float, y: float | None = None, speed: float = WALK,
             partner: int | None = None, facing: int | None = None, speaking: int = -1) -> tuple[int, int]:
        """Walk or run to (x, y) at `speed` heights per second; returns the frame span."""
        y = self.y if y is None else y
        h = (self.height() + self.height(y)) / 2
        frames = max(1, int(math.ceil(math.hypot(x - self.x, y - self.y) / (speed * h / self.ctx.fps))))
        if facing is None:
            facing = (RIGHT if x > self.x else LEFT) if abs(x - self.x) > 1e-6 else (FRONT if y > self.y else BACK)
        return self._add(Beat(action, self.t, self.t + frames, self.x, self.y, x, y, facing, facing, partner,
                              speaking=speaking))

    def until(self, t: int, action: str = "stand", **kwargs) -> None:
        if t > self.t:
            self.hold(action, t - self.t, **kwargs)

    def _add(self, beat: Beat) -> tuple[int, int]:
        self.beats.append(beat)
        self.t, self.x, self.y, self.facing = beat.end, beat.x1, beat.y1, beat.facing_end
        return beat.start, beat.end

    def finish(self, frames: int) -> list[Beat]:
        """The beats cut to [0, frames), the last one stretched with standing if short."""
        self.until(frames)
        out = []
        for beat in self.beats:
            if beat.start >= frames:
                break
            if beat.end > frames:
                x, y = beat.at(frames)
                beat = Beat(beat.action, beat.start, frames, beat.x0, beat.y0, x, y, beat.facing,
                            beat.facing if beat.facing_end != beat.facing else beat.facing_end, beat.partner,
                            beat.toward,
                            beat.speaking)
            out.append(beat)
        return out


@dataclass
class _Context:
    rng: np.random.Generator
    scene: Scene
    frames: int
    fps: float
    lines: dict[int, Timeline] = field(default_factory=dict)
    relations: list[Relation] = field(default_factory=list)
    props: list[Prop] = field(default_factory=list)
    stories: list[Story] = field(default_factory=list)

    def s(self, seconds: float) -> int:
        return max(1, int(round(seconds * self.fps)))

    def relate(self, subject: int, object: int, predicate: str, span: tuple[int, int]) -> None:
        start, end = span[0], min(span[1], self.frames)
        if end > start:
            self.relations.append(Relation(subject, object, predicate, start, end))

    def line(self, who: int, x: float, y: float, facing: int) -> Timeline:
        self.lines[who] = Timeline(self, x, y, facing)
        return self.lines[who]


def _side(a: float, b: float) -> int:
    """The side b is on, seen from a."""
    return RIGHT if b >= a else LEFT


# --------------------------------------------------------------------------------------------
# pair stories: `a` is the subject (who acts), `b` the object


def _act(ctx: _Context, act: str, a: int, b: int, la: Timeline, lb: Timeline) -> None:
    """Two people next to each other do `act` together; both timelines are at the same frame."""
    to_b, to_a = _side(la.x, lb.x), _side(lb.x, la.x)
    if act == "handshake":
        span = la.hold("handshake", ctx.s(SECONDS["handshake"]), to_b, b, to_b)
        lb.hold("handshake", span[1] - span[0], to_a, a, to_a)
        ctx.relate(a, b, "handshake.n.01", span)
        ctx.relate(b, a, "handshake.n.01", span)
    elif act == "embrace":
        span = la.hold("embrace", ctx.s(SECONDS["embrace"]), to_b, b, to_b)
        lb.hold("embrace", span[1] - span[0], to_a, a, to_a)
        ctx.relate(a, b, "embrace.v.02", span)
        ctx.relate(b, a, "embrace.v.02", span)
    elif act == "give":
        span = la.hold("give", ctx.s(SECONDS["give"]), to_b, b, to_b)
        lb.hold("receive", span[1] - span[0], to_a, a, to_a)
        ctx.relate(a, b, "give.v.03", span)
        ctx.relate(b, a, "receive.v.01", span)
    elif act == "talk":
        span = la.hold("talk", ctx.s(SECONDS["talk"]), to_b, b, to_b, speaking=0)
        lb.hold("talk", span[1] - span[0], to_a, a, to_a, speaking=1)
        ctx.relate(a, b, "talk.v.01", span)
        ctx.relate(b, a, "talk.v.01", span)
    elif act == "push":
        h = lb.height()
        span = la.hold("push", ctx.s(SECONDS["push"]), to_b, b, to_b)
        lb.until(span[0] + 1, facing=to_a)
        back = lb.move("pushed", lb.x + to_b * 0.45 * h, speed=0.45 / SECONDS["pushed"], partner=a, facing=to_a)
        ctx.relate(a, b, "push.v.01", (span[0], max(span[1], back[1])))
        la.until(lb.t, facing=to_b)
    else:
        raise ValueError(act)


def _after(ctx: _Context, line: Timeline, away: int) -> None:
    """What someone does once their part of a story is over: leave, wait or a solo action."""
    r = ctx.rng.random()
    left = ctx.frames - line.t
    if left <= 0:
        return
    if r < 0.4:
        edge = -0.5 * line.height() if away == LEFT else ctx.scene.width + 0.5 * line.height()
        line.move("walk", edge)
    elif r < 0.7 and left >= ctx.s(1.0):
        _solo_action(ctx, line, ctx.rng.choice(["wave", "jump", "crouch", "turn"]))
    else:
        line.hold("stand", left)


def _solo_action(ctx: _Context, line: Timeline, action: str) -> None:
    if action == "turn":
        turn_to = {LEFT: RIGHT, RIGHT: LEFT, FRONT: BACK, BACK: FRONT}[line.facing]
        if line.facing in (FRONT, BACK):
            turn_to = RIGHT if ctx.rng.random() < 0.5 else LEFT
        line.hold("turn", ctx.s(SECONDS["turn"]), turn_to=turn_to)
    elif action == "wave":
        line.hold("wave", ctx.s(SECONDS["wave"]), toward=RIGHT if ctx.rng.random() < 0.5 else LEFT)
    else:
        line.hold(action, ctx.s(SECONDS[action]))


def story_meet(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """a walks up to b (approach.v.01), then they shake hands, hug, talk, or a gives b a box or
    pushes b."""
    rng = ctx.rng
    act = str(rng.choice(["handshake", "embrace", "give", "talk", "push", "handshake+talk"],
                         p=[0.15, 0.15, 0.25, 0.1, 0.2, 0.15]))
    acts = act.split("+")
    side = RIGHT if rng.random() < 0.5 else LEFT  # a comes from this side of b
    h = ctx.scene.person_height(y)
    gap = GAP[acts[0]] * h
    act_frames = sum(ctx.s(SECONDS[x]) for x in acts) + (ctx.s(SECONDS["pushed"]) if "push" in acts else 0)
    pre = int(rng.integers(0, ctx.s(0.6) + 1))
    approach = int(np.clip(ctx.frames - pre - act_frames - ctx.s(0.8), ctx.s(0.8), ctx.s(2.6)))
    distance = WALK * h / ctx.fps * approach
    xb = xc - side * distance / 2
    meet_x = xb + side * gap
    lb = ctx.line(b, xb, y, side if rng.random() < 0.6 else -side)
    la = ctx.line(a, meet_x + side * distance, y, -side)
    if act == "give":
        colour = _prop_colour(ctx)
        ctx.props.append(Prop("box", colour))
    if pre:
        la.hold("stand", pre)
    span = la.move("approach", meet_x, partner=b)
    ctx.relate(a, b, "approach.v.01", span)
    if lb.facing != side:  # b turns round to face a as a arrives
        lb.until(max(span[1] - ctx.s(SECONDS["turn"]), 0))
        lb.hold("turn", ctx.s(SECONDS["turn"]), turn_to=side)
    lb.until(span[1], facing=side)
    la.until(lb.t, facing=-side)
    for x in acts:
        _act(ctx, x, a, b, la, lb)
    if act == "give":
        handover = (ctx.lines[a].beats[-1].start + ctx.lines[a].beats[-1].end) // 2
        ctx.props[-1].spans = [(0, handover, a, None), (handover, ctx.frames, b, None)]
    ctx.stories.append(Story("meet", (a, b), act))
    _after(ctx, la, side)
    _after(ctx, lb, -side)


def story_beckon(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """a waves b over (beckon.v.03), b walks up to a (approach.v.01), then they shake hands, hug or talk."""
    rng = ctx.rng
    act = str(rng.choice(["handshake", "embrace", "talk"]))
    side = RIGHT if rng.random() < 0.5 else LEFT  # b is on this side of a
    h = ctx.scene.person_height(y)
    gap = GAP[act] * h
    wave = ctx.s(SECONDS["beckon"])
    approach = int(np.clip(ctx.frames - wave - ctx.s(SECONDS[act]) - ctx.s(0.5), ctx.s(0.8), ctx.s(2.4)))
    distance = WALK * h / ctx.fps * approach
    xa = xc - side * (distance + gap) / 2
    la = ctx.line(a, xa, y, side)
    lb = ctx.line(b, xa + side * (gap + distance), y, -side if rng.random() < 0.5 else side)
    span = la.hold("beckon", wave, side, b, side)
    ctx.relate(a, b, "beckon.v.03", span)
    lb.until(span[1] - ctx.s(SECONDS["turn"]) if lb.facing == side else span[1] - 1)
    if lb.facing == side:
        lb.hold("turn", ctx.s(SECONDS["turn"]), turn_to=-side)
    span = lb.move("approach", xa + side * gap, partner=a)
    ctx.relate(b, a, "approach.v.01", span)
    la.until(lb.t, facing=side)
    _act(ctx, act, a, b, la, lb)
    ctx.stories.append(Story("beckon", (a, b), act))
    _after(ctx, la, -side)
    _after(ctx, lb, side)


def story_follow(ctx: _Context, a: int, b: int, xc: float, y: float, run: bool = False) -> None:
    """a walks behind b (follow.v.01); or a runs after b (chase.v.01) and b runs away (flee.v.01)."""
    rng = ctx.rng
    d = RIGHT if rng.random() < 0.5 else LEFT
    h = ctx.scene.person_height(y)
    speed = RUN if run else WALK * float(rng.uniform(0.85, 1.1))
    pre = ctx.s(float(rng.uniform(0.4, 1.2))) if run else 0
    gap = float(rng.uniform(1.1, 1.6) if not run else rng.uniform(1.3, 1.8)) * h
    travel = speed * h / ctx.fps * (ctx.frames - pre)
    # centre the walk on the frame; a chase starts a third of the way in and runs off the far side
    xb = xc - d * travel / 2 + d * gap / 2 if not run else ctx.scene.width / 2 - d * ctx.scene.width * 0.18
    lb = ctx.line(b, xb, y, d if not run else -d)
    la = ctx.line(a, xb - d * gap, y, d)
    if pre:
        lb.hold("stand", pre)
        la.hold("stand", pre)
        lb.hold("turn", ctx.s(SECONDS["turn"]) // 2 + 1, turn_to=d)
        la.until(lb.t)
    end_b = xb + d * travel * 1.5
    if run:
        span = lb.move("flee", end_b, speed=speed, partner=a)
        la.move("chase", end_b - d * gap, speed=speed, partner=b)
        ctx.relate(a, b, "chase.v.01", (la.beats[-1].start, la.beats[-1].end))
        ctx.relate(b, a, "flee.v.01", span)
    else:
        span = lb.move("walk", end_b, speed=speed)
        la.move("follow", end_b - d * gap, speed=speed, partner=b)
        ctx.relate(a, b, "follow.v.01", (la.beats[-1].start, la.beats[-1].end))
    ctx.stories.append(Story("chase" if run else "follow", (a, b), direction=d))


def story_chase(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    story_follow(ctx, a, b, xc, y, run=True)


def story_accompany(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """a and b walk side by side (accompany.v.02 both ways), perhaps talking (talk.v.01)."""
    rng = ctx.rng
    d = RIGHT if rng.random() < 0.5 else LEFT
    h = ctx.scene.person_height(y)
    speed = WALK * float(rng.uniform(0.8, 1.0))
    travel = speed * h / ctx.fps * ctx.frames
    talk = rng.random() < 0.5
    x0 = xc - d * travel / 2
    la = ctx.line(a, x0, y, d)
    lb = ctx.line(b, x0 - d * 0.42 * h, y + 0.035 * ctx.scene.height, d)
    span = la.move("accompany", x0 + d * travel * 1.5, speed=speed, partner=b, speaking=0 if talk else -1)
    # side by side: the same pixels per frame, though b is a little nearer (and so taller)
    lb.move("accompany", x0 + d * travel * 1.5 - d * 0.42 * h, speed=speed * h / lb.height(), partner=a,
            speaking=1 if talk else -1)
    ctx.relate(a, b, "accompany.v.02", span)
    ctx.relate(b, a, "accompany.v.02", span)
    if talk:
        ctx.relate(a, b, "talk.v.01", span)
        ctx.relate(b, a, "talk.v.01", span)
    ctx.stories.append(Story("accompany", (a, b), "talk" if talk else None, direction=d))


def story_ball(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """a throws a ball to b (pass.v.20), b catches it (catch.v.04), and back again."""
    rng = ctx.rng
    side = RIGHT if rng.random() < 0.5 else LEFT  # b is on this side of a
    h = ctx.scene.person_height(y)
    half = min(float(rng.uniform(1.0, 1.4)) * h, 0.3 * ctx.scene.width)
    xc = float(np.clip(xc, half + 0.08 * ctx.scene.width, 0.92 * ctx.scene.width - half))
    lines = {a: ctx.line(a, xc - side * half, y, side), b: ctx.line(b, xc + side * half, y, -side)}
    ball = Prop("ball", str(rng.choice(["orange", "white", "red", "yellow"])))
    ctx.props.append(ball)
    holder, other = a, b
    t = ctx.s(float(rng.uniform(0.3, 0.8)))
    lines[a].hold("hold", t, side, toward=side)
    lines[b].hold("stand", t, -side)
    ball.spans.append((0, t, a, None))
    passes = 0
    while t + ctx.s(SECONDS["throw"]) + ctx.s(SECONDS["flight"]) <= ctx.frames or passes == 0:
        lt, lc = lines[holder], lines[other]
        to_c = _side(lt.x, lc.x)
        throw = lt.hold("pass", ctx.s(SECONDS["throw"]), to_c, other, to_c)
        lc.until(throw[1], facing=-to_c)
        flight = ctx.s(SECONDS["flight"])
        catch = lc.hold("catch", flight + ctx.s(0.2), -to_c, holder, -to_c)
        lt.until(catch[1], facing=to_c)
        ball.spans.append((throw[0], throw[1], holder, None))
        ball.spans.append((throw[1], throw[1] + flight, holder, other))
        ball.spans.append((throw[1] + flight, catch[1], other, None))
        ctx.relate(holder, other, "pass.v.20", (throw[0], throw[1] + flight))
        ctx.relate(other, holder, "catch.v.04", (throw[1], throw[1] + flight + 1))
        hold = ctx.s(0.3)
        lc.hold("hold", hold, -to_c, toward=-to_c)
        lt.hold("stand", hold, to_c)
        ball.spans.append((catch[1], catch[1] + hold, other, None))
        t = lc.t
        holder, other = other, holder
        passes += 1
    ball.spans.append((t, ctx.frames + 1, holder, None))
    ctx.stories.append(Story("ball", (a, b)))


def story_show(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """b jumps or dances while a watches (look.v.01) and then claps (applaud.v.01)."""
    rng = ctx.rng
    side = RIGHT if rng.random() < 0.5 else LEFT  # b is on this side of a
    h = ctx.scene.person_height(y)
    half = min(float(rng.uniform(0.7, 1.0)) * h, 0.3 * ctx.scene.width)
    xc = float(np.clip(xc, half + 0.08 * ctx.scene.width, 0.92 * ctx.scene.width - half))
    la = ctx.line(a, xc - side * half, y, side)
    lb = ctx.line(b, xc + side * half, y, FRONT)
    performance = str(rng.choice(["jump", "dance"]))
    pre = ctx.s(float(rng.uniform(0.2, 0.8)))
    lb.hold("stand", pre)
    show = lb.hold(performance, max(ctx.s(SECONDS[performance]), ctx.frames // 2))
    look = la.hold("look", show[0] + ctx.s(1.0), side, b)
    ctx.relate(a, b, "look.v.01", look)
    clap = la.hold("applaud", ctx.s(SECONDS["applaud"]), side, b, side)
    ctx.relate(a, b, "applaud.v.01", clap)
    ctx.stories.append(Story("show", (a, b), performance))
    _after(ctx, lb, side)
    _after(ctx, la, -side)


def story_watch(ctx: _Context, a: int, b: int, xc: float, y: float) -> None:
    """b walks past while a stands and watches b (look.v.01), turning to keep b in view."""
    rng = ctx.rng
    d = RIGHT if rng.random() < 0.5 else LEFT
    h = ctx.scene.person_height(y)
    yb = min(y + 0.12 * ctx.scene.height, ctx.scene.near) if rng.random() < 0.5 else max(
        y - 0.1 * ctx.scene.height, ctx.scene.far)
    hb = ctx.scene.person_height(yb)
    travel = WALK * hb / ctx.fps * ctx.frames
    lb = ctx.line(b, xc - d * travel / 2, yb, d)
    lb.move("walk", xc + d * travel)
    la = ctx.line(a, xc + d * float(rng.uniform(-0.3, 0.3)) * h, y, -d)
    # a faces b until b has passed, then turns to follow b with the eyes
    walk = lb.beats[0]
    passed = walk.start + int((la.x - walk.x0) / (walk.x1 - walk.x0) * (walk.end - walk.start))
    first = la.hold("look", max(1, passed - ctx.s(SECONDS["turn"]) // 2), -d, b)
    la.hold("look", ctx.s(SECONDS["turn"]), -d, b, turn_to=d)  # turning while looking
    rest = la.hold("look", max(1, ctx.frames - la.t), d, b)
    ctx.relate(a, b, "look.v.01", (first[0], rest[1]))
    ctx.stories.append(Story("watch", (a, b), direction=d))


# --------------------------------------------------------------------------------------------
# solo stories


def story_cross(ctx: _Context, a: int, xc: float, y: float) -> None:
    """Walk (or run) across the frame, entering and leaving, perhaps stopping for an action."""
    rng = ctx.rng
    d = RIGHT if rng.random() < 0.5 else LEFT
    h = ctx.scene.person_height(y)
    W = ctx.scene.width
    run = rng.random() < 0.2
    speed = RUN * 0.9 if run else WALK * float(rng.uniform(0.9, 1.15))
    start = -0.3 * h if d == RIGHT else W + 0.3 * h
    if rng.random() < 0.5:  # start inside the frame
        start = xc - d * float(rng.uniform(0.1, 0.3)) * W
    line = ctx.line(a, start, y, d)
    if not run and rng.random() < 0.6:
        stop = xc + d * float(rng.uniform(-0.1, 0.15)) * W
        line.move("walk", stop, speed=speed)
        _solo_action(ctx, line, str(rng.choice(SOLO_ACTIONS)))
        d = line.facing if line.facing in (LEFT, RIGHT) else d
    end = -0.5 * h if d == LEFT else W + 0.5 * h
    line.move("run" if run else "walk", end, speed=speed)
    ctx.stories.append(Story("solo", (a,), "run" if run else "walk", direction=d))


def story_idle(ctx: _Context, a: int, xc: float, y: float) -> None:
    """Stay around one place: stand, wave, jump, crouch, turn, step aside."""
    rng = ctx.rng
    line = ctx.line(a, xc, y, int(rng.choice([LEFT, RIGHT, FRONT])))
    h = line.height()
    line.hold("stand", ctx.s(float(rng.uniform(0.3, 0.9))))
    for action in rng.permutation(["wave", "jump", "crouch", "turn", "walk", "dance"])[:3]:
        if line.t >= ctx.frames - ctx.s(0.6):
            break
        if action == "walk":
            d = RIGHT if rng.random() < 0.5 else LEFT
            line.move("walk", line.x + d * float(rng.uniform(0.8, 1.4)) * h)
        else:
            _solo_action(ctx, line, str(action))
        line.hold("stand", ctx.s(float(rng.uniform(0.2, 0.5))))
    ctx.stories.append(Story("solo", (a,), "idle"))


def story_depth(ctx: _Context, a: int, xc: float, y: float) -> None:
    """Walk towards the camera (growing) or away from it (shrinking)."""
    rng = ctx.rng
    scene = ctx.scene
    toward = rng.random() < 0.5
    y0, y1 = (scene.far, scene.near - 0.02 * scene.height) if toward else (scene.near - 0.02 * scene.height, scene.far)
    line = ctx.line(a, xc, y0, FRONT if toward else BACK)
    line.hold("stand", ctx.s(float(rng.uniform(0.2, 0.8))))
    line.move("walk_depth", xc, y1, speed=DEPTH_WALK)
    ctx.stories.append(Story("solo", (a,), "depth", direction=1 if toward else -1))


PAIR_STORIES = {
    "meet": story_meet, "beckon": story_beckon, "follow": story_follow, "chase": story_chase,
    "accompany": story_accompany, "ball": story_ball, "show": story_show, "watch": story_watch,
}
SOLO_STORIES = {"cross": story_cross, "idle": story_idle, "depth": story_depth}
# how often each pair story is told, set so that each predicate is roughly as common as the others
PAIR_WEIGHTS = {"meet": 0.34, "beckon": 0.1, "follow": 0.1, "chase": 0.09, "accompany": 0.09, "ball": 0.09,
                "show": 0.1, "watch": 0.09}


def _prop_colour(ctx: _Context) -> str:
    return str(ctx.rng.choice(["red", "blue", "yellow", "white", "orange", "green"]))


# --------------------------------------------------------------------------------------------
# the whole video


def plan(rng: np.random.Generator, scene: Scene, frames: int, fps: float, people: int,
         occlusion: float) -> Script:
    """The script of one video: `people` people in `scene` for `frames` frames."""
    ctx = _Context(rng, scene, frames, fps)
    genders = ["man" if rng.random() < 0.5 else "woman" for _ in range(people)]
    taken: set[str] = set()
    appearances = []
    for g in genders:
        app = sample_appearance(rng, g, taken)
        taken.add(app.top)
        appearances.append(app)

    # group people into stories: at least one pair when there are two people
    groups: list[tuple[str, tuple[int, ...]]] = []
    i = 0
    kinds, weights = list(PAIR_WEIGHTS), np.array(list(PAIR_WEIGHTS.values()))
    while i < people:
        if people - i >= 2 and (not groups or rng.random() < 0.6):
            groups.append((str(rng.choice(kinds, p=weights / weights.sum())), (i, i + 1)))
            i += 2
        else:
            crossing = 0.25 + 0.6 * occlusion
            r = rng.random()
            groups.append(("cross" if r < crossing else "depth" if r < crossing + 0.12 else "idle", (i,)))
            i += 1
    order = rng.permutation(len(groups))
    groups = [groups[k] for k in order]

    # each story gets its own depth and a horizontal slot; more occlusion squeezes the slots
    m = len(groups)
    band = scene.near - scene.far
    depths = scene.far + band * (np.arange(m) + rng.uniform(0.25, 0.75, m)) / m
    depths = depths[rng.permutation(m)]
    squeeze = 1.0 - 0.7 * occlusion
    for k, (kind, who) in enumerate(groups):
        slot = scene.width * (k + 0.5) / m
        xc = scene.width / 2 + (slot - scene.width / 2) * squeeze + rng.uniform(-0.05, 0.05) * scene.width
        # pair stories need room on both sides of their centre
        edge = 0.3 if kind in PAIR_STORIES else 0.12
        xc = float(np.clip(xc, edge * scene.width, (1 - edge) * scene.width))
        y = float(depths[k])
        if kind in PAIR_STORIES:
            PAIR_STORIES[kind](ctx, who[0], who[1], float(xc), y)
        else:
            SOLO_STORIES[kind](ctx, who[0], float(xc), y)

    actors = [Actor(appearances[k], ctx.lines[k].finish(frames)) for k in range(people)]
    relations = [r for r in ctx.relations if r.start < frames]
    return Script(scene, frames, fps, actors, relations, ctx.props, ctx.stories)


# --------------------------------------------------------------------------------------------
# where everyone is in a frame


def beat_at(actor: Actor, t: int) -> Beat:
    for beat in actor.beats:
        if beat.start <= t < beat.end:
            return beat
    return actor.beats[-1]


# motions whose cycle runs at a fixed rate (cycles per second); walk and run follow the distance
RATE = {"wave": 2.0, "shake": 2.5, "clap": 2.5, "talk": 1.5, "dance": 1.5, "jump": 1.0 / 0.7}


def pose_at(script: Script, index: int, t: int):
    """(x, y, height, facing, motion, phase, toward, beat) of person `index` in frame t (no camera)."""
    actor = script.actors[index]
    beat = beat_at(actor, t)
    x, y = beat.at(t)
    height = script.scene.person_height(y) * actor.appearance.tall
    motion = beat.motion
    elapsed = (t - beat.start) / script.fps
    if motion in ("walk", "run"):
        distance = math.hypot(x - beat.x0, y - beat.y0)
        if beat.action == "walk_depth":
            distance = elapsed * WALK * height
        phase = 2 * math.pi * distance / (height * (0.9 if motion == "walk" else 1.6))
    elif motion == "crouch":
        phase = 2 * math.pi * (t - beat.start + 0.5) / max(beat.end - beat.start, 1)
    elif motion == "throw":
        phase = math.pi * (t - beat.start + 1) / max(beat.end - beat.start, 1)
    else:
        phase = 2 * math.pi * RATE.get(motion, 0.0) * elapsed
    facing = beat.facing
    if beat.facing_end != beat.facing:
        u = (t - beat.start + 0.5) / max(beat.end - beat.start, 1)
        facing = beat.facing if u < 0.35 else beat.facing_end if u > 0.65 else (
            FRONT if BACK not in (beat.facing, beat.facing_end) else LEFT)
    return x, y, height, facing, motion, phase, beat.toward, beat


def speaking(beat: Beat, t: int, fps: float) -> bool:
    """Whether someone in a talk beat has the word in frame t (turns of 0.6 s alternate)."""
    if beat.speaking < 0:
        return False
    return int((t - beat.start) / max(1.0, 0.6 * fps)) % 2 == beat.speaking

