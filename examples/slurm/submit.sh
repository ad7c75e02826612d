#!/bin/bash
# Submit a sharded study and its merge: the merge job starts when every
# array task has succeeded and writes the report from the cache alone.
#
#   examples/slurm/submit.sh                       # default study, 4 shards -> report/index.html
#   SHARDS=8 STUDY_ARGS="--quick" examples/slurm/submit.sh
#   CPUS=1 SHARDS=2 examples/slurm/submit.sh       # CPUs per shard (default 2)
set -euo pipefail
here=$(cd "$(dirname "$0")" && pwd)
SHARDS=${SHARDS:-4}
DL=${DL:-dropout-lab}
CACHE=${CACHE:-$PWD/study-cache}
OUT=${OUT:-$PWD/report}
export DL CACHE STUDY_ARGS="${STUDY_ARGS:-}"
array=$(sbatch --parsable --array=0-$((SHARDS - 1)) --cpus-per-task="${CPUS:-2}" "$here/study-array.sbatch")
merge=$(sbatch --parsable --job-name=dropout-merge --dependency=afterok:"$array" \
  --cpus-per-task=2 --output=dropout-merge-%j.out \
  --wrap "$DL study $STUDY_ARGS --merge --cache $CACHE --out $OUT")
echo "array job $array ($SHARDS shards), merge job $merge -> $OUT/index.html"
