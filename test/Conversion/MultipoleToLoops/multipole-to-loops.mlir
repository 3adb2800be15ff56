// RUN: multipole-opt %s --convert-multipole-to-loops | FileCheck %s --implicit-check-not="multipole."
// RUN: multipole-opt %s --convert-multipole-to-loops | FileCheck %s --check-prefix=KERNELS
// RUN: multipole-opt %s --convert-multipole-to-loops | grep -c "func.func private @__mp_merge_into_f32(" | FileCheck %s --check-prefix=ONCE

// Every multipole op on memrefs becomes a call of the kernel for its element
// type (`@__mp_<op>_<bf16|f16|f32>`; ops that only see the f32 index use the
// f32 kernel). Operands are cast to fully dynamic strided memrefs, absent
// optional operands are replaced by one-element allocas plus an i1 flag, and
// the configuration travels as scalars:
//   cluster_build / update / coarsen: sink, interval, block_size, build_iters,
//     update_iters, fraction(level) (f64), rope_theta (f32), extra clusters
//     = max(1, floor(interval * fraction(0)))   (here 4, 32, 256, 5, 2, ., 1e4, 4)
//   centroid_score: scale (1/sqrt(D) when absent), score_position, rope_theta
//   select_clusters: budget_tokens (-1 when absent), budget_fraction (0 when
//     absent), has_parent
//   sparse_attention: scale, sink
// merge becomes one __mp_merge_into_f32 per partial (the first one with
// init = true) into a running f32 partial, then __mp_merge_finish_<type>.

#cfg = #multipole.config<levels = [#multipole.level<fraction = 0.125, budget_tokens = 64>, #multipole.level<fraction = 0.25, budget_fraction = 0.5>], sink = 4, interval = 32, block_size = 256, build_iters = 5, update_iters = 2, score_position = 100, rope_theta = 10000.0, replacement = true>

// CHECK-LABEL: func.func @decode_attention(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x8x64xbf16> to memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x8x64xbf16> to memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CST:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: call @__mp_decode_attention_bf16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CST]], %[[TRUE]])
// CHECK-NEXT: return
func.func @decode_attention(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o: memref<2x8x64xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%o) {scale = 0.125 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// CHECK-LABEL: func.func @decode_attention_nolens(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<1x4x16xf16> to memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<1x4x100x16xf16> to memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<1x4x100x16xf16> to memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA:.+]] = memref.alloca() : memref<1xi32>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %[[ALLOCA]] : memref<1xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg3 : memref<1x4x16xf16> to memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CST:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_decode_attention_f16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CST]], %[[FALSE]])
// CHECK-NEXT: return
func.func @decode_attention_nolens(%q: memref<1x4x16xf16>, %k: memref<1x4x100x16xf16>, %v: memref<1x4x100x16xf16>, %o: memref<1x4x16xf16>) {
  multipole.decode_attention %q, %k, %v outs(%o) : memref<1x4x16xf16>, memref<1x4x100x16xf16>, memref<1x4x100x16xf16> outs memref<1x4x16xf16>
  return
}

// CHECK-LABEL: func.func @decode_attention_dyn(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<?x4x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<?x4x?x?xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<?x4x?x?xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA:.+]] = memref.alloca() : memref<1xi32>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %[[ALLOCA]] : memref<1xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg3 : memref<?x4x?xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[C2:.+]] = arith.constant 2 : index
// CHECK-NEXT: %[[DIM:.+]] = memref.dim %arg0, %[[C2]] : memref<?x4x?xf32>
// CHECK-NEXT: %[[V0:.+]] = arith.index_cast %[[DIM]] : index to i64
// CHECK-NEXT: %[[V1:.+]] = arith.sitofp %[[V0]] : i64 to f32
// CHECK-NEXT: %[[V2:.+]] = math.sqrt %[[V1]] : f32
// CHECK-NEXT: %[[CST:.+]] = arith.constant 1.000000e+00 : f32
// CHECK-NEXT: %[[V3:.+]] = arith.divf %[[CST]], %[[V2]] : f32
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_decode_attention_f32(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[V3]], %[[FALSE]])
// CHECK-NEXT: return
func.func @decode_attention_dyn(%q: memref<?x4x?xf32>, %k: memref<?x4x?x?xf32>, %v: memref<?x4x?x?xf32>, %o: memref<?x4x?xf32>) {
  multipole.decode_attention %q, %k, %v outs(%o) : memref<?x4x?xf32>, memref<?x4x?x?xf32>, memref<?x4x?x?xf32> outs memref<?x4x?xf32>
  return
}

// CHECK-LABEL: func.func @cluster_build(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %arg9 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[C4_I64:.+]] = arith.constant 4 : i64
// CHECK-NEXT: %[[C32_I64:.+]] = arith.constant 32 : i64
// CHECK-NEXT: %[[C256_I64:.+]] = arith.constant 256 : i64
// CHECK-NEXT: %[[C5_I64:.+]] = arith.constant 5 : i64
// CHECK-NEXT: %[[C2_I64:.+]] = arith.constant 2 : i64
// CHECK-NEXT: %[[CST:.+]] = arith.constant 1.250000e-01 : f64
// CHECK-NEXT: %[[CST_9:.+]] = arith.constant 1.000000e+04 : f32
// CHECK-NEXT: %[[C4_I64_10:.+]] = arith.constant 4 : i64
// CHECK-NEXT: call @__mp_cluster_build_bf16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[C4_I64]], %[[C32_I64]], %[[C256_I64]], %[[C5_I64]], %[[C2_I64]], %[[CST]], %[[CST_9]], %[[C4_I64_10]])
// CHECK-NEXT: return
func.func @cluster_build(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// CHECK-LABEL: func.func @cluster_update(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x2x256x64xf16> to memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x256x64xf16> to memref<?x?x?x?xf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %arg9 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[C4_I64:.+]] = arith.constant 4 : i64
// CHECK-NEXT: %[[C32_I64:.+]] = arith.constant 32 : i64
// CHECK-NEXT: %[[C256_I64:.+]] = arith.constant 256 : i64
// CHECK-NEXT: %[[C5_I64:.+]] = arith.constant 5 : i64
// CHECK-NEXT: %[[C2_I64:.+]] = arith.constant 2 : i64
// CHECK-NEXT: %[[CST:.+]] = arith.constant 1.250000e-01 : f64
// CHECK-NEXT: %[[CST_9:.+]] = arith.constant 1.000000e+04 : f32
// CHECK-NEXT: %[[C4_I64_10:.+]] = arith.constant 4 : i64
// CHECK-NEXT: call @__mp_cluster_update_f16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[C4_I64]], %[[C32_I64]], %[[C256_I64]], %[[C5_I64]], %[[C2_I64]], %[[CST]], %[[CST_9]], %[[C4_I64_10]])
// CHECK-NEXT: return
func.func @cluster_update(%k: memref<2x2x256x64xf16>, %v: memref<2x2x256x64xf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #cfg} : memref<2x2x256x64xf16>, memref<2x2x256x64xf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// CHECK-LABEL: func.func @cluster_coarsen(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x6x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2x2x6x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %arg9 : memref<2x2x6xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %arg10 : memref<2x2x7xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %arg11 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg12 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg13 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[C4_I64:.+]] = arith.constant 4 : i64
// CHECK-NEXT: %[[C32_I64:.+]] = arith.constant 32 : i64
// CHECK-NEXT: %[[C256_I64:.+]] = arith.constant 256 : i64
// CHECK-NEXT: %[[C5_I64:.+]] = arith.constant 5 : i64
// CHECK-NEXT: %[[C2_I64:.+]] = arith.constant 2 : i64
// CHECK-NEXT: %[[CST:.+]] = arith.constant 2.500000e-01 : f64
// CHECK-NEXT: %[[CST_13:.+]] = arith.constant 1.000000e+04 : f32
// CHECK-NEXT: %[[C4_I64_14:.+]] = arith.constant 4 : i64
// CHECK-NEXT: call @__mp_cluster_coarsen_f32(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[CAST_9]], %[[CAST_10]], %[[CAST_11]], %[[CAST_12]], %[[C4_I64]], %[[C32_I64]], %[[C256_I64]], %[[C5_I64]], %[[C2_I64]], %[[CST]], %[[CST_13]], %[[C4_I64_14]])
// CHECK-NEXT: return
func.func @cluster_coarsen(%c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %c1: memref<2x2x6x64xf32>, %vc1: memref<2x2x6x64xf32>, %n1: memref<2x2x6xi32>, %off1: memref<2x2x7xi32>, %mem1: memref<2x2x18xi32>, %asg1: memref<2x2x18xi32>, %st1: memref<2x2x4xi32>) {
  multipole.cluster_coarsen fine(%c, %vc, %n, %off, %mem, %asg, %st) outs(%c1, %vc1, %n1, %off1, %mem1, %asg1, %st1) {config = #cfg, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// CHECK-LABEL: func.func @centroid_score(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x8x64xf16> to memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %arg9 : memref<2x2x18xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %arg10 : memref<2x8x18xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CST:.+]] = arith.constant 1.250000e-01 : f32
// CHECK-NEXT: %[[C100_I64:.+]] = arith.constant 100 : i64
// CHECK-NEXT: %[[CST_10:.+]] = arith.constant 1.000000e+04 : f32
// CHECK-NEXT: call @__mp_centroid_score_f16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[CAST_9]], %[[CST]], %[[C100_I64]], %[[CST_10]])
// CHECK-NEXT: return
func.func @centroid_score(%q: memref<2x8x64xf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %r: memref<2x2x18xf32>, %a: memref<2x8x18xf32>) {
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%r, %a) {config = #cfg, level = 0 : i64} : memref<2x8x64xf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// CHECK-LABEL: func.func @select_clusters(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg11 : memref<2x2x6xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg12 : memref<2x2x6x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg13 : memref<2x2x6x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg14 : memref<2x2x6xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg15 : memref<2x2x7xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg16 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg17 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg18 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA:.+]] = memref.alloca() : memref<1x1x1xi32>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %[[ALLOCA]] : memref<1x1x1xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA_8:.+]] = memref.alloca() : memref<1x1x1xi8>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %[[ALLOCA_8]] : memref<1x1x1xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %arg9 : memref<2x2x6xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CM1_I64:.+]] = arith.constant -1 : i64
// CHECK-NEXT: %[[CST:.+]] = arith.constant 5.000000e-01 : f64
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_select_clusters_f32(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_9]], %[[CAST_10]], %[[CM1_I64]], %[[CST]], %[[FALSE]])
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg0 : memref<2x2x18xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg1 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_13:.+]] = memref.cast %arg2 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_14:.+]] = memref.cast %arg3 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_15:.+]] = memref.cast %arg4 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_16:.+]] = memref.cast %arg5 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_17:.+]] = memref.cast %arg6 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_18:.+]] = memref.cast %arg7 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_19:.+]] = memref.cast %arg8 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_20:.+]] = memref.cast %arg9 : memref<2x2x6xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_21:.+]] = memref.cast %arg10 : memref<2x2x18xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[C64_I64:.+]] = arith.constant 64 : i64
// CHECK-NEXT: %[[CST_22:.+]] = arith.constant 0.000000e+00 : f64
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: call @__mp_select_clusters_f32(%[[CAST_11]], %[[CAST_12]], %[[CAST_13]], %[[CAST_14]], %[[CAST_15]], %[[CAST_16]], %[[CAST_17]], %[[CAST_18]], %[[CAST_19]], %[[CAST_20]], %[[CAST_21]], %[[C64_I64]], %[[CST_22]], %[[TRUE]])
// CHECK-NEXT: return
func.func @select_clusters(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %pa: memref<2x2x18xi32>, %ps: memref<2x2x6xi8>, %s: memref<2x2x18xi8>, %r1: memref<2x2x6xf32>, %c1: memref<2x2x6x64xf32>, %vc1: memref<2x2x6x64xf32>, %n1: memref<2x2x6xi32>, %off1: memref<2x2x7xi32>, %mem1: memref<2x2x18xi32>, %asg1: memref<2x2x18xi32>, %st1: memref<2x2x4xi32>) {
  multipole.select_clusters %r1 index(%c1, %vc1, %n1, %off1, %mem1, %asg1, %st1) outs(%ps) {config = #cfg, level = 1 : i64} : memref<2x2x6xf32>, index(memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>) outs memref<2x2x6xi8>
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x18xi32>, memref<2x2x6xi8>) outs(%s) {config = #cfg, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// CHECK-LABEL: func.func @sparse_attention(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x8x64xbf16> to memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2x2x256x64xbf16> to memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2xi32> to memref<?xi32, strided<[?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %arg9 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %arg10 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %arg11 : memref<2x2x18xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg12 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg13 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_13:.+]] = memref.cast %arg14 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CST:.+]] = arith.constant 2.500000e-01 : f32
// CHECK-NEXT: %[[C4_I64:.+]] = arith.constant 4 : i64
// CHECK-NEXT: call @__mp_sparse_attention_bf16(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[CAST_9]], %[[CAST_10]], %[[CAST_11]], %[[CAST_12]], %[[CAST_13]], %[[CST]], %[[C4_I64]])
// CHECK-NEXT: return
func.func @sparse_attention(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %acc: memref<2x8x64xf32>, %m: memref<2x8xf32>, %l: memref<2x8xf32>) {
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {config = #cfg, scale = 0.25 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// CHECK-LABEL: func.func @centroid_approx(
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %arg0 : memref<2x8x18xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_0:.+]] = memref.cast %arg1 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_1:.+]] = memref.cast %arg2 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %arg3 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %arg4 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg5 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg6 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg7 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %arg8 : memref<2x2x18xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA:.+]] = memref.alloca() : memref<1x1x1xi32>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %[[ALLOCA]] : memref<1x1x1xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[ALLOCA_9:.+]] = memref.alloca() : memref<1x1x1xi8>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %[[ALLOCA_9]] : memref<1x1x1xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg11 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg12 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_13:.+]] = memref.cast %arg13 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_centroid_approx_f32(%[[CAST]], %[[CAST_0]], %[[CAST_1]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[CAST_7]], %[[CAST_8]], %[[CAST_10]], %[[CAST_11]], %[[CAST_12]], %[[CAST_13]], %[[FALSE]])
// CHECK-NEXT: %[[CAST_14:.+]] = memref.cast %arg0 : memref<2x8x18xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_15:.+]] = memref.cast %arg1 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_16:.+]] = memref.cast %arg2 : memref<2x2x18x64xf32> to memref<?x?x?x?xf32, strided<[?, ?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_17:.+]] = memref.cast %arg3 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_18:.+]] = memref.cast %arg4 : memref<2x2x19xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_19:.+]] = memref.cast %arg5 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_20:.+]] = memref.cast %arg6 : memref<2x2x256xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_21:.+]] = memref.cast %arg7 : memref<2x2x4xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_22:.+]] = memref.cast %arg8 : memref<2x2x18xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_23:.+]] = memref.cast %arg9 : memref<2x2x18xi32> to memref<?x?x?xi32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_24:.+]] = memref.cast %arg10 : memref<2x2x6xi8> to memref<?x?x?xi8, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_25:.+]] = memref.cast %arg11 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_26:.+]] = memref.cast %arg12 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_27:.+]] = memref.cast %arg13 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: call @__mp_centroid_approx_f32(%[[CAST_14]], %[[CAST_15]], %[[CAST_16]], %[[CAST_17]], %[[CAST_18]], %[[CAST_19]], %[[CAST_20]], %[[CAST_21]], %[[CAST_22]], %[[CAST_23]], %[[CAST_24]], %[[CAST_25]], %[[CAST_26]], %[[CAST_27]], %[[TRUE]])
// CHECK-NEXT: return
func.func @centroid_approx(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %pa: memref<2x2x18xi32>, %ps: memref<2x2x6xi8>, %acc: memref<2x8x64xf32>, %m: memref<2x8xf32>, %l: memref<2x8xf32>) {
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel parent(%pa, %ps : memref<2x2x18xi32>, memref<2x2x6xi8>) outs(%acc, %m, %l) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// CHECK-LABEL: func.func @merge2(
// CHECK-NEXT: %[[ALLOC:.+]] = memref.alloc() : memref<2x8x64xf32>
// CHECK-NEXT: %[[ALLOC_0:.+]] = memref.alloc() : memref<2x8xf32>
// CHECK-NEXT: %[[ALLOC_1:.+]] = memref.alloc() : memref<2x8xf32>
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg0 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg1 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg2 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: call @__mp_merge_into_f32(%[[CAST]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[TRUE]])
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %arg3 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg4 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg5 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_merge_into_f32(%[[CAST_7]], %[[CAST_8]], %[[CAST_9]], %[[CAST_10]], %[[CAST_11]], %[[CAST_12]], %[[FALSE]])
// CHECK-NEXT: %[[CAST_13:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_14:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_15:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_16:.+]] = memref.cast %arg6 : memref<2x8x64xbf16> to memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: call @__mp_merge_finish_bf16(%[[CAST_13]], %[[CAST_14]], %[[CAST_15]], %[[CAST_16]])
// CHECK-NEXT: memref.dealloc %[[ALLOC]] : memref<2x8x64xf32>
// CHECK-NEXT: memref.dealloc %[[ALLOC_0]] : memref<2x8xf32>
// CHECK-NEXT: memref.dealloc %[[ALLOC_1]] : memref<2x8xf32>
// CHECK-NEXT: return
func.func @merge2(%acc0: memref<2x8x64xf32>, %m0: memref<2x8xf32>, %l0: memref<2x8xf32>, %acc1: memref<2x8x64xf32>, %m1: memref<2x8xf32>, %l1: memref<2x8xf32>, %o: memref<2x8x64xbf16>) {
  multipole.merge %acc0, %m0, %l0, %acc1, %m1, %l1 outs(%o) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>
  return
}

// CHECK-LABEL: func.func @merge3(
// CHECK-NEXT: %[[ALLOC:.+]] = memref.alloc() : memref<2x8x64xf32>
// CHECK-NEXT: %[[ALLOC_0:.+]] = memref.alloc() : memref<2x8xf32>
// CHECK-NEXT: %[[ALLOC_1:.+]] = memref.alloc() : memref<2x8xf32>
// CHECK-NEXT: %[[CAST:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_2:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_3:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_4:.+]] = memref.cast %arg0 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_5:.+]] = memref.cast %arg1 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_6:.+]] = memref.cast %arg2 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[TRUE:.+]] = arith.constant true
// CHECK-NEXT: call @__mp_merge_into_f32(%[[CAST]], %[[CAST_2]], %[[CAST_3]], %[[CAST_4]], %[[CAST_5]], %[[CAST_6]], %[[TRUE]])
// CHECK-NEXT: %[[CAST_7:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_8:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_9:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_10:.+]] = memref.cast %arg3 : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_11:.+]] = memref.cast %arg4 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_12:.+]] = memref.cast %arg5 : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[FALSE:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_merge_into_f32(%[[CAST_7]], %[[CAST_8]], %[[CAST_9]], %[[CAST_10]], %[[CAST_11]], %[[CAST_12]], %[[FALSE]])
// CHECK-NEXT: %[[CAST_13:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_14:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_15:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_16:.+]] = memref.cast %arg6 : memref<?x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_17:.+]] = memref.cast %arg7 : memref<?x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_18:.+]] = memref.cast %arg8 : memref<?x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[FALSE_19:.+]] = arith.constant false
// CHECK-NEXT: call @__mp_merge_into_f32(%[[CAST_13]], %[[CAST_14]], %[[CAST_15]], %[[CAST_16]], %[[CAST_17]], %[[CAST_18]], %[[FALSE_19]])
// CHECK-NEXT: %[[CAST_20:.+]] = memref.cast %[[ALLOC]] : memref<2x8x64xf32> to memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_21:.+]] = memref.cast %[[ALLOC_0]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_22:.+]] = memref.cast %[[ALLOC_1]] : memref<2x8xf32> to memref<?x?xf32, strided<[?, ?], offset: ?>>
// CHECK-NEXT: %[[CAST_23:.+]] = memref.cast %arg9 : memref<2x8x64xf16> to memref<?x?x?xf16, strided<[?, ?, ?], offset: ?>>
// CHECK-NEXT: call @__mp_merge_finish_f16(%[[CAST_20]], %[[CAST_21]], %[[CAST_22]], %[[CAST_23]])
// CHECK-NEXT: memref.dealloc %[[ALLOC]] : memref<2x8x64xf32>
// CHECK-NEXT: memref.dealloc %[[ALLOC_0]] : memref<2x8xf32>
// CHECK-NEXT: memref.dealloc %[[ALLOC_1]] : memref<2x8xf32>
// CHECK-NEXT: return
func.func @merge3(%acc0: memref<2x8x64xf32>, %m0: memref<2x8xf32>, %l0: memref<2x8xf32>, %acc1: memref<2x8x64xf32>, %m1: memref<2x8xf32>, %l1: memref<2x8xf32>, %acc2: memref<?x8x64xf32>, %m2: memref<?x8xf32>, %l2: memref<?x8xf32>, %o: memref<2x8x64xf16>) {
  multipole.merge %acc0, %m0, %l0, %acc1, %m1, %l1, %acc2, %m2, %l2 outs(%o) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<?x8x64xf32>, memref<?x8xf32>, memref<?x8xf32> outs memref<2x8x64xf16>
  return
}

// The kernel library is inserted once per element type, as private functions.
// KERNELS-DAG: func.func private @__mp_ext_bf16(%arg0: bf16) -> f32 {
// KERNELS-DAG: func.func private @__mp_ext_f32(%arg0: f32) -> f32 {
// KERNELS-DAG: func.func private @__mp_trunc_f16(%arg0: f32) -> f16 {
// KERNELS-DAG: func.func private @__mp_decode_attention_bf16(%arg0: memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, %arg1: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg2: memref<?x?x?x?xbf16, strided<[?, ?, ?, ?], offset: ?>>, %arg3: memref<?xi32, strided<[?], offset: ?>>, %arg4: memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>, %arg5: f32, %arg6: i1) {
// KERNELS-DAG: func.func private @__mp_decode_attention_f16(
// KERNELS-DAG: func.func private @__mp_decode_attention_f32(
// KERNELS-DAG: func.func private @__mp_cluster_build_bf16(
// KERNELS-DAG: func.func private @__mp_cluster_update_f16(
// KERNELS-DAG: func.func private @__mp_cluster_coarsen_f32(
// KERNELS-DAG: func.func private @__mp_centroid_score_f16(
// KERNELS-DAG: func.func private @__mp_select_clusters_f32(
// KERNELS-DAG: func.func private @__mp_sparse_attention_bf16(
// KERNELS-DAG: func.func private @__mp_centroid_approx_f32(
// KERNELS-DAG: func.func private @__mp_merge_into_f32(
// KERNELS-DAG: func.func private @__mp_merge_finish_bf16(%arg0: memref<?x?x?xf32, strided<[?, ?, ?], offset: ?>>, %arg1: memref<?x?xf32, strided<[?, ?], offset: ?>>, %arg2: memref<?x?xf32, strided<[?, ?], offset: ?>>, %arg3: memref<?x?x?xbf16, strided<[?, ?, ?], offset: ?>>) {
// KERNELS-DAG: func.func private @__mp_merge_finish_f16(

// ONCE: {{^1$}}
