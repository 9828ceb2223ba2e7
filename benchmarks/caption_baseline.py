"""The most-frequent-caption baseline of the semantic acceptance check (issue 7).

Reads a result stream (e.g. `smot run data/synth/test -m tiny.pt`) and a training split; writes the
same stream with every caption replaced by the most frequent instance caption of the training split,
every summary by its most frequent video caption (ties: the alphabetically first), and no
interactions. Scoring both with `smot score` gives the model's captions against a baseline that
sees the same trajectories:

    python benchmarks/caption_baseline.py result.smot data/synth/train -o baseline.smot
    smot score result.smot --gt data/synth/test --protocol coco
    smot score baseline.smot --gt data/synth/test --protocol coco
"""

from __future__ import annotations

import argparse
from collections import Counter

from smot.datasets.bensmot import find_sequences, read_sequence
from smot.records import Caption, Interaction, Summary
from smot.streams import StreamReader, StreamWriter, make_header


def most_frequent(texts: list[str]) -> str:
    counts = Counter(texts)
    return min(counts, key=lambda t: (-counts[t], t))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("result")
    parser.add_argument("train")
    parser.add_argument("-o", "--output", required=True)
    args = parser.parse_args()
    captions, summaries = [], []
    for video_id, folder in find_sequences(args.train):
        for record in read_sequence(folder, video_id):
            if isinstance(record, Caption):
                captions.append(record.text)
            elif isinstance(record, Summary):
                summaries.append(record.text)
    caption, summary = most_frequent(captions), most_frequent(summaries)
    print(f"most frequent training caption ({Counter(captions)[caption]} of {len(captions)}): {caption}")
    print(f"most frequent training video caption ({Counter(summaries)[summary]} of {len(summaries)}): {summary}")
    with StreamReader(args.result) as reader:
        header = make_header(reader.header.format, "caption_baseline", {"train": args.train}, [reader.header])
        with StreamWriter(args.output, header) as writer:
            for record in reader:
                if isinstance(record, Caption):
                    record = Caption(video=record.video, track=record.track, text=caption, score=0.0)
                elif isinstance(record, Summary):
                    record = Summary(video=record.video, text=summary, score=0.0)
                elif isinstance(record, Interaction):
                    continue
                writer.write(record)


if __name__ == "__main__":
    main()
