#!/usr/bin/env bash
# The main job: Qwen3-8B decode attention (examples/qwen3_8b_decode.mlir, linalg as an
# importer emits it) -> multipole IR -> shared library -> run on the CPU, printing the
# error against dense attention computed in f64.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
B=build/bin
OUT=build/example
mkdir -p $OUT
echo "== multipole-opt: detect dense decode attention, rewrite to multipole form"
$B/multipole-opt --multipole-detect-decode-attention --multipole-rewrite \
  examples/qwen3_8b_decode.mlir -o $OUT/qwen3_8b_decode.multipole.mlir
grep -o "multipole\.[a-z_]*" $OUT/qwen3_8b_decode.multipole.mlir | sort | uniq -c
echo "== multipole-compile: to a shared library for the CPU"
$B/multipole-compile examples/qwen3_8b_decode.mlir --target=cpu -o $OUT/qwen3_8b_decode.so -v
echo "== multipole-run: build the index, run a decode step, compare with dense (f64)"
$B/multipole-run $OUT/qwen3_8b_decode.so --data=clustered --seed=0 --lens=3800 --check-index --updates=2
