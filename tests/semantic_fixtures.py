"""Small semantic models and feature-carrying track streams for the semantic tests."""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import torch

from smot.models.checkpoint import save_checkpoint
from smot.models.semantics import PRESETS, Semantics
from smot.models.tokenizer import train_tokenizer
from smot.records import Caption, Extension, Frame, Interaction, Summary, Video
from smot.streams import StreamReader, StreamWriter, make_header

CONTEXT_TOKENS = 6
# a tiny model on small features: boxes of 4 tokens x 16, 6 context tokens of 16
CONFIG = PRESETS["tiny"].replace(
    box_token_dim=16, context_dim=16, context_tokens=CONTEXT_TOKENS, trajectory_fusion="concatenation",
    d_model=32, heads=2, ffn=64, dropout=0.0, max_video_frames=4,
    max_track_frames=8, interaction_tokens=4, interaction_hidden=64, decoder_layers=1, decoder_hidden=32,
    decoder_heads=2, decoder_ffn=64, decoder_positions=32, max_length=16, motion_tokens=0, input_norm="batch",
    memory_prefix=False, video_caption_memory="injected", video_fusion="attention", temporal_encoding=True,
    predicates=("approach.v.01", "embrace.v.02", "hold.v.02"))
CAPTIONS = ["A man in a red shirt walks to the left.", "A woman waves at the man.",
            "A child runs after the dog.", "Two people meet and hug."]


def build_semantics(config=CONFIG, seed: int = 0) -> Semantics:
    torch.manual_seed(seed)
    return Semantics.build(config, train_tokenizer(CAPTIONS, vocab_size=200))


def save_model(path: Path, semantics: Semantics) -> str:
    parts = semantics.checkpoint_parts()
    return save_checkpoint(path, parts)


def track_stream_records(seed: int = 0, config=CONFIG) -> list:
    """Two videos of tracks with random box features and context, plus ground-truth semantics and
    an extension record that stages must pass through."""
    rng = np.random.default_rng(seed)
    records = []
    # video a: track 3 from frame 1, track 1 from frame 2 (first appearance order: 3, 1), track 2 in frame 4
    layout = {1: [3], 2: [3, 1], 3: [1, 3], 4: [2, 1, 3]}
    records.append(Video(id="park/a", frames=4, width=640, height=360))
    for f, ids in layout.items():
        n = len(ids)
        boxes = np.array([[10.0 * i, 20.0, 10.0 * i + 30, 90.0] for i in ids])
        records.append(Frame(video="park/a", frame=f, boxes=boxes, scores=np.full(n, 0.9), ids=np.array(ids),
                             det_index=np.arange(n), features=rng.normal(size=(n, config.box_dim)).astype(np.float16),
                             context=rng.normal(size=(CONTEXT_TOKENS, config.context_dim)).astype(np.float16)))
    records.append(Caption(video="park/a", track=1, text="A man walks.", name="man0"))
    records.append(Summary(video="park/a", text="People walk."))
    records.append(Interaction(video="park/a", subject=1, object=3, predicate="hold.v.02"))
    records.append(Extension("x-note", {"video": "park/a", "text": "kept"}))
    # video b: one frame, nobody in it
    records.append(Video(id="street/b", frames=1))
    records.append(Frame(video="street/b", frame=1, boxes=np.zeros((0, 4)), scores=np.zeros(0),
                         ids=np.zeros(0, np.int64), det_index=np.zeros(0, np.int64),
                         features=np.zeros((0, config.box_dim), np.float16),
                         context=rng.normal(size=(CONTEXT_TOKENS, config.context_dim)).astype(np.float16)))
    return records


def write_stream(path: Path, records: list, format: str = "smot.tracks", encoding: str = "msgpack",
                 tool: str = "smot associate", model: str | None = None) -> Path:
    with StreamWriter(str(path), make_header(format, tool, model=model), encoding) as writer:
        writer.write_all(records)
    return path


def read(data: bytes):
    """(header, records) of a stream given as bytes."""
    with tempfile.NamedTemporaryFile(suffix=".smot") as f:
        f.write(data)
        f.flush()
        with StreamReader(f.name) as reader:
            return reader.header, list(reader)
