// Two-level hierarchy on the GPU: the coarse level is scored and selected
// first, the fine selection and approximation take the coarse parents, and the
// whole step still lowers to PTX.
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{coarse-fraction=0.25},symbol-privatize{exclude=attn},symbol-dce,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s

// CHECK: gpu.launch_func @multipole_kernels::@score_0_logits
// CHECK: gpu.launch_func @multipole_kernels::@select_1
// CHECK: gpu.launch_func @multipole_kernels::@score_2_logits
// CHECK: gpu.launch_func @multipole_kernels::@select_3 {{.*}} args(%{{.*}} : memref<1x8x2058xf32>, %{{.*}} : memref<1x8x2058xi32>, %{{.*}} : memref<1x8x4xi32>, %{{.*}} : memref<1x8x2058xi32>, %{{.*}} : memref<1x8x516xi8>, %{{.*}} : memref<1x8x2058xi8>, %{{.*}} : memref<1x32x2058xf32>, %{{.*}} : memref<1x32x{{[0-9]+}}x2xf32>)
// CHECK: gpu.launch_func @multipole_kernels::@exact_split_5
// Coarse approximation first, then the fine one restricted to selected parents.
// CHECK: gpu.launch_func @multipole_kernels::@approx_split_7
// CHECK: gpu.launch_func @multipole_kernels::@approx_split_9 {{.*}} memref<1x8x516xi8>
// CHECK: gpu.launch_func @multipole_kernels::@merge_11
// CHECK: gpu.func @select_3
// CHECK-SAME: %{{.*}}: memref<1x8x2058xi32>, %{{.*}}: memref<1x8x516xi8>
