// PTX of a multipole step over a [B, N, Hkv, D] cache (Inputs/bnhd-step.mlir,
// see kv-layout.mlir): the exact part runs the tensor-core kernel, whose
// cp.async copies read the strided cache 16 bytes at a time; the k-means
// kernels of build and update read it in place (no kv_copy kernel); ptxas
// compiles them without spills. (Registers and spills of every kernel equal
// those of the same step over a [B, Hkv, N, D] cache: cluster_update's means
// kernel spills 4 bytes in both layouts.)
// REQUIRES: cuda-toolkit
// RUN: multipole-opt %S/Inputs/bnhd-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{format=isa})" -o %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.mlir %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// CHECK-NOT: kv_copy
// CHECK-LABEL: .entry exact_split_3
// CHECK: cp.async.cg.shared.global [{{.*}}], [{{.*}}], 16
// CHECK: mma.sync.aligned.m16n8k16
// CHECK-LABEL: .entry approx_split_5
// CHECK-LABEL: .entry cluster_build_8_assign
// CHECK: mma.sync.aligned.m16n8k16
// CHECK-NOT: kv_copy
// PTXAS: Compiling entry function 'cluster_build_8_members'
// PTXAS-NEXT: Function properties for cluster_build_8_members
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'cluster_build_8_means'
// PTXAS-NEXT: Function properties for cluster_build_8_means
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'cluster_build_8_assign'
// PTXAS-NEXT: Function properties for cluster_build_8_assign
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'cluster_build_8_seed'
// PTXAS-NEXT: Function properties for cluster_build_8_seed
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'exact_split_3'
// PTXAS-NEXT: Function properties for exact_split_3
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
