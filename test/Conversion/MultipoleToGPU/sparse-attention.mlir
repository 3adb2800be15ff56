// sparse_attention on its own (its mask is an argument, not a select_clusters
// result in the same function): the token list of the exact part is built by
// the per-head compaction kernel (one CTA of 512 threads per (KV head,
// sequence)) instead of the chunked one that reads the selection's chunk
// bases; the exact part then runs split-KV on tensor cores and the partials
// are combined.
// RUN: multipole-opt %s --convert-multipole-to-gpu="splits=4" | FileCheck %s

// CHECK-LABEL: func.func @sparse
// CHECK: gpu.launch_func @multipole_kernels::@compact_0 blocks in (%c2, %c2{{.*}}, %c1{{.*}}) threads in (%c512,
// CHECK-SAME: args(%arg3 : memref<2xi32>, %arg7 : memref<2x2x19xi32>, %arg8 : memref<2x2x256xi32>, %arg6 : memref<2x2x18xi32>, %arg10 : memref<2x2x4xi32>, %arg11 : memref<2x2x18xi8>
// CHECK: gpu.launch_func @multipole_kernels::@exact_split_1
// CHECK: gpu.launch_func @multipole_kernels::@exact_combine_2
// CHECK: gpu.func @compact_0(
// CHECK-SAME: known_block_size = array<i32: 512, 1, 1>
// CHECK: gpu.func @exact_split_1(
// CHECK: nvvm.mma.sync
// CHECK: gpu.func @exact_combine_2(
func.func @sparse(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %acc: memref<2x8x64xf32>, %m: memref<2x8xf32>, %l: memref<2x8xf32>) {
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%acc, %m, %l) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 64, block_size = 256, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0.125 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}
