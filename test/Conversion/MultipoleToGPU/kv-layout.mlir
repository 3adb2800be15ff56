// A KV cache read in place through strides on the GPU (issue 11, item 2): a
// [B, N, Hkv, D] cache viewed as [B, Hkv, N, D] by multipole-transpose-views
// (strides [N*Hkv*D, D, Hkv*D, 1]). The CUDA-core attention kernels take k and
// v with that layout (their 16-byte loads index (b, h, j, d): the address
// comes from the strides, the row stays contiguous), so the dense step and the
// exact part of the multipole step read the cache itself; the tensor-core
// kernel's cp.async tiles read row-major caches only, so a strided cache takes
// the CUDA-core kernel. The k-means kernels of build and update read row-major
// caches: a kv_copy kernel copies the cache for them (one launch per call).
// RUN: multipole-opt %s -split-input-file --convert-multipole-to-gpu | FileCheck %s
// RUN: multipole-opt %S/Inputs/bnhd-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=STEP
// RUN: multipole-opt %S/Inputs/kv-layout-invalid.mlir -split-input-file -verify-diagnostics --convert-multipole-to-gpu

// Dense, bf16 D = 128 (tensor cores for a row-major cache): the CUDA-core
// split kernel, its k and v arguments strided, loaded as 16-byte vectors.
// CHECK-LABEL: func.func @dense_bnhd(
// CHECK:         gpu.launch_func @multipole_kernels::@decode_split_0 {{.*}} args(%{{.*}} : memref<2x32x128xbf16>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2xi32>
// CHECK-NOT:     dynamic_shared_memory_size
// CHECK:         gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK:       gpu.func @decode_split_0(%[[Q:.*]]: memref<2x32x128xbf16>, %[[K:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %[[V:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>
// CHECK-NOT:     nvgpu.device_async_copy
// CHECK:         vector.load %[[K]][{{.*}}] {alignment = 16 : i64} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, vector<8xbf16>
// CHECK:         vector.load %[[V]][{{.*}}] {alignment = 16 : i64} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, vector<8xbf16>
func.func @dense_bnhd(%q: memref<2x32x128xbf16>, %k: memref<2x4096x8x128xbf16>, %v: memref<2x4096x8x128xbf16>,
                      %lens: memref<2xi32>, %out: memref<2x32x128xbf16>) {
  %kt = memref.transpose %k (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x4096x8x128xbf16> to memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>
  %vt = memref.transpose %v (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x4096x8x128xbf16> to memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>
  multipole.decode_attention %q, %kt, %vt lens %lens outs(%out) : memref<2x32x128xbf16>, memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, memref<2xi32> outs memref<2x32x128xbf16>
  return
}

// -----

// A padded cache (rows of 256 elements, D = 128) is read in place too.
// CHECK-LABEL: func.func @padded_rows(
// CHECK:         gpu.launch_func @multipole_kernels::@decode_split_{{[0-9]+}} {{.*}} memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>
func.func @padded_rows(%q: memref<2x32x128xbf16>, %k: memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, %v: memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, %lens: memref<2xi32>, %out: memref<2x32x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<2x32x128xbf16>, memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, memref<2xi32> outs memref<2x32x128xbf16>
  return
}

// The multipole step from the tensor IR: no copy of the cache in the step (its
// exact part reads the strided cache), a kv_copy of k and of v into row-major
// device buffers before the k-means of build and update.
// STEP-LABEL: func.func @attn(
// STEP-SAME:      %[[K:[^:]*]]: memref<2x1000x4x128xbf16> {multipole.role = "k"}, %[[V:[^:]*]]: memref<2x1000x4x128xbf16> {multipole.role = "v"}
// STEP-NOT:     kv_copy
// STEP:         %[[KT:.*]] = memref.transpose %[[K]] (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x1000x4x128xbf16> to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-NOT:     kv_copy
// STEP:         gpu.launch_func @multipole_kernels::@exact_split_{{[0-9]+}} {{.*}} args(%{{.*}} : memref<2x16x128xbf16>, %[[KT]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-NOT:     kv_copy
// STEP-LABEL: func.func @attn_mp_build(
// STEP:         %[[BUF:.*]] = gpu.alloc () : memref<2x4x1000x128xbf16>
// STEP:         gpu.launch_func @multipole_kernels::@kv_copy_[[C:[0-9]+]] blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%{{.*}} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %[[BUF]] : memref<2x4x1000x128xbf16>)
// STEP:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// STEP:         gpu.launch_func @multipole_kernels::@cluster_build
// STEP-LABEL: func.func @attn_mp_update(
// STEP:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// STEP:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update
// STEP:       gpu.func @kv_copy_[[C]](%[[S:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %[[D:.*]]: memref<2x4x1000x128xbf16>)
// STEP:         %[[X:.*]] = vector.load %[[S]][{{.*}}] {alignment = 16 : i64} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, vector<8xbf16>
// STEP:         vector.store %[[X]], %[[D]][{{.*}}] {alignment = 16 : i64} : memref<2x4x1000x128xbf16>, vector<8xbf16>
