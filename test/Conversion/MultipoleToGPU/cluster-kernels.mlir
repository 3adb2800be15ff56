// Cluster build, online update and coarsening lower to k-means kernels on the
// device (no host copies): build = reset/state kernel + one CTA per k-means
// block; update = one CTA per (sequence, KV head); a coarse level adds the
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
// CHECK-LABEL: func.func @attn_mp_update
// CHECK-NOT: gpu.memcpy
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}} blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256
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
// CHECK: gpu.func @cluster_update_{{[0-9]+}}
// CHECK-SAME: workgroup
// CHECK-NOT: gpu.func @cluster_coarsen_

// ROPE-LABEL: func.func @attn_mp_build
// ROPE: %[[KP:.*]] = gpu.alloc () : memref<1x8x32768x128xf32>
// ROPE: gpu.launch_func @multipole_kernels::@prerope_{{[0-9]+}} {{.*}}args(%arg0 : memref<1x8x32768x128xbf16>, %[[KP]] : memref<1x8x32768x128xf32>)
// ROPE: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_blocks {{.*}}%[[KP]] : memref<1x8x32768x128xf32>
// ROPE: gpu.dealloc %[[KP]]
// ROPE: gpu.func @prerope_{{[0-9]+}}
// ROPE: math.cos %{{.*}} : f64
