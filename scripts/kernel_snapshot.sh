#!/usr/bin/env bash
# Snapshot of the GPU kernels the compiler generates, to show that a refactor of
# lib/Conversion/MultipoleToGPU changes nothing (or exactly what it means to):
# for each configuration of the device tests and the benchmark, the module after
# --convert-multipole-to-gpu (canonicalized + CSE'd) and ptxas's resource usage
# (registers, spills, shared memory) per kernel.
# Usage: scripts/kernel_snapshot.sh OUTDIR
#   then: diff OLD/X.ops.txt NEW/X.ops.txt (op sequence), diff OLD/X.ptxas.txt
#   NEW/X.ptxas.txt (registers, spills, shared memory), diff OLD/X.gpu.mlir ...
set -euo pipefail
cd "$(dirname "$0")/.."
OUT=${1:?usage: scripts/kernel_snapshot.sh OUTDIR}
mkdir -p "$OUT"
OPT=build/bin/multipole-opt
CUDA_HOME=${CUDA_HOME:-/usr/local/cuda}
PTXAS=$CUDA_HOME/bin/ptxas
BUF="symbol-privatize{exclude=attn,attn_mp_build,attn_mp_update},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,multipole-drop-aliasing-results,buffer-results-to-out-params{hoist-static-allocs modify-public-functions}"
NVVM="gpu-lower-to-nvvm-pipeline{cubin-chip=sm_90a cubin-features=+ptx80 cubin-format=isa kernel-bare-ptr-calling-convention=true opt-level=3}"
source bench/attn_ir.sh
snap() { # name "rewrite options" (or "dense") B N Hq Hkv D dtype
  local name=$1 rw=$2; shift 2
  ir "$@" > "$OUT/$name.in.mlir"
  local pre=""
  [ "$rw" != dense ] && pre="multipole-rewrite{$rw},"
  "$OPT" "$OUT/$name.in.mlir" --pass-pipeline="builtin.module($pre$BUF,multipole-gpu-plan,convert-multipole-to-gpu,canonicalize,cse)" \
    -o "$OUT/$name.gpu.mlir"
  # The op sequence without value names and constants (CSE hoists constants in
  # creation order; builders may create them elsewhere): diff these first.
  sed -E 's/%[A-Za-z_0-9]+(#[0-9]+)?/%v/g' "$OUT/$name.gpu.mlir" | grep -v "= arith.constant" > "$OUT/$name.ops.txt"
  # ... and per kernel: OUT/kernels/<config>.<kernel>.ops.txt
  mkdir -p "$OUT/kernels"
  awk -v dir="$OUT/kernels" -v cfg="$name" '
    /gpu.func @/ { match($0, /@[A-Za-z_0-9]+/); f = dir "/" cfg "." substr($0, RSTART + 1, RLENGTH - 1) ".ops.txt" }
    f { print > f }
    /^    }$/ { if (f) close(f); f = "" }' "$OUT/$name.ops.txt"
  if [ -x "$PTXAS" ]; then
    # (generic form: MLIR 22 prints an nvgpu.device_async_create_group without
    # tokens in a custom form it cannot parse back)
    "$OPT" "$OUT/$name.gpu.mlir" --mlir-print-op-generic -o "$OUT/$name.generic.mlir" 2>/dev/null ||
      "$OPT" "$OUT/$name.in.mlir" --pass-pipeline="builtin.module($pre$BUF,multipole-gpu-plan,convert-multipole-to-gpu,canonicalize,cse)" \
        --mlir-print-op-generic -o "$OUT/$name.generic.mlir"
    # (the warp reductions to shuffles first, as multipole-cuda-pipeline does)
    "$OPT" "$OUT/$name.generic.mlir" --pass-pipeline="builtin.module(multipole-lower-subgroup-reduce,$NVVM)" -o "$OUT/$name.nvvm.mlir"
    python3 test/Conversion/MultipoleToGPU/Inputs/extract_ptx.py "$OUT/$name.nvvm.mlir" "$OUT/$name.ptx"
    "$PTXAS" -arch=sm_90a -v "$OUT/$name.ptx" -o /dev/null 2>&1 |
      sed -n 's/^ptxas info *: *//p' | grep -E "Compiling entry|Used|spill" > "$OUT/$name.ptxas.txt"
    rm -f "$OUT/$name.nvvm.mlir" "$OUT/$name.generic.mlir"
  fi
  rm -f "$OUT/$name.in.mlir"
  echo "$name: $(grep -c 'gpu.func' "$OUT/$name.gpu.mlir") kernels"
}
M="budget-fraction=0.1 fraction=0.0625"
C="budget-fraction=0.1 interval=64 block-size=1024"
snap mp_b1_n131072 "$M" 1 131072 32 8 128 bf16
snap mp_b16_n131072 "$M" 16 131072 32 8 128 bf16
snap dense_b4_n32768 dense 4 32768 32 8 128 bf16
snap chk_hq8_h1_d64_bf16 "$C" 2 3000 8 1 64 bf16
snap chk_hq16_h8_d128_bf16_2lvl "$C coarse-fraction=0.25 coarse-budget-fraction=0.25" 3 2500 16 8 128 bf16
snap chk_hq8_h2_d128_f32_rope "$C rope-theta=10000" 2 1800 8 2 128 f32
snap chk_hq4_h1_d64_f16 "$C" 1 700 4 1 64 f16
snap chk_hq4_h1_d64_f16_full "budget-tokens=1000000 interval=64 block-size=1024" 1 700 4 1 64 f16
snap dense_hq8_h2_d128_f32 dense 2 1800 8 2 128 f32
snap dense_hq4_h1_d64_f16 dense 1 700 4 1 64 f16
