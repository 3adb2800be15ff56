// Cluster build, online update and coarsening lower to k-means kernels on the
// device (no host copies): the Lloyd passes and the finish of the build and
// the update spread over the grid (an item per thread or warp), around the
// update's per-(sequence, KV head) sequential parts; a coarse level adds the
// weighted k-means over fine centroids; windowed RoPE first writes pre-RoPE keys
// to an f32 scratch.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{sink=16 interval=128 block-size=8192 coarse-fraction=0.25},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{rope-theta=10000},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=ROPE
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{block-size=65536 fraction=0.25},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=BIG
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,multipole-cuda-pipeline{to-nvvm=false gpu-options=kmeans-split=false})" | FileCheck %s --check-prefix=HI
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=512},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=LONG

// A head dim the k-means kernels do not take (not a multiple of 32) keeps the
// cluster ops on the host: copies around the CPU op.
// RUN: multipole-opt %S/Inputs/head-dim-16.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=HOST
// HOST-LABEL: func.func @attn_mp_build
// HOST: gpu.memcpy
// HOST: multipole.cluster_build
// HOST: gpu.memcpy

// The build: reset/state (a CTA per (sequence, head)), the seeds (a thread per
// cluster: 2058 clusters, 9 CTAs), 10 Lloyd passes over all blocks at once
// (32768 - 16 - 128 tokens at most, 128 CTAs of a thread per point; a warp per
// cluster, 258 CTAs), then the finish (a warp per cluster).
// CHECK-LABEL: func.func @attn_mp_build
// CHECK-NOT: memref.alloc
// CHECK-NOT: gpu.memcpy
// CHECK: %[[NORMS:.*]] = gpu.alloc () : memref<1x8x2058xf32>
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B:[0-9]+]]_init blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%arg2 : memref<1xi32>
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_seed blocks in (%c9{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>, %arg0 : {{.*}}, %[[NORMS]] : memref<1x8x2058xf32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_assign blocks in (%c128{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>,
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_means blocks in (%c258{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>, {{.*}}, %c0_i32 : i32)
// CHECK-COUNT-8: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_means
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_assign
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_means {{.*}}, %c9_i32 : i32)
// CHECK-NOT: @cluster_build_[[B]]_means
// CHECK: gpu.launch_func @multipole_kernels::@cluster_build_[[B]]_members blocks in (%c258{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256
// CHECK: gpu.launch_func @multipole_kernels::@cluster_coarsen_{{[0-9]+}}
// The scratch lives for the whole call (multipole-gpu-programmatic-launch
// hoists it): freed after the last launch.
// CHECK: gpu.dealloc %[[NORMS]]
// The update: the interval's distances to its block's clusters over the grid
// (128 tokens x at most 770 clusters; a CTA per 32 tokens and 256 clusters:
// 4 x 4 x 8 CTAs, each token's nearest per chunk),
// its sequential part per (sequence, head), its 3 Lloyd passes over the grid
// (blocks of 8192: at most 12288 points, 48 CTAs of a thread per point; 770
// clusters, 97 CTAs of a warp per cluster), the intervals still due, then the
// finish (a warp per touched cluster: 770 + 8).
// CHECK-LABEL: func.func @attn_mp_update
// CHECK-NOT: gpu.memcpy
// CHECK-DAG: %[[UNORMS:.*]] = gpu.alloc () : memref<1x8x2058xf32>
// CHECK-DAG: %[[ST0:.*]] = gpu.alloc () : memref<1x8x4xi32>
// CHECK-DAG: %[[BLK:.*]] = gpu.alloc () : memref<1x8x4xi32>
// CHECK-DAG: %[[DIST:.*]] = gpu.alloc () : memref<1x8x128x770xf32>
// CHECK-DAG: %[[BESTD:.*]] = gpu.alloc () : memref<1x8x128x4xf32>
// CHECK-DAG: %[[BESTI:.*]] = gpu.alloc () : memref<1x8x128x4xi32>
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U:[0-9]+]]_idist blocks in (%c16{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>, %arg0 : {{.*}}, %[[DIST]] : memref<1x8x128x770xf32>, %[[BESTD]] : memref<1x8x128x4xf32>, %[[BESTI]] : memref<1x8x128x4xi32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_interval blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%arg2 : memref<1xi32>, %arg0 : {{.*}}, %[[ST0]] : memref<1x8x4xi32>, %[[BLK]] : memref<1x8x4xi32>, %[[UNORMS]] : memref<1x8x2058xf32>, %[[DIST]] : memref<1x8x128x770xf32>, %[[BESTD]] : memref<1x8x128x4xf32>, %[[BESTI]] : memref<1x8x128x4xi32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign blocks in (%c48{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[BLK]] :
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means blocks in (%c97{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args(%[[BLK]] : {{.*}}, %[[UNORMS]] : memref<1x8x2058xf32>, %c0_i32 : i32)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means {{.*}}, %c1_i32 : i32)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_assign
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_means {{.*}}, %c2_i32 : i32)
// CHECK-NOT: @cluster_update_[[U]]_means
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_rest blocks in (%c8{{.*}}, %c1{{.*}}, %c1{{.*}}) threads in (%c256
// The finish takes the block descriptor and the last pass's sorted lists.
// CHECK: gpu.launch_func @multipole_kernels::@cluster_update_[[U]]_members blocks in (%c98{{.*}}, %c8{{.*}}, %c1{{.*}}) threads in (%c256{{.*}}) args({{.*}}, %[[ST0]] : memref<1x8x4xi32>, %[[BLK]] : memref<1x8x4xi32>, %{{.*}} : memref<1x8x32768xi32>, %{{.*}} : memref<1x8x2058xi32>, %{{.*}} : memref<1x8x2058xi32>)
// CHECK: gpu.launch_func @multipole_kernels::@cluster_coarsen_{{[0-9]+}}
// CHECK-DAG: gpu.dealloc %[[BLK]]
// CHECK-DAG: gpu.dealloc %[[ST0]]
// CHECK: return
// The k-means core: argmin over centroids on tensor cores for bf16 keys
// (centroids staged as hi/lo bf16 rows: per k-step of the 8 of D = 128, two
// B fragments times two m-tiles times hi and lo = 32 mma.sync per n-tile,
// then the 4 lanes of a row merged by xor shuffles).
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_seed
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_assign
// CHECK-SAME: workgroup(%{{.*}} : memref<64x68xi32, #gpu.address_space<workgroup>>
// CHECK: arith.truncf %{{.*}} : vector<4xf32> to vector<4xbf16>
// CHECK-COUNT-32: nvvm.mma.sync
// CHECK-NOT: nvvm.mma.sync
// CHECK: gpu.shuffle  xor
// CHECK: gpu.shuffle  xor
// The member lists of each Lloyd pass: a stable counting sort per block
// (integer histograms in workgroup memory, ranks within a warp by
// match.any, warp barriers around the cursor updates), then a warp per
// cluster sums its members from the lists in point order (ids broadcast by
// shuffles; no ballots, no atomics).
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_sort
// CHECK: memref.atomic_rmw addi %{{.*}} : (i32, memref<8x770xi32, #gpu.address_space<workgroup>>)
// CHECK: nvvm.match.sync  any
// CHECK: nvvm.bar.warp.sync
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_means
// CHECK-NOT: nvvm.vote.sync
// CHECK-NOT: memref.atomic_rmw
// CHECK: gpu.shuffle  idx
// CHECK-NOT: memref.atomic_rmw
// The build's finish copies the last pass's lists (offsets, members, value
// centroids summed from them): no ballots.
// CHECK: gpu.func @cluster_build_{{[0-9]+}}_members
// CHECK-NOT: nvvm.vote.sync
// CHECK: gpu.shuffle  idx
// CHECK-NOT: nvvm.vote.sync
// The build and the update coarsen with one kernel (equal specs).
// CHECK: gpu.func @cluster_coarsen_{{[0-9]+}}
// The interval's distances: a CTA's tokens in workgroup memory, a thread per
// cluster; then the sequential part tracks each token's best (distance, id,
// stale) in workgroup memory beside the argmin's buffers and the moved row.
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_idist
// CHECK-SAME: workgroup(%{{.*}} : memref<32x132xf32, #gpu.address_space<workgroup>>
// CHECK-SAME: memref<8x32xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<8x32xi32, #gpu.address_space<workgroup>>
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_interval
// CHECK-SAME: workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<256xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xi32, #gpu.address_space<workgroup>>, %{{.*}} : memref<128xf32, #gpu.address_space<workgroup>>
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_assign
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_sort
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_means
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_rest
// CHECK-SAME: workgroup
// CHECK: gpu.func @cluster_update_{{[0-9]+}}_members
// CHECK-NOT: gpu.func @cluster_coarsen_

// ROPE-LABEL: func.func @attn_mp_build
// ROPE: %[[KP:.*]] = gpu.alloc () : memref<1x8x32768x128xf32>
// ROPE: gpu.launch_func @multipole_kernels::@prerope_{{[0-9]+}} {{.*}}args(%arg0 : memref<1x8x32768x128xbf16>, %[[KP]] : memref<1x8x32768x128xf32>)
// ROPE: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_seed {{.*}}%[[KP]] : memref<1x8x32768x128xf32>
// ROPE: gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_assign {{.*}}%[[KP]] : memref<1x8x32768x128xf32>
// ROPE: gpu.dealloc %[[KP]]
// ROPE: gpu.func @prerope_{{[0-9]+}}
// ROPE: math.cos %{{.*}} : f64
// The f32 pre-RoPE points are assigned on the CUDA cores (4-wide FMAs).
// ROPE: gpu.func @cluster_build_{{[0-9]+}}_assign
// ROPE-NOT: nvvm.mma.sync
// ROPE: vector.fma %{{.*}}, %{{.*}}, %{{.*}} : vector<4xf32>
// ROPE: gpu.func @cluster_build_{{[0-9]+}}_means

// Blocks of 8194 clusters (block-size 65536, fraction 0.25 on 32K tokens): the
// sort's histograms would not fit static shared memory, so the Lloyd passes
// keep the ballot means (no sort); the tracked interval keeps its distances
// in global scratch, so it serves any block.
// BIG-NOT: _sort
// BIG: gpu.func @cluster_update_{{[0-9]+}}_idist
// BIG-SAME: memref<1x8x128x8194xf32>
// BIG: gpu.func @cluster_update_{{[0-9]+}}_interval
// BIG-SAME: memref<1x8x128x8194xf32>
// BIG: gpu.func @cluster_update_{{[0-9]+}}_means

// kmeans-split=false: one bf16 term per centroid, half the mma.sync of the
// assignment (16 per n-tile at D = 128).
// HI: gpu.func @cluster_build_{{[0-9]+}}_assign
// HI-COUNT-16: nvvm.mma.sync
// HI-NOT: nvvm.mma.sync
// HI: gpu.func @cluster_build_{{[0-9]+}}_sort

// Intervals of more than 256 tokens (a thread each would not fit the CTA): no
// `_idist`, the sequential part runs its per-token loop with the argmin's
// buffers only.
// LONG-NOT: _idist
// LONG: gpu.func @cluster_update_{{[0-9]+}}_interval
// LONG-SAME: workgroup(%{{.*}} : memref<256xf32, #gpu.address_space<workgroup>>, %{{.*}} : memref<256xi32, #gpu.address_space<workgroup>>)
// LONG-NOT: _idist
