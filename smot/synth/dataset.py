"""Making a dataset: one video from (config, split, index), and a whole BenSMOT-layout folder.

    OUT/synth.json                              the parameters that made it (provenance)
    OUT/{train,test}/<scenario>/<clip>/         one BenSMOT sequence per video
        imgs/001.jpg ...  gt/gt.txt  instance_captions.txt  video_caption.txt  interactions.graphml

Video k of a split is made from its own seed, derived from (seed, split, k): the same arguments give
byte-identical files whatever the number of workers, and adding training videos leaves the test
videos as they were. The annotation files are written by `smot.datasets.bensmot.write_sequence`,
so they are exactly what `smot convert` reads back.
"""

from __future__ import annotations

import multiprocessing
import os
from collections.abc import Callable, Iterable, Iterator
from dataclasses import asdict, dataclass, field
from functools import partial
from pathlib import Path

import numpy as np
import orjson

from smot import __version__
from smot.atomic import AtomicDir, write_atomic
from smot.datasets.bensmot import write_sequence
from smot.records import Caption, Frame, Interaction, Record, Summary, Video
from smot.synth import SynthConfig, language, render
from smot.synth.scene import make_scene
from smot.synth.script import Script, plan

SPLITS = ("train", "test")
_SPLIT_KEY = {"train": 1, "test": 2}


@dataclass
class SynthVideo:
    """One generated video: its script and geometry, and the records of its BenSMOT sequence."""

    id: str
    script: Script
    layout: list[render.FrameLayout]
    shown: np.ndarray  # (people, frames) bool: person i has a box in frame t
    track: dict[int, int]  # person index -> track id (people never seen have none)
    kept: set[tuple[int, int, str]]  # (subject, object, predicate) by person index
    captions: dict[int, language.Described]  # by person index
    summary: str
    records: list[Record] = field(default_factory=list)
    paint_seed: np.random.SeedSequence | None = None


def clip_name(split: str, index: int) -> str:
    """BenSMOT clip folders are `<11-character id>_<n>`; ours spell out split and index."""
    return f"{split}{index:0{11 - len(split)}d}_0"


def seeds(config: SynthConfig, split: str, index: int) -> list[np.random.SeedSequence]:
    """Independent seeds for the script, the camera, the wording and the pixels of one video."""
    return np.random.SeedSequence([config.seed, _SPLIT_KEY[split], index]).spawn(4)


def make_video(config: SynthConfig, split: str, index: int) -> SynthVideo:
    """Script, geometry, captions and records of video `index` of `split` (no pixels yet)."""
    s_plan, s_camera, s_words, s_paint = seeds(config, split, index)
    rng = np.random.default_rng(s_plan)
    scenario = config.scenarios[int(rng.integers(len(config.scenarios)))]
    frames = int(rng.integers(config.frames[0], config.frames[1] + 1))
    people = int(rng.integers(config.people[0], config.people[1] + 1))
    margin = int(np.ceil(3 * config.jitter)) + 2
    scene = make_scene(rng, scenario, config.width, config.height, margin)
    script = plan(rng, scene, frames, config.fps, people, config.occlusion)
    camera = render.camera_path(np.random.default_rng(s_camera), frames, config.jitter, margin)
    frames_layout = render.layout(script, camera)

    n = len(script.actors)
    shown = np.zeros((n, frames), bool)
    for frame in frames_layout:
        for i in frame.boxes:
            shown[i, frame.t] = True
    kept = {(r.subject, r.object, r.predicate) for r in script.relations if _seen_together(r, shown)}

    # track ids in order of first appearance; names count up per gender in track-id order
    seen = [i for i in range(n) if shown[i].any()]
    seen.sort(key=lambda i: (int(np.argmax(shown[i])), i))
    track = {i: k for k, i in enumerate(seen, 1)}
    words = np.random.default_rng(s_words)
    namer = language.Namer(script, words)
    captions = {i: language.instance_caption(script, i, shown, kept, namer, words) for i in seen}
    summary = language.video_caption(script, shown, kept, namer, words)

    video_id = f"{scenario}/{clip_name(split, index)}"
    out = SynthVideo(video_id, script, frames_layout, shown, track, kept, captions, summary, paint_seed=s_paint)
    out.records = _records(out, config)
    return out


def _seen_together(relation, shown: np.ndarray, frames: int = 2) -> bool:
    """An interaction is kept when both people show together in `frames` of its frames (fewer if
    it is shorter)."""
    both = shown[relation.subject, relation.start:relation.end] & shown[relation.object, relation.start:relation.end]
    return int(both.sum()) >= min(frames, relation.end - relation.start)


def image_names(frames: int) -> list[str]:
    digits = max(3, len(str(frames)))
    return [f"imgs/{t:0{digits}d}.jpg" for t in range(1, frames + 1)]


def _records(video: SynthVideo, config: SynthConfig) -> list[Record]:
    script = video.script
    records: list[Record] = [Video(id=video.id, frames=script.frames, source=None, width=config.width,
                                   height=config.height, fps=config.fps, images=image_names(script.frames))]
    for frame in video.layout:
        people = sorted(frame.boxes, key=lambda i: video.track[i])
        n = len(people)
        records.append(Frame(
            video=video.id, frame=frame.t + 1,
            boxes=np.array([frame.boxes[i] for i in people], np.float64).reshape(n, 4),
            scores=np.ones(n), ids=np.array([video.track[i] for i in people], np.int64),
            classes=np.ones(n, np.int64), visibility=np.array([frame.visibility[i] for i in people], np.float64),
        ).validate())
    names: dict[int, str] = {}
    counters = {"man": 0, "woman": 0}
    for i, track in sorted(video.track.items(), key=lambda kv: kv[1]):
        gender = script.actors[i].appearance.gender
        names[i] = f"{gender}{counters[gender]}"
        counters[gender] += 1
        records.append(Caption(video=video.id, track=track, text=video.captions[i].text, name=names[i]))
    records.append(Summary(video=video.id, text=video.summary))
    order = {p: k for k, p in enumerate(dict.fromkeys(r.predicate for r in script.relations))}
    for s, o, p in sorted(video.kept, key=lambda r: (video.track[r[0]], video.track[r[1]], order[r[2]])):
        records.append(Interaction(video=video.id, subject=video.track[s], object=video.track[o], predicate=p))
    return records


def images(video: SynthVideo, config: SynthConfig) -> Iterator[bytes]:
    """The JPEG bytes of each frame, in order."""
    rng = np.random.default_rng(video.paint_seed)
    for image in render.paint(video.script, video.layout, rng, config.noise):
        yield render.encode(image, config.quality)


def write_video(config: SynthConfig, root: Path, task: tuple[str, int]) -> tuple[int, int]:
    """Write one video under `root/<split>/`; return (frames, boxes)."""
    split, index = task
    video = make_video(config, split, index)
    folder = root / split / video.id
    video_record = video.records[0]
    assert isinstance(video_record, Video)
    write_sequence(video.records[1:], video_record, folder, images="none")
    (folder / "imgs").mkdir()
    for name, data in zip(video_record.images or [], images(video, config), strict=True):
        (folder / name).write_bytes(data)
    boxes = sum(r.n for r in video.records if isinstance(r, Frame))
    return video.script.frames, boxes


def _init_worker() -> None:
    import cv2

    cv2.setNumThreads(1)


def write_dataset(output: str | Path, config: SynthConfig, workers: int = 1,
                  progress: Callable[[Iterable, int, str], Iterable] | None = None) -> dict:
    """Write the whole dataset to `output` (which must not exist, or be empty); it appears only
    when complete. Returns counts: videos, frames, boxes."""
    config.check()
    tasks = [(split, k) for split in SPLITS for k in range(config.train if split == "train" else config.test)]
    workers = max(1, min(workers or os.cpu_count() or 1, len(tasks)))
    totals = {"videos": 0, "frames": 0, "boxes": 0}
    with AtomicDir(output) as root:
        params = {k: list(v) if isinstance(v, tuple) else v for k, v in asdict(config).items()}
        write_atomic(root / "synth.json", orjson.dumps({"tool": "smot synth", "tool_version": __version__,
                                                        "params": params}, option=orjson.OPT_INDENT_2) + b"\n")
        work = partial(write_video, config, root)
        if workers == 1:
            _init_worker()
            results: Iterable = map(work, tasks)
            pool = None
        else:
            pool = multiprocessing.get_context("spawn").Pool(workers, initializer=_init_worker)
            results = pool.imap(work, tasks, chunksize=1)
        try:
            for frames, boxes in (progress(results, len(tasks), "synth") if progress else results):
                totals["videos"] += 1
                totals["frames"] += frames
                totals["boxes"] += boxes
        finally:
            if pool is not None:
                pool.terminate()
                pool.join()
    return totals
