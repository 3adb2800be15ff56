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

// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s --check-prefix=SPLIT
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=SPLITGPU

// With a head dim that is a multiple of 32 (head-dim-16 above is not, so its
// partials stay plain), the exact part and the approximation write split
// partials that the merge reads, allocated before them and freed after the
// merge; the plain buffers they replace are gone.
// SPLIT-LABEL: func.func @attn(
// SPLIT: %[[EA:.*]] = memref.alloc() : memref<1x32x[[S:[0-9]+]]x128xf32>
// SPLIT: %[[EM:.*]] = memref.alloc() : memref<1x32x[[S]]xf32>
// SPLIT: %[[EL:.*]] = memref.alloc() : memref<1x32x[[S]]xf32>
// SPLIT: multipole.sparse_attention {{.*}} outs(%[[EA]], %[[EM]], %[[EL]])
// SPLIT: %[[AA:.*]] = memref.alloc() : memref<1x32x[[T:[0-9]+]]x128xf32>
// SPLIT: multipole.centroid_approx {{.*}} outs(%[[AA]], %{{.*}}, %{{.*}})
// SPLIT: multipole.merge %[[EA]], %[[EM]], %[[EL]], %[[AA]], %{{.*}}, %{{.*}} outs
// SPLIT: memref.dealloc %[[EA]]
// SPLIT-NOT: memref<1x32x128xf32>
// SPLITGPU-NOT: combine
// SPLITGPU: gpu.launch_func @multipole_kernels::@merge_{{[0-9]+}} {{.*}}threads in (%c256
// SPLITGPU-NOT: combine

// The scores that only the selection reads are the selection kernel's
// (fuse-scores, the default) at up to 4096 clusters: the score op is marked;
// with fuse-scores=false, with another reader of the scores, or with more
// clusters, it is not.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s --check-prefix=FUSE
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan{fuse-scores=false})" | FileCheck %s --check-prefix=NOFUSE
// RUN: multipole-opt %S/Inputs/scores-extra-reader.mlir --pass-pipeline="builtin.module(multipole-gpu-plan)" | FileCheck %s --check-prefix=NOFUSE
// More than 4096 clusters (fraction 0.25 of 32K tokens: 8202): the scores kernel
// stays (the selection is one CTA per head; bench/NOTES.md, run 55).
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{fraction=0.25},symbol-privatize{exclude=attn},symbol-dce,one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},multipole-drop-aliasing-results,multipole-gpu-plan)" | FileCheck %s --check-prefix=BIGC
// BIGC: multipole.centroid_score {{.*}} outs memref<1x8x8202xf32>
// BIGC-NOT: multipole.scores_in_select
// A deallocation of the logits before the selection (nothing else reads them)
// moves after the selection, which now reads them.
// RUN: multipole-opt %S/Inputs/scores-early-dealloc.mlir --pass-pipeline="builtin.module(multipole-gpu-plan)" | FileCheck %s --check-prefix=EARLY
// EARLY: multipole.centroid_score {{.*}} outs(%{{.*}}, %[[LOG:.*]]) {{.*}}multipole.scores_in_select
// EARLY-NOT: memref.dealloc %[[LOG]]
// EARLY: multipole.select_clusters
// EARLY-NEXT: memref.dealloc %[[LOG]] : memref<1x32x2058xf32>
// RUN: multipole-opt %S/Inputs/scores-extra-reader.mlir --pass-pipeline="builtin.module(multipole-gpu-plan,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},convert-multipole-to-gpu)" | FileCheck %s --check-prefix=EXTRA
// FUSE: multipole.centroid_score {{.*}}multipole.scores_in_select
// FUSE: multipole.select_clusters
// NOFUSE-NOT: multipole.scores_in_select
// EXTRA: gpu.launch_func @multipole_kernels::@score_0_scores
// EXTRA: gpu.launch_func @multipole_kernels::@select_1
