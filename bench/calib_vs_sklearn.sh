#!/usr/bin/env bash
# calib_vs_sklearn.sh - pooled calibration of 10 million scores, weldnet beside scikit-learn, in one
# run on one machine: bench_calib (median of 3, curve + certified choice) and the peer snippet of
# ../shared/bench/torch_cpu.py (precision_recall_curve on np.random.rand(10_000_000), 2% positives),
# then the ratio.
#
# Usage: bench/calib_vs_sklearn.sh BUILD_DIR   (BUILD_DIR holds bench/bench_calib)
# Needs /usr/bin/python3 with numpy and scikit-learn (Debian: python3-sklearn).
set -euo pipefail
build=${1:?usage: calib_vs_sklearn.sh BUILD_DIR}
bench="$build/bench/bench_calib"
if [ ! -x "$bench" ]; then
    echo "calib_vs_sklearn.sh: no $bench (build the bench_calib target first)" >&2
    exit 2
fi

ours_out=$("$bench")
echo "$ours_out"

# The peer, as ../shared/bench/torch_cpu.py times it (the elapsed time is kept unrounded too).
peer_out=$(/usr/bin/python3 - <<'PY'
import time
import numpy as np
from sklearn.metrics import precision_recall_curve
s=np.random.rand(10_000_000); yy=(np.random.rand(10_000_000)<0.02)
t=time.perf_counter(); precision_recall_curve(yy,s); dt=time.perf_counter()-t
print("sklearn precision_recall_curve 10M s", round(dt,2))
print("sklearn raw s", dt)
PY
)
echo "$peer_out" | head -1

ours=$(printf '%s\n' "$ours_out" | sed -n 's/^weldnet calibrate 10M scores: \([0-9.]*\) s$/\1/p')
first=$(printf '%s\n' "$ours_out" | sed -n 's/^runs: first \([0-9.]*\) s.*/\1/p')
peer=$(printf '%s\n' "$peer_out" | awk '/^sklearn raw s/ {print $NF}')
if [ -z "$ours" ] || [ -z "$peer" ]; then
    echo "calib_vs_sklearn.sh: could not read the timings" >&2
    exit 1
fi
awk -v a="$ours" -v f="$first" -v b="$peer" 'BEGIN {
    printf "weldnet %.2f s (median of 3; first run %.2f s) vs scikit-learn %.2f s: weldnet takes %.2f of sklearn'"'"'s time (%.1fx faster; goal <= 0.25)\n", a, f, b, a / b, b / a
}'
