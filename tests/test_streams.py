"""Streams: encodings detected on read, validation in context, atomic writers, bad input named."""

from __future__ import annotations

import gzip
import os
import signal
import subprocess
import sys
import time

import msgpack
import numpy as np
import orjson
import pytest
from conftest import ROOT

from smot.errors import InputError, OutputError, UsageError
from smot.records import Caption, Extension, Frame, Summary, Video
from smot.streams import StreamReader, StreamWriter, by_video, choose_encoding, make_header, passthrough


def sample_records():
    return [
        Video(id="park/clip_0", frames=2, width=640, height=360, fps=25.0),
        Frame(video="park/clip_0", frame=1, boxes=np.array([[1.0, 2.0, 30.5, 40.25]]), scores=np.array([0.75]),
              ids=np.array([1]), det_index=np.array([0]), features=np.arange(8, dtype=np.float16).reshape(1, 8)),
        Frame.empty("park/clip_0", 2, tracks=True),
        Caption(video="park/clip_0", track=1, text="A man in a red shirt walks left.", name="man0"),
        Extension("x-note", {"by": "test"}),
        Video(id="park/clip_1", frames=0),
        Summary(video="park/clip_1", text="Nobody is there."),
    ]


def write(path, records=None, fmt="smot.tracks", encoding=None):
    with StreamWriter(str(path), make_header(fmt, "smot test"), encoding) as writer:
        writer.write_all(sample_records() if records is None else records)


def read(path, expect=None):
    reader = StreamReader(str(path), expect)
    return reader.header, list(reader)


@pytest.mark.parametrize("suffix", ["s.smot", "s.jsonl", "s.smot.gz", "s.jsonl.gz", "s.bin"])
def test_write_then_read_gives_the_same_records(tmp_path, suffix):
    write(tmp_path / suffix)
    header, records = read(tmp_path / suffix)
    assert header == make_header("smot.tracks", "smot test")
    assert records == sample_records()


def test_encoding_is_chosen_by_suffix_then_environment(monkeypatch):
    assert choose_encoding("x.jsonl") == "jsonl" and choose_encoding("x.jsonl.gz") == "jsonl"
    assert choose_encoding("x.smot") == "msgpack" and choose_encoding("x.msgpack") == "msgpack"
    assert choose_encoding("x.smot", "jsonl") == "jsonl"
    monkeypatch.setenv("SMOT_ENCODING", "jsonl")
    assert choose_encoding("x.out") == "jsonl" and choose_encoding("x.smot") == "msgpack"
    monkeypatch.setenv("SMOT_ENCODING", "yaml")
    with pytest.raises(UsageError, match="SMOT_ENCODING='yaml' is not an encoding"):
        choose_encoding("x.out")


def test_header_chains_the_provenance_of_inputs():
    first = make_header("smot.detections", "smot detect", {"score_threshold": 0.3}, model="abc")
    second = make_header("smot.tracks", "smot associate", {"algorithm": "byte"}, inputs=[first])
    wire = second.to_wire(binary=False)
    assert wire["inputs"] == [first.to_wire(binary=False)]
    assert wire["inputs"][0]["model"] == "abc" and wire["inputs"][0]["params"] == {"score_threshold": 0.3}


def test_passthrough_and_by_video_keep_every_record_in_place():
    records = sample_records()
    out = list(passthrough(records, Frame, lambda f: [f.select(np.zeros(f.n, bool))]))
    assert [type(r) for r in out] == [type(r) for r in records]
    assert out[1].n == 0 and out[3] is records[3]
    groups = list(by_video([Extension("x-a", {}), *records]))
    assert [(v.id if v else None, len(held)) for v, held in groups] == [(None, 1), ("park/clip_0", 4),
                                                                         ("park/clip_1", 1)]


# ----------------------------------------------------------------------------------------------
# bad input


def jsonl(*records):
    """JSON Lines of these maps; a None value leaves the field out."""
    return b"".join(orjson.dumps({k: v for k, v in r.items() if v is not None}) + b"\n" for r in records)


def msgpack_stream(*records):
    return b"".join(msgpack.packb(r, use_bin_type=True) for r in records)


HEADER = {"kind": "header", "format": "smot.tracks", "version": 1, "tool": "t", "tool_version": "1"}
VIDEO = {"kind": "video", "id": "a/b", "frames": 2}
F1 = {"kind": "frame", "video": "a/b", "frame": 1, "boxes": [[0, 0, 1, 1]], "scores": [1], "ids": [1]}
F2 = {**F1, "frame": 2}
END = {"kind": "end"}


def read_bytes(tmp_path, data, expect=None, name="in.smot"):
    (tmp_path / name).write_bytes(data)
    cwd = os.getcwd()
    os.chdir(tmp_path)  # so that errors name the file as given: `in.smot`
    try:
        return read(name, expect)
    finally:
        os.chdir(cwd)


@pytest.mark.parametrize("data, message, where", [
    (jsonl(HEADER, VIDEO, F1, F2, END)[:-1] + b"\n", None, None),  # sanity: valid
    (b"", "empty input: expected a smot stream starting with a header record", "in.smot"),
    (b"  \n", "input holds only white space", "in.smot"),
    (b"1,-1,712.93,476.80\n", "not a smot stream: it starts with '1,-1,712.93,476.80\\n'", "in.smot"),
    (jsonl(HEADER, VIDEO) + b'{"kind": "frame", "video": \n', "malformed JSON", "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, F1) + b'{"kind": "frame", "vid', "a half-written JSON line", "in.smot"),
    (jsonl({**HEADER, "version": 7}), "smot.tracks version 7 is newer than this smot reads", "in.smot, record 1"),
    (jsonl(VIDEO), "expected a header record first, found 'video'", "in.smot, record 1"),
    (jsonl(HEADER, F1), "a frame record before any video record", "in.smot, record 2"),
    (jsonl(HEADER, VIDEO, F2), "expected frame 1 of video 'a/b', found frame 2", "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, F1, F2, {**F2, "frame": 3}), "frame 3 is beyond the 2 frames of video 'a/b'",
     "in.smot, record 5"),
    (jsonl(HEADER, VIDEO, F1, END), "video 'a/b' ended after frame 1, its video record says 2 frames",
     "in.smot, record 4"),
    (jsonl(HEADER, VIDEO, F1, F2), "the stream ended without its end record after record 4", "in.smot"),
    (jsonl(HEADER, VIDEO, F1, F2, END, F1), "data after the end record (record 5)", "in.smot, record 6"),
    (jsonl(HEADER, VIDEO, {**F1, "ids": None}), "a smot.tracks frame must hold tracks (ids)", "in.smot, record 3"),
    (jsonl({**HEADER, "format": "smot.detections"}, VIDEO, F1), "a smot.detections frame must hold detections",
     "in.smot, record 3"),
    (jsonl(HEADER, VIDEO) + b'{"kind":"frame","video":"a/b","frame":1,"boxes":[[0,0,NaN,1]]}\n',
     "malformed JSON", "in.smot, record 3"),  # JSON has no NaN
    (msgpack_stream(HEADER, VIDEO, {**F1, "boxes": [[0, 0, float("nan"), 1]]}),
     "box 0 is not finite: [0.0, 0.0, nan, 1.0]", "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, {**F1, "boxes": [[5, 0, 1, 1]]}), "box 0 is inverted", "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, {**F1, "scores": None}), "frame record has no field 'scores'", "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, {**F1, "video": "a/c"}), "a frame record of video 'a/c' inside video 'a/b'",
     "in.smot, record 3"),
    (jsonl(HEADER, VIDEO, F1, F2, VIDEO), "video 'a/b' appears twice in the stream", "in.smot, record 5"),
    (jsonl(HEADER, HEADER), "a second header record in the stream", "in.smot, record 2"),
    (jsonl({**HEADER, "format": "smot.detections"}, VIDEO, {"kind": "caption", "video": "a/b", "track": 1,
                                                            "text": "x"}),
     "a smot.detections stream cannot hold caption records", "in.smot, record 3"),
])
def test_bad_streams_fail_with_what_and_where(tmp_path, data, message, where):
    if message is None:
        read_bytes(tmp_path, data)
        return
    with pytest.raises(InputError) as error:
        read_bytes(tmp_path, data)
    assert message in error.value.message
    assert error.value.where == where


def test_truncated_msgpack_is_an_error_not_a_shorter_stream(tmp_path):
    data = msgpack_stream(HEADER, VIDEO, F1, F2, END)
    assert len(read_bytes(tmp_path, data)[1]) == 3
    cut = len(msgpack_stream(HEADER, VIDEO, F1)) + 5
    with pytest.raises(InputError) as error:
        read_bytes(tmp_path, data[:cut])
    assert error.value.message == "truncated msgpack: the input ends 5 bytes into a record after record 3"
    assert error.value.hint.startswith("the program writing this stream stopped early")


def test_malformed_msgpack_names_the_record(tmp_path):
    data = msgpack_stream(HEADER, VIDEO) + b"\xc1" + msgpack_stream(END)  # 0xc1 is never used
    with pytest.raises(InputError) as error:
        read_bytes(tmp_path, data)
    assert error.value.message.startswith("malformed msgpack") and error.value.where == "in.smot, record 3"


def test_wrong_stream_format_names_both_and_gives_the_hint(tmp_path, monkeypatch):
    write(tmp_path / "t.smot", [])
    monkeypatch.chdir(tmp_path)
    with pytest.raises(InputError) as error:
        StreamReader("t.smot", expect=["smot.detections"], hint="the order is `smot detect | smot associate`")
    assert str(error.value) == "input is a smot.tracks stream, expected smot.detections (t.smot, record 1)"
    assert error.value.hint == "the order is `smot detect | smot associate`"


def test_missing_file_and_folder_inputs(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        StreamReader(str(tmp_path / "nope.smot"))
    with pytest.raises(InputError, match="it is a folder"):
        StreamReader(str(tmp_path))


def test_a_failed_writer_leaves_nothing_at_the_path(tmp_path):
    path = tmp_path / "out.smot"
    with pytest.raises(RuntimeError):
        with StreamWriter(str(path), make_header("smot.tracks", "t")) as writer:
            writer.write(sample_records()[0])
            raise RuntimeError("boom")
    assert list(tmp_path.iterdir()) == []


def test_writer_reports_an_unwritable_path(tmp_path):
    with pytest.raises(OutputError, match="cannot write .*missing/out.smot"):
        StreamWriter(str(tmp_path / "missing" / "out.smot"), make_header("smot.tracks", "t"))


def test_an_interrupted_writer_process_leaves_no_file(tmp_path):
    """SIGTERM mid-stream: the output path never appears, nor does the temporary file survive."""
    script = (
        "import sys, time, numpy as np\n"
        "from smot.records import Video, Frame\n"
        "from smot.streams import StreamWriter, make_header\n"
        "w = StreamWriter(sys.argv[1], make_header('smot.tracks', 't'))\n"
        "w.__enter__(); w.write(Video(id='v', frames=10**6))\n"
        "print('ready', flush=True)\n"
        "try:\n"
        "    for t in range(1, 10**6):\n"
        "        w.write(Frame.empty('v', t, tracks=True)); time.sleep(0.001)\n"
        "except KeyboardInterrupt:\n"
        "    w.abort(); sys.exit(130)\n"
    )
    out = tmp_path / "out.smot"
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    process = subprocess.Popen([sys.executable, "-c",
                                "import signal, smot.cli as c; signal.signal(signal.SIGTERM, c._terminate)\n" + script,
                                str(out)], stdout=subprocess.PIPE, env=env)
    assert process.stdout.readline() == b"ready\n"
    time.sleep(0.2)
    process.send_signal(signal.SIGTERM)
    assert process.wait(timeout=30) == 130
    assert list(tmp_path.iterdir()) == []


def test_gzip_input_is_detected(tmp_path):
    plain = tmp_path / "a.jsonl"
    write(plain)
    packed = tmp_path / "b.anything"
    packed.write_bytes(gzip.compress(plain.read_bytes()))
    assert read(packed) == read(plain)


def test_a_live_pipe_is_read_record_by_record():
    """The reader yields a frame as soon as it arrives, before the writer has written the next."""
    code = (
        "import sys\n"
        "from smot.streams import StreamReader\n"
        "for record in StreamReader('-'):\n"
        "    print(record.kind, flush=True)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    for encode in (jsonl, msgpack_stream):
        reader = subprocess.Popen([sys.executable, "-c", code], stdin=subprocess.PIPE, stdout=subprocess.PIPE, env=env)
        reader.stdin.write(encode(HEADER, VIDEO, F1))
        reader.stdin.flush()
        assert reader.stdout.readline() == b"video\n"
        assert reader.stdout.readline() == b"frame\n"  # F2 and the end record are not written yet
        reader.stdin.write(encode(F2, END))
        reader.stdin.close()
        assert reader.stdout.read() == b"frame\n"
        assert reader.wait(timeout=30) == 0
