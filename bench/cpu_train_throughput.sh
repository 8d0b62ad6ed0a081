#!/bin/bash
# CPU training throughput of the 3-conv net (samples/nets/fmnist_small.ini) on 28x28
# Fashion-MNIST photos, batch 128, Adam, against PyTorch on the same machine in the same run
# (../shared/bench/torch_cpu.py: 6122 photos, 2 threads). Prints both figures and the ratio.
# Usage: bench/cpu_train_throughput.sh [BUILD_DIR]   (needs python3-torch for the peer)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build}
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
python3 "$root/samples/make_fashion_photos.py" --out "$work/photos" --ok-class tshirt --defects shirt \
  --train 6000 --defect-share 0.02 --val 0 --test 300 >/dev/null
"$build/weldnet" train --config "$root/samples/nets/fmnist_small.ini" --data "$work/photos/train" \
  --val "$work/photos/test" --out "$work/m.wnet" --epochs 3 --batch 128 --threads 2 -q 2>&1 | tee "$work/log"
wn=$(awk -F, 'NR > 2 { s += $8; n++ } END { printf "%.0f", s / n }' "$work/m.log.csv")
echo "weldnet cpu train img/s (epochs 2-3, 6122 photos 28x28, batch 128): $wn"
peer=""
torch_py=""
for py in /usr/bin/python3 python3; do
  if "$py" -c "import torch" 2>/dev/null; then torch_py=$py; break; fi
done
script=$root/../shared/bench/torch_cpu.py
if [[ -n $torch_py && -f $script ]]; then
  # only the training part of the peer script (the scikit-learn part belongs to calibrate)
  sed '/sklearn/,$d' "$script" > "$work/torch_train.py"
  "$torch_py" "$work/torch_train.py" | tee "$work/peer"
  peer=$(awk '/train epoch/ { v = $NF } END { print v }' "$work/peer")
fi
if [[ -n $peer ]]; then
  awk -v a="$wn" -v b="$peer" 'BEGIN { printf "weldnet / PyTorch = %d / %d = %.2fx\n", a, b, a / b }'
else
  echo "PyTorch peer not run (apt-get install python3-torch, and ../shared/bench/torch_cpu.py)"
fi
