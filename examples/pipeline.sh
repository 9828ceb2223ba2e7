#!/bin/sh
# The SMOTer pipeline as separate programs joined by pipes, then scored and drawn.
#
#   sh examples/pipeline.sh MODEL.pt DATA/test [OUTDIR]
#
# Each stage is a process; msgpack streams flow between them, so a stage can be replaced by any
# program that reads and writes the same records (formats/). The `tee` keeps the tracks for a
# second look (e.g. another tracker's semantics) without running the detector again.
set -eu
MODEL=${1:?usage: pipeline.sh MODEL.pt DATA [OUTDIR]}
DATA=${2:?usage: pipeline.sh MODEL.pt DATA [OUTDIR]}
OUT=${3:-out/pipeline}
SMOT=${SMOT:-smot}
mkdir -p "$OUT"

$SMOT detect "$DATA" -m "$MODEL" \
  | $SMOT associate -a byte --min-track-length 5 \
  | tee "$OUT/tracks.smot" \
  | $SMOT fuse -m "$MODEL" \
  | $SMOT caption -m "$MODEL" \
  | $SMOT interact -m "$MODEL" --threshold 0.4 \
  | $SMOT convert - --drop-features -o "$OUT/result.smot"

# the same in one process: identical records, one header
#   $SMOT run "$DATA" -m "$MODEL" --min-track-length 5 --drop-features -o "$OUT/result.smot"

$SMOT score "$OUT/result.smot" --gt "$DATA" --table -o "$OUT/report.json"
$SMOT convert "$OUT/result.smot" --encoding jsonl | grep '"kind":"caption"' | head -5
