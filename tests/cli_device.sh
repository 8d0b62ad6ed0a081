#!/bin/bash
# `weldnet train --device`: without a GPU (no nvidia-smi listing one), --device cuda fails with
# exit 1 and a clear message and writes no model, and --device auto says exactly once that it
# uses the CPU and trains; with a GPU, --device cuda trains on it and auto does not fall back.
# A bad --device value is a usage error (exit 2). --precision bf16 (mixed precision, GPU only): with
# --device cpu, from the command line or the INI, an input error naming where it was asked; with
# --device auto and no GPU, said once and trained in fp32; with a GPU it trains. A precision
# outside fp32|bf16 is exit 2. Training names its device ("device: cpu", "device: cuda: NAME
# (sm_XY), MATH").
source "$(dirname "$0")/lib_cli.sh"
NET=$ROOT/samples/nets/tiny.ini
common=(--config "$NET" --data "$SAMPLE/train" --val "$SAMPLE/test" --epochs 1 --batch 32 --threads 2)

if command -v nvidia-smi >/dev/null 2>&1 && nvidia-smi -L 2>/dev/null | grep -q '^GPU '; then
  echo "a GPU is present: checking that --device cuda uses it"
  expect 0 "device: cuda: .* TF32 convolutions" -- "$WN" train "${common[@]}" --device cuda --out "$TMP/cuda.wnet"
  check "[[ -s $TMP/cuda.wnet ]]" "--device cuda writes the model"
  out=$("$WN" train "${common[@]}" --device auto --out "$TMP/auto.wnet" 2>&1)
  check "! grep -q 'using the CPU' <<<\"\$out\"" "--device auto uses the GPU when there is one"
  expect 0 "device: cuda: .* bf16 mixed precision" -- "$WN" train "${common[@]}" --device cuda --precision bf16 --out "$TMP/bf16.wnet"
  check "[[ -s $TMP/bf16.wnet ]]" "--precision bf16 trains on the GPU and writes the model"
else
  echo "no GPU: checking the CPU fallback and the --device cuda error"
  expect 1 "--device cuda: (no usable CUDA GPU|this weldnet was built without the CUDA backend)" -- \
    "$WN" train "${common[@]}" --device cuda --out "$TMP/cuda.wnet"
  check "[[ ! -e $TMP/cuda.wnet ]]" "--device cuda without a GPU writes no model"
  out=$("$WN" train "${common[@]}" --device auto --out "$TMP/auto.wnet" 2>&1); rc=$?
  check "[[ $rc -eq 0 && -s $TMP/auto.wnet ]]" "--device auto trains on the CPU (exit $rc)"
  n=$(grep -c 'using the CPU' <<<"$out")
  check "[[ $n -eq 1 ]]" "--device auto says once that it uses the CPU (said $n times)"
  n=$(grep -cx 'device: cpu' <<<"$out")
  check "[[ $n -eq 1 ]]" "training names its device once: 'device: cpu' (said $n times)"
  expect 0 "" -- "$WN" train "${common[@]}" --device cpu -q --out "$TMP/cpu.wnet"
  out=$("$WN" train "${common[@]}" --precision bf16 -q --out "$TMP/auto16.wnet" 2>&1); rc=$?
  check "[[ $rc -eq 0 && -s $TMP/auto16.wnet ]]" "--precision bf16 without a GPU trains on the CPU (exit $rc)"
  n=$(grep -c 'precision bf16 applies to the GPU only; training in fp32 on the CPU' <<<"$out")
  check "[[ $n -eq 1 ]]" "--precision bf16 without a GPU says so once (said $n times)"
fi
expect 2 "--precision: precision bf16 is GPU arithmetic; --device cpu computes in fp32" -- \
  "$WN" train "${common[@]}" --device cpu --precision bf16 --out "$TMP/p.wnet"
check "[[ ! -e $TMP/p.wnet ]]" "--device cpu --precision bf16 writes no model"
sed 's/^\[train\]$/[train]\nprecision = bf16/' "$NET" >"$TMP/bf16.ini"
check "grep -q '^precision = bf16' $TMP/bf16.ini" "the INI with precision = bf16 was written"
expect 2 "$TMP/bf16.ini: precision bf16 is GPU arithmetic" -- \
  "$WN" train "${common[@]/$NET/$TMP/bf16.ini}" --device cpu --out "$TMP/p.wnet"
expect 2 "precision = 'fp16': expected one of fp32\\|bf16" -- \
  "$WN" train "${common[@]}" --precision fp16 --out "$TMP/p.wnet"
expect 2 "--device 'tpu': expected auto, cpu or cuda" -- "$WN" train "${common[@]}" --device tpu --out "$TMP/x.wnet"
finish
