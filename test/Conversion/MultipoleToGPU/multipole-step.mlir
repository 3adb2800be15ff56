// The multipole decode step on the GPU: every op becomes launches of kernels
// specialised to its shapes; intermediate buffers become device allocations.
// RUN: multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite{sink=16 interval=128 block-size=8192},symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},convert-multipole-to-gpu)" | FileCheck %s

// CHECK-NOT: memref.alloc
// CHECK: gpu.launch_func @multipole_kernels::@score_0_logits
// CHECK: gpu.launch_func @multipole_kernels::@score_0_scores
// CHECK: gpu.launch_func @multipole_kernels::@select_1 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T:.*]], %{{.*}}, %{{.*}})
// CHECK: gpu.launch_func @multipole_kernels::@compact_2
// CHECK: gpu.launch_func @multipole_kernels::@exact_split_3
// CHECK: gpu.launch_func @multipole_kernels::@exact_combine_4
// CHECK: gpu.launch_func @multipole_kernels::@approx_split_5
// CHECK: gpu.launch_func @multipole_kernels::@approx_combine_6
// CHECK: gpu.launch_func @multipole_kernels::@merge_7
// Selection: radix threshold over score bits with shared-memory histograms.
// CHECK: gpu.func @select_1
// CHECK: memref.atomic_rmw addi
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// The exact part walks the token list built from the selected member lists.
// CHECK: gpu.func @exact_split_3
// CHECK: memref.load %{{.*}} : memref<1x8x32768xi32>
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<1x8x32768x128xbf16>, vector<8xbf16>

func.func @attn(%q: tensor<1x32x128xbf16>, %k: tensor<1x8x32768x128xbf16>, %v: tensor<1x8x32768x128xbf16>, %lens: tensor<1xi32>) -> tensor<1x32x128xbf16> {
  %e = tensor.empty() : tensor<1x32x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e) : tensor<1x32x128xbf16>, tensor<1x8x32768x128xbf16>, tensor<1x8x32768x128xbf16>, tensor<1xi32> outs tensor<1x32x128xbf16> -> tensor<1x32x128xbf16>
  return %o : tensor<1x32x128xbf16>
}
