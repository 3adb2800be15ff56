#!/usr/bin/env bash
# Installs what is missing (Debian 12 packages) and builds the project into build/.
# Usage: scripts/setup.sh        (idempotent; re-running only rebuilds what changed)
set -euo pipefail
cd "$(dirname "$0")/.."

PKGS="libmlir-22-dev mlir-22-tools llvm-22-dev llvm-22-tools clang-22 lld-22 ninja-build cmake python3-numpy libgtest-dev"
missing=""
for p in $PKGS; do
  dpkg -s "$p" >/dev/null 2>&1 || missing="$missing $p"
done
if [ -n "$missing" ]; then
  echo "[setup] installing:$missing"
  SUDO=""
  [ "$(id -u)" = 0 ] || SUDO="sudo"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq $missing >/dev/null
fi

if [ ! -f build/build.ninja ]; then
  echo "[setup] configuring build/"
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S . -B build \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DLLVM_USE_LINKER=lld \
    -DMULTIPOLE_PYTHON=/usr/bin/python3 >/dev/null
fi
echo "[setup] building (2 cores: a few minutes from scratch)"
ninja -C build multipole-opt multipole-compile multipole-run multipole-fuzz multipole_cuda_runtime
