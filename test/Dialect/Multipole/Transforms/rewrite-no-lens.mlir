// RUN: multipole-opt %s --multipole-rewrite | FileCheck %s

// FIXME: --multipole-rewrite reads the erased multipole.decode_attention
// (op.getK()/op.getV() in the entry-point builder, after op.erase()); without
// `lens` the freed memory is reused and the pass crashes. The expected output
// below was taken from a run under valgrind (freed memory kept intact).

// Without `lens`, a `lens` argument (tensor<Bxi32>) is appended to the step
// function after the original arguments and before the index arrays, and the
// entry points take one too.

// CHECK: #[[CFG:mp_config]] = #multipole.config<levels = [#multipole.level<fraction = 6.250000e-02, budget_fraction = 1.000000e-01>], sink = 16
// CHECK-LABEL: func.func @attn(
// CHECK-SAME: %arg0: tensor<1x8x64xbf16> {multipole.role = "q"}, %arg1: tensor<1x2x1024x64xbf16> {multipole.role = "k"}, %arg2: tensor<1x2x1024x64xbf16> {multipole.role = "v"}, %arg3: tensor<1x8x64xbf16>,
// CHECK-SAME: %arg4: tensor<1xi32> {multipole.role = "lens"},
// CHECK-SAME: %arg5: tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}, %arg6: tensor<1x2x66x64xbf16> {multipole.role = "L0.vcentroids"}, %arg7: tensor<1x2x66xi32> {multipole.role = "L0.counts"}, %arg8: tensor<1x2x67xi32> {multipole.role = "L0.offsets"}, %arg9: tensor<1x2x1024xi32> {multipole.role = "L0.members"}, %arg10: tensor<1x2x1024xi32> {multipole.role = "L0.assign"}, %arg11: tensor<1x2x4xi32> {multipole.role = "L0.state"})
// CHECK-SAME: -> (tensor<1x8x64xbf16> {multipole.role = "out"}) attributes {multipole.entry = "step"}
// CHECK-NOT: decode_attention
// CHECK: %[[SC:.+]]:2 = multipole.centroid_score %arg0 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) lens %arg4 outs({{.*}}) {config = #[[CFG]], level = 0 : i64} :
// CHECK: %[[SEL:.+]] = multipole.select_clusters %[[SC]]#0 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) outs(
// CHECK: %[[EX:.+]]:3 = multipole.sparse_attention %arg0, %arg1, %arg2 lens %arg4 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) selected %[[SEL]] outs({{.*}}) {config = #[[CFG]]} :
// CHECK: %[[AP:.+]]:3 = multipole.centroid_approx %[[SC]]#1 index(%arg5, %arg6, %arg7, %arg8, %arg9, %arg10, %arg11) selected %[[SEL]] outs(
// CHECK: %[[OUT:.+]] = multipole.merge %[[EX]]#0, %[[EX]]#1, %[[EX]]#2, %[[AP]]#0, %[[AP]]#1, %[[AP]]#2 outs(%arg3)
// CHECK-NEXT: return %[[OUT]] : tensor<1x8x64xbf16>

// CHECK-LABEL: func.func @attn_mp_build(
// CHECK-SAME: %arg0: tensor<1x2x1024x64xbf16> {multipole.role = "k"}, %arg1: tensor<1x2x1024x64xbf16> {multipole.role = "v"}, %arg2: tensor<1xi32> {multipole.role = "lens"})
// CHECK-SAME: attributes {multipole.entry = "build", multipole.step = @attn}
// CHECK: multipole.cluster_build %arg0, %arg1 lens %arg2 outs(
// CHECK-LABEL: func.func @attn_mp_update(
// CHECK-SAME: %arg2: tensor<1xi32> {multipole.role = "lens"}, %arg3: tensor<1x2x66x64xbf16> {multipole.role = "L0.centroids"}
// CHECK-SAME: attributes {multipole.entry = "update", multipole.step = @attn}
// CHECK-NEXT: multipole.cluster_update %arg0, %arg1 lens %arg2 outs(%arg3, %arg4, %arg5, %arg6, %arg7, %arg8, %arg9) {config = #[[CFG]]}
func.func @attn(%q: tensor<1x8x64xbf16>, %k: tensor<1x2x1024x64xbf16>, %v: tensor<1x2x1024x64xbf16>, %init: tensor<1x8x64xbf16>) -> tensor<1x8x64xbf16> {
  %o = multipole.decode_attention %q, %k, %v outs(%init) : tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16> outs tensor<1x8x64xbf16> -> tensor<1x8x64xbf16>
  return %o : tensor<1x8x64xbf16>
}
