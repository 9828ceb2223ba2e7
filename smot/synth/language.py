"""Captions written from the script: an instance caption per person and a caption of the video.

An instance caption names what the person looks like, then what they do in order, interactions
included: "A woman with long blond hair in a green top and a blue skirt walks up to the man in
the red shirt, shakes hands with him and talks with him." Wording varies (synonyms, sentence
shapes) over a small, consistent vocabulary, so a model can learn it. Only what is seen is said:
a beat is told only when the person shows in enough of its frames, an interaction only when it was
kept (both people on screen), a direction is the direction the person moves, a colour the colour
drawn. Every claim a caption makes is also returned as a `Fact`, which the tests check against the
boxes and pixels.

People are referred to by gender and shirt colour ("the man in the red shirt"); shirt colours are
distinct within a video, so the reference is unambiguous.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace

import numpy as np

from smot.synth.people import BACK, LEFT, RIGHT, Appearance
from smot.synth.scene import PLACES
from smot.synth.script import Beat, Script

MIN_WORDS, MAX_WORDS = 15, 40

TOP_NOUNS = {"short": ("shirt", "t-shirt", "top"), "long": ("shirt", "top", "sweater")}
LOWER_NOUNS = {"trousers": ("trousers", "pants"), "skirt": ("skirt",), "shorts": ("shorts",)}
DIRECTION = {LEFT: "left", RIGHT: "right"}

# Verb phrases per action: {p} is the partner ({ps} the possessive), {d} the direction, {c} a prop's
# colour and {ac} the colour with its article.
PHRASES: dict[str, tuple[str, ...]] = {
    "stand": ("stands still", "stands in place", "waits"),
    "walk": ("walks to the {d}", "walks {d}", "heads to the {d}"),
    "enter": ("walks in from the {d}", "enters from the {d}"),
    "exit": ("walks out of view to the {d}", "leaves to the {d}"),
    "run": ("runs to the {d}", "jogs to the {d}"),
    "run_exit": ("runs out of view to the {d}", "runs off to the {d}"),
    "closer": ("walks towards the camera", "comes towards the camera"),
    "farther": ("walks away from the camera", "walks off into the distance"),
    "wave": ("waves", "waves a hand", "raises a hand and waves"),
    "jump": ("jumps up and down", "jumps in place", "hops up and down"),
    "crouch": ("crouches down and stands up again", "squats down and gets back up"),
    "turn": ("turns around", "turns to face the other way"),
    "turn_side": ("turns to the {d}", "turns to face the {d}"),
    "dance": ("dances", "dances in place"),
    "hold": ("holds {ac} ball", "holds {ac} ball in one hand"),
    "approach": ("walks up to {p}", "approaches {p}", "walks over to {p}"),
    "handshake": ("shakes hands with {p}", "shakes {ps} hand"),
    "embrace": ("hugs {p}", "embraces {p}", "gives {p} a hug"),
    "give": ("hands {ac} box to {p}", "gives {p} {ac} box", "passes {ac} box to {p}"),
    "receive": ("takes {ac} box from {p}", "receives {ac} box from {p}", "gets {ac} box from {p}"),
    "talk": ("talks with {p}", "chats with {p}", "has a conversation with {p}"),
    "push": ("pushes {p}", "shoves {p}"),
    "pushed": ("is pushed back by {p}", "gets pushed by {p} and stumbles back"),
    "look": ("watches {p}", "looks at {p}", "keeps an eye on {p}"),
    "applaud": ("claps for {p}", "applauds {p}"),
    "beckon": ("waves {p} over", "beckons to {p}", "waves at {p} to come over"),
    "follow": ("follows {p} to the {d}", "walks behind {p} to the {d}"),
    "chase": ("chases {p} to the {d}", "runs after {p} to the {d}"),
    "flee": ("runs away from {p} to the {d}", "flees from {p} to the {d}"),
    "accompany": ("walks to the {d} alongside {p}", "walks to the {d} together with {p}"),
    "accompany_talk": ("walks to the {d} alongside {p}, talking", "walks to the {d} with {p} and chats with {p2}"),
    "pass": ("throws {ac} ball to {p}", "passes {ac} ball to {p}", "tosses {ac} ball to {p}"),
    "catch": ("catches the ball from {p}", "catches the {c} ball thrown by {p}"),
}

# The relation each interaction beat stands for: it is told only when that relation was kept.
BEAT_RELATION = {
    "approach": "approach.v.01", "handshake": "handshake.n.01", "embrace": "embrace.v.02", "give": "give.v.03",
    "receive": "receive.v.01", "talk": "talk.v.01", "push": "push.v.01", "look": "look.v.01",
    "applaud": "applaud.v.01", "beckon": "beckon.v.03", "follow": "follow.v.01", "chase": "chase.v.01",
    "flee": "flee.v.01", "accompany": "accompany.v.02", "pass": "pass.v.20", "catch": "catch.v.04",
}

NUMBERS = {1: "One person", 2: "Two people", 3: "Three people", 4: "Four people", 5: "Five people",
           6: "Six people", 7: "Seven people", 8: "Eight people"}


@dataclass(frozen=True)
class Fact:
    """One claim of a caption, for checking: a garment's colour, a move, an interaction."""

    kind: str  # garment | move | interaction
    value: str  # garment: "shirt=red"; move: left/right/closer/farther; interaction: the predicate
    start: int = 0  # frames [start, end) the claim is about (moves and interactions)
    end: int = 0
    partner: int | None = None
    words: str = ""  # the words of the caption that make the claim


@dataclass
class Described:
    text: str
    facts: list[Fact]


class Namer:
    """How each person of a video is described and referred to, fixed once per video."""

    def __init__(self, script: Script, rng: np.random.Generator):
        self.apps = [a.appearance for a in script.actors]
        self.top_noun = [str(rng.choice(TOP_NOUNS[a.sleeves])) for a in self.apps]
        self.lower_noun = [str(rng.choice(LOWER_NOUNS[a.lower])) for a in self.apps]

    def refer(self, i: int, definite: bool = True) -> str:
        """`the man in the red shirt` (or `a man in an orange shirt`)."""
        app = self.apps[i]
        if definite:
            return f"the {app.gender} in the {app.top} {self.top_noun[i]}"
        return f"a {app.gender} in {article(app.top)} {app.top} {self.top_noun[i]}"

    def lower(self, i: int) -> str:
        app = self.apps[i]
        noun = self.lower_noun[i]
        return f"{article(app.lower_colour)} {app.lower_colour} {noun}" if noun == "skirt" else \
            f"{app.lower_colour} {noun}"

    def appearance(self, i: int, rng: np.random.Generator, extras: int) -> tuple[str, list[Fact]]:
        """The subject of an instance caption, with up to `extras` of hair, cap and backpack."""
        app: Appearance = self.apps[i]
        top = f"{article(app.top)} {app.top} {self.top_noun[i]}"
        lower = self.lower(i)
        facts = [Fact("garment", f"top={app.top}", words=top),
                 Fact("garment", f"lower={app.lower_colour}", words=lower)]
        hair = f"{app.hair_style} {app.hair} hair"
        extra = []
        if app.hat and extras > 0:
            extra.append(f"{article(app.hat)} {app.hat} cap")
            facts.append(Fact("garment", f"hat={app.hat}", words=extra[-1]))
        if app.bag and len(extra) < extras:
            extra.append(f"{article(app.bag)} {app.bag} backpack")
            facts.append(Fact("garment", f"bag={app.bag}", words=extra[-1]))
        with_hair = extras > len(extra) and not app.hat
        if with_hair:
            facts.append(Fact("garment", f"hair={app.hair}", words=hair))
        build = {"slim": "slim ", "broad": "stocky "}.get(app.build, "") if rng.random() < 0.3 else ""
        noun = f"{build}{app.gender}"
        clothes = f"{top} and {lower}"
        if extra:
            clothes = f"{top}, {lower} and {' and '.join(extra)}" if len(extra) == 1 else \
                f"{top}, {lower}, {extra[0]} and {extra[1]}"
        shape = int(rng.integers(3))
        if with_hair and shape == 2:
            text = f"A {noun} with {hair}, dressed in {clothes},"
        elif with_hair:
            text = f"A {noun} with {hair} in {clothes}" if shape == 0 else f"A {noun} with {hair} wearing {clothes}"
        else:
            text = f"A {noun} in {clothes}" if shape != 1 else f"A {noun} wearing {clothes}"
        return text, facts


def article(word: str) -> str:
    return "an" if word[0] in "aeiou" else "a"


def _pick(rng: np.random.Generator, key: str) -> str:
    options = PHRASES[key]
    return options[int(rng.integers(len(options)))]


def _pronoun(app: Appearance) -> str:
    return "him" if app.gender == "man" else "her"


def _possessive(app: Appearance) -> str:
    return "his" if app.gender == "man" else "her"


# --------------------------------------------------------------------------------------------
# instance captions


def _told_beats(script: Script, i: int, shown: np.ndarray, kept: set[tuple[int, int, str]]) -> list[Beat]:
    """The beats of person i that are seen enough to be told, consecutive repeats merged."""
    out: list[Beat] = []
    for beat in script.actors[i].beats:
        frames = beat.end - beat.start
        seen = int(shown[i, beat.start:beat.end].sum())
        if seen < max(2, 0.4 * frames):
            continue
        relation = BEAT_RELATION.get(beat.action)
        if beat.action == "pushed":
            relation = "push.v.01"
            if (beat.partner, i, relation) not in kept:
                continue
        elif relation and (i, beat.partner, relation) not in kept:
            beat = Beat("walk" if beat.action in ("approach", "follow", "accompany") else
                        "run" if beat.action in ("chase", "flee") else "stand",
                        beat.start, beat.end, beat.x0, beat.y0, beat.x1, beat.y1, beat.facing, beat.facing_end)
        if out and out[-1].action == beat.action and out[-1].partner == beat.partner and \
                _direction(out[-1]) == _direction(beat) and beat.action != "pass":
            last = out[-1]
            out[-1] = Beat(last.action, last.start, beat.end, last.x0, last.y0, beat.x1, beat.y1, last.facing,
                           beat.facing_end, last.partner, last.toward, last.speaking)
            continue
        out.append(beat)
    return out


def _direction(beat: Beat) -> str | None:
    dx, dy = beat.x1 - beat.x0, beat.y1 - beat.y0
    if beat.action == "walk_depth":
        return "closer" if dy > 0 else "farther"
    if abs(dx) < 1e-6:
        return None
    return "right" if dx > 0 else "left"


def _prop_colour(script: Script, kind: str, i: int) -> str | None:
    """The colour of the box or ball that person i hands, receives, throws or catches."""
    for prop in script.props:
        if prop.kind == kind and any(i in (holder, catcher) for _, _, holder, catcher in prop.spans):
            return prop.colour
    return None


def _beat_phrase(script: Script, namer: Namer, i: int, beat: Beat, shown: np.ndarray, kept: set,
                 rng: np.random.Generator, first: bool, last: bool, named: int | None) -> tuple[str, list[Fact]] | None:
    """The verb phrase of one beat and the facts it states, or None when it says nothing worth
    telling. A partner already `named` by the previous phrase is him or her."""
    a = beat.action
    d = _direction(beat)
    p = ps = ""
    if beat.partner is not None:
        app = namer.apps[beat.partner]
        p = _pronoun(app) if named == beat.partner else namer.refer(beat.partner)
        ps = _possessive(app) if named == beat.partner else f"{p}'s"
    facts: list[Fact] = []
    start, end = beat.start, beat.end
    if a in ("walk", "run", "walk_depth"):
        if d is None:
            return None
        if d in ("closer", "farther"):
            words = _pick(rng, d)
            return words, [Fact("move", d, start, end, words=words)]
        visible = np.flatnonzero(shown[i, start:end]) + start
        # a step or two is not worth a phrase: tell moves that cover a third of a height on screen
        (xa, _), (xb, _) = beat.at(int(visible[0])), beat.at(int(visible[-1]))
        if abs(xb - xa) < 0.35 * script.scene.person_height(beat.y0):
            return None
        entering = first and visible[0] > 0 and not shown[i, :visible[0]].any()
        leaving = last and visible[-1] < script.frames - 1 and not shown[i, visible[-1] + 1:].any()
        if a == "walk" and entering and not leaving:
            frm = "left" if d == "right" else "right"
            words = _pick(rng, "enter").format(d=frm)
            return words, [Fact("move", d, start, end, words=words)]
        if leaving:
            words = _pick(rng, "exit" if a == "walk" else "run_exit").format(d=d)
            return words, [Fact("move", d, start, end, words=words)]
        words = _pick(rng, "walk" if a == "walk" else "run").format(d=d)
        return words, [Fact("move", d, start, end, words=words)]
    if a == "stand":
        if (beat.end - beat.start) < script.fps or not (first or last):
            return None
        return _pick(rng, "stand"), []
    if a == "turn":
        if beat.facing in (LEFT, RIGHT) and beat.facing_end in (LEFT, RIGHT) or BACK in (beat.facing, beat.facing_end):
            return _pick(rng, "turn"), []
        if beat.facing_end in (LEFT, RIGHT):
            return _pick(rng, "turn_side").format(d=DIRECTION[beat.facing_end]), []
        return None
    if a in ("wave", "jump", "crouch", "dance"):
        return _pick(rng, a), []
    if a == "hold":  # told when it is how someone starts; later holds are between throws
        if not first:
            return None
        colour = _prop_colour(script, "ball", i)
        return (_pick(rng, "hold").format(ac=f"{article(colour)} {colour}"), []) if colour else None
    # interactions
    key = a
    if a == "accompany" and beat.speaking >= 0 and (i, beat.partner, "talk.v.01") in kept:
        key = "accompany_talk"
    colour = ""
    if a in ("give", "receive"):
        colour = _prop_colour(script, "box", i) or ""
    if a in ("pass", "catch"):
        colour = _prop_colour(script, "ball", i) or ""
    words = _pick(rng, key).format(p=p, ps=ps, d=d or "", c=colour, ac=f"{article(colour)} {colour}" if colour else "a",
                                   p2=_pronoun(namer.apps[beat.partner]))
    # a push is told by both people; it is the pusher's relation
    predicate = BEAT_RELATION.get(a, "push.v.01")
    facts.append(Fact("interaction", predicate, start, end, beat.partner, words))
    if key == "accompany_talk":
        facts.append(Fact("interaction", "talk.v.01", start, end, beat.partner, words))
    if d in ("left", "right") and "{d}" in PHRASES[key][0]:
        facts.append(Fact("move", d, start, end, words=words))
    return words, facts


def _join(phrases: list[str], rng: np.random.Generator) -> str:
    if len(phrases) == 1:
        return phrases[0]
    if len(phrases) == 2:
        return f"{phrases[0]} and {phrases[1]}" if rng.random() < 0.6 else f"{phrases[0]}, then {phrases[1]}"
    head, tail = phrases[:-1], phrases[-1]
    if rng.random() < 0.5:
        return ", ".join(head) + f" and {tail}"
    return ", then ".join(head) + f", and finally {tail}" if len(phrases) == 3 and rng.random() < 0.5 else \
        ", ".join(head) + f", then {tail}"


_A_BALL = re.compile(r"\b(?:a|an) \w+ ball\b")


def instance_caption(script: Script, i: int, shown: np.ndarray, kept: set[tuple[int, int, str]],
                     namer: Namer, rng: np.random.Generator) -> Described:
    """The caption of person i: appearance, then the told beats in order; 15 to 40 words."""
    beats = _told_beats(script, i, shown, kept)
    told: list[tuple[str, list[Fact]]] = []
    named = None
    ball = False  # once a ball has been named, it is `the ball`
    for k, beat in enumerate(beats):
        said = _beat_phrase(script, namer, i, beat, shown, kept, rng, k == 0, k == len(beats) - 1, named)
        if said and ball:
            words = _A_BALL.sub("the ball", said[0])
            said = (words, [replace(f, words=words) for f in said[1]])
        if said and (not told or said[0] != told[-1][0]):
            told.append(said)
            named = beat.partner
            ball = ball or " ball" in said[0]
    if not told:  # seen, but never long enough to tell a beat
        told.append(("is seen briefly", []))
    for extras in (2, 1, 0):
        subject, facts = namer.appearance(i, rng, extras)
        keep = list(told)
        while keep:
            text = f"{subject} {_join([w for w, _ in keep], rng)}."
            count = len(text.split())
            if count <= MAX_WORDS:
                break
            # drop the least informative phrase: one without facts, else the last
            plain = [k for k, (_, f) in enumerate(keep) if not f]
            keep.pop(plain[-1] if plain else len(keep) - 1)
        if count <= MAX_WORDS:
            break
    if count < MIN_WORDS:
        place = PLACES[script.scene.scenario]
        text = f"{text[:-1]} {place[0]} the {place[1]}."
        if len(text.split()) < MIN_WORDS:  # rare: a one-word action and no hair, cap or bag to tell
            text = f"{text[:-1]} in this clip."
    return Described(text, facts + [f for _, fs in keep for f in fs])


# --------------------------------------------------------------------------------------------
# the video caption


def video_caption(script: Script, shown: np.ndarray, kept: set[tuple[int, int, str]], namer: Namer,
                  rng: np.random.Generator) -> str:
    """A summary: the place, how many people, and one clause per story that was seen."""
    visible = [i for i in range(len(script.actors)) if shown[i].any()]
    clauses = []
    mentioned: set[int] = set()

    def ref(i: int) -> str:
        text = namer.refer(i, definite=i in mentioned)
        mentioned.add(i)
        return text

    for story in script.stories:
        who = story.actors
        if not all(shown[i].any() for i in who):
            if len(who) == 2:  # one of the pair was never seen: tell the other alone
                who = tuple(i for i in who if shown[i].any())
                if who:
                    clauses.append(_solo_clause(script, who[0], ref, shown))
            continue
        if len(who) == 1:
            clauses.append(_solo_clause(script, who[0], ref, shown))
            continue
        a, b = who
        d = DIRECTION.get(story.direction, "")
        has = lambda s, o, p: (s, o, p) in kept  # noqa: E731
        if story.kind in ("meet", "beckon"):
            act = story.act or ""
            together = {"handshake": "the two shake hands", "embrace": "the two hug", "talk": "the two talk",
                        "handshake+talk": "the two shake hands and talk"}
            first = f"{ref(a)} walks up to {ref(b)}" if story.kind == "meet" else f"{ref(a)} waves {ref(b)} over"
            verb = "handshake.n.01" if "handshake" in act else {"embrace": "embrace.v.02", "talk": "talk.v.01",
                                                                 "give": "give.v.03", "push": "push.v.01"}[act]
            opening = ("approach.v.01" if story.kind == "meet" else "beckon.v.03")
            if not has(a if story.kind == "meet" else a, b, opening):
                first = f"{ref(a)} meets {ref(b)}" if has(a, b, verb) or has(b, a, verb) else ""
            if act in together and has(a, b, verb):
                clauses.append(f"{first}, and {together[act]}" if first else together[act])
            elif act == "give" and has(a, b, verb):
                colour = _prop_colour(script, "box", a)
                clauses.append(f"{first} and hands over {article(colour)} {colour} box")
            elif act == "push" and has(a, b, verb):
                clauses.append(f"{first} and pushes {_short(namer, b, a)}")
            elif first:
                clauses.append(first)
        elif story.kind == "follow" and has(a, b, "follow.v.01"):
            clauses.append(f"{ref(a)} follows {ref(b)} to the {d}")
        elif story.kind == "chase" and has(a, b, "chase.v.01"):
            clauses.append(f"{ref(a)} chases {ref(b)} to the {d}")
        elif story.kind == "accompany" and has(a, b, "accompany.v.02"):
            talk = ", talking" if has(a, b, "talk.v.01") else ""
            clauses.append(f"{ref(a)} and {ref(b)} walk together to the {d}{talk}")
        elif story.kind == "ball" and has(a, b, "pass.v.20"):
            colour = _prop_colour(script, "ball", a)
            each = "to each other" if has(b, a, "pass.v.20") else f"to {_short(namer, b, a)}"
            clauses.append(f"{ref(a)} and {ref(b)} throw {article(colour)} {colour} ball {each}")
        elif story.kind == "show" and has(a, b, "look.v.01"):
            show = "dance" if story.act == "dance" else "jump"
            claps = " and claps" if has(a, b, "applaud.v.01") else ""
            clauses.append(f"{ref(a)} watches {ref(b)} {show}{claps}")
        elif story.kind == "watch" and has(a, b, "look.v.01"):
            clauses.append(f"{ref(a)} watches {ref(b)} walk past")
        else:
            clauses.append(_solo_clause(script, a, ref, shown))
            clauses.append(_solo_clause(script, b, ref, shown))
    clauses = [c for c in clauses if c]
    place = PLACES[script.scene.scenario]
    where = f"{place[0]} a {place[1]}"
    count = NUMBERS.get(len(visible), f"{len(visible)} people")
    if not clauses:
        return f"An empty {place[1]}." if not visible else f"{count} {'is' if len(visible) == 1 else 'are'} {where}."
    clauses = [c[0].upper() + c[1:] for c in clauses]
    shape = int(rng.integers(3))
    if shape == 0:
        body = f"{where[0].upper()}{where[1:]}, {clauses[0][0].lower()}{clauses[0][1:]}"
        rest = clauses[1:]
    elif shape == 1:
        body = f"{count} {'is' if len(visible) == 1 else 'are'} {where}. {clauses[0]}"
        rest = clauses[1:]
    else:
        body = clauses[0] + f" {where}"
        rest = clauses[1:]
    for k, clause in enumerate(rest):
        lower = clause[0].lower() + clause[1:]
        body += f", while {lower}" if k == 0 and rng.random() < 0.5 else f". Meanwhile, {lower}" if k == 0 else \
            f", and {lower}"
    return body + "."


def _short(namer: Namer, i: int, other: int) -> str:
    """`the woman`, or `the other man` when both are men."""
    same = namer.apps[i].gender == namer.apps[other].gender
    return f"the other {namer.apps[i].gender}" if same else f"the {namer.apps[i].gender}"


def _solo_clause(script: Script, i: int, ref, shown: np.ndarray) -> str:
    """One person's most telling seen action: a walk or run with its direction, or a gesture."""
    for beat in script.actors[i].beats:
        if shown[i, beat.start:beat.end].sum() < max(2, 0.4 * (beat.end - beat.start)):
            continue
        d = _direction(beat)
        if beat.action in ("walk", "run") and d in ("left", "right"):
            verb = "walks" if beat.action == "walk" else "runs"
            return f"{ref(i)} {verb} to the {d}"
        if beat.action == "walk_depth":
            return f"{ref(i)} walks {'towards' if d == 'closer' else 'away from'} the camera"
        if beat.action in ("wave", "jump", "dance"):
            return f"{ref(i)} {({'wave': 'waves', 'jump': 'jumps', 'dance': 'dances'})[beat.action]}"
        if beat.action == "crouch":
            return f"{ref(i)} crouches down"
    return f"{ref(i)} stands" if shown[i].any() else ""
