// multipole-entry-points on its own: the ABI of a step in multipole form
// (build/update entry points, role and entry tags). multipole-rewrite with
// entry-points=false leaves the step untagged and without entry points; the
// two passes in a row give exactly what multipole-rewrite gives.
// RUN: multipole-opt %S/../../../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --multipole-rewrite="interval=64 block-size=256 entry-points=false" | FileCheck %s --check-prefix=BARE
// RUN: multipole-opt %S/../../../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --multipole-rewrite="interval=64 block-size=256 entry-points=false" --multipole-entry-points | FileCheck %s
// RUN: multipole-opt %S/../../../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --multipole-rewrite="interval=64 block-size=256 entry-points=false" --multipole-entry-points -o %t.two.mlir
// RUN: multipole-opt %S/../../../Conversion/MultipoleToGPU/Inputs/head-dim-16.mlir --multipole-rewrite="interval=64 block-size=256" -o %t.one.mlir
// RUN: diff %t.one.mlir %t.two.mlir
// RUN: not multipole-opt %s -split-input-file --multipole-entry-points 2>&1 | FileCheck %s --check-prefix=ERR

// BARE-LABEL: func.func @attn(
// BARE-NOT: multipole.role
// BARE-NOT: multipole.entry
// BARE-NOT: @attn_mp_build

// CHECK-LABEL: func.func @attn(%arg0: tensor<1x4x16xbf16> {multipole.role = "q"}, %arg1: tensor<1x2x1024x16xbf16> {multipole.role = "k"}, %arg2: tensor<1x2x1024x16xbf16> {multipole.role = "v"}, %arg3: tensor<1xi32> {multipole.role = "lens"}, %arg4: tensor<1x2x74x16xbf16> {multipole.role = "L0.centroids"}
// CHECK-SAME: -> (tensor<1x4x16xbf16> {multipole.role = "out"}) attributes {multipole.entry = "step"}
// CHECK: func.func @attn_mp_build(%arg0: tensor<1x2x1024x16xbf16> {multipole.role = "k"}, %arg1: tensor<1x2x1024x16xbf16> {multipole.role = "v"}, %arg2: tensor<1xi32> {multipole.role = "lens"})
// CHECK-SAME: attributes {multipole.entry = "build", multipole.step = @attn}
// CHECK: multipole.cluster_build
// CHECK: func.func @attn_mp_update(
// CHECK-SAME: attributes {multipole.entry = "update", multipole.step = @attn}
// CHECK: multipole.cluster_update

// ERR: error: multipole-entry-points: the cluster index must be arguments of the step function (as multipole-rewrite leaves it)
func.func @attn(%q: tensor<2x8x64xbf16>, %k: tensor<2x2x256x64xbf16>, %v: tensor<2x2x256x64xbf16>, %lens: tensor<2xi32>, %sel: tensor<2x2x18xi8>, %acc: tensor<2x8x64xf32>, %m: tensor<2x8xf32>, %l: tensor<2x8xf32>) -> (tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>) {
  %c = tensor.empty() : tensor<2x2x18x64xf32>
  %n = tensor.empty() : tensor<2x2x18xi32>
  %off = tensor.empty() : tensor<2x2x19xi32>
  %mem = tensor.empty() : tensor<2x2x256xi32>
  %st = tensor.empty() : tensor<2x2x4xi32>
  %r:3 = multipole.sparse_attention %q, %k, %v lens %lens index(%c, %c, %n, %off, %mem, %mem, %st) selected %sel outs(%acc, %m, %l) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0.125 : f32} : tensor<2x8x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2x2x256x64xbf16>, tensor<2xi32>, index(tensor<2x2x18x64xf32>, tensor<2x2x18x64xf32>, tensor<2x2x18xi32>, tensor<2x2x19xi32>, tensor<2x2x256xi32>, tensor<2x2x256xi32>, tensor<2x2x4xi32>), tensor<2x2x18xi8> outs tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32> -> tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
  return %r#0, %r#1, %r#2 : tensor<2x8x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>
}
