#!/bin/bash
# `weldnet train --device`: without a GPU (no nvidia-smi listing one), --device cuda fails with
# exit 1 and a clear message and writes no model, and --device auto says exactly once that it
# uses the CPU and trains; with a GPU, --device cuda trains on it and auto does not fall back.
# A bad --device value is a usage error (exit 2).
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
common=(--config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/test" --epochs 1 --batch 32 --threads 2)

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "a GPU is present: checking that --device cuda uses it"
  expect 0 "best epoch" -- "$WN" train "${common[@]}" --device cuda --out "$TMP/cuda.wnet"
  check "[[ -s $TMP/cuda.wnet ]]" "--device cuda writes the model"
  out=$("$WN" train "${common[@]}" --device auto --out "$TMP/auto.wnet" 2>&1)
  check "! grep -q 'using the CPU' <<<\"\$out\"" "--device auto uses the GPU when there is one"
else
  echo "no GPU: checking the CPU fallback and the --device cuda error"
  expect 1 "--device cuda: (no usable CUDA GPU|this weldnet was built without the CUDA backend)" -- \
    "$WN" train "${common[@]}" --device cuda --out "$TMP/cuda.wnet"
  check "[[ ! -e $TMP/cuda.wnet ]]" "--device cuda without a GPU writes no model"
  out=$("$WN" train "${common[@]}" --device auto --out "$TMP/auto.wnet" 2>&1); rc=$?
  check "[[ $rc -eq 0 && -s $TMP/auto.wnet ]]" "--device auto trains on the CPU (exit $rc)"
  n=$(grep -c 'using the CPU' <<<"$out")
  check "[[ $n -eq 1 ]]" "--device auto says once that it uses the CPU (said $n times)"
  expect 0 "" -- "$WN" train "${common[@]}" --device cpu -q --out "$TMP/cpu.wnet"
fi
expect 2 "--device 'tpu': expected auto, cpu or cuda" -- "$WN" train "${common[@]}" --device tpu --out "$TMP/x.wnet"
finish
