// The kernels of an index with bf16 centroids (bf16-centroids.mlir) through
// ptxas for sm_90a: no local-memory spills in the logits, approximation and
// conversion kernels; the logits kernel loads 16 bytes of a bf16 row and
// feeds it to the tensor cores as it is (mma.sync, bf16 in, f32 out).
// REQUIRES: cuda-toolkit
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{centroid-type=bf16},multipole-entry-points,multipole-cuda-pipeline{format=isa})" -o %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.mlir %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: ptxas -arch=sm_90a -v %t.ptx -o %t.cubin > %t.log 2>&1
// RUN: FileCheck %s --check-prefix=LOGITS < %t.log
// RUN: FileCheck %s --check-prefix=APPROX < %t.log
// RUN: FileCheck %s --check-prefix=WIDEN < %t.log
// RUN: FileCheck %s --check-prefix=NARROW < %t.log
// The approximation on tensor cores (mma-approx=true): no spills either.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,multipole-entry-points,multipole-cuda-pipeline{format=isa gpu-options=mma-approx=true})" -o %t.ma.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.ma.mlir %t.ma.ptx
// RUN: ptxas -arch=sm_90a -v %t.ma.ptx -o %t.ma.cubin > %t.ma.log 2>&1
// RUN: FileCheck %s --check-prefix=APPROX < %t.ma.log
// CHECK-LABEL: .entry score_0_logits
// CHECK: ld.global.v4.{{[bu]}}32
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-LABEL: .entry select_1
// LOGITS: Function properties for score_0_logits
// LOGITS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// APPROX: Function properties for approx_split_5
// APPROX-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// WIDEN: Function properties for centroid_widen_{{[0-9]+}}
// WIDEN-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// NARROW: Function properties for centroid_narrow_{{[0-9]+}}
// NARROW-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
