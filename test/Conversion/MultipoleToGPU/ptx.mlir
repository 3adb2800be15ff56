// Generated PTX of the hot kernels: 16-byte global loads, warp shuffles, and
// (with ptxas) no local-memory spills.
// REQUIRES: cuda-toolkit
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite,symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{format=isa})" -o %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.mlir %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// CHECK: .target sm_90a
// CHECK-LABEL: .entry exact_split_3
// Programmatic dependent launch: wait for the previous grid first.
// CHECK-NOT: ld.global
// CHECK: griddepcontrol.wait;
// CHECK-NOT: griddepcontrol.launch_dependents
// CHECK: cp.async.cg.shared.global [%{{.*}}], [%{{.*}}], 16, %{{.*}};
// CHECK: cp.async.commit_group
// CHECK: cp.async.wait_group 2;
// CHECK: ldmatrix.sync.aligned.m8n8.x4.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK: shfl.sync.bfly.b32
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK-NOT: .local
// The approximation on tensor cores (mma-approx, the default with bf16 caches):
// value-centroid tiles by cp.async, P V on ldmatrix.trans fragments.
// CHECK-LABEL: .entry approx_split_5
// CHECK: griddepcontrol.wait;
// CHECK: cp.async.cg.shared.global [%{{.*}}], [%{{.*}}], 16, %{{.*}};
// CHECK: ldmatrix.sync.aligned.m8n8.x4.trans.shared.b16
// CHECK: mma.sync.aligned.m16n8k16.row.col.f32.bf16.bf16.f32
// CHECK-NOT: .local
// (ptxas reports the entries last to first)
// PTXAS: Compiling entry function 'approx_split_5'
// PTXAS-NEXT: Function properties for approx_split_5
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'exact_split_3'
// PTXAS-NEXT: Function properties for exact_split_3
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
