// RUN: multipole-opt %s --multipole-rewrite --multipole-cpu-pipeline | FileCheck %s
// RUN: multipole-opt %s --multipole-rewrite --multipole-cpu-pipeline | FileCheck %s --check-prefix=NOOPS \
// RUN:   --implicit-check-not='{{^ *(%[^ ]+ = )?"?multipole\.}}' --implicit-check-not=memref. \
// RUN:   --implicit-check-not=scf. --implicit-check-not=func.func --implicit-check-not=func.call \
// RUN:   --implicit-check-not=arith. --implicit-check-not=math. --implicit-check-not=cf. \
// RUN:   --implicit-check-not=tensor. --implicit-check-not=linalg. \
// RUN:   --implicit-check-not=unrealized_conversion_cast \
// RUN:   --implicit-check-not=@__mp_decode_attention_f32 --implicit-check-not=@__mp_cluster_coarsen_f32

// The rewritten step function and its two entry points come out of the CPU
// pipeline as LLVM dialect only. Memref results become out-parameters, the
// index arrays of @f_mp_update are updated in place (no results), and only
// the kernels that are called survive symbol-dce.

// Memref descriptors: rank r -> 2 pointers + offset + 2r sizes/strides.
// @f: q (9) + k (11) + v (11) + lens (5) + L0 index (11+11+9+9+9+9+9 = 67)
//     + output out-parameter (9) = 112 arguments.
// CHECK-LABEL: llvm.func @f(
// CHECK-SAME: %arg111: i64) attributes {multipole.entry = "step"} {
// CHECK: llvm.call @__mp_centroid_score_f32(
// CHECK: llvm.call @__mp_select_clusters_f32(
// CHECK: llvm.call @__mp_sparse_attention_f32(
// CHECK: llvm.call @__mp_centroid_approx_f32(
// CHECK: llvm.call @__mp_merge_into_f32(
// CHECK: llvm.call @__mp_merge_into_f32(
// CHECK: llvm.call @__mp_merge_finish_f32(
// CHECK: llvm.return{{$}}

// @f_mp_build: k (11) + v (11) + lens (5) + 7 index out-parameters (67) = 94.
// CHECK-LABEL: llvm.func @f_mp_build(
// CHECK-SAME: %arg93: i64) attributes {multipole.entry = "build", multipole.step = @f} {
// CHECK: llvm.call @__mp_cluster_build_f32(
// CHECK: llvm.return{{$}}

// @f_mp_update: k, v, lens and the 7 index arrays (read and written in place).
// CHECK-LABEL: llvm.func @f_mp_update(
// CHECK-SAME: %arg93: i64) attributes {multipole.entry = "update", multipole.step = @f} {
// CHECK: llvm.call @__mp_cluster_update_f32(
// CHECK: llvm.return{{$}}

// CHECK-DAG: llvm.func @__mp_cluster_build_f32(
// CHECK-DAG: llvm.func @__mp_cluster_update_f32(
// CHECK-DAG: llvm.func @__mp_merge_finish_f32(

// Nothing but LLVM dialect is left (multipole.* survives only as the
// multipole.entry / multipole.step attributes of the entry points), and the
// kernels that are not called are removed.
// NOOPS: llvm.func @f(
// NOOPS: llvm.func @f_mp_build(
// NOOPS: llvm.func @f_mp_update(
// NOOPS: llvm.func @__mp_centroid_score_f32(
func.func @f(%q: tensor<1x4x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>, %lens: tensor<1xi32>) -> tensor<1x4x16xf32> {
  %init = tensor.empty() : tensor<1x4x16xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%init) : tensor<1x4x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1xi32> outs tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  return %o : tensor<1x4x16xf32>
}
