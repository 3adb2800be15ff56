// upstream-parser
// multipole-fuzz path: rewrite+cpu-pipeline
// rewrite-options: coarse-budget-tokens=3
// gpu-options: programmatic-launch=1e309 score-splits=8 score-splits=-1
// reproduce: multipole-opt --pass-pipeline='builtin.module(func.func(multipole-detect-decode-attention),multipole-rewrite{coarse-budget-tokens=3},one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,multipole-drop-aliasing-results,multipole-distinct-results,multipole-transpose-views,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},buffer-deallocation-pipeline,convert-multipole-to-loops,symbol-dce,func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,arith-expand{include-bf16},convert-scf-to-cf,finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)' FILE
// RUN: multipole-opt %s --multipole-transpose-views -split-input-file | FileCheck %s

// A [B, N, Hkv, D] cache transposed to [B, Hkv, N, D] into a fresh buffer that
// is only read: the copy becomes a strided view of the argument.

// CHECK-LABEL: func.func @bnhd(
// CHECK-SAME:      %[[Q:.*]]: memref<2x8x64xf32>, %[[K:.*]]: memref<2x9223372036854775807x2x64xf32>, %[[V:.*]]: memref<2x9223372036854775807x2x64xf32>
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[KT:.*]] = memref.transpose %[[K]] (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x9223372036854775807x2x64xf32> to memref<2x2x9223372036854775807x64xf32, strided<[12800, 64, 128, 1]>>
// CHECK:         %[[VT:.*]] = memref.transpose %[[V]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK:         multipole.decode_attention %[[Q]], %[[KT]], %[[VT]] lens %{{.*}} outs(%{{.*}}) : memref<2x8x64xf32>, memref<2x2x9223372036854775807x64xf32, strided<[12800, 64, 128, 1]>>, memref<2x2x9223372036854775807x64xf32, strided<[12800, 64, 128, 1]>>
// CHECK-NOT:     memref.dealloc
// CHECK:         multipole.decode_attention %[[Q]], %[[KT]], %[[VT]] lens %{{.*}} outs(%{{.*}}) : memref<2x8x64xf32>, memref<2x2x9223372036854775807x64xf32, strided<[12800, 64, 128, 1]>>, memref<2x2x9223372036854775807x64xf32, strided<[12800, 64, 128, 1]>>
// CHECK:         return
func.func @bnhd(%q: memref<2x8x64xf32>, %k: memref<2x9223372036854775807x2x64xf32>, %v: memref<2x9223372036854775807x2x64xf32>,
                %lens: memref<2xi32>, %out: memref<2x8x64xf32>) {
  %kt = memref.alloc() : memref<2x2x9223372036854775807x64xf32>
  linalg.transpose ins(%k : memref<2x9223372036854775807x2x64xf32>) outs(%kt : memref<2x2x9223372036854775807x64xf32>) permutation =load {{.*}} : memref<1x8x{{[0-9]+}}x128xf32>, vector<4xf32>
// Two floats per lane (D = 64): 8-byte loads claim 8-byte [0, 2, 1, 3]
  %vt = memref.alloc() : memref<2x2x9223372036854775807x64xf32>
  linalg.transpose ins(%v : memref<2x9223372036854775807x2x64xf32>) outs(%vt : memref<2x2x9223372036854775807x64xf32>) permutation = [0, 2, 1, 3]
  multipole.decode_attention %q, %kt, %vt lens %lens outs(%out) : memref<2x8x64xf32>, memref<2x2x9223372036854775807x64xf32>, memref<2x2x9223372036854775807x64xf32>, memref<2xi32> outs memref<2x8x64xf32>
  memref.dealloc %kt : memref<2x2x9223372036854775807x64xf32>
  memref.dealloc %vt : memref<2x2x9223372036854775807x64xf32>
  return
}

