#!/bin/sh
# A whole experiment on a SLURM cluster, as three dependent jobs: train SMOTer end to end on 2
# nodes x 4 GPUs, run the test split as an 8-task job array, score the parts into one report.
#
#   sh examples/slurm.sh data/BenSMOT runs/smoter
#
# The job scripts are bin/train.sbatch and bin/infer.sbatch (edit their #SBATCH lines for your
# cluster). A training job that hits its time limit leaves its last periodic checkpoint; submit
# `sbatch bin/train.sbatch DATA/train RUN/smoter.pt --resume` to continue it bit for bit.
set -eu
DATA=${1:?usage: slurm.sh DATA RUNDIR}
RUN=${2:?usage: slurm.sh DATA RUNDIR}
mkdir -p "$RUN"

train=$(sbatch --parsable --nodes=2 bin/train.sbatch "$DATA/train" "$RUN/smoter.pt" \
          --init-backbone models/dla34-ba72cf86.pth)
infer=$(sbatch --parsable --dependency=afterok:"$train" --array=0-7 \
          bin/infer.sbatch "$DATA/test" "$RUN/smoter.pt" "$RUN/parts" --min-track-length 5)
sbatch --dependency=afterok:"$infer" --ntasks=1 --cpus-per-task=4 --time=01:00:00 \
       --output="$RUN/score-%j.out" \
       --wrap="smot score $RUN/parts/part-*.smot --gt $DATA/test --protocol all -o $RUN/report.json"
echo "submitted: train $train, inference $infer (8 tasks), then scoring -> $RUN/report.json"
