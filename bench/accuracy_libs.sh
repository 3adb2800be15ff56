#!/usr/bin/env bash
# Compiles the CUDA libraries bench/accuracy.py loads: the attention of the trained
# retrieval LM (models/qwen3-retrieval: Hq 4, Hkv 2, D 128, bf16) for batches of 32
# sequences and a cache of 34816 tokens (32K prompts plus the chain task's 1234 tokens),
# one library per multipole configuration: budget 5/10/20% x replacement on/off x
# windowed RoPE off/on (theta 1e6, the model's) x one/two levels (coarse fraction 0.25,
# coarse budget 2.5x the fine one). Fraction 6.25%, sink 16, interval 128 everywhere.
# Usage: bench/accuracy_libs.sh [OUTDIR]   (default bench/acclibs; run here, carry OUTDIR)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/acclibs}
mkdir -p "$OUT"
source bench/attn_ir.sh
ir 32 34816 4 2 128 bf16 > "$OUT/attn.mlir"
for b in 5 10 20; do
  cb=$(python3 -c "print(min(0.9, 2.5 * $b / 100))")
  for r in 1 0; do
    repl=true; [ $r = 0 ] && repl=false
    for w in 0 1; do
      theta=0; [ $w = 1 ] && theta=1000000
      for l in 1 2; do
        coarse=""; [ $l = 2 ] && coarse="coarse-fraction=0.25 coarse-budget-fraction=$cb"
        build/bin/multipole-compile "$OUT/attn.mlir" --target=cuda -o "$OUT/acc_b${b}_r${r}_w${w}_l${l}.so" \
          --rewrite-options="budget-fraction=0.$(printf %02d $b) fraction=0.0625 replacement=$repl rope-theta=$theta $coarse"
      done
    done
  done
done
# The defaults with centroids stored in f32 (methods mp:b<B>:r1:w0:l1:f1; --methods f32);
# the libraries above store them in bf16, the compiler's default.
for b in 5 10 20; do
  build/bin/multipole-compile "$OUT/attn.mlir" --target=cuda -o "$OUT/acc_b${b}_r1_w0_l1_f32.so" \
    --rewrite-options="budget-fraction=0.$(printf %02d $b) fraction=0.0625 centroid-type=f32"
done
ls "$OUT" | wc -l
