#!/bin/bash
# run.sh [BUILD_DIR] [TEST...] - runs the GPU tests against a host emulation of the GPU: the real
# kernels of gpu/*.cu on CPU threads (emu.h, transform.py) and the real gpu/*.c with the CUDA
# runtime, cuBLAS and cuDNN emulated from their documented semantics (emu_rt.cpp), everything
# under AddressSanitizer and UBSan (an out-of-bounds access in a kernel shows). Checks the logic
# of the backend without a GPU; says nothing about real cuDNN algorithms, speed, or races that only
# a GPU shows. Not part of ctest: it takes minutes (test_gpu_parity about 4 on 2 cores).
# BUILD_DIR: a configured build with the CUDA backend (its libweldnet_core.a is linked; default
# build-gpu-asan). TESTs: tests/test_*.c files (default: table, parity, train, classify; test_prefetch.c
# also runs its CUDA part here).
# Needs g++ with C++20 (<barrier>), python3, OpenBLAS. Output: $TMPDIR/weldnet_cuda_emu/.
set -euo pipefail
root=$(cd "$(dirname "$0")/../.." && pwd)
here=$root/tests/cuda_emu
build=${1:-$root/build-gpu-asan}
shift || true
tests=("$@")
((${#tests[@]})) || tests=("$root/tests/test_gpu_table.c" "$root/tests/test_gpu_parity.c" "$root/tests/test_gpu_train.c"
                    "$root/tests/test_gpu_classify.c")
out=${TMPDIR:-/tmp}/weldnet_cuda_emu
mkdir -p "$out"
cu=$(dirname "$(command -v nvcc)")/../include
ob=$(dirname "$(find /usr/include -name cblas.h | head -1)")
san=(-fsanitize=address,undefined -fno-omit-frame-pointer)
objs=()
for f in "$root"/gpu/*.c; do
  o=$out/$(basename "$f" .c).o
  gcc -O1 -g -std=c11 -D_GNU_SOURCE -ffp-contract=off "${san[@]}" -I"$root/src" -I"$root/gpu" -I"$cu" -c "$f" -o "$o"
  objs+=("$o")
done
for f in "$root"/gpu/*.cu; do
  b=$(basename "$f" .cu)
  python3 "$here/transform.py" "$f" "$out/$b.cpp"
  g++ -O1 -g -std=c++20 -D_GNU_SOURCE -ffp-contract=off "${san[@]}" -Wno-attributes -I"$here" -I"$root/src" \
    -I"$root/gpu" -I"$cu" -c "$out/$b.cpp" -o "$out/$b.o"
  objs+=("$out/$b.o")
done
g++ -O1 -g -std=c++20 "${san[@]}" -Wno-attributes -I"$here" -I"$root/src" -I"$cu" -I"$ob" -c "$here/emu_rt.cpp" -o "$out/emu_rt.o"
objs+=("$out/emu_rt.o")
gcc -O1 -g -std=c11 -D_GNU_SOURCE "${san[@]}" -I"$root/tests" -c "$root/tests/wn_test.c" -o "$out/wn_test.o"
rc=0
for t in "${tests[@]}"; do
  n=$(basename "$t" .c)
  gcc -O1 -g -std=c11 -D_GNU_SOURCE "${san[@]}" -I"$cu" -I"$root/src" -I"$root/gpu" -I"$root/train" -I"$root/deploy" -I"$root/calibrate" -I"$root/tests" -I"$ob" -c "$t" -o "$out/$n.o"
  g++ "${san[@]}" "$out/$n.o" "$out/wn_test.o" "${objs[@]}" "$build/libweldnet_core.a" \
    -lopenblas -ljpeg -lpng -lz -linih -lcsv -lm -lpthread -o "$out/$n"
  echo "== $n (emulated GPU; log $out/$n.log)"
  if ASAN_OPTIONS=detect_leaks=0 "$out/$n" >"$out/$n.log" 2>&1; then tail -1 "$out/$n.log"; else
    rc=1; grep -E "MISMATCH|FAIL|OUTSIDE|EMU|failure|ERROR" "$out/$n.log" | head -20; tail -1 "$out/$n.log"; fi
done
exit $rc
