#!/bin/bash
# Installs what weldnet needs from Debian's packages when something is missing (run as root on
# a fresh Debian 12), then configures and builds into the folder given as $1 (default build/)
# with any further arguments passed to CMake.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
pkgs=(build-essential cmake pkg-config zlib1g-dev libjpeg62-turbo-dev libpng-dev libinih-dev
      libcsv-dev libopenblas-dev python3 dataset-fashion-mnist)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
if ((${#missing[@]})); then
  echo "setup: installing ${missing[*]}"
  if [[ $(id -u) -ne 0 ]]; then sudo=sudo; else sudo=; fi
  $sudo apt-get update -q
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -q --no-install-recommends "${missing[@]}"
fi
build=${1:-$root/build}
shift || true
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release "$@" >/dev/null
cmake --build "$build" -j"$(nproc)"
