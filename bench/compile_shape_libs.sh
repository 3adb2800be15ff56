#!/usr/bin/env bash
# The GQA shape matrix of issue 13 for the generation loop (bench/bench_generate.py):
# G = Hq / Hkv in {1, 2, 4, 5, 7, 8}, D in {64, 128}, Hq up to 64, at N0 in {32K, 128K}
# and B in {1, 4, 16} (caches of N0 + 1024 tokens), bf16, 6.25% centroids, 10% budget.
# Run here (the machine with MLIR); carry OUTDIR (about 30 MB) with the runtime, then on the
# GPU machine: MP_GEN_LIBS=auto python3 bench/bench_generate.py OUTDIR
# Usage: bench/compile_shape_libs.sh [OUTDIR]   (default bench/libs_shapes)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/libs_shapes}
mkdir -p "$OUT"
C=build/bin/multipole-compile
source bench/attn_ir.sh
# Hq Hkv D: G 1, 2, 5, 7, 8 at D 128 (G 4 is the standard shape of bench/libs), and
# G 1, 4, 8 at D 64.
SHAPES=("8 8 128" "16 8 128" "40 8 128" "28 4 128" "64 8 128" "16 16 64" "32 8 64" "16 2 64")
n=0
for shape in "${SHAPES[@]}"; do
  set -- $shape
  for N0 in 32768 131072; do
    for B in 1 4 16; do
      name="gen_hq$1_h$2_d$3_b${B}_n${N0}"
      ir $B $((N0 + 1024)) $1 $2 $3 bf16 > "$OUT/$name.mlir"
      $C "$OUT/$name.mlir" --target=cuda -o "$OUT/$name.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625"
      n=$((n + 1))
      echo "[$n/48] $name" >&2
    done
  done
done
