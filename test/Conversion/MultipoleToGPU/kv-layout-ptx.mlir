// PTX of a multipole step over a [B, N, Hkv, D] cache (Inputs/bnhd-step.mlir,
// see kv-layout.mlir): the exact part reads the strided cache with 16-byte
// loads, the kv_copy kernel of build and update moves 16 bytes per load and
// store; ptxas compiles both without spills.
// REQUIRES: cuda-toolkit
// RUN: multipole-opt %S/Inputs/bnhd-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{format=isa})" -o %t.mlir
// RUN: %python %S/Inputs/extract_ptx.py %t.mlir %t.ptx
// RUN: FileCheck %s < %t.ptx
// RUN: ptxas -arch=sm_90a -v %t.ptx -o %t.cubin 2>&1 | FileCheck %s --check-prefix=PTXAS

// CHECK-LABEL: .entry kv_copy_0
// CHECK: ld.global.v4.b32
// CHECK: st.global.v4.b32
// CHECK-LABEL: .entry exact_split_7
// CHECK-NOT: cp.async
// CHECK: ld.global.v4.b32
// CHECK-LABEL: .entry approx_split_9
// PTXAS: Compiling entry function 'exact_split_7'
// PTXAS-NEXT: Function properties for exact_split_7
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
// PTXAS: Compiling entry function 'kv_copy_0'
// PTXAS-NEXT: Function properties for kv_copy_0
// PTXAS-NEXT: 0 bytes stack frame, 0 bytes spill stores, 0 bytes spill loads
