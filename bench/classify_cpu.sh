#!/bin/bash
# classify_cpu.sh - `weldnet classify` on the CPU: photos/s over folders of 640x480 and 1280x960
# JPEGs with the small net (samples/nets/fmnist_small.ini, 28x28 grey input, so JPEG DCT scaling
# matters), beside a PyTorch CPU pipeline doing the same work in the same run
# (bench/classify_torch.py: DataLoader workers decoding with PIL, plain and with PIL's DCT-scaling
# draft mode), and weldnet's peak memory at two photo counts (it must not grow with the count).
#
# usage: bench/classify_cpu.sh [--build DIR] [--count N] [--count-1280 N] [--mem-small N]
#                              [--mem-large N] [--repeat R] [--work DIR] [--no-torch] [--no-mem]
# defaults: --build build, --count 4000 (640x480), --count-1280 1000, --mem-small 10000,
#           --mem-large 100000, --repeat 3 (runs of each, interleaved; medians compared),
#           --work $TMPDIR/wn_classify_bench
# needs: /usr/bin/python3 with torch (python3-torch) and PIL (python3-pil), numpy, and Debian's
# dataset-fashion-mnist. Photos are generated once into --work (hard links beyond 200 distinct).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=$root/build count=4000 count2=1000 mem_small=10000 mem_large=100000 repeat=3
work=${TMPDIR:-/tmp}/wn_classify_bench torch=1 mem=1
while [[ $# -gt 0 ]]; do
  case $1 in
    --build) build=$2; shift 2 ;;
    --count) count=$2; shift 2 ;;
    --count-1280) count2=$2; shift 2 ;;
    --mem-small) mem_small=$2; shift 2 ;;
    --mem-large) mem_large=$2; shift 2 ;;
    --repeat) repeat=$2; shift 2 ;;
    --work) work=$2; shift 2 ;;
    --no-torch) torch=0; shift ;;
    --no-mem) mem=0; shift ;;
    -h|--help) sed -n 2,15p "$0"; exit 0 ;;
    *) echo "classify_cpu.sh: unknown option $1 (see --help)" >&2; exit 2 ;;
  esac
done
WN=$build/weldnet
PY=/usr/bin/python3
[[ -x $WN ]] || { echo "classify_cpu.sh: $WN not built (cmake --build $build)" >&2; exit 2; }
$PY -c "import PIL, numpy" 2>/dev/null || { echo "classify_cpu.sh: needs python3-pil and python3-numpy" >&2; exit 2; }
if [[ $torch == 1 ]] && ! $PY -c "import torch" 2>/dev/null; then
  echo "classify_cpu.sh: no PyTorch (apt-get install python3-torch); running without the peer" >&2
  torch=0
fi
mkdir -p "$work"
echo "== classify_cpu.sh: $(nproc) cores, work folder $work"

# a small trained and calibrated model of the fmnist_small net (its weights do not change speed)
if [[ ! -s $work/small.wnet ]]; then
  $PY "$root/samples/make_fashion_photos.py" --out "$work/sample" --ok-class trouser --defects sandal,bag \
    --train 600 --defect-share 0.2 --val 60 --calib 600 --test 0 --seed 1 >/dev/null
  "$WN" train --config "$root/samples/nets/fmnist_small.ini" --data "$work/sample/train" \
    --val "$work/sample/val" --epochs 1 -q --out "$work/raw.wnet" >/dev/null 2>&1
  "$WN" calibrate --model "$work/raw.wnet" --data "$work/sample/calib" --out "$work/small.wnet" \
    --target-recall 0.9 --uncertified -q >/dev/null 2>&1
fi

photos() { # DIR COUNT W H
  if [[ ! -d $1 || $(find "$1" -name '*.jpg' | wc -l) -ne $2 ]]; then
    rm -rf "$1"
    $PY "$root/bench/classify_photos.py" --out "$1" --count "$2" --width "$3" --height "$4" \
      --distinct $(( $2 < 200 ? $2 : 200 ))
  fi
}
photos "$work/p640" "$count" 640 480
photos "$work/p1280" "$count2" 1280 960

rate() { awk -F' = ' '$1 == "photos_per_s" { print $2 }' "$1"; }
median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

declare -A res
for size in 640 1280; do
  dir=$work/p$size
  w=() t=() d=()
  for ((r = 0; r < repeat; r++)); do
    nice "$WN" classify --device cpu --model "$work/small.wnet" --report "$work/wn.csv" -q "$dir"
    w+=("$(rate "$work/wn.summary.txt")")
    if [[ $torch == 1 ]]; then
      t+=("$(nice $PY "$root/bench/classify_torch.py" --photos "$dir" --out "$work/torch.csv" | awk '{ print $6 }')")
      d+=("$(nice $PY "$root/bench/classify_torch.py" --photos "$dir" --out "$work/torch.csv" --draft | awk '{ print $6 }')")
    fi
  done
  res[wn$size]=$(median "${w[@]}")
  [[ $torch == 1 ]] && res[t$size]=$(median "${t[@]}") && res[d$size]=$(median "${d[@]}")
  echo "  $size: weldnet ${w[*]}; torch ${t[*]:-}; torch draft ${d[*]:-} photos/s"
done

echo
echo "photos/s, median of $repeat ($(nproc) cores; $count photos of 640x480, $count2 of 1280x960):"
printf '  %-10s %10s %14s %14s %10s %12s\n' size weldnet "torch+PIL" "torch+PIL draft" "x torch" "x draft"
for size in 640 1280; do
  if [[ $torch == 1 ]]; then
    printf '  %-10s %10.1f %14.1f %14.1f %10.2f %12.2f\n' "${size}" "${res[wn$size]}" "${res[t$size]}" \
      "${res[d$size]}" "$(awk "BEGIN { print ${res[wn$size]} / ${res[t$size]} }")" \
      "$(awk "BEGIN { print ${res[wn$size]} / ${res[d$size]} }")"
  else
    printf '  %-10s %10.1f\n' "$size" "${res[wn$size]}"
  fi
done

if [[ $mem == 1 ]]; then
  photos "$work/m$mem_small" "$mem_small" 640 480
  photos "$work/m$mem_large" "$mem_large" 640 480
  peak() { /usr/bin/time -f %M "$WN" classify --device cpu --model "$work/small.wnet" --report "$work/mem.csv" -q "$1" 2>&1 >/dev/null | tail -1; }
  base=$(/usr/bin/time -f %M "$WN" info "$work/small.wnet" 2>&1 >/dev/null | tail -1)
  a=$(peak "$work/m$mem_small")
  ra=$(rate "$work/mem.summary.txt")
  b=$(peak "$work/m$mem_large")
  rb=$(rate "$work/mem.summary.txt")
  echo
  echo "peak memory (maximum resident set), 640x480 photos in folders of 1000:"
  printf '  %8d photos: %8d kB (%.1f photos/s)\n' "$mem_small" "$a" "$ra"
  printf '  %8d photos: %8d kB (%.1f photos/s)\n' "$mem_large" "$b" "$rb"
  echo "  ratio $(awk "BEGIN { printf \"%.3f\", $b / $a }") (goal: within 1.10)"
  printf '  (of which the executable and its libraries, e.g. CUDA when built in: %d kB, the peak of\n' "$base"
  printf '   `weldnet info`; above that: %d kB and %d kB, ratio %s)\n' $((a - base)) $((b - base)) \
    "$(awk "BEGIN { printf \"%.3f\", ($b - $base) / ($a - $base) }")"
fi
