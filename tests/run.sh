#!/bin/bash
# The test command: installs what is missing, then builds and runs the whole suite twice:
# a Release build, and a Debug build with AddressSanitizer and UndefinedBehaviorSanitizer.
# Usage: tests/run.sh   (build folders build-test/ and build-asan/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
jobs=$(nproc)
"$root/scripts/setup.sh" "$root/build-test"
echo "== tests: Release build"
ctest --test-dir "$root/build-test" --output-on-failure -j"$jobs"
echo "== tests: AddressSanitizer + UndefinedBehaviorSanitizer build"
cmake -S "$root" -B "$root/build-asan" -DCMAKE_BUILD_TYPE=Debug -DWN_SANITIZE=ON >/dev/null
cmake --build "$root/build-asan" -j"$jobs"
ASAN_OPTIONS=detect_leaks=1:abort_on_error=0:protect_shadow_gap=0 UBSAN_OPTIONS=print_stacktrace=1 \
  ctest --test-dir "$root/build-asan" --output-on-failure -j"$jobs"
