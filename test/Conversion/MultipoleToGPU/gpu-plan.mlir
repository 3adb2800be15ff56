// multipole-gpu-plan: the selection's chunk bases become an explicit output of
// select_clusters and an operand of the sparse_attention that reads its mask
// (allocated before the selection, freed after the exact part); the GPU
// conversion then reads them from there.
// RUN: multipole-opt %S/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s
// RUN: multipole-opt %S/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=GPU
// RUN: multipole-opt %S/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},convert-multipole-to-gpu)" | FileCheck %s --check-prefix=NOPLAN

// One chunk of 1024 per head at B * Hkv = 2.
// CHECK-LABEL: func.func @attn(
// CHECK: %[[CB:.*]] = memref.alloc() : memref<1x2x1025xi32>
// CHECK: multipole.select_clusters {{.*}} outs(%{{.*}}, %[[CB]]) {{.*}} outs memref<1x2x74xi8>, memref<1x2x1025xi32>
// CHECK: multipole.sparse_attention {{.*}} selected %{{.*}} chunk_bases(%[[CB]] : memref<1x2x1025xi32>)
// CHECK-NEXT: memref.dealloc %[[CB]] : memref<1x2x1025xi32>

// The selection writes the bases and the chunked compaction (a warp per chunk,
// 128 threads) reads them.
// GPU: %[[CB:.*]] = gpu.alloc () : memref<1x2x1025xi32>
// GPU: gpu.launch_func @multipole_kernels::@select_1 {{.*}} %[[CB]] : memref<1x2x1025xi32>
// GPU: gpu.launch_func @multipole_kernels::@compact_2 {{.*}} threads in (%c128{{.*}} %[[CB]] : memref<1x2x1025xi32>
// GPU: gpu.dealloc %[[CB]] : memref<1x2x1025xi32>

// Without the plan every op is lowered on its own: the per-head compaction.
// NOPLAN-NOT: memref<1x2x1025xi32>
// NOPLAN: gpu.launch_func @multipole_kernels::@compact_2 {{.*}} threads in (%c512
