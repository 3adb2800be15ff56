#!/usr/bin/env bash
# Compiles the CUDA libraries the GPU checks and the benchmark load (run here, on
# the machine with MLIR; carry bench/libs to the GPU machine).
# Usage: bench/compile_libs.sh [OUTDIR]   (default bench/libs)
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:-bench/libs}
mkdir -p "$OUT"
C=build/bin/multipole-compile
source bench/attn_ir.sh
# Benchmark shapes: Qwen3-8B heads, bf16, 6.25% centroids, 10% budget.
for N in 32768 131072; do
  for B in 1 4 16; do
    ir $B $N 32 8 128 bf16 > "$OUT/b${B}_n${N}.mlir"
    $C "$OUT/b${B}_n${N}.mlir" --target=cuda -o "$OUT/mp_b${B}_n${N}.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625"
    $C "$OUT/b${B}_n${N}.mlir" --target=cuda --dense -o "$OUT/dense_b${B}_n${N}.so"
  done
done
# The generation loop (bench/bench_generate.py): caches of N0 + 1024 tokens.
for N0 in 32768 131072; do
  for B in 1 4 16; do
    ir $B $((N0 + 1024)) 32 8 128 bf16 > "$OUT/gen_b${B}_n${N0}.mlir"
    $C "$OUT/gen_b${B}_n${N0}.mlir" --target=cuda -o "$OUT/gen_b${B}_n${N0}.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625"
  done
done
ir 8 $((131072 + 1024)) 32 8 128 bf16 > "$OUT/gen_b8_n131072.mlir"   # the ragged batch
$C "$OUT/gen_b8_n131072.mlir" --target=cuda -o "$OUT/gen_b8_n131072.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625"
# The same loop with centroids stored in f32 (MP_GEN_LIBS=gen,gen32 bench/bench_generate.py;
# the default, gen, stores them in bf16), with the approximation on CUDA cores
# (gencc: --gpu-options=mma-approx=false; the default runs it on tensor cores), and
# with the scores kernel kept (genuf: --gpu-options=fuse-scores=false; by default the
# selection kernel computes the scores).
for f in "$OUT"/gen_b*_n*.mlir; do
  b=$(basename "$f" .mlir)
  $C "$f" --target=cuda -o "$OUT/gen32_${b#gen_}.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625 centroid-type=f32"
  $C "$f" --target=cuda -o "$OUT/gencc_${b#gen_}.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625" --gpu-options="mma-approx=false"
  $C "$f" --target=cuda -o "$OUT/genuf_${b#gen_}.so" --rewrite-options="budget-fraction=0.1 fraction=0.0625" --gpu-options="fuse-scores=false"
done
# Correctness shapes (GPU against CPU and dense): ragged lengths, Hkv 1 and 8,
# D 64 and 128, lengths that are not multiples of any tile.
for cfg in "2 3000 8 1 64 bf16" "3 2500 16 8 128 bf16" "2 1800 8 2 128 f32" "1 700 4 1 64 f16"; do
  set -- $cfg
  name="chk_b$1_n$2_hq$3_h$4_d$5_$6"
  ir "$@" > "$OUT/$name.mlir"
  for t in cpu cuda; do
    $C "$OUT/$name.mlir" --target=$t -o "$OUT/${name}_$t.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024"
    $C "$OUT/$name.mlir" --target=$t -o "$OUT/${name}_full_$t.so" --rewrite-options="budget-tokens=1000000 interval=64 block-size=1024"
  done
  $C "$OUT/$name.mlir" --target=cuda --dense -o "$OUT/${name}_dense_cuda.so"
done
# Windowed RoPE (scoring query rotated on the GPU).
name="chk_b2_n1800_hq8_h2_d128_f32"
for t in cpu cuda; do
  $C "$OUT/$name.mlir" --target=$t -o "$OUT/${name}_rope_$t.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 rope-theta=10000"
done
# Two levels (coarse k-means and parent-restricted selection); the approximation on
# CUDA cores (mma-approx=false) against the default's tensor cores.
name="chk_b3_n2500_hq16_h8_d128_bf16"
for t in cpu cuda; do
  $C "$OUT/$name.mlir" --target=$t -o "$OUT/${name}_2lvl_$t.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 coarse-fraction=0.25 coarse-budget-fraction=0.25"
done
$C "$OUT/$name.mlir" --target=cuda -o "$OUT/${name}_2lvl_ccapprox_cuda.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 coarse-fraction=0.25 coarse-budget-fraction=0.25" --gpu-options="mma-approx=false"
# Centroids stored in bf16 (centroid-type=bf16): GPU against CPU (bench/gpu_check.py),
# at G 2 / D 128 and G 8 / D 64, and the tensor-core logits against the CUDA-core ones.
for name in chk_b3_n2500_hq16_h8_d128_bf16 chk_b2_n3000_hq8_h1_d64_bf16; do
  for t in cpu cuda; do
    $C "$OUT/$name.mlir" --target=$t -o "$OUT/${name}_c16_$t.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 centroid-type=bf16"
  done
  $C "$OUT/$name.mlir" --target=cuda -o "$OUT/${name}_f32_cuda.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 centroid-type=f32"
  $C "$OUT/$name.mlir" --target=cuda -o "$OUT/${name}_c16_nommalogits_cuda.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 centroid-type=bf16" --gpu-options="mma-logits=false"
  $C "$OUT/$name.mlir" --target=cuda -o "$OUT/${name}_c16_ccapprox_cuda.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024 centroid-type=bf16" --gpu-options="mma-approx=false"
done
# The caller's-stream test (bench/race_check.py): several libraries used together.
ir 16 8192 32 8 128 bf16 > "$OUT/race_b16.mlir"
$C "$OUT/race_b16.mlir" --target=cuda -o "$OUT/race_mp_b16.so" --rewrite-options="budget-fraction=0.1"
ir 4 16384 32 8 128 bf16 > "$OUT/race_b4.mlir"
$C "$OUT/race_b4.mlir" --target=cuda -o "$OUT/race_mp_b4.so" --rewrite-options="budget-fraction=0.1"
$C "$OUT/race_b4.mlir" --target=cuda --dense -o "$OUT/race_dense_b4.so"
ir 2 4096 8 2 64 f16 > "$OUT/race_b2.mlir"
$C "$OUT/race_b2.mlir" --target=cuda -o "$OUT/race_mp_b2.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024"
# A [B, N, Hkv, D] cache read in place (bench/kv_layout_check.py): the same shape in
# both layouts, multipole and dense.
ir_bnhd 3 3000 16 8 128 bf16 > "$OUT/kv_bnhd.mlir"
ir 3 3000 16 8 128 bf16 > "$OUT/kv_bhnd.mlir"
for L in bnhd bhnd; do
  $C "$OUT/kv_$L.mlir" --target=cuda -o "$OUT/kv_$L.so" --rewrite-options="budget-fraction=0.1 interval=64 block-size=1024"
  $C "$OUT/kv_$L.mlir" --target=cuda --dense -o "$OUT/kv_${L}_dense.so"
done
# The model libraries (bench/bench_model.py, test/Device/model-library.test).
bench/model_libs.sh "$OUT"
ls -la "$OUT" | head -60
