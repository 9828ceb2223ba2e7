"""Score result streams against ground truth: every SMOT metric in one JSON report.

Reads one or more smot.tracks / smot.fused result streams (shards of one run combine; each video
may appear in one of them only) and the ground truth: a BenSMOT split or sequence folder, or a
smot.tracks stream from `smot convert`. Writes a JSON report (formats/report.md) to stdout or
`-o`, and a table on stderr for people.

Sections: tracking (TrackEval's HOTA, CLEAR, Identity, Count; per video and combined), matching
(which predicted trajectory is which ground-truth one, by the `bensmot` or `strict` rule),
captions (instance and video, under the `coco` and/or `bensmot` protocol), interactions
(precision, recall, F1, subset accuracy) and CHOTA. A semantic section is computed when both the
results and the ground truth hold its records, and says why when it is skipped.
"""

from __future__ import annotations

import logging
import math
import sys
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Annotated

import numpy as np
import orjson
import typer

from smot import __version__
from smot.atomic import write_atomic
from smot.clikit import Output, progress, stderr_is_terminal
from smot.errors import InputError, UsageError
from smot.records import Caption, Frame, Interaction, Record, Summary, Video
from smot.streams import StreamReader, by_video

log = logging.getLogger("smot")

REPORT_FORMAT = "smot.report"
REPORT_VERSION = 1
CAPTION_PROTOCOLS = ("coco", "bensmot", "all")
MATCH_PROTOCOLS = ("bensmot", "strict")
ENGINES = ("fast", "trackeval")
RESULT_FORMATS = ("smot.tracks", "smot.fused")


@dataclass(frozen=True)
class ScoreConfig:
    protocol: str = "coco"  # caption protocol: coco | bensmot | all
    match: str = "bensmot"  # trajectory matching for captions and interactions: bensmot | strict
    match_threshold: float | None = None  # None: the rule's own (bensmot 0.2 mean IoU, strict 0.5 tube IoU)
    preprocess: bool = True  # MOTChallenge preprocessing (distractors, pedestrians only), as BenSMOT
    interaction_threshold: float = 0.4  # a predicted interaction counts when its score is > this
    subset: bool = False  # score only the ground-truth videos the results hold
    engine: str = "fast"  # tracking metrics: fast (ours, equal to TrackEval) | trackeval (its classes)


@dataclass
class VideoRecords:
    """What scoring needs of one video on one side: frames by index, captions, summary, interactions."""

    video: Video
    source: str
    frames: list[Frame | None] = field(default_factory=list)
    captions: dict[int, str] = field(default_factory=dict)
    summary: str | None = None
    interactions: dict[tuple[int, int], list[tuple[str, float | None]]] = field(default_factory=dict)

    def add(self, record: Record) -> None:
        if isinstance(record, Frame):
            # keep boxes and ids only: feature arrays are not scored
            slim = Frame(video=record.video, frame=record.frame, boxes=record.boxes, scores=record.scores,
                         ids=record.ids, classes=record.classes)
            self.frames.append(slim if record.n else None)
        elif isinstance(record, Caption):
            self.captions.setdefault(record.track, record.text)
        elif isinstance(record, Summary):
            if self.summary is None:
                self.summary = record.text
        elif isinstance(record, Interaction):
            self.interactions.setdefault((record.subject, record.object), []).append((record.predicate, record.score))


@dataclass
class Kinds:
    """Which semantic record kinds a side holds at all."""

    captions: bool = False
    summaries: bool = False
    interactions: bool = False

    def see(self, part: VideoRecords) -> None:
        self.captions |= bool(part.captions)
        self.summaries |= part.summary is not None
        self.interactions |= bool(part.interactions)


# --------------------------------------------------------------------------------------------
# reading


def tools_in(header: dict) -> set[str]:
    """Every tool named in a stream header's provenance (the header and its inputs' headers)."""
    todo, tools = [header], set()
    while todo:
        h = todo.pop()
        tools.add(h.get("tool"))
        todo.extend(i for i in h.get("inputs", []) if isinstance(i, dict))
    return tools


def read_results(sources: Iterable[tuple[str, Iterable[Record]]]) -> tuple[dict[str, VideoRecords], Kinds]:
    """The result videos of every source, by id. A video in two sources is an error."""
    videos: dict[str, VideoRecords] = {}
    kinds = Kinds()
    for name, records in sources:
        for video, held in by_video(records):
            if video is None:
                continue
            if video.id in videos:
                raise InputError(f"video {video.id!r} is in two result files ({videos[video.id].source} and {name})",
                                 name, hint="shards of one run must hold different videos")
            part = VideoRecords(video, name)
            for record in held:
                part.add(record)
            kinds.see(part)
            videos[video.id] = part
    return videos, kinds


def gt_videos(path: str) -> tuple[list[str] | None, Iterator[VideoRecords]]:
    """(video ids if known upfront, ground-truth videos one at a time) of a folder or a stream."""
    from smot.datasets import bensmot

    if path != "-" and Path(path).is_dir():
        sequences = bensmot.find_sequences(path)

        def from_folder() -> Iterator[VideoRecords]:
            for video_id, folder in sequences:
                records = bensmot.read_sequence(folder, video_id)
                part = VideoRecords(records[0], str(folder))  # type: ignore[arg-type]
                for record in records[1:]:
                    part.add(record)
                yield part

        return [video_id for video_id, _ in sequences], from_folder()
    if path != "-" and not Path(path).exists():
        raise InputError(f"cannot read {path}: no such file or folder",
                         hint="--gt is a BenSMOT split or sequence folder, or a ground-truth stream")

    def from_stream() -> Iterator[VideoRecords]:
        hint = "the ground truth is a tracks stream: smot convert data/BenSMOT/test -o gt.smot"
        with StreamReader(path, expect=RESULT_FORMATS, hint=hint) as reader:
            for video, held in by_video(reader):
                if video is None:
                    continue
                part = VideoRecords(video, reader.name)
                for record in held:
                    part.add(record)
                yield part

    return None, from_stream()


# --------------------------------------------------------------------------------------------
# the core


class Scorer:
    """Accumulates per-video results; `report()` combines them."""

    def __init__(self, config: ScoreConfig, result_kinds: Kinds):
        from smot.metrics.chota import Chota

        self.config = config
        self.result_kinds = result_kinds
        self.gt_kinds = Kinds()
        self.tracking: dict[str, dict] = {}
        self.instance_items: list[tuple[str, str]] = []
        self.video_items: list[tuple[str, str]] = []
        self.interaction_items: list[tuple[set[str], set[str]]] = []
        self.matching = {"matched": 0, "unmatched_predictions": 0, "unmatched_ground_truth": 0,
                         "matched_to_uncaptioned": 0}
        self.chota = Chota()
        self.without_results: list[str] = []
        self.warnings: list[str] = []

    def add_video(self, gt: VideoRecords, pred: VideoRecords | None) -> None:
        from smot.metrics import matching, tracking
        from smot.metrics.interactions import positive

        self.gt_kinds.see(gt)
        video = gt.video
        frames = video.frames
        if pred is None:
            self.without_results.append(video.id)
            pred = VideoRecords(Video(id=video.id, frames=frames), "(none)")
        elif pred.video.frames != frames:
            beyond = [t + 1 for t, f in enumerate(pred.frames) if f is not None and t >= frames]
            if beyond:
                raise InputError(f"result frame {beyond[0]} of video {video.id!r} is beyond the {frames} frames of "
                                 f"its ground truth", pred.source,
                                 hint="results and ground truth must number the frames of a video alike")
            self._warn(f"video {video.id!r} has {pred.video.frames} frames in the results and {frames} in the "
                       f"ground truth; frames the results lack hold no predictions")

        seq = tracking.sequence(video.id, frames, gt.frames, pred.frames)
        data = tracking.preprocess(seq, self.config.preprocess)
        found: list = []
        self.tracking[video.id] = tracking.evaluate_sequence(data, self.config.engine, found)

        if self.result_kinds.captions and gt.captions:
            self._chota_items(data, found, gt, pred)
        if not (self.result_kinds.captions or self.result_kinds.interactions):
            return
        m = matching.match(self.config.match, pred.frames, gt.frames, set(gt.captions), self.config.match_threshold)
        self.matching["matched"] += len(m.pairs)
        self.matching["unmatched_predictions"] += len(m.unmatched_pred)
        self.matching["unmatched_ground_truth"] += len([g for g in m.unmatched_gt if g in gt.captions])
        self.matching["matched_to_uncaptioned"] += sum(g not in gt.captions for g in m.pairs.values())

        if self.result_kinds.captions:
            if m.protocol == "bensmot":  # one item per matched prediction, many-to-one
                self.instance_items += [(pred.captions.get(p, ""), gt.captions[g]) for p, g in m.pairs.items()]
            else:  # one item per captioned ground truth; a miss is scored against an empty caption
                owner = {g: p for p, g in m.pairs.items()}
                self.instance_items += [(pred.captions.get(owner[g], "") if g in owner else "", text)
                                        for g, text in gt.captions.items()]
        if self.result_kinds.summaries and gt.summary is not None:
            self.video_items.append((pred.summary or "", gt.summary))
        if self.result_kinds.interactions:
            truth = {pair: {label for label, _ in labels} for pair, labels in gt.interactions.items()}
            predicted = {pair: positive(labels, self.config.interaction_threshold)
                         for pair, labels in pred.interactions.items()}
            self.interaction_items += _interaction_items(m, truth, predicted)

    def _chota_items(self, data: dict, found: list, gt: VideoRecords, pred: VideoRecords) -> None:
        from smot.metrics.tracking import ALPHA_05, ALPHAS, EPS

        if not found or not len(found[0]):
            return
        _, m_gt, m_tr, m_sim = found
        tp = m_sim >= ALPHAS[ALPHA_05] - EPS
        gt_tracks = data["gt_id_values"][m_gt[tp]].tolist()
        pr_tracks = data["tracker_id_values"][m_tr[tp]].tolist()
        # a ground-truth track counts when it has a caption (DVOC: a non-empty one; blank ones too
        # would leave CIDEr without a reference word)
        self.chota.add_sequence([(pred.captions.get(p, ""), gt.captions[g])
                                 for g, p in zip(gt_tracks, pr_tracks, strict=True) if gt.captions.get(g, "").strip()])

    def _warn(self, message: str) -> None:
        log.warning("%s", message)
        self.warnings.append(message)

    # -- the report ----------------------------------------------------------------------------

    def report(self, meteor=None) -> dict:
        """The combined sections; `meteor` (a captions.Meteor) is used, and left open, when given."""
        from smot.metrics import captions, interactions, tracking

        unavailable: list[dict] = []
        out: dict = {}
        if self.tracking:
            combined = tracking.combine(self.tracking)
            out["tracking"] = {
                "combined": tracking.summary(combined, per_alpha=True),
                "sequences": {name: tracking.summary(res) for name, res in sorted(self.tracking.items())},
            }
            det_a = float(np.asarray(combined["HOTA"]["DetA"])[tracking.ALPHA_05])
            ass_a = float(np.asarray(combined["HOTA"]["AssA"])[tracking.ALPHA_05])
        else:
            out["tracking"] = {"skipped": "no videos to score"}
            det_a = ass_a = 0.0

        out["matching"] = {"protocol": self.config.match, "threshold": self._match_threshold(), **self.matching}

        own = meteor is None
        meteor = captions.Meteor() if own else meteor
        try:
            out["captions"] = self._captions(meteor, unavailable)
            if self.result_kinds.captions and self.gt_kinds.captions:
                out["chota"] = self.chota.report(det_a, ass_a, meteor)
                for name, reason in out["chota"].get("unavailable", {}).items():
                    unavailable.append({"metric": f"chota.{name}", "reason": reason, "hint": captions.JAVA_HINT})
            else:
                out["chota"] = {"skipped": self._skip_reason("captions", "captions")}
        finally:
            if own:
                meteor.close()

        if self.result_kinds.interactions and self.gt_kinds.interactions:
            out["interactions"] = {"threshold": self.config.interaction_threshold,
                                   **interactions.score(self.interaction_items).report()}
        else:
            out["interactions"] = {"skipped": self._skip_reason("interactions", "interactions")}
        out["unavailable"] = unavailable
        return out

    def _match_threshold(self) -> float:
        from smot.metrics.matching import DEFAULT_THRESHOLD

        t = self.config.match_threshold
        return DEFAULT_THRESHOLD[self.config.match] if t is None else t

    def _skip_reason(self, kind: str, attribute: str) -> str:
        if not getattr(self.result_kinds, attribute):
            return f"the results hold no {kind}"
        return f"the ground truth holds no {kind}"

    def _captions(self, meteor, unavailable: list[dict]) -> dict:
        from smot.metrics import captions

        protocols = ["coco", "bensmot"] if self.config.protocol == "all" else [self.config.protocol]
        sets = {}
        out: dict = {"protocols": protocols}
        for name, items, kind in (("instance", self.instance_items, "captions"),
                                  ("video", self.video_items, "summaries")):
            if getattr(self.result_kinds, kind) and getattr(self.gt_kinds, kind):
                sets[name] = ([h for h, _ in items], [r for _, r in items])
            else:
                out[name] = {"skipped": self._skip_reason("video captions (summaries)" if kind == "summaries"
                                                          else "instance captions", kind)}
        if not sets:
            return out
        for protocol in protocols:
            results = captions.coco(sets, meteor) if protocol == "coco" else captions.bensmot(sets)
            for name, result in results.items():
                out.setdefault(name, {})[protocol] = result.report()
                for metric, u in result.unavailable.items():
                    unavailable.append({"metric": f"captions.{name}.{protocol}.{metric}", "reason": u.reason,
                                        "hint": u.hint})
        return out


def _interaction_items(m, truth: dict, predicted: dict) -> list[tuple[set[str], set[str]]]:
    """(predicted set, ground-truth set) per scored ordered pair of trajectories."""
    if m.protocol == "bensmot":
        # the official loop: every ordered pair of matched predictions (i == j too) whose ground-truth
        # pair is annotated; nothing else is scored
        matched = [p for p in m.pred_ids if p in m.pairs]
        return [(predicted.get((a, b), set()), truth[(m.pairs[a], m.pairs[b])])
                for a in matched for b in matched if (m.pairs[a], m.pairs[b]) in truth]
    owner = {g: p for p, g in m.pairs.items()}
    items = []
    for (s, o), labels in truth.items():
        pair = (owner.get(s), owner.get(o))
        items.append((predicted.get(pair, set()) if None not in pair else set(), labels))
    for (a, b), labels in predicted.items():
        if labels and (m.pairs.get(a), m.pairs.get(b)) not in truth:
            items.append((labels, set()))  # spurious: a pair without annotation, or an unmatched track
    return items


def score(results: Iterable[tuple[str, Iterable[Record]]], gt: str, config: ScoreConfig,
          inputs: dict | None = None, meteor=None) -> dict:
    """The report of `results` (named record sequences) against the ground truth at `gt`.

    `meteor`: a started `smot.metrics.captions.Meteor` to use (and leave open), so that a caller
    scoring many runs starts Java once; by default one is started when needed and closed.
    """
    _check_config(config)
    predictions, kinds = read_results(results)
    # a stage that predicts a kind and found none predicted "nothing": scored (as misses), not skipped
    tools = set().union(*(tools_in(h) for h in (inputs or {}).get("result_headers", [])))
    kinds.interactions |= bool(tools & {"smot interact", "smot run"})
    kinds.captions |= bool(tools & {"smot caption", "smot run"})
    kinds.summaries |= bool(tools & {"smot caption", "smot run"})
    known, gt_parts = gt_videos(gt)
    if known is not None:
        _check_extra(predictions, set(known), gt)
    scorer = Scorer(config, kinds)
    scored = []
    total = len(known) if known is not None else None
    for part in progress(gt_parts, total, "score"):
        pred = predictions.pop(part.video.id, None)
        if pred is None and config.subset:
            continue
        scorer.add_video(part, pred)
        scored.append(part.video.id)
    _check_extra(predictions, set(scored), gt)
    if scorer.without_results:
        missing = scorer.without_results
        scorer._warn(f"{len(missing)} ground-truth video(s) have no results and score as empty (first: "
                     f"{missing[0]!r}); --subset scores only the videos the results hold")
    body = scorer.report(meteor)
    return {
        "format": REPORT_FORMAT, "version": REPORT_VERSION, "tool": "smot score", "tool_version": __version__,
        "params": asdict(config), "inputs": inputs or {},
        "videos": {"scored": len(scored), "without_results": scorer.without_results},
        **body,
        "warnings": scorer.warnings,
    }


def _check_config(config: ScoreConfig) -> None:
    for option, value, choices in (("--protocol", config.protocol, CAPTION_PROTOCOLS),
                                   ("--match", config.match, MATCH_PROTOCOLS), ("--engine", config.engine, ENGINES)):
        if value not in choices:
            raise UsageError(f"{option} must be one of {', '.join(choices)}, got {value!r}")
    if config.match_threshold is not None and not 0 <= config.match_threshold < 1:
        raise UsageError(f"--match-threshold must be in [0, 1), got {config.match_threshold}")
    if not math.isfinite(config.interaction_threshold):
        raise UsageError("--interaction-threshold must be a number")


def _check_extra(predictions: dict[str, VideoRecords], known: set[str], gt: str) -> None:
    extra = [v for v in predictions if v not in known]
    if extra:
        part = predictions[extra[0]]
        raise InputError(f"the results hold {len(extra)} video(s) the ground truth lacks, e.g. {extra[0]!r}",
                         part.source, hint=f"is --gt {gt} the split these results were made on?")


# --------------------------------------------------------------------------------------------
# output


def to_json(report: dict) -> bytes:
    return orjson.dumps(report, option=orjson.OPT_INDENT_2 | orjson.OPT_APPEND_NEWLINE | orjson.OPT_SERIALIZE_NUMPY)


def print_table(report: dict) -> None:
    """The headline numbers for people, on stderr."""
    from rich.console import Console
    from rich.table import Table

    console = Console(stderr=True)
    table = Table(title="smot score", show_header=True, header_style="bold")
    table.add_column("section")
    table.add_column("metric")
    table.add_column("value", justify="right")

    def add(section: str, name: str, value, percent: bool = True) -> None:
        if value is None:
            text = "n/a"
        elif isinstance(value, float):
            text = f"{100 * value:.2f}" if percent else f"{value:.4g}"
        else:
            text = str(value)
        table.add_row(section, name, text)

    track = report["tracking"].get("combined")
    if track:
        for name in ("HOTA", "DetA", "AssA", "LocA", "MOTA", "MOTP", "IDF1", "IDP", "IDR"):
            add("tracking (%)", name, track[name])
        for name, label in (("CLR_FP", "FP"), ("CLR_FN", "FN"), ("IDSW", "IDs")):
            add("tracking", label, track[name])
    caps = report.get("captions", {})
    for part in ("instance", "video"):
        for protocol, values in caps.get(part, {}).items():
            if isinstance(values, dict):
                for name, value in values.items():
                    if name not in ("items", "unavailable", "notes"):
                        add(f"{part} captions ({protocol}, %)", name, value, percent=name != "CIDEr")
    inter = report.get("interactions", {})
    if "precision" in inter:
        for name in ("precision", "recall", "f1", "accuracy"):
            add(f"interactions (> {inter['threshold']}, %)", name, inter[name])
    chota = report.get("chota", {})
    if "CHOTA" in chota:
        add("CHOTA (alpha 0.5)", "CHOTA", chota["CHOTA"], percent=False)
        add("CHOTA (alpha 0.5)", "CapA", chota["CapA"], percent=False)
    console.print(table)
    for item in report.get("unavailable", []):
        hint = f" ({item['hint']})" if item.get("hint") else ""
        console.print(f"unavailable: {item['metric']}: {item['reason']}{hint}", highlight=False)


# --------------------------------------------------------------------------------------------
# the command


def command(
    results: Annotated[list[str], typer.Argument(
        help="Result streams (smot.tracks or smot.fused), e.g. the shards of one run; - for stdin.",
        show_default=False)],
    gt: Annotated[str, typer.Option(
        "--gt", help="Ground truth: a BenSMOT split or sequence folder, or a smot.tracks stream from "
                     "`smot convert`.", show_default=False)],
    output: Output = "-",
    protocol: Annotated[str, typer.Option(help="Caption protocol: coco (pycocoevalcap), bensmot (the paper's "
                                               "eval_vu.py) or all.")] = "coco",
    match: Annotated[str, typer.Option(help="Trajectory matching for captions and interactions: bensmot (the "
                                            "paper's greedy rule) or strict (one-to-one; misses and spurious "
                                            "tracks count).")] = "bensmot",
    match_threshold: Annotated[float | None, typer.Option(
        help="Matching threshold (default: bensmot 0.2 mean IoU, strict 0.5 tube IoU).", show_default=False)] = None,
    preprocess: Annotated[bool, typer.Option(
        "--preprocess/--no-preprocess", help="MOTChallenge preprocessing (distractor classes, pedestrians only), "
                                             "as BenSMOT's evaluation.")] = True,
    interaction_threshold: Annotated[float, typer.Option(
        help="A predicted interaction counts when its score is > this.")] = 0.4,
    subset: Annotated[bool, typer.Option(
        "--subset", help="Score only the ground-truth videos the results hold (default: a video without "
                         "results scores as empty).")] = False,
    engine: Annotated[str, typer.Option(help="Tracking metrics: fast (smot's, equal to TrackEval) or trackeval "
                                             "(TrackEval's classes, slower).")] = "fast",
    table: Annotated[bool | None, typer.Option(
        "--table/--no-table", help="Print a table on stderr (default: when stderr is a terminal).",
        show_default=False)] = None,
) -> None:
    """Score results against ground truth: tracking, captions, interactions, CHOTA (JSON report).

    \b
    smot score run.smot --gt data/BenSMOT/test                       # report on stdout
    smot score shard-*.smot --gt gt.smot -o report.json --match strict
    smot score run.smot --gt data/BenSMOT/test --protocol bensmot    # numbers comparable to the paper
    """
    if results.count("-") > 1 or ("-" in results and gt == "-"):
        raise UsageError("stdin (-) can be read once")
    config = ScoreConfig(protocol=protocol, match=match, match_threshold=match_threshold, preprocess=preprocess,
                         interaction_threshold=interaction_threshold, subset=subset, engine=engine)
    _check_config(config)
    readers: list[StreamReader] = []
    try:
        for path in results:
            readers.append(StreamReader(path, expect=RESULT_FORMATS,
                                        hint="score tracks: smot associate ... | smot score - --gt GT"))
        inputs = {"results": [r.name for r in readers], "gt": "stdin" if gt == "-" else gt,
                  "result_headers": [r.header.to_wire(False) for r in readers]}
        report = score(((r.name, r) for r in readers), gt, config, inputs)
    finally:
        for reader in readers:
            reader.close()
    data = to_json(report)
    if output == "-":
        sys.stdout.buffer.write(data)
        sys.stdout.flush()
    else:
        write_atomic(output, data)
    if table or (table is None and stderr_is_terminal()):
        print_table(report)
