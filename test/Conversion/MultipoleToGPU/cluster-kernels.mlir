// Cluster build, online update and coarsening lower to k-means kernels on the
// device (no host copies): build = reset/state kernel + one CTA per k-means
// block; update = per-(sequence, KV head) sequential parts around Lloyd passes
// and a finish spread over the grid; a coarse level adds the
// weighted k-means over fine centroids; windowed RoPE first writes pre-RoPE keys
// to an f32 scratch.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{sink=16 interval=128 block-size=8192 coarse-fraction=0.25},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{rope-theta=10000},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=ROPE

// A head dim the k-means kernels do not take (not a multiple of 32) keeps the
// cluster ops on the host: copies around the CPU op.
// RUN: multipole-opt %S/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=HOST
// HOST-LABEL: func.func @attn_mp_build
// HOST: gpu.memcpy
// HOST: multipole.cluster_build
// HOST: gpu.memcpy

// CHECK-LABEL: func.func @attn_mp_build
// CHECK-NOT: memref.alloc
// CHECK-NOT: gpu.memcpy
// CHECK: %[[NORMS:.*]] = gpu.alloc () : memref<1x8x{{[0-9]+}}xf32>
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_init blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%arg2 : memref<1xi32>
// 32768 tokens, blocks of 8192: at most 5 block CTAs per (sequence, head).
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_blocks blocks in (%c5{{.*}}, %c8{{.*}}, %c1{{.*}})
// CHECK: gpu.dealloc %[[NORMS]]
// CHECK: gpu.launch_func @multipole_kernels::@cluster_coarsen_{{[0-9]+}}
// The update: one interval's sequential part per (sequence, head), its 3
// Lloyd passes over the grid (blocks of 8192: at most 12288 points, 48 CTAs of
// a thread per point; 770 clusters, 4 CTAs of a thread per cluster, 97 of a
// warp per cluster), the intervals still due, then the finish (a warp per
// touched cluster: 770 + 8).
// CHECK-LABEL: func.func @attn_mp_update
// CHECK-NOT: gpu.memcpy
// CHECK: %[[ST0:.*]] = gpu.alloc () : memref<1x8x4xi32>
// CHECK: %[[BLK:.*]] = gpu.alloc () : memref<1x8x4xi32>
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U:[0-9]+]]_interval blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>, %arg0 : {{.*}}, %[[ST0]] : memref<1x8x4xi32>, %[[BLK]] : memref<1x8x4xi32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_norms blocks in (%c4{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[BLK]] :
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign blocks in (%c48{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[BLK]] :
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means blocks in (%c97{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[BLK]] : {{.*}}, %c0_i32 : i32)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_norms
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means {{.*}}, %c1_i32 : i32)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_norms
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means {{.*}}, %c2_i32 : i32)
// CHECK-NOT: @cluster_update_[[U]]_means
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_rest blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_offsets blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args({{.*}}, %[[ST0]] : memref<1x8x4xi32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_members blocks in (%c98{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args({{.*}}, %[[ST0]] : memref<1x8x4xi32>)
// CHECK: gpu.dealloc %[[BLK]]
// CHECK: gpu.dealloc %[[ST0]]
// CHECK: gpu.launch_func @multipole_kernels::@cluster_coarsen_{{[0-9]+}}
// The k-means core: argmin over centroids with 4-wide FMAs, then a warp per
// cluster summing its members found by ballots (deterministic, no atomics).
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_blocks
// CHECK: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: nvvm.vote.sync  ballot
// CHECK: math.cttz
// CHECK-NOT: memref.atomic_rmw
// CHECK: math.ctpop
// The build and the update coarsen with one kernel (equal specs).
// CHECK: gpu.func @cluster_coarsen_{{[0-9]+}}
// The update's sequential parts reduce the argmin in workgroup memory; its
// Lloyd kernels are the k-means core, an item per thread or warp.
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_interval
// CHECK-SAME: workgroup
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_norms
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_assign
// CHECK: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_means
// CHECK: nvvm.vote.sync  ballot
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_rest
// CHECK-SAME: workgroup
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_offsets
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_members
// CHECK: math.ctpop
// CHECK-NOT: gpu.func @cluster_coarsen_

// ROPE-LABEL: func.func @attn_mp_build
// ROPE: %[[KP:.*]] = gpu.alloc () : memref<1x8x32768x128xf32>
// ROPE: gpu.launch_func @multipole_kernels::@prerope_{{[0-9]+}} {{.*}}args(%arg0 : memref<1x8x32768x128xbf16>, %[[KP]] : memref<1x8x32768x128xf32>)
// ROPE: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_blocks {{.*}}%[[KP]] : memref<1x8x32768x128xf32>
// ROPE: gpu.dealloc %[[KP]]
// ROPE: gpu.func @prerope_{{[0-9]+}}
// ROPE: math.cos %{{.*}} : f64
