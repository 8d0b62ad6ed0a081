#!/bin/bash
# gpu_check.sh - the whole GPU check of issue 6 in one command on the GPU machine (about 9
# minutes): builds weldnet for sm_90 into a fresh folder, runs the GPU tests (the CUDA table, the
# op-by-op parity against the CPU backend, the CPU/GPU training curves), benchmarks weldnet
# (bench_gpu) and PyTorch (torch_mem.py, then ../shared/bench/torch_speed.py model as copied into
# .device/bench), then with the time left the whole suite with the GPU present (cli_device
# included) and two more ResNet-18 variants, and prints the weldnet/PyTorch table last. Each step has a time limit inside an overall budget, and a
# failing or stopped step does not stop the others. Files in $OUT (at most 8 come back):
#   gpu_check.log (everything), tests.log (the GPU tests' full output), bench_gpu.json,
#   bench_gpu_nondet.json, bench_gpu_heuristic.json, torch_mem.json, perf_model.json
#   (torch_speed.py), summary.txt.
# Usage, from the project root, after /work/shared/device/prepare.sh filled .device/:
#   bash bench/gpu_check.sh            (see bench/gpu_check.md for the device tool's call)
# Environment: OUT (default $TMPDIR/weldnet_gpu_check), WN_CHECK_BUDGET seconds (default 560),
#   WN_CHECK_SKIP a comma list of steps to leave out (e.g. ctest_all,torch_speed for a quick rerun).
set -u
root=$(cd "$(dirname "$0")/.." && pwd)
cd "$root" || exit 1
OUT=${OUT:-${TMPDIR:-/tmp}/weldnet_gpu_check}
mkdir -p "$OUT"
LOG=$OUT/gpu_check.log
TESTS=$OUT/tests.log
: >"$LOG"
: >"$TESTS"
start=$(date +%s)
budget=${WN_CHECK_BUDGET:-560}
status=()

say() { echo "$*" | tee -a "$LOG"; }
any_file() { local f; for f in "$@"; do [[ -e $f ]] && return 0; done; return 1; }
left() { echo $((budget - ($(date +%s) - start))); }

# step NAME LIMIT_S LOGFILE command...: runs with min(LIMIT, what is left - 25 s for the table)
step() {
  local name=$1 lim=$2 log=$3; shift 3
  if [[ ,${WN_CHECK_SKIP:-}, == *,$name,* ]]; then status+=("$name: left out (WN_CHECK_SKIP)"); return 0; fi
  local rem; rem=$(($(left) - 25))
  if ((rem < 10)); then status+=("$name: not run (time budget spent)"); say "== $name: skipped, no time left"; return 1; fi
  ((lim > rem)) && lim=$rem
  say "== $name (limit ${lim}s, $(left)s left): $*"
  local t0; t0=$(date +%s)
  timeout -k 10 "$lim" "$@" >>"$log" 2>&1
  local rc=$?
  local dt=$(($(date +%s) - t0))
  case $rc in
    0) status+=("$name: ok (${dt}s)") ;;
    124|137) status+=("$name: STOPPED at its ${lim}s limit") ;;
    77) status+=("$name: skipped (exit 77)") ;;
    *) status+=("$name: FAILED (exit $rc, ${dt}s)") ;;
  esac
  say "   -> exit $rc after ${dt}s"
  return $rc
}

# ---- environment
if [[ -f .device/setup.sh ]]; then
  # shellcheck disable=SC1091
  source .device/setup.sh >>"$LOG" 2>&1 && say "deps: .device/setup.sh sourced"
else
  say "WARNING: .device/setup.sh missing: run /work/shared/device/prepare.sh on the dev machine and carry .device"
fi
if [[ -n ${FMNIST:-} && -d $FMNIST && ! -d /usr/share/datasets/fashion-mnist ]]; then
  mkdir -p /usr/share/datasets 2>/dev/null && ln -sfn "$FMNIST" /usr/share/datasets/fashion-mnist 2>/dev/null
fi
if ! command -v nvcc >/dev/null 2>&1 && [[ -x /usr/local/cuda/bin/nvcc ]]; then
  export PATH=/usr/local/cuda/bin:$PATH
fi
{
  echo "== environment"; date -u; uname -a
  nvidia-smi 2>&1 | head -20
  command -v nvcc && nvcc --version | tail -2
  cmake --version | head -1
  python3 -c 'import torch; print("torch", torch.__version__, "cuda", torch.version.cuda, "cudnn", torch.backends.cudnn.version())' 2>&1
} >>"$LOG" 2>&1

# cuDNN and cuBLAS: beside the toolkit, else from the Python wheels (nvidia-cudnn-cu13, ...)
cmake_extra=()
pylib() { python3 -c "
import importlib, sys
for m in sys.argv[1:]:
    try:
        print(list(importlib.import_module(m).__path__)[0]); break
    except Exception:
        pass" "$@" 2>/dev/null; }
if ! any_file /usr/local/cuda/include/cudnn.h /usr/include/cudnn.h /usr/include/x86_64-linux-gnu/cudnn.h; then
  d=$(pylib nvidia.cudnn)
  lib=$(ls "$d"/lib/libcudnn.so.9 "$d"/lib/libcudnn.so 2>/dev/null | head -1)
  if [[ -n $d && -f $d/include/cudnn.h && -n $lib ]]; then
    cmake_extra+=(-DCUDNN_INCLUDE_DIR="$d/include" -DCUDNN_LIBRARY="$lib")
    export LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    say "cuDNN from the Python wheel: $d"
  else
    say "WARNING: no cudnn.h found (toolkit or Python wheel): the CUDA backend will be OFF"
  fi
fi
if ! any_file /usr/local/cuda/lib64/libcublas.so /usr/local/cuda/lib/libcublas.so; then
  d=$(pylib nvidia.cu13 nvidia.cublas)
  lib=$(ls "$d"/lib/libcublas.so.13 "$d"/lib/libcublas.so 2>/dev/null | head -1)
  lt=$(ls "$d"/lib/libcublasLt.so.13 "$d"/lib/libcublasLt.so 2>/dev/null | head -1)
  if [[ -n $lib ]]; then
    cmake_extra+=(-DCUDA_cublas_LIBRARY="$lib" -DCUDA_cublasLt_LIBRARY="$lt")
    export LD_LIBRARY_PATH=$d/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
    say "cuBLAS from the Python wheel: $d"
  fi
fi

# ---- build (fresh folder, sm_90)
B=$root/build-device
rm -rf "$B"
step configure 90 "$LOG" cmake -S "$root" -B "$B" -DCMAKE_BUILD_TYPE=Release -DCMAKE_CUDA_ARCHITECTURES=90 "${cmake_extra[@]}"
grep -E "weldnet: CUDA backend" "$LOG" | tail -1
step build 240 "$LOG" cmake --build "$B" -j"$(nproc)"

# ---- GPU tests (full output in tests.log), then the whole suite with the GPU present
step test_gpu_table 30 "$TESTS" "$B/tests/test_gpu_table"
step test_gpu_parity 150 "$TESTS" env WN_TEST_VERBOSE=1 "$B/tests/test_gpu_parity"
step test_gpu_train 90 "$TESTS" "$B/tests/test_gpu_train"
step test_gpu_classify 60 "$TESTS" "$B/tests/test_gpu_classify"
grep -E "MISMATCH|FAIL|CHECK failed|OUTSIDE|passed, " "$TESTS" | head -60 | tee -a "$LOG"

# ---- benchmarks: weldnet, then PyTorch in the same run
export OUT
step bench_gpu 200 "$LOG" env WN_BENCH_VERBOSE=1 "$B/bench/bench_gpu" --root "$root" --json "$OUT/bench_gpu.json"
step torch_mem 90 "$LOG" env PYTHONUNBUFFERED=1 python3 "$root/bench/torch_mem.py"
ts=$root/.device/bench/torch_speed.py
[[ -f $ts ]] || ts=/work/shared/bench/torch_speed.py
if [[ -f $ts ]]; then
  step torch_speed 300 "$LOG" env PYTHONUNBUFFERED=1 python3 "$ts" model
else
  status+=("torch_speed: not run (torch_speed.py not found: carry .device)")
fi
# classify end to end on the GPU (issue 5: ResNet-18, 640x480 and 1280x960 JPEG folders)
step classify_gpu 120 "$LOG" bash "$root/bench/classify_gpu.sh" --build "$B"
# cuDNN's convolution time for ResNet-18 by data type and layout (fp32/bf16 x NCHW/NHWC): the
# measurement the bf16 and NHWC work of issue 6 starts from
# (its figures stay in gpu_check.log and summary.txt: at most 8 files come back from $OUT)
step bench_gpu_conv 60 "$LOG" "$B/bench/bench_gpu_conv"
# with what time is left: the whole suite with the GPU present (the CLI tests then train on it),
# ResNet-18 with cuDNN's non-deterministic algorithms allowed (PyTorch's default), and with
# cuDNN's heuristic choice (what weldnet train uses); bf16 with NCHW copies against the default
# NHWC, and bf16 on fp32 activation storage against the default bf16 storage (their figures
# only in gpu_check.log, which gpu_table.py reads)
step ctest_all 150 "$LOG" ctest --test-dir "$B" -j8 --output-on-failure --timeout 120
step bench_gpu_nondet 60 "$LOG" "$B/bench/bench_gpu" --root "$root" --only resnet18 --precision fp32 --nondeterministic \
  --json "$OUT/bench_gpu_nondet.json"
step bench_gpu_bf16_nchw 60 "$LOG" "$B/bench/bench_gpu" --root "$root" --only resnet18 --precision bf16 --nchw
step bench_gpu_heuristic 60 "$LOG" "$B/bench/bench_gpu" --root "$root" --only resnet18 --precision fp32 --heuristic \
  --json "$OUT/bench_gpu_heuristic.json"
step bench_gpu_bf16_f32store 60 "$LOG" "$B/bench/bench_gpu" --root "$root" --only resnet18 --precision bf16 --fp32-storage

# ---- summary: step status, then the table (last, so the device tool's output tail holds it)
{
  echo "== steps"
  printf '  %s\n' "${status[@]}"
  echo "== total $(($(date +%s) - start))s"
  echo "== classify (issue 5; goal 4,000 photos/s with ResNet-18)"
  grep -E "^  .* photos/s \(|FAILED" "$LOG" | grep -iE "resnet|decode-bound" || echo "  (no classify figures)"
  echo "== cuDNN convolutions alone, ResNet-18 batch 256 (bench_gpu_conv; the bf16/NHWC question)"
  grep -E "^  (fp32|bf16)_n(chw|hwc) +(training|incomplete)" "$LOG" || echo "  (no figures)"
} | tee -a "$LOG"
python3 "$root/bench/gpu_table.py" "$OUT" 2>&1 | tee -a "$LOG"
