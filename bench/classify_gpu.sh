#!/bin/bash
# classify_gpu.sh - `weldnet classify` end to end on the GPU (issue 5's goal: 4,000 photos/s
# with ResNet-18 on the H100/H200, against PyTorch's DataLoader pipeline at 998 photos/s in
# ../shared/bench/torch_speed.py decode): folders of 640x480 (and 1280x960) JPEGs ->
# decoding threads (DCT scaling to the 224x224 input) -> batches in page-locked memory ->
# ResNet-18 (samples/nets/resnet18.ini, strict fp32, classify's default; once more with --tf32)
# on --device -> CSV report.
# Prints photos/s per size and batch, and the rate of the same photos through a trivial net with
# the same 224x224 input on the CPU (what decoding, resizing and normalising alone reach), so the
# two limits can be told apart.
#
# usage: bench/classify_gpu.sh [--build DIR] [--device cuda|cpu] [--count N] [--count-1280 N]
#                              [--batch LIST] [--work DIR]
# defaults: --build build, --device cuda, --count 8000, --count-1280 2000, --batch 64,256,
#           --work $TMPDIR/wn_classify_gpu. (--device cpu with a small --count checks the script
#           on a machine without a GPU; ResNet-18 on 2 CPU cores classifies about 20 photos/s.)
# The ResNet-18 model is trained for one epoch on 16 photos (its weights do not change speed)
# and used uncalibrated with --threshold 0.5. Needs python3 with PIL and numpy (photos from Debian's
# dataset-fashion-mnist, or $FMNIST on the device machine).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build device=cuda count=8000 count2=2000 batches=64,256
work=${TMPDIR:-/tmp}/wn_classify_gpu
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --device) device=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --count-1280) count2=$2; shift 2 ;;
    --batch) batches=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    -h|--help) sed -n 2,17p "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "classify_gpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
WN=$build/weldnet
[[ -x $WN ]] || { echo "classify_gpu.sh: $WN not built (cmake --build $build)" >&2; exit 2; }
idx=()
[[ -n ${FMNIST:-} ]] && idx=(--idx "$FMNIST")
PY=python3 # the device machine's python3 has PIL; here Debian's /usr/bin/python3 may be needed
python3 -c "import PIL, numpy" 2>/dev/null || PY=/usr/bin/python3
mkdir -p "$work"
echo "== classify_gpu.sh: device $device, $(nproc) cores, work folder $work"

photos() { # DIR COUNT W H
  if [[ ! -d $1 || $(find "$1" -name '*.jpg' | wc -l) -ne $2 ]]; then
    rm -rf "$1"
    $PY "$root/bench/classify_photos.py" --out "$1" --count "$2" --width "$3" --height "$4" \
      --distinct $(( $2 < 400 ? $2 : 400 )) "${idx[@]}" >/dev/null
  fi
}
photos "$work/p640" "$count" 640 480
photos "$work/p1280" "$count2" 1280 960

# ResNet-18 with 2 classes: one epoch on 8 + 8 of the photos
if [[ ! -s $work/resnet18.wnet ]]; then
  rm -rf "$work/train"
  mkdir -p "$work/train/ok" "$work/train/defect"
  mapfile -t some < <(find "$work/p640" -name '*.jpg' | sort | head -16)
  for i in "${!some[@]}"; do cp "${some[$i]}" "$work/train/$([[ $((i % 2)) == 0 ]] && echo ok || echo defect)/$i.jpg"; done
  "$WN" train --config "$root/samples/nets/resnet18.ini" --data "$work/train" --val "$work/train" \
    --epochs 1 --batch 8 --device "$device" --plots 0 -q --out "$work/resnet18.wnet" > "$work/train.log" 2>&1 \
    || { echo "classify_gpu.sh: training the ResNet-18 model failed:" >&2; tail -5 "$work/train.log" >&2; exit 1; }
fi
# the decode-bound figure: a trivial net with ResNet-18's 224x224 RGB input, on the CPU (decoding
# with DCT scaling, resizing and normalising are then all the work)
if [[ ! -s $work/decode.wnet ]]; then
  printf '%s\n' "[net]" "width = 224" "height = 224" "channels = 3" "[conv1]" "type = conv" "filters = 2" \
    "size = 8" "stride = 8" "[fc]" "type = dense" "units = classes" > "$work/decode.ini"
  "$WN" train --config "$work/decode.ini" --data "$work/train" --val "$work/train" --epochs 1 --batch 8 \
    --device cpu --plots 0 -q --out "$work/decode.wnet" > "$work/train_decode.log" 2>&1 \
    || { echo "classify_gpu.sh: training the decode-bound model failed:" >&2; tail -5 "$work/train_decode.log" >&2; exit 1; }
fi

rate() { awk -F' = ' '$1 == "photos_per_s" { print $2 }' "$1"; }
run() { # LABEL MODEL DEVICE BATCH DIR [EXTRA OPTION]
  local rep=$work/report.csv
  rm -f "$rep"
  local t0=$(date +%s.%N)
  if ! "$WN" classify --device "$3" --model "$2" --threshold 0.5 --batch "$4" --report "$rep" -q ${6:-} "$5" \
       > "$work/classify.log" 2>&1; then
    echo "  $1: FAILED"; tail -5 "$work/classify.log"; return 0
  fi
  local t1=$(date +%s.%N)
  printf '  %-58s %9.1f photos/s (%s photos, %.1f s wall)\n' "$1" "$(rate "$work/report.summary.txt")" \
    "$(($(wc -l < "$rep") - 1))" "$(awk -v a="$t0" -v b="$t1" 'BEGIN { print b - a }')"
}

echo "photos/s of weldnet classify (summary file's photos_per_s; the issue's goal: 4,000 with"
echo "ResNet-18 on the GPU; PyTorch's DataLoader pipeline: 998, plain PIL decoding in 16 processes 3,314):"
IFS=, read -ra BS <<<"$batches"
for b in "${BS[@]}"; do
  run "ResNet-18, 640x480, $device, batch $b" "$work/resnet18.wnet" "$device" "$b" "$work/p640"
done
run "ResNet-18, 640x480, $device, batch ${BS[-1]}, --tf32" "$work/resnet18.wnet" "$device" "${BS[-1]}" "$work/p640" --tf32
run "ResNet-18, 1280x960, $device, batch ${BS[-1]}" "$work/resnet18.wnet" "$device" "${BS[-1]}" "$work/p1280"
run "decode-bound (trivial net, 224x224 input), 640x480, cpu" "$work/decode.wnet" cpu 256 "$work/p640"
run "decode-bound (trivial net, 224x224 input), 1280x960, cpu" "$work/decode.wnet" cpu 256 "$work/p1280"
