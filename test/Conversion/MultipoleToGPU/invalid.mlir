// Inputs the GPU conversion must reject with a diagnostic (each was a crash,
// a hang or a kernel that does not parse; found by fuzz/).
// RUN: multipole-opt %s -split-input-file -verify-diagnostics --convert-multipole-to-gpu

// f32 with 21+ query heads per KV head: the logits kernel's names stay unique.
// RUN: multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=G21
// G21: gpu.launch_func @multipole_kernels::@score_{{[0-9]+}}_logits
// G21: gpu.func @score_{{[0-9]+}}_logits

// Larger groups are unrolled code: bounded.
// RUN: not multipole-opt %S/Inputs/gqa-65-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false})" 2>&1 | FileCheck %s --check-prefix=G65
// G65: error: the GPU kernels support at most 64 query heads per KV head, got 65 (65 query heads, 1 KV heads)

// Split counts are bounded (a grid of 2^62 CTAs, or INT64_MAX splits whose sum overflows).
// RUN: not multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='splits=4611686018427387904'})" 2>&1 | FileCheck %s --check-prefix=SPLITS
// SPLITS: error: multipole-gpu-plan option splits=4611686018427387904 is out of range [0, 65536]
// RUN: not multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='approx-splits=9223372036854775807'})" 2>&1 | FileCheck %s --check-prefix=ASPLITS
// ASPLITS: error: multipole-gpu-plan option approx-splits=9223372036854775807 is out of range [0, 65536]
// RUN: not multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='score-splits=-1'})" 2>&1 | FileCheck %s --check-prefix=SSPLITS
// SSPLITS: error: multipole-gpu-plan option score-splits=-1 is out of range [0, 65536]
// RUN: not multipole-opt %S/../../../examples/qwen3_8b_decode.mlir --pass-pipeline="builtin.module(func.func(multipole-detect-decode-attention),multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='splits=65536 approx-splits=65536'})" 2>&1 | FileCheck %s --check-prefix=SUM
// SUM: error: the merge reads 131072 split partials per head, more than its shared memory holds (11245 at head dim 128); lower splits / approx-splits
// RUN: not multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='num-sms=0'})" 2>&1 | FileCheck %s --check-prefix=SMS
// SMS: error: multipole-gpu-plan option num-sms=0 is out of range [1, 4096]
// RUN: not multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false gpu-options='splits='})" 2>&1 | FileCheck %s --check-prefix=EMPTY
// EMPTY: option 'splits' of multipole-gpu-plan has an empty value
// Chunk bases the GPU kernels cannot serve (planned IR with 100 chunks instead of 1024):
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | sed -e "s/x1025xi32/x101xi32/g" | not multipole-opt --convert-multipole-to-gpu 2>&1 | FileCheck %s --check-prefix=CHUNKS
// CHUNKS: error: chunk bases of 100 chunks: the GPU selection takes 256, 512 or 1024 (multipole-gpu-plan plans them)

// Strided (non-identity layout) memrefs other than k and v (strided caches:
// kv-layout.mlir).
func.func @strided(%q: memref<2x32x128xbf16, strided<[8192, 256, 1]>>, %k: memref<2x8x4096x128xbf16>, %v: memref<2x8x4096x128xbf16>, %lens: memref<2xi32>, %out: memref<2x32x128xbf16>) {
  // expected-error @+1 {{convert-multipole-to-gpu needs memrefs with the identity layout (contiguous, row-major); operand #0 has type 'memref<2x32x128xbf16, strided<[8192, 256, 1]>>'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<2x32x128xbf16, strided<[8192, 256, 1]>>, memref<2x8x4096x128xbf16>, memref<2x8x4096x128xbf16>, memref<2xi32> outs memref<2x32x128xbf16>
  return
}

// -----

// Batch 0 (was a division by zero choosing split counts): rejected by the verifier.
func.func @batch0(%q: memref<0x32x128xbf16>, %k: memref<0x8x4096x128xbf16>, %v: memref<0x8x4096x128xbf16>, %lens: memref<0xi32>, %out: memref<0x32x128xbf16>) {
  // expected-error @+1 {{query has shape [0, 32, 128]: dimension 0 is 0}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<0x32x128xbf16>, memref<0x8x4096x128xbf16>, memref<0x8x4096x128xbf16>, memref<0xi32> outs memref<0x32x128xbf16>
  return
}

// -----

// More sequences than the grid's y dimension holds.
func.func @batch70000(%q: memref<70000x8x64xbf16>, %k: memref<70000x8x64x64xbf16>, %v: memref<70000x8x64x64xbf16>, %out: memref<70000x8x64xbf16>) {
  // expected-error @+1 {{the GPU kernels take at most 65535 sequences (the CUDA grid limit), operand #0 has 70000}}
  multipole.decode_attention %q, %k, %v outs(%out) : memref<70000x8x64xbf16>, memref<70000x8x64x64xbf16>, memref<70000x8x64x64xbf16> outs memref<70000x8x64xbf16>
  return
}

// -----

// Merge at a head dim the vectorised kernels do not take (was a division by
// zero at head dim 0, which the verifier now rejects, or below 16 bytes).
func.func @merge_d2(%a: memref<1x8x2xf32>, %m: memref<1x8xf32>, %l: memref<1x8xf32>, %out: memref<1x8x2xbf16>) {
  // expected-error @+1 {{the GPU attention kernels do not support this shape: head dim * element size must be a multiple of 16 bytes}}
  multipole.merge %a, %m, %l outs(%out) : memref<1x8x2xf32>, memref<1x8xf32>, memref<1x8xf32> outs memref<1x8x2xbf16>
  return
}

// -----

func.func @merge_d0(%a: memref<1x8x0xf32>, %m: memref<1x8xf32>, %l: memref<1x8xf32>, %out: memref<1x8x0xbf16>) {
  // expected-error @+1 {{output has shape [1, 8, 0]: dimension 2 is 0}}
  multipole.merge %a, %m, %l outs(%out) : memref<1x8x0xf32>, memref<1x8xf32>, memref<1x8xf32> outs memref<1x8x0xbf16>
  return
}

// -----

// A head dim of 2^63 - 1 (found by the fuzzer under UBSan: the row size in bytes
// overflowed): rejected before any kernel is generated.
func.func @huge_head_dim(%q: memref<1x8x9223372036854775807xf32>, %k: memref<1x2x64x9223372036854775807xf32>, %v: memref<1x2x64x9223372036854775807xf32>, %lens: memref<1xi32>, %out: memref<1x8x9223372036854775807xf32>) {
  // expected-error @+1 {{the GPU kernels take dimensions up to 2147483647; operand #0 has type 'memref<1x8x9223372036854775807xf32>'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<1x8x9223372036854775807xf32>, memref<1x2x64x9223372036854775807xf32>, memref<1x2x64x9223372036854775807xf32>, memref<1xi32> outs memref<1x8x9223372036854775807xf32>
  return
}

// -----

// 2^52 elements in one buffer.
func.func @huge_cache(%q: memref<4096x32x128xbf16>, %k: memref<4096x8x1073741824x128xbf16>, %v: memref<4096x8x1073741824x128xbf16>, %lens: memref<4096xi32>, %out: memref<4096x32x128xbf16>) {
  // expected-error @+1 {{the GPU kernels take buffers of up to 2^48 elements; operand #1 has type 'memref<4096x8x1073741824x128xbf16>'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<4096x32x128xbf16>, memref<4096x8x1073741824x128xbf16>, memref<4096x8x1073741824x128xbf16>, memref<4096xi32> outs memref<4096x32x128xbf16>
  return
}
