#!/bin/bash
# The demo, the main job end to end: installs what is missing, builds weldnet, makes an
# inspection-style photo set from Fashion-MNIST (sandal = ok; sneaker and ankle boot = defects,
# 5% of the photos), then runs the three stages:
#   1. train     the small 3-conv network with the imbalance recipe (docs/TRAINING.md),
#   2. calibrate it on a held-out calibration set to catch at least 95% of the defects with 95%
#                confidence, with the most photos auto-passed (docs/CALIBRATE.md),
#   3. classify  a day's inspection photos (the training shares, never seen before): the CSV
#                audit report, the automation rate, and, as the folders are labelled, the
#                defect recall reached and the defects that slipped through (docs/CLASSIFY.md).
# Usage: samples/demo.sh [OUTDIR]   (default demo/; a few minutes on 2 cores)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/demo}
"$root/scripts/setup.sh" "$root/build"
wn="$root/build/weldnet"
photos=$out/photos
if [[ ! -d $photos/inspection ]]; then
  rm -rf "$photos"
  python3 "$root/samples/make_fashion_photos.py" --out "$photos" --ok-class sandal \
    --defects sneaker,ankle_boot --train 3000 --defect-share 0.05 --val 600 --calib 2000 \
    --test 0 --inspection 1000
fi

echo "== 1. train: $photos/train -> $out/model.wnet"
"$wn" train --config "$root/samples/nets/fmnist_small.ini" --data "$photos/train" \
  --val "$photos/val" --out "$out/model.wnet" --epochs 8 \
  --loss logit-adjusted --sampler stratified --crop 2 --flip 1 --schedule cosine
"$wn" info "$out/model.wnet" | head -12

echo "== 2. calibrate: $photos/calib -> $out/calibrated.wnet"
"$wn" calibrate --model "$out/model.wnet" --data "$photos/calib" --target-recall 0.95 \
  --confidence 0.95 --out "$out/calibrated.wnet"

echo "== 3. classify: $photos/inspection -> $out/audit.csv"
"$wn" classify --model "$out/calibrated.wnet" --report "$out/audit.csv" "$photos/inspection"

echo "demo: model $out/model.wnet (log $out/model.log.csv, plots $out/model.*.png);"
echo "      calibrated $out/calibrated.wnet (curve $out/calibrated.curve.png);"
echo "      audit report $out/audit.csv, summary $out/audit.summary.txt, misses $out/audit.misses.csv"
