#!/usr/bin/env bash
# Builds the project with ASan + UBSan in build-asan/ (-DMULTIPOLE_SANITIZE=ON)
# and runs the lit suite and a short fuzzing run with it (docs/Fuzzing.md).
# Needs scripts/setup.sh to have installed the packages.
set -euo pipefail
cd "$(dirname "$0")/.."
if [ ! -f build-asan/build.ninja ]; then
  CC=clang-22 CXX=clang++-22 cmake -G Ninja -S . -B build-asan \
    -DCMAKE_BUILD_TYPE=Release \
    -DMLIR_DIR=/usr/lib/llvm-22/lib/cmake/mlir \
    -DLLVM_EXTERNAL_LIT=/usr/lib/llvm-22/bin/lit \
    -DLLVM_USE_LINKER=lld \
    -DMULTIPOLE_PYTHON=/usr/bin/python3 \
    -DMULTIPOLE_SANITIZE=ON >/dev/null
fi
ninja -C build-asan check-multipole
build-asan/bin/multipole-fuzz --seed=2 --runs="${MULTIPOLE_ASAN_FUZZ_RUNS:-5000}" \
  --crash-dir=build-asan/fuzz-crashes test
