"""`smot synth`: SMOT datasets in the BenSMOT layout, rendered here, with labels exact by construction.

    people.py    what people look like and how a pose is drawn (cv2 primitives)
    scene.py     places, backgrounds, perspective and light
    script.py    stories: who does what, when, to whom (BenSMOT predicates)
    render.py    geometry per frame (boxes, visibility, props), then pixels
    language.py  instance captions and the video caption, from the script
    dataset.py   one video from (config, split, index); the whole folder, in parallel
    stats.py     the quantities of the paper's Table 1 for any BenSMOT-layout folder

This module is cheap to import (no OpenCV): it holds the configuration only.
"""

from __future__ import annotations

from dataclasses import dataclass

from smot.errors import UsageError

SCENARIOS = ("park", "street", "court", "hall", "beach", "plaza")


@dataclass(frozen=True)
class SynthConfig:
    """What `smot synth` makes. The defaults are the `tiny` training set (docs/synth.md)."""

    train: int = 240  # videos in train/
    test: int = 40  # videos in test/
    seed: int = 0
    frames: tuple[int, int] = (36, 48)  # frames per video, drawn uniformly from this range
    people: tuple[int, int] = (2, 4)  # people per video
    width: int = 640
    height: int = 360
    fps: float = 10.0  # sets how far people move per frame; BenSMOT itself records no frame rate
    occlusion: float = 0.3  # 0..1: how often paths cross and how close stories stand
    jitter: float = 1.0  # camera shake, pixels (standard deviation)
    noise: float = 2.0  # sensor noise, grey levels (standard deviation)
    quality: int = 85  # JPEG quality
    scenarios: tuple[str, ...] = SCENARIOS

    def check(self) -> SynthConfig:
        def need(ok: bool, message: str) -> None:
            if not ok:
                raise UsageError(message)

        need(self.train >= 0 and self.test >= 0, "--train and --test must be >= 0")
        need(self.train + self.test > 0, "nothing to make: --train and --test are both 0")
        need(1 <= self.frames[0] <= self.frames[1], f"--frames must be N or MIN-MAX with 1 <= MIN <= MAX, got "
                                                      f"{self.frames[0]}-{self.frames[1]}")
        need(1 <= self.people[0] <= self.people[1] <= 9, f"--people must be N or MIN-MAX within 1..9, got "
                                                         f"{self.people[0]}-{self.people[1]}")
        need(self.width >= 64 and self.height >= 64, f"--size must be at least 64x64, got {self.width}x{self.height}")
        need(self.fps > 0, f"--fps must be > 0, got {self.fps}")
        need(0.0 <= self.occlusion <= 1.0, f"--occlusion must be within 0..1, got {self.occlusion}")
        need(0.0 <= self.jitter <= 20.0, f"--jitter must be within 0..20 pixels, got {self.jitter}")
        need(0.0 <= self.noise <= 50.0, f"--noise must be within 0..50 grey levels, got {self.noise}")
        need(1 <= self.quality <= 100, f"--quality must be within 1..100, got {self.quality}")
        unknown = [s for s in self.scenarios if s not in SCENARIOS]
        need(bool(self.scenarios) and not unknown, f"unknown scenario {', '.join(unknown) or '(none given)'}; "
                                                   f"choose from {', '.join(SCENARIOS)}")
        return self
