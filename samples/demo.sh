#!/bin/bash
# The demo: installs what is missing, builds weldnet, makes an inspection-style photo set from
# Fashion-MNIST (sandal = ok; sneaker and ankle boot = defects, 5% of the photos) and trains the
# small 3-conv network on it, then prints the model file's header.
# Usage: samples/demo.sh [OUTDIR]   (default demo/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
out=${1:-$root/demo}
"$root/scripts/setup.sh" "$root/build"
wn="$root/build/weldnet"
if [[ ! -d $out/photos/train ]]; then
  python3 "$root/samples/make_fashion_photos.py" --out "$out/photos" --ok-class sandal \
    --defects sneaker,ankle_boot --train 3000 --defect-share 0.05 --val 600 --test 500
fi
"$wn" train --config "$root/samples/nets/fmnist_small.ini" --data "$out/photos/train" \
  --val "$out/photos/val" --out "$out/model.wnet" --epochs 5
"$wn" info "$out/model.wnet" | head -40
echo "demo: model in $out/model.wnet, training log in $out/model.log.csv"
