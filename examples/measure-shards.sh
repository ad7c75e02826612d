#!/usr/bin/env bash
# Wall time of a study run serially vs as 2 shards on this machine, and
# whether the merged numbers equal the serial ones (timings aside).
#
#   examples/measure-shards.sh --quick          # or: "" (the default study), "--tiny"
#
# Serial: `study --threads 2`; sharded: two `--shard i/2 --threads 1` at
# once on one cache, then `--merge`. Prints seconds; keeps everything under
# $WORK (default /tmp/dropout-lab-measure). DL defaults to target/release/dropout-lab.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
DL=${DL:-$root/target/release/dropout-lab}
WORK=${WORK:-/tmp/dropout-lab-measure}
F=${1:-}
rm -rf "$WORK" && mkdir -p "$WORK"
now() { date +%s.%N; }
# shellcheck disable=SC2086  # F is zero or one option
{
  s=$(now)
  "$DL" study $F --quiet --threads 2 --out "$WORK/serial" > "$WORK/serial.out"
  echo "serial: $(echo "$(now) - $s" | bc) s"
  s=$(now)
  for i in 1 2; do
    "$DL" study $F --threads 1 --shard "$i/2" --cache "$WORK/cache" > "$WORK/shard$i.out" 2> "$WORK/shard$i.err" &
  done
  wait
  echo "2 shards: $(echo "$(now) - $s" | bc) s"
  cat "$WORK/shard1.out" "$WORK/shard2.out"
  s=$(now)
  "$DL" study $F --quiet --threads 2 --merge --cache "$WORK/cache" --out "$WORK/merged" > "$WORK/merge.out"
  echo "merge: $(echo "$(now) - $s" | bc) s"
}
python3 - "$WORK" <<'PY'
import json, sys
d = sys.argv[1]
a, b = (json.load(open(f"{d}/{x}/results.json"))["claims"] for x in ("serial", "merged"))
for c in a + b:
    c.pop("elapsed_s", None)
print("merged numbers equal the serial ones:", a == b)
PY
