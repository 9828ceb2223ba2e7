"""Draw a result stream on its video: boxes, ids, trails, captions, interactions, the video caption.

Reads a video file, image folder or BenSMOT sequence or split (the pixels) and a smot.tracks or
smot.fused stream (the results); writes an annotated video (H.264 when PyAV or imageio-ffmpeg is
installed, else MPEG-4 Part 2 through OpenCV) and/or a contact sheet (PNG grid of frames).
"""

from __future__ import annotations

import logging
import os
from collections import defaultdict, deque
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated

import numpy as np
import typer

from smot.atomic import AtomicFile
from smot.clikit import progress
from smot.errors import EnvironmentErr, InputError, OutputError, UsageError
from smot.media import FrameSource, open_frames
from smot.records import Caption, Frame, Interaction, Record, Summary, Video
from smot.streams import StreamReader, by_video

log = logging.getLogger("smot")


@dataclass(frozen=True)
class RenderConfig:
    trail: int = 20  # frames of trail behind each track
    caption_width: int = 34  # characters per caption line
    caption_lines: int = 3  # caption lines at most (cut with an ellipsis)
    captions: bool = True
    interactions: bool = True
    summary: bool = True
    min_score: float = 0.0  # predicted interactions below this score are not drawn


@dataclass
class VideoResults:
    """What one video's records say, arranged for drawing."""

    video: Video
    frames: list[Frame]
    captions: dict[int, str]
    summary: str | None
    interactions: dict[tuple[int, int], list[str]]

    @classmethod
    def collect(cls, video: Video, records: Iterable[Record], min_score: float = 0.0) -> VideoResults:
        frames, captions, summary, pairs = [], {}, None, defaultdict(list)
        for record in records:
            if isinstance(record, Frame):
                frames.append(record)
            elif isinstance(record, Caption):
                captions.setdefault(record.track, record.text)
            elif isinstance(record, Summary):
                summary = record.text
            elif isinstance(record, Interaction) and (record.score is None or record.score >= min_score):
                pairs[(record.subject, record.object)].append(record.predicate)
        return cls(video, frames, captions, summary, dict(pairs))


def annotate(images: Iterable[np.ndarray], results: VideoResults, config: RenderConfig) -> Iterator[np.ndarray]:
    """Each image with its frame's results drawn on it (the images are drawn in place)."""
    from smot import visual

    trails: dict[int, deque] = defaultdict(lambda: deque(maxlen=max(1, config.trail)))
    for image, frame in zip(images, results.frames, strict=True):
        style = visual.Style.for_height(image.shape[0])
        ids = frame.ids.tolist() if frame.ids is not None else []
        boxes = dict(zip(ids, frame.boxes, strict=True))
        for track, box in boxes.items():
            trails[track].append(((box[0] + box[2]) / 2, box[3]))
        if config.trail:
            for track in boxes:
                visual.draw_trail(image, list(trails[track]), track, style)
        for track, box in boxes.items():
            visual.draw_box(image, box, track, style)
        taken: list[tuple[int, int, int, int]] = []
        banner = config.summary and results.summary
        if banner:  # reserve its place now, draw it last, on top
            width, height = visual.block_size(visual.banner_lines(image, results.summary, style), style)
            taken.append((0, 0, width, height))
        if config.interactions:
            for (subject, object_), labels in results.interactions.items():
                if subject in boxes and object_ in boxes and subject != object_:
                    # the two directions of a pair run side by side
                    offset = style.line_height if (object_, subject) in results.interactions else 0.0
                    rect = visual.draw_interaction(image, boxes[subject], boxes[object_], ", ".join(labels),
                                                   subject, style, offset)
                    if rect:
                        taken.append(rect)
        if config.captions:
            heads = [(int(b[0]), int(b[1]), int(b[2]), int(b[1] + (b[3] - b[1]) / 3)) for b in boxes.values()]
            frame_size = (image.shape[1], image.shape[0])
            for track, box in boxes.items():
                text = results.captions.get(track)
                if not text:
                    continue
                lines = visual.wrap(text, config.caption_width, config.caption_lines)
                size = visual.block_size(lines, style)
                x, y = visual.place_label(box, size, frame_size, taken, heads)
                taken.append(visual.draw_block(image, lines, x, y, style, accent=visual.track_color(track)))
        if banner:
            visual.draw_banner(image, results.summary, style)
        yield image


def contact_sheet(images: list[np.ndarray], columns: int, width: int, labels: list[str]) -> np.ndarray:
    """A grid of images scaled to `width / columns` pixels wide each, labelled in their corners."""
    import cv2

    from smot import visual

    tile_w = width // columns
    tiles = []
    for image, label in zip(images, labels, strict=True):
        tile_h = int(round(image.shape[0] * tile_w / image.shape[1]))
        tile = cv2.resize(image, (tile_w, tile_h), interpolation=cv2.INTER_AREA)
        visual.draw_block(tile, [label], tile_w, tile_h, visual.Style.for_height(tile_h))
        tiles.append(tile)
    tile_h = max(t.shape[0] for t in tiles)
    rows = -(-len(tiles) // columns)
    sheet = np.full((rows * tile_h, columns * tile_w, 3), 255, np.uint8)
    for i, tile in enumerate(tiles):
        r, c = divmod(i, columns)
        sheet[r * tile_h:r * tile_h + tile.shape[0], c * tile_w:(c + 1) * tile_w] = tile
    return sheet


# --------------------------------------------------------------------------------------------
# video files


class VideoSink:
    """Frames to a video file: H.264 through PyAV or imageio-ffmpeg when installed, else MPEG-4
    Part 2 ('mp4v') through OpenCV. Written under a temporary name and renamed by `close()`."""

    def __init__(self, path: Path, fps: float, size: tuple[int, int], codec: str = "auto"):
        self.path = path
        self.tmp = path.with_name(f".{path.stem}.tmp-{os.getpid()}{path.suffix}")
        self.size = size
        self.codec = None
        errors = []
        for name in (("h264", "mp4v") if codec == "auto" else (codec,)):
            try:
                self._open(name, fps)
                self.codec = name
                break
            except (ImportError, RuntimeError, OSError) as e:
                errors.append(f"{name}: {e}")
        if self.codec is None:
            raise EnvironmentErr(f"no video encoder for {path.suffix}: {'; '.join(errors)}",
                                 hint="`pip install av` adds H.264; OpenCV writes mp4v to .mp4 and .avi")

    def _open(self, codec: str, fps: float) -> None:
        width, height = self.size
        if codec == "h264":
            try:
                import av
            except ImportError:
                import imageio_ffmpeg  # noqa: F401  (the second way to H.264)

                self._imageio(fps)
                return
            self._container = av.open(str(self.tmp), mode="w")
            stream = self._container.add_stream("h264", rate=round(fps) or 30)
            stream.width, stream.height = width - width % 2, height - height % 2
            stream.pix_fmt = "yuv420p"
            stream.options = {"crf": "23"}
            self._stream, self._av = stream, av
            self._write = self._write_av
        elif codec == "mp4v":
            import cv2

            writer = cv2.VideoWriter(str(self.tmp), cv2.VideoWriter_fourcc(*"mp4v"), fps or 30.0, self.size)
            if not writer.isOpened():
                raise RuntimeError("OpenCV cannot open an mp4v writer here")
            self._cv = writer
            self._write = self._cv.write
        else:
            raise RuntimeError(f"unknown codec {codec!r}")

    def _imageio(self, fps: float) -> None:
        import imageio_ffmpeg

        width, height = self.size
        self._gen = imageio_ffmpeg.write_frames(str(self.tmp), (width - width % 2, height - height % 2),
                                                fps=fps or 30.0, codec="libx264", pix_fmt_in="bgr24",
                                                macro_block_size=2, quality=None, output_params=["-crf", "23"])
        self._gen.send(None)
        self._write = lambda image: self._gen.send(np.ascontiguousarray(image[: height - height % 2,
                                                                              : width - width % 2]))

    def _write_av(self, image: np.ndarray) -> None:
        h, w = self._stream.height, self._stream.width
        frame = self._av.VideoFrame.from_ndarray(np.ascontiguousarray(image[:h, :w]), format="bgr24")
        for packet in self._stream.encode(frame):
            self._container.mux(packet)

    def write(self, image: np.ndarray) -> None:
        self._write(image)

    def close(self) -> None:
        if hasattr(self, "_container"):
            for packet in self._stream.encode():
                self._container.mux(packet)
            self._container.close()
        elif hasattr(self, "_gen"):
            self._gen.close()
        else:
            self._cv.release()
        os.replace(self.tmp, self.path)

    def discard(self) -> None:
        try:
            if hasattr(self, "_container"):
                self._container.close()
            elif hasattr(self, "_gen"):
                self._gen.close()
            elif hasattr(self, "_cv"):
                self._cv.release()
        finally:
            self.tmp.unlink(missing_ok=True)


# --------------------------------------------------------------------------------------------
# the command


def select_video(groups: Iterable[tuple[Video | None, list[Record]]], video_id: str | None) -> tuple[Video, list]:
    seen = []
    for video, held in groups:
        if video is None:
            continue
        if video_id is None or video.id == video_id:
            return video, held
        seen.append(video.id)
    if video_id is None:
        raise InputError("the stream holds no video")
    raise InputError(f"the stream has no video {video_id!r}" + (f"; it has {', '.join(seen[:5])}" if seen else ""))


def match_source(sources: list[FrameSource], video: Video) -> FrameSource:
    if len(sources) == 1:
        return sources[0]
    for source in sources:
        if source.video.id == video.id:
            return source
    raise InputError(f"no sequence {video.id!r} in the source folder")


def render(source: str, stream: str, output: str | None, sheet: str | None, config: RenderConfig,
           video_id: str | None = None, codec: str = "auto", sheet_frames: int = 6, sheet_columns: int = 3,
           sheet_width: int = 1920) -> None:
    reader = StreamReader(stream, expect=["smot.tracks", "smot.fused"],
                          hint="render draws tracks: `smot associate ... | smot render VIDEO -`")
    with reader:
        video, held = select_video(by_video(reader), video_id)
    frames = match_source(open_frames(source), video)
    if frames.video.frames != video.frames:
        raise InputError(f"the source has {frames.video.frames} frames, the stream's video {video.id!r} has "
                         f"{video.frames}", source)
    results = VideoResults.collect(video, held, config.min_score)
    keep = set(np.linspace(1, video.frames, min(sheet_frames, video.frames)).round().astype(int).tolist()) \
        if sheet and video.frames else set()
    sink = None
    kept: list[np.ndarray] = []
    try:
        for t, image in enumerate(progress(annotate(iter(frames), results, config), video.frames, "render"), 1):
            if output is not None:
                if sink is None:
                    fps = video.fps or frames.video.fps or 30.0
                    sink = VideoSink(Path(output), fps, (image.shape[1], image.shape[0]), codec)
                sink.write(image)
            if t in keep:
                kept.append(image.copy())
    except BaseException:
        if sink is not None:
            sink.discard()
        raise
    if sink is not None:
        sink.close()
        log.info("wrote %s (%s)", output, sink.codec)
    if sheet:
        import cv2

        grid = contact_sheet(kept, sheet_columns, sheet_width, [f"{video.id} #{t}" for t in sorted(keep)])
        ok, data = cv2.imencode(".png", grid)
        if not ok:
            raise OutputError(f"cannot encode {sheet}")
        with AtomicFile(sheet) as f:
            f.write(data.tobytes())


def command(
    source: Annotated[str, typer.Argument(help="The pixels: a video file, an image folder, or a BenSMOT sequence "
                                               "or split (the sequence is found by the video id).")],
    stream: Annotated[str, typer.Argument(help="The results: a smot.tracks or smot.fused stream (- for stdin).")] = "-",
    output: Annotated[str | None, typer.Option("--output", "-o", help="Annotated video (.mp4 or .avi).")] = None,
    sheet: Annotated[str | None, typer.Option("--contact-sheet", help="A PNG grid of annotated frames.")] = None,
    video: Annotated[str | None, typer.Option(help="Which video of the stream (default: the first).")] = None,
    trail: Annotated[int, typer.Option(help="Frames of trail behind each track (0: none).")] = 20,
    caption_width: Annotated[int, typer.Option(help="Characters per caption line.")] = 34,
    caption_lines: Annotated[int, typer.Option(help="Caption lines at most.")] = 3,
    captions: Annotated[bool, typer.Option(help="Draw instance captions.")] = True,
    interactions: Annotated[bool, typer.Option(help="Draw interaction arrows.")] = True,
    summary: Annotated[bool, typer.Option(help="Draw the video caption as a banner.")] = True,
    min_score: Annotated[float, typer.Option(help="Leave out predicted interactions scored below this.")] = 0.0,
    codec: Annotated[str, typer.Option(help="auto (H.264 when PyAV or imageio-ffmpeg is installed, else mp4v), "
                                            "h264 or mp4v.")] = "auto",
    sheet_frames: Annotated[int, typer.Option(help="Frames in the contact sheet, evenly spaced.")] = 6,
    sheet_columns: Annotated[int, typer.Option(help="Columns of the contact sheet.")] = 3,
    sheet_width: Annotated[int, typer.Option(help="Width of the contact sheet in pixels.")] = 1920,
) -> None:
    """Draw results on a video: boxes, ids, trails, captions, interaction arrows, the video caption.

    \b
    smot render clip.mp4 result.smot -o clip-annotated.mp4
    smot render data/synth/test result.smot --video park/clip_0003 --contact-sheet sheet.png
    smot detect clip.mp4 --model m.pt | smot associate | smot render clip.mp4 - -o tracks.mp4
    """
    if output is None and sheet is None:
        raise UsageError("nothing to write: give -o VIDEO and/or --contact-sheet PNG")
    if codec not in ("auto", "h264", "mp4v"):
        raise UsageError(f"--codec must be auto, h264 or mp4v, got {codec!r}")
    if sheet_frames < 1 or sheet_columns < 1 or sheet_width < sheet_columns * 16:
        raise UsageError("--sheet-frames and --sheet-columns must be >= 1 and --sheet-width wide enough")
    config = RenderConfig(trail=max(0, trail), caption_width=max(8, caption_width), caption_lines=max(1, caption_lines),
                          captions=captions, interactions=interactions, summary=summary, min_score=min_score)
    render(source, stream, output, sheet, config, video, codec, sheet_frames, sheet_columns, sheet_width)
