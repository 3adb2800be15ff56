// The multipole decode step on the GPU: every op becomes launches of kernels
// specialised to its shapes; intermediate buffers become device allocations.
// RUN: multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite{sink=16 interval=128 block-size=8192},symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s

// Split counts and per-lane widths are options (defaults from the shape); the
// lane widths are the CUDA-core kernels', which f32 centroids use:
// RUN: multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite{centroid-type=f32},symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false gpu-options='score-splits=3 approx-splits=5 score-lane-floats=16 approx-lane-floats=4'})" | FileCheck %s --check-prefix=OPT
// OPT: gpu.launch_func @multipole_kernels::@score_0_logits blocks in (%c3
// OPT: gpu.launch_func @multipole_kernels::@approx_split_5 blocks in (%c5
// OPT: gpu.func @score_0_logits
// OPT: vector.load {{.*}} : memref<1x8x{{[0-9]+}}x128xf32>, vector<16xf32>
// OPT: gpu.func @approx_split_5
// OPT: vector.load {{.*}} : memref<1x8x{{[0-9]+}}x128xf32>, vector<4xf32>
// Two floats per lane (D = 64): 8-byte loads claim 8-byte alignment, not 16.
// RUN: multipole-opt %S/Inputs/gqa-21-f32.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256 centroid-type=f32},multipole-cuda-pipeline{to-nvvm=false gpu-options='approx-lane-floats=2 score-lane-floats=2'})" | FileCheck %s --check-prefix=NARROW
// NARROW: gpu.func @score_{{[0-9]+}}_logits
// NARROW: vector.load {{.*}} {alignment = 8 : i64} : memref<1x1x{{[0-9]+}}x64xf32>, vector<2xf32>
// NARROW: gpu.func @approx_split_{{[0-9]+}}
// NARROW: vector.load {{.*}} {alignment = 8 : i64} : memref<1x1x{{[0-9]+}}x64xf32>, vector<2xf32>
// With fuse-scores=false the scores kernel writes r and the selection reads
// it (no logits, no pairs).
// RUN: multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite{sink=16 interval=128 block-size=8192},symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false gpu-options=fuse-scores=false})" | FileCheck %s --check-prefix=UNFUSED
// UNFUSED: gpu.launch_func @multipole_kernels::@score_0_logits
// UNFUSED: gpu.launch_func @multipole_kernels::@score_0_scores
// UNFUSED: gpu.launch_func @multipole_kernels::@select_1 {{.*}}, %{{.*}} : memref<1x8x2058xi8>)
// UNFUSED: gpu.func @select_1(
// UNFUSED-NOT: math.exp
// UNFUSED: gpu.return
// RUN: not multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},convert-multipole-to-gpu{score-lane-floats=12})" 2>&1 | FileCheck %s --check-prefix=BADS
// BADS: error: score-lane-floats=12 does not fit head dim 128
// RUN: not multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},convert-multipole-to-gpu{approx-lane-floats=2})" 2>&1 | FileCheck %s --check-prefix=BADA
// BADA: error: approx-lane-floats=2 does not fit head dim 128

// CHECK-NOT: memref.alloc
// The selection also writes the chunk bases [B, H, 1025] of the token list.
// Scratch is allocated at the top (multipole-gpu-programmatic-launch), so the
// launches follow each other with nothing in between.
// CHECK: %[[CB:.*]] = gpu.alloc () : memref<1x8x1025xi32>
// CHECK-NOT: gpu.dealloc
// The scores are the selection's (multipole.scores_in_select): no scores
// kernel; the selection takes the logits and the logits kernel's split pairs.
// CHECK: gpu.launch_func @multipole_kernels::@score_0_logits {{.*}}, %[[LOGITS:.*]] : memref<1x32x2058xf32>, %[[PAIRS:.*]] : memref<1x32x{{[0-9]+}}x2xf32>, %{{.*}} : f32)
// CHECK-NOT: gpu.{{alloc|dealloc}}
// CHECK-NOT: @score_0_scores
// CHECK: gpu.launch_func @multipole_kernels::@select_1 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%[[T:.*]], %{{.*}}, %{{.*}}) args({{.*}}%[[CB]] : memref<1x8x1025xi32>, %{{.*}} : memref<1x8x2058xi8>, %[[LOGITS]] : memref<1x32x2058xf32>, %[[PAIRS]] : memref<1x32x{{[0-9]+}}x2xf32>)
// CHECK-NOT: gpu.{{alloc|dealloc}}
// CHECK: gpu.launch_func @multipole_kernels::@compact_2 {{.*}}%[[CB]] : memref<1x8x1025xi32>
// The exact part on tensor cores: 3 cp.async stages of 64 tokens in dynamic
// shared memory.
// CHECK-NOT: gpu.{{alloc|dealloc}}
// CHECK: gpu.launch_func @multipole_kernels::@exact_split_3 {{.*}} dynamic_shared_memory_size
// CHECK-NOT: gpu.{{alloc|dealloc}}
// CHECK: gpu.launch_func @multipole_kernels::@approx_split_5
// No combine launches: the merge reads both sets of split partials.
// CHECK-NOT: gpu.launch_func @multipole_kernels::@exact_combine
// CHECK-NOT: gpu.launch_func @multipole_kernels::@approx_combine
// CHECK-NOT: gpu.{{alloc|dealloc}}
// CHECK: gpu.launch_func @multipole_kernels::@merge_7 {{.*}} : memref<1x32x{{[0-9]+}}x128xf32>{{.*}} : memref<1x32x{{[0-9]+}}x128xf32>
// CHECK-NOT: gpu.launch_func
// Selection: the clusters' score bits in registers, a radix threshold with
// shared-memory histograms and warp-scanned suffix sums, then a block scan of
// the chunk sums.
// CHECK: gpu.func @select_1
// The scores first: (M, Z) per head over the splits (a warp each), 1 / Z,
// then each thread's register clusters' scores: e^(a - M) / Z summed over
// the 4 heads, without a division, into the score bits.
// CHECK: gpu.subgroup_reduce  maximumf
// CHECK: gpu.subgroup_reduce  add
// CHECK: gpu.barrier
// CHECK-COUNT-4: arith.divf %cst{{.*}}, %{{.*}} : f32
// CHECK-NOT: arith.divf
// CHECK: math.exp
// CHECK: arith.mulf
// CHECK: math.exp
// CHECK: arith.bitcast %{{.*}} : f32 to i32
// CHECK: memref.atomic_rmw addi
// CHECK: gpu.shuffle  up
// CHECK: gpu.shuffle  idx
// The exact part copies the rows of the token list into shared memory and
// multiplies on tensor cores.
// CHECK: gpu.func @exact_split_3
// CHECK: memref.load %{{.*}} : memref<1x8x32768xi32>
// CHECK: nvgpu.device_async_copy %{{.*}}, 8, %{{.*}} {bypassL1} : memref<1x8x32768x128xbf16> to memref<3x2x64x128xbf16, #gpu.address_space<workgroup>>
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = false}
// CHECK: nvvm.mma.sync
// CHECK: nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}

func.func @attn(%q: tensor<1x32x128xbf16>, %k: tensor<1x8x32768x128xbf16>, %v: tensor<1x8x32768x128xbf16>, %lens: tensor<1xi32>) -> tensor<1x32x128xbf16> {
  %e = tensor.empty() : tensor<1x32x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e) : tensor<1x32x128xbf16>, tensor<1x8x32768x128xbf16>, tensor<1x8x32768x128xbf16>, tensor<1xi32> outs tensor<1x32x128xbf16> -> tensor<1x32x128xbf16>
  return %o : tensor<1x32x128xbf16>
}
