#!/usr/bin/env bash
# Make one page of each kind (study --tiny, sweep, tune, eval --report) with BIN and
# screenshot each in headless Chromium at the default window width (1280 px), full height.
#   scripts/screenshots.sh target/release/dropout-lab /tmp/shots
# Needs Debian's chromium (apt-get install chromium). Not run by CI: it is for a person
# to look at the figures. Run from the repository root (the wine CSV path is relative to it).
set -euo pipefail
BIN=$(realpath "$1"); OUT=$(mkdir -p "$2" && realpath "$2")
W=data/sklearn-wine/wine_data.csv
rm -rf "$OUT"/pages && mkdir -p "$OUT"/pages
"$BIN" study --tiny --out "$OUT/pages/study" --quiet > /dev/null
"$BIN" sweep --grid 'dropout=0,0.3,lr=0.01,0.05' --data "$W" --arch '{in}-32-{classes}' \
  --epochs 5 --seeds 2 --val-size 30 --out "$OUT/pages/sweep" --quiet > /dev/null
"$BIN" tune --data "$W" --arch '{in}-32-{classes}' --epochs 5 --seeds 2 --p 0:0.6:0.3 \
  --out "$OUT/pages/tune" --quiet > /dev/null
"$BIN" train --train-size 2000 --epochs 3 --out "$OUT/pages/run" --quiet > /dev/null
"$BIN" eval --run "$OUT/pages/run" --mc 10 --ood fashion --report "$OUT/pages/eval" --quiet > /dev/null
for page in study sweep tune eval; do
  # A tall window: the screenshot is the window, so it must hold the whole page.
  case $page in study) h=22000 ;; *) h=4000 ;; esac
  chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
    --disable-background-networking --disable-component-update --disable-sync \
    --user-data-dir="$(mktemp -d)" --hide-scrollbars --window-size=1280,"$h" \
    --screenshot="$OUT/$page.png" "file://$OUT/pages/$page/index.html" 2> /dev/null
  echo "$OUT/$page.png"
done
