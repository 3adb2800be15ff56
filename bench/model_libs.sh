#!/usr/bin/env bash
# Model libraries (issue 11): the Qwen3-8B config (36 layers, 32 / 8 heads, head_dim
# 128, bf16) compiled by `multipole-compile --model` for the model benchmark
# (bench/bench_model.py) and the device test (test/Device/model-library.test).
# Run here, on the machine with MLIR; carry OUTDIR (with build/lib) to the GPU machine.
# Usage: bench/model_libs.sh [OUTDIR]   (default bench/libs)
# Env: MAXLEN (benchmark cache length per sequence, default 65536: 36 layers x 8
#      sequences of bf16 K and V are 72 GiB, the most that fits one H200 beside the
#      indexes; 131072 would be 144 GiB), CHKLEN (the device test's, 12288),
#      TARGET (cuda; cpu with small lengths for a dry run of the scripts here).
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/libs}
MAXLEN=${MAXLEN:-65536}
CHKLEN=${CHKLEN:-12288}
TARGET=${TARGET:-cuda}
mkdir -p "$OUT"
C="build/bin/multipole-compile --model=test/Inputs/qwen3-8b/config.json --target=$TARGET"
# The benchmark: --max-batch=8 (buckets 1, 2, 4, 8) against a library for exactly B=3.
$C --max-len=$MAXLEN --max-batch=8 -o "$OUT/qwen3_8b_b8.so"
$C --max-len=$MAXLEN --max-batch=3 -o "$OUT/qwen3_8b_b3.so"
# The device test: shorter caches (two k-means blocks), the compiler's default budget
# (10%) and a budget that covers every token (equals dense attention).
$C --max-len=$CHKLEN --max-batch=8 -o "$OUT/qwen3_8b_chk.so"
$C --max-len=$CHKLEN --max-batch=8 -o "$OUT/qwen3_8b_chk_full.so" --rewrite-options="budget-tokens=1000000"
ls -la "$OUT"/qwen3_8b_*.so
