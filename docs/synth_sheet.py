"""Make the contact sheet of docs/synth.md: one frame per interaction predicate, from `smot synth`
videos, with the ground-truth boxes and the interaction drawn the way `smot render` draws them.

    python docs/synth_sheet.py docs/synth-sheet.png [--seed 0] [--columns 4] [--tile 320x180]

Prints the captions of the videos it took frames from, for the page.
"""

from __future__ import annotations

import argparse

import cv2
import numpy as np

from smot import visual
from smot.records import Caption, Frame, Summary
from smot.synth import SynthConfig, render
from smot.synth.dataset import make_video
from smot.synth.script import PREDICATES

ORDER = ["approach.v.01", "handshake.n.01", "embrace.v.02", "give.v.03", "talk.v.01", "push.v.01",
         "beckon.v.03", "follow.v.01", "chase.v.01", "accompany.v.02", "pass.v.20", "applaud.v.01"]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--columns", type=int, default=4)
    parser.add_argument("--tile", default="320x180")
    args = parser.parse_args()
    assert set(ORDER) <= set(PREDICATES)
    tile_w, tile_h = (int(v) for v in args.tile.split("x"))
    config = SynthConfig(seed=args.seed)
    tiles: dict[str, np.ndarray] = {}
    used = []
    k = 0
    while len(tiles) < len(ORDER) and k < 200:
        video = make_video(config, "train", k)
        k += 1
        fresh = [r for r in video.script.relations
                 if r.predicate in ORDER and r.predicate not in tiles and (r.subject, r.object, r.predicate) in
                 video.kept]
        if not fresh:
            continue
        wanted = {}
        for r in fresh:
            both = [t for t in range(r.start, r.end) if video.shown[r.subject, t] and video.shown[r.object, t]]
            if both and r.predicate not in wanted:
                wanted[r.predicate] = (r, both[len(both) // 2])
        if not wanted:
            continue
        used.append(video)
        records = {r.frame - 1: r for r in video.records if isinstance(r, Frame)}
        for predicate, (r, t) in wanted.items():
            image = _copy(video, config, t)
            style = visual.Style.for_height(2 * image.shape[0])  # legible once the tile is shrunk
            frame = records[t]
            for box, track in zip(frame.boxes, frame.ids.tolist(), strict=True):
                visual.draw_box(image, box, track, style)
            s, o = video.track[r.subject], video.track[r.object]
            sbox = frame.boxes[frame.ids.tolist().index(s)]
            obox = frame.boxes[frame.ids.tolist().index(o)]
            visual.draw_interaction(image, sbox, obox, predicate, s, style)
            tiles[predicate] = cv2.resize(image, (tile_w, tile_h), interpolation=cv2.INTER_AREA)
    rows = []
    names = [p for p in ORDER if p in tiles]
    for i in range(0, len(names), args.columns):
        row = [tiles[p] for p in names[i:i + args.columns]]
        row += [np.zeros_like(row[0])] * (args.columns - len(row))
        rows.append(np.hstack(row))
    cv2.imwrite(args.output, np.vstack(rows), [cv2.IMWRITE_PNG_COMPRESSION, 9])
    for video in used[:3]:
        print(f"{video.id}:")
        for r in video.records:
            if isinstance(r, Caption):
                print(f"  {r.name}: {r.text}")
            elif isinstance(r, Summary):
                print(f"  video: {r.text}")


def _copy(video, config: SynthConfig, t: int) -> np.ndarray:
    """Frame t as the dataset stores it: painted, then through the JPEG encoder."""
    rng = np.random.default_rng(video.paint_seed)
    for k, image in enumerate(render.paint(video.script, video.layout, rng, config.noise)):
        if k == t:
            data = render.encode(image, config.quality)
            return cv2.imdecode(np.frombuffer(data, np.uint8), cv2.IMREAD_COLOR)
    raise IndexError(t)


if __name__ == "__main__":
    main()
