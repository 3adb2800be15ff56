// An index that stores its centroids in bf16 (multipole-rewrite
// centroid-type=bf16) on the GPU: the step's logits and approximation kernels
// read bf16 centroid rows (half the bytes) and extend them to f32; build and
// update run the f32 k-means kernels on f32 scratch copies, extended from the
// index before (centroid_widen) and rounded back into it after
// (centroid_narrow). The kernels go through ptxas without spills.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{centroid-type=bf16},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{centroid-type=bf16 coarse-fraction=0.25},multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=TWO
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{centroid-type=bf16},multipole-cuda-pipeline{to-nvvm=false gpu-options=mma-logits=false})" | FileCheck %s --check-prefix=CORE
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=MMAAPPROX
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,multipole-cuda-pipeline{to-nvvm=false gpu-options=mma-approx=false})" | FileCheck %s --check-prefix=CCAPPROX
// An f32 model keeps the CUDA-core approximation (f32 weights): the plan sets
// multipole.bf16_weights only beside a bf16 exact part.
// RUN: sed -e 's/bf16>/f32>/g' %S/multipole-step.mlir | multipole-opt --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s --check-prefix=F32PLAN
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s --check-prefix=BF16PLAN

// CHECK-LABEL: func.func @attn(
// CHECK-SAME:    memref<1x8x2058x128xbf16> {multipole.role = "L0.centroids"}, %[[VC:.*]]: memref<1x8x2058x128xbf16> {multipole.role = "L0.vcentroids"}
// CHECK-NOT:   centroid_widen
// CHECK:       gpu.launch_func @multipole_kernels::@score_0_logits {{.*}} : memref<1x8x2058x128xbf16>
// CHECK:       gpu.launch_func @multipole_kernels::@approx_split_5 {{.*}}%[[VC]] : memref<1x8x2058x128xbf16>
// The build resets every row first (its _init): the scratch is not extended.
// CHECK-LABEL: func.func @attn_mp_build(
// CHECK-NOT:   centroid_widen
// CHECK:       gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_seed {{.*}}, %[[W:.*]] : memref<1x8x2058x128xf32>, %{{.*}} : memref<1x8x2058xf32>)
// CHECK:       gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_members
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_narrow_[[NI:[0-9]+]] {{.*}} args(%[[W]] : memref<1x8x2058x128xf32>, %{{.*}} : memref<1x8x2058x128xbf16>)
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_narrow_[[NI]]
// The update converts its last block's rows only: in, from the block's first
// cluster to what it may create (the state at entry, %arg9: a grid of 49
// CTAs, not the 129 of all 2058 rows); out, the clusters it touched (the
// state and the state at entry, kept by _interval).
// CHECK-LABEL: func.func @attn_mp_update(
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_widen_[[WI:[0-9]+]] blocks in (%c49{{.*}}) {{.*}} args(%{{.*}} : memref<1x8x2058x128xbf16>, %{{.*}} : memref<1x8x2058x128xf32>, %arg9 : memref<1x8x4xi32>)
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_widen_[[WI]]
// CHECK:       gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_interval {{.*}}, %arg9 : memref<1x8x4xi32>, %[[ST0:.*]] : memref<1x8x4xi32>, %{{.*}} : memref<1x8x4xi32>, %{{.*}} : memref<1x8x2058xf32>, %{{.*}} : memref<1x8x128x770xf32>, %{{.*}} : memref<1x8x128x4xf32>, %{{.*}} : memref<1x8x128x4xi32>)
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_narrow_[[NU:[0-9]+]] blocks in (%c49{{.*}}) {{.*}} args(%{{.*}} : memref<1x8x2058x128xf32>, %arg3 : memref<1x8x2058x128xbf16>, %arg9 : memref<1x8x4xi32>, %[[ST0]] : memref<1x8x4xi32>)
// CHECK:       gpu.launch_func @multipole_kernels::@centroid_narrow_[[NU]]
// The logits kernel, on tensor cores (bf16 queries and bf16 centroids): the
// lanes' B fragments from 16-byte loads of the query, then per loop iteration
// two 16-centroid tiles, a lane loading 16 bytes of a row and using them as
// its A fragment's pairs as they are (no conversion), 8 k-steps each.
// CHECK:       gpu.func @score_0_logits(%[[Q:.*]]: memref<1x32x128xbf16>, %[[C:.*]]: memref<1x8x2058x128xbf16>,
// CHECK:         vector.load %[[Q]][{{.*}}] {alignment = 16 : i64} : memref<1x32x128xbf16>, vector<8xbf16>
// CHECK:         scf.for
// CHECK:         %[[R:.*]] = vector.load %[[C]][{{.*}}] {alignment = 16 : i64} : memref<1x8x2058x128xbf16>, vector<8xbf16>
// CHECK-NEXT:    vector.bitcast %[[R]] : vector<8xbf16> to vector<4xi32>
// CHECK-NOT:     arith.extf
// CHECK-COUNT-16: nvvm.mma.sync {{.*}}multiplicandAPtxType = #nvvm.mma_type<bf16>, multiplicandBPtxType = #nvvm.mma_type<bf16>, shape = #nvvm.shape<m = 16, n = 8, k = 16>
// CHECK-NOT:     nvvm.mma.sync
// CHECK:         gpu.barrier
// CHECK:       gpu.func @approx_split_5(%{{.*}}: memref<1x32x2058xf32>, %[[AV:.*]]: memref<1x8x2058x128xbf16>,
// CHECK:         nvgpu.device_async_copy %[[AV]]
// mma-approx=false: the CUDA-core approximation reads bf16 rows and extends
// them to f32.
// CCAPPROX:      gpu.func @approx_split_5(%{{.*}}: memref<1x32x2058xf32>, %[[AV:.*]]: memref<1x8x2058x128xbf16>,
// CCAPPROX:        %[[AR:.*]] = vector.load %[[AV]][{{.*}}] {alignment = 16 : i64} : memref<1x8x2058x128xbf16>, vector<8xbf16>
// CCAPPROX-NEXT:   arith.extf %[[AR]] : vector<8xbf16> to vector<8xf32>
// F32PLAN:       multipole.centroid_approx
// F32PLAN-NOT:   multipole.bf16_weights
// F32PLAN:       multipole.merge
// BF16PLAN:      multipole.centroid_approx {{.*}}multipole.bf16_weights
// The conversions: a thread per 8 values, rounded to nearest even (truncf).
// CHECK:       gpu.func @centroid_narrow_[[NI]](%{{.*}}: memref<1x8x2058x128xf32>, %{{.*}}: memref<1x8x2058x128xbf16>)
// CHECK:         arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>
// The update's: rows from the last block's first cluster (0 while nothing is
// clustered) to nc + 778 (updateBounds' maxFinish), strided by the grid's 784
// rows; out, nothing unless the state changed.
// CHECK:       gpu.func @centroid_widen_[[WI]](%{{.*}}: memref<1x8x2058x128xbf16>, %{{.*}}: memref<1x8x2058x128xf32>, %[[WS:.*]]: memref<1x8x4xi32>)
// CHECK:         %[[NC:.*]] = memref.load %[[WS]][%{{.*}}, %{{.*}}, %c0{{.*}}]
// CHECK:         %[[BCS:.*]] = memref.load %[[WS]][%{{.*}}, %{{.*}}, %c3{{.*}}]
// CHECK:         %[[LO:.*]] = arith.select %{{.*}}, %c0{{.*}}, %{{.*}} : index
// CHECK:         %[[END:.*]] = arith.addi %{{.*}}, %c778{{.*}} : index
// CHECK:         %[[HI:.*]] = arith.minui %[[END]], %c2058{{.*}} : index
// CHECK:         scf.for %{{.*}} = %{{.*}} to %[[HI]] step %c784
// CHECK:           arith.extf %{{.*}} : vector<8xbf16> to vector<8xf32>
// CHECK:       gpu.func @centroid_narrow_[[NU]](%{{.*}}: memref<1x8x2058x128xf32>, %{{.*}}: memref<1x8x2058x128xbf16>, %{{.*}}: memref<1x8x4xi32>, %{{.*}}: memref<1x8x4xi32>)
// CHECK-COUNT-4: arith.cmpi ne
// CHECK:         scf.if
// CHECK:           scf.for
// CHECK:             arith.truncf %{{.*}} : vector<8xf32> to vector<8xbf16>

// Two levels: the coarsening reads the fine centroids widened and writes the
// coarse ones through scratch too.
// TWO-LABEL: func.func @attn_mp_build(
// TWO:         gpu.launch_func @multipole_kernels::@cluster_coarsen_{{[0-9]+}} {{.*}} args(%{{.*}} : memref<1x8x2058x128xf32>, %{{.*}} : memref<1x8x2058x128xf32>,
// TWO:         gpu.launch_func @multipole_kernels::@centroid_narrow_{{[0-9]+}} {{.*}} memref<1x8x{{[0-9]+}}x128xbf16>)

// mma-logits=false: the CUDA-core logits kernel, a lane extending 8 bf16
// values (16 bytes) of a row to f32.
// CORE:       gpu.func @score_0_logits(%{{.*}}: memref<1x32x128xbf16>, %[[C:.*]]: memref<1x8x2058x128xbf16>,
// CORE-NOT:     nvvm.mma.sync
// CORE:         %[[R:.*]] = vector.load %[[C]][{{.*}}] {alignment = 16 : i64} : memref<1x8x2058x128xbf16>, vector<8xbf16>
// CORE-NEXT:    arith.extf %[[R]] : vector<8xbf16> to vector<8xf32>
// CORE:         gpu.return

// The default (mma-approx=true): the approximation on the exact part's tensor-core kernel,
// 128 threads, 48 KB of dynamic shared memory (3 stages of 64 value-centroid
// rows; the warps' partials reuse them), 4 CTAs per SM: 32 splits here (the
// CUDA-core kernel's one wave would be 66, capped by C / 64 = 32 either way).
// Value-centroid rows (only: one row array per stage) stream in by cp.async,
// the logits (plus log count) are
// the scores, and P V runs as mma.sync on ldmatrix.trans fragments.
// MMAAPPROX:       gpu.launch_func @multipole_kernels::@approx_split_5 blocks in (%c32{{.*}}) threads in (%c128{{.*}}) dynamic_shared_memory_size %c49152_i32 args(%{{.*}} : memref<1x32x2058xf32>, %{{.*}} : memref<1x8x2058x128xbf16>, %{{.*}} : memref<1x8x2058xi32>, %{{.*}} : memref<1x8x4xi32>, %{{.*}} : memref<1x8x2058xi8>,
// MMAAPPROX:       gpu.func @approx_split_5(%[[LG:.*]]: memref<1x32x2058xf32>, %[[V:.*]]: memref<1x8x2058x128xbf16>,
// MMAAPPROX:         nvgpu.device_async_copy %[[V]]
// MMAAPPROX-SAME:      to memref<3x1x64x128xbf16, #gpu.address_space<workgroup>>
// MMAAPPROX:         scf.for
// MMAAPPROX:         memref.load %[[LG]]
// MMAAPPROX:         math.log
// MMAAPPROX:         nvgpu.ldmatrix {{.*}} {numTiles = 4 : i32, transpose = true}
// MMAAPPROX:         nvvm.mma.sync
// MMAAPPROX:         gpu.return
