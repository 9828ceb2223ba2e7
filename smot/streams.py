"""Reading and writing smot streams (formats/envelope.md).

A stream is a header record, the records of zero or more videos, and an end record, encoded as
JSON Lines (orjson) or msgpack; readers detect the encoding (and gzip) themselves. Readers validate
every record and its place in the stream; an error names the input, the record number, what was
expected and what was found. Writers to a path write a temporary file and rename it when the end
record is written; writers to stdout flush every record so a pipe on a live source keeps moving.
"""

from __future__ import annotations

import gzip
import os
import sys
from collections.abc import Callable, Iterable, Iterator
from typing import BinaryIO

import msgpack
import orjson

from smot import __version__
from smot.atomic import AtomicFile
from smot.errors import InputError, RecordError, UsageError
from smot.records import (
    FORMAT_KINDS,
    FORMAT_VERSIONS,
    End,
    Extension,
    Frame,
    Header,
    Record,
    Video,
    from_wire,
)

ENCODINGS = ("msgpack", "jsonl")
_JSONL_SUFFIXES = (".jsonl", ".ndjson", ".json")
_MSGPACK_SUFFIXES = (".msgpack", ".mpk", ".smot")
_CHUNK = 1 << 16


def make_header(format: str, tool: str, params: dict | None = None, inputs: Iterable[Header] = (),
                model: str | None = None) -> Header:
    """A header for a stage's output: its own parameters and the headers of its inputs."""
    return Header(format=format, version=FORMAT_VERSIONS[format], tool=tool, tool_version=__version__,
                  params=dict(params or {}), model=model,
                  inputs=[h.to_wire(binary=False) for h in inputs])


def input_name(path: str) -> str:
    return "stdin" if path == "-" else str(path)


def open_binary_input(path: str, hint: str | None = None) -> BinaryIO:
    """A buffered binary reader of a path or of stdin (`-`), gunzipped when gzip-compressed."""
    if path == "-":
        if sys.stdin is None or sys.stdin.isatty():
            raise InputError("no input: stdin is a terminal", hint=hint or "pipe a stream in or give a file")
        stream: BinaryIO = sys.stdin.buffer
    else:
        try:
            stream = open(path, "rb")
        except FileNotFoundError:
            raise InputError(f"cannot read {path}: no such file") from None
        except IsADirectoryError:
            raise InputError(f"cannot read {path}: it is a folder, expected a stream file") from None
        except OSError as e:
            raise InputError(f"cannot read {path}: {e.strerror}") from None
    if stream.peek(2)[:2] == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=stream, mode="rb")  # type: ignore[assignment]
    return stream


class StreamReader:
    """Iterate the validated records of one stream; the header is read on opening.

    `expect` names the stream formats the caller accepts; `hint` is shown with a wrong-format error.
    Iteration yields every record after the header, in order, and stops after the end record
    (which it does not yield).
    """

    def __init__(self, path: str = "-", expect: Iterable[str] | None = None, hint: str | None = None):
        self.path = path
        self.name = input_name(path)
        self._file = open_binary_input(path)
        self._count = 0
        self._finished = False
        try:
            self.encoding = _detect_encoding(self._file, self.name)
            self._raw = _decode_msgpack(self._file) if self.encoding == "msgpack" else _decode_jsonl(self._file)
            self.header = self._read_header(expect, hint)
        except BaseException:
            self.close()
            raise

    # -- reading -------------------------------------------------------------------------------

    def _where(self) -> str:
        return f"{self.name}, record {self._count}"

    def _next_raw(self) -> object | None:
        try:
            raw = next(self._raw)
        except StopIteration:
            return None
        except _StreamCut as e:
            raise InputError(f"{e.args[0]} after record {self._count}", self.name,
                             hint="the program writing this stream stopped early; see its error") from None
        except _Malformed as e:
            self._count += 1
            raise InputError(e.args[0], self._where()) from None
        self._count += 1
        return raw

    def _read_header(self, expect: Iterable[str] | None, hint: str | None) -> Header:
        raw = self._next_raw()
        if raw is None:
            raise InputError("empty input: expected a smot stream starting with a header record", self.name,
                             hint="an empty stream still has its header and end records")
        if not isinstance(raw, dict) or raw.get("kind") != "header":
            found = raw.get("kind") if isinstance(raw, dict) else type(raw).__name__
            raise InputError(f"expected a header record first, found {found!r}", self._where())
        try:
            header = Header.from_wire(raw)
        except RecordError as e:
            raise InputError(str(e), self._where()) from None
        if expect is not None:
            expect = list(expect)
            if header.format not in expect:
                raise InputError(f"input is a {header.format} stream, expected {' or '.join(expect)}",
                                 self._where(), hint=hint)
        return header

    def __iter__(self) -> Iterator[Record]:
        allowed = FORMAT_KINDS[self.header.format]
        tracks = self.header.format != "smot.detections"
        video: Video | None = None
        next_frame = 1
        seen: set[str] = set()

        def finish(video: Video | None, next_frame: int) -> None:
            if video is not None and next_frame <= video.frames:
                raise InputError(f"video {video.id!r} ended after frame {next_frame - 1}, "
                                 f"its video record says {video.frames} frames", self._where())

        while True:
            raw = self._next_raw()
            if raw is None:
                raise InputError(f"the stream ended without its end record after record {self._count}",
                                 self.name, hint="the program writing this stream stopped early; see its error")
            try:
                record = from_wire(raw)
            except RecordError as e:
                raise InputError(str(e), self._where()) from None
            kind = record.kind
            if isinstance(record, Frame):
                if video is None or record.video != video.id:
                    raise self._wrong_video(record, video)
                if record.frame != next_frame or record.frame > video.frames:
                    if record.frame > video.frames:
                        raise InputError(f"frame {record.frame} is beyond the {video.frames} frames of video "
                                         f"{video.id!r}", self._where())
                    raise InputError(f"expected frame {next_frame} of video {video.id!r}, found frame "
                                     f"{record.frame}", self._where(),
                                     hint="frames are consecutive from 1; write empty frames too")
                if (record.ids is not None) != tracks:
                    what = "tracks (ids)" if tracks else "detections (no ids)"
                    raise InputError(f"a {self.header.format} frame must hold {what}", self._where())
                next_frame += 1
            elif isinstance(record, Video):
                finish(video, next_frame)
                if record.id in seen:
                    raise InputError(f"video {record.id!r} appears twice in the stream", self._where())
                seen.add(record.id)
                video, next_frame = record, 1
            elif isinstance(record, End):
                finish(video, next_frame)
                self._check_nothing_after()
                return
            elif isinstance(record, Extension):
                pass
            elif isinstance(record, Header):
                raise InputError("a second header record in the stream", self._where(),
                                 hint="concatenated streams are not one stream; give them as separate inputs")
            else:
                if kind not in allowed:
                    raise InputError(f"a {self.header.format} stream cannot hold {kind} records", self._where())
                if video is None or record.video != video.id:  # type: ignore[attr-defined]
                    raise self._wrong_video(record, video)
            yield record

    def _wrong_video(self, record: Record, video: Video | None) -> InputError:
        if video is None:
            return InputError(f"a {record.kind} record before any video record", self._where())
        return InputError(f"a {record.kind} record of video {record.video!r} inside video "  # type: ignore[attr-defined]
                          f"{video.id!r}", self._where(), hint="records of a video follow its video record")

    def _check_nothing_after(self) -> None:
        count = self._count
        if self._next_raw() is not None:
            raise InputError(f"data after the end record (record {count})", self._where())
        self._finished = True

    def close(self) -> None:
        if self.path != "-":
            self._file.close()

    def __enter__(self) -> StreamReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


class _StreamCut(Exception):
    """The input ended inside a record."""


class _Malformed(Exception):
    """The input is not valid JSON Lines or msgpack."""


def _detect_encoding(stream: BinaryIO, name: str) -> str:
    head = stream.peek(64)[:64]  # type: ignore[attr-defined]
    text = head.lstrip()
    if not text:
        if head:
            raise InputError("input holds only white space, expected a smot stream", name)
        raise InputError("empty input: expected a smot stream starting with a header record", name,
                         hint="an empty stream still has its header and end records")
    first = text[0]
    if first == ord("{"):
        return "jsonl"
    if 0x80 <= first <= 0x8F or first in (0xDE, 0xDF):
        return "msgpack"
    shown = head[:24].decode("utf-8", "replace")
    hint = None
    if first in b"0123456789-":
        hint = "MOTChallenge text? convert it first: `smot convert det.txt | ...`"
    raise InputError(f"not a smot stream: it starts with {shown!r}, expected JSON Lines or msgpack", name,
                     hint=hint)


def _decode_msgpack(stream: BinaryIO) -> Iterator[object]:
    unpacker = msgpack.Unpacker(raw=False, strict_map_key=False, max_buffer_size=2**31 - 1)
    fed = complete = 0
    read1 = getattr(stream, "read1", stream.read)
    while True:
        chunk = read1(_CHUNK)
        if not chunk:
            break
        unpacker.feed(chunk)
        fed += len(chunk)
        try:
            for record in unpacker:
                complete = unpacker.tell()
                yield record
        except (ValueError, msgpack.UnpackException) as e:
            raise _Malformed(f"malformed msgpack: {e}") from None
    if complete != fed:
        raise _StreamCut(f"truncated msgpack: the input ends {fed - complete} bytes into a record")


def _decode_jsonl(stream: BinaryIO) -> Iterator[object]:
    for line in stream:
        if not line.strip():
            continue
        try:
            yield orjson.loads(line)
        except orjson.JSONDecodeError as e:
            if not line.endswith(b"\n"):
                raise _StreamCut("a half-written JSON line: the input ends inside a record") from None
            raise _Malformed(f"malformed JSON: {e}") from None


# --------------------------------------------------------------------------------------------
# writing


def choose_encoding(path: str, requested: str | None = None) -> str:
    """The encoding to write: as asked, else by the file suffix, else $SMOT_ENCODING, else msgpack
    (JSON Lines on a terminal, so a person sees text)."""
    if requested:
        if requested not in ENCODINGS:
            raise UsageError(f"unknown encoding {requested!r}; expected {' or '.join(ENCODINGS)}")
        return requested
    name = path[:-3] if path.endswith(".gz") else path
    if name.endswith(_JSONL_SUFFIXES):
        return "jsonl"
    if name.endswith(_MSGPACK_SUFFIXES):
        return "msgpack"
    env = os.environ.get("SMOT_ENCODING")
    if env:
        if env not in ENCODINGS:
            raise UsageError(f"SMOT_ENCODING={env!r} is not an encoding; expected {' or '.join(ENCODINGS)}")
        return env
    if path == "-" and sys.stdout is not None and sys.stdout.isatty():
        return "jsonl"
    return "msgpack"


class StreamWriter:
    """Write a stream: the header at once, records with `write`, the end record on `close`.

    Used as a context manager, an exception discards a path's temporary file, so an interrupted
    writer leaves no file at the output path.
    """

    def __init__(self, path: str, header: Header, encoding: str | None = None):
        self.path = path
        self.encoding = choose_encoding(path, encoding)
        self._binary = self.encoding == "msgpack"
        self._atomic: AtomicFile | None = None
        if path == "-":
            self._file = sys.stdout.buffer
            self._flush = True
        else:
            self._atomic = AtomicFile(path)
            self._file = self._atomic.file
            if path.endswith(".gz"):
                self._file = gzip.GzipFile(fileobj=self._file, mode="wb", mtime=0)
            self._flush = False
        if self._binary:
            pack = msgpack.Packer(use_bin_type=True).pack
            self._encode = pack
        else:
            self._encode = _encode_jsonl
        self.write(header)

    def write(self, record: Record) -> None:
        self._file.write(self._encode(record.to_wire(self._binary)))
        if self._flush:
            self._file.flush()

    def write_all(self, records: Iterable[Record]) -> None:
        for record in records:
            self.write(record)

    def close(self) -> None:
        """Write the end record and make the output appear."""
        self.write(End())
        if self._atomic is not None:
            if self._file is not self._atomic.file:
                self._file.close()
            self._atomic.commit()
        else:
            self._file.flush()

    def abort(self) -> None:
        if self._atomic is not None:
            self._atomic.discard()

    def __enter__(self) -> StreamWriter:
        return self

    def __exit__(self, exc_type: object, *rest: object) -> None:
        if exc_type is None:
            self.close()
        else:
            self.abort()


def _encode_jsonl(wire: dict) -> bytes:
    return orjson.dumps(wire, option=orjson.OPT_APPEND_NEWLINE)


# --------------------------------------------------------------------------------------------
# helpers for stages


def passthrough(records: Iterable[Record], kinds: type | tuple[type, ...],
                handle: Callable[[Record], Iterable[Record]]) -> Iterator[Record]:
    """The records a stage writes: `handle(record)` for records of `kinds`, every other record as is.

    A per-frame stage is `passthrough(reader, Frame, tracker.update_frame)`: videos, captions and
    extensions travel on untouched, in their places.
    """
    for record in records:
        if isinstance(record, kinds):
            yield from handle(record)
        else:
            yield record


def by_video(records: Iterable[Record]) -> Iterator[tuple[Video | None, list[Record]]]:
    """Group a validated record sequence into (video, its records), holding one video at a time.

    Extension records before the first video come first, as (None, records).
    """
    video: Video | None = None
    held: list[Record] = []
    for record in records:
        if isinstance(record, Video):
            if video is not None or held:
                yield video, held
            video, held = record, []
        else:
            held.append(record)
    if video is not None or held:
        yield video, held
