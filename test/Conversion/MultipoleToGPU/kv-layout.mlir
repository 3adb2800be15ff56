// A KV cache read in place through strides on the GPU (issue 11, item 2): a
// [B, N, Hkv, D] cache viewed as [B, Hkv, N, D] by multipole-transpose-views
// (strides [N*Hkv*D, D, Hkv*D, 1]). Every kernel that reads k or v takes them
// with that layout and indexes (b, h, j, d): the address comes from the
// strides, the row stays contiguous. The tensor-core attention kernel's
// cp.async tiles, the CUDA-core split kernel's 16-byte loads, and the k-means
// kernels of build and update (seeds, assignment, means, finish, the update's
// sequential kernels, the pre-RoPE kernel's input) all read the cache itself:
// no copy of it anywhere (the kv_copy kernel is left only for the host
// fallback of a head dim the k-means kernels do not take).
// RUN: multipole-opt %s -split-input-file --convert-multipole-to-gpu | FileCheck %s
// RUN: multipole-opt %s -split-input-file --convert-multipole-to-gpu=mma=false | FileCheck %s --check-prefix=CORE
// RUN: multipole-opt %S/Inputs/bnhd-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=STEP
// RUN: multipole-opt %S/Inputs/bnhd-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256 rope-theta=10000},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=ROPE
// RUN: sed 's/bf16/f32/g' %S/Inputs/bnhd-step.mlir | multipole-opt --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=F32
// RUN: sed 's/x128xbf16/x16xbf16/g' %S/Inputs/bnhd-step.mlir | multipole-opt --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=HOST
// RUN: multipole-opt %S/multipole-step.mlir --pass-pipeline="builtin.module(multipole-rewrite{interval=64 block-size=256 rope-theta=10000},multipole-entry-points,multipole-cuda-pipeline{to-nvvm=false})" | FileCheck %s --check-prefix=ROWMAJOR
// RUN: multipole-opt %S/Inputs/kv-layout-invalid.mlir -split-input-file -verify-diagnostics --convert-multipole-to-gpu

// Dense, bf16 D = 128: the tensor-core kernel, its k and v arguments strided,
// its cp.async copies reading them at (b, h, j, d).
// CHECK-LABEL: func.func @dense_bnhd(
// CHECK:         gpu.launch_func @multipole_kernels::@decode_split_0 {{.*}} dynamic_shared_memory_size %{{.*}} args(%{{.*}} : memref<2x32x128xbf16>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2xi32>
// CHECK:         gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK:       gpu.func @decode_split_0(%[[Q:.*]]: memref<2x32x128xbf16>, %[[K:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %[[V:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>
// CHECK:         nvgpu.device_async_copy %[[K]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], %{{.*}}[{{.*}}], 8, %{{.*}} {bypassL1} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>> to memref<3x2x64x128xbf16, #gpu.address_space<workgroup>>
// CHECK:         nvgpu.device_async_copy %[[V]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}], %{{.*}}[{{.*}}], 8, %{{.*}} {bypassL1} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>> to memref<3x2x64x128xbf16, #gpu.address_space<workgroup>>
// Without tensor cores (mma=false): the CUDA-core split kernel, loading the
// strided rows as 16-byte vectors.
// CORE-LABEL: func.func @dense_bnhd(
// CORE:         gpu.launch_func @multipole_kernels::@decode_split_0 {{.*}} args(%{{.*}} : memref<2x32x128xbf16>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %{{.*}} : memref<2xi32>
// CORE-NOT:     dynamic_shared_memory_size
// CORE:         gpu.launch_func @multipole_kernels::@decode_combine_1
// CORE:       gpu.func @decode_split_0(%[[Q:.*]]: memref<2x32x128xbf16>, %[[K:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, %[[V:.*]]: memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>
// CORE-NOT:     nvgpu.device_async_copy
// CORE:         vector.load %[[K]][{{.*}}] {alignment = 16 : i64} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, vector<8xbf16>
// CORE:         vector.load %[[V]][{{.*}}] {alignment = 16 : i64} : memref<2x8x4096x128xbf16, strided<[4194304, 128, 1024, 1]>>, vector<8xbf16>
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
// CHECK:         gpu.launch_func @multipole_kernels::@decode_split_{{[0-9]+}} {{.*}} dynamic_shared_memory_size {{.*}} memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>
// CORE-LABEL: func.func @padded_rows(
// CORE:         gpu.launch_func @multipole_kernels::@decode_split_{{[0-9]+}} {{.*}} memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>
func.func @padded_rows(%q: memref<2x32x128xbf16>, %k: memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, %v: memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, %lens: memref<2xi32>, %out: memref<2x32x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<2x32x128xbf16>, memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, memref<2x8x4096x128xbf16, strided<[8388608, 1048576, 256, 1]>>, memref<2xi32> outs memref<2x32x128xbf16>
  return
}

// The multipole step from the tensor IR: no copy of the cache in any entry
// point. The step's exact part runs the tensor-core kernel on the strided
// cache; every k-means kernel of build and update that reads keys or values
// takes them strided.
// STEP-NOT:     kv_copy
// STEP-LABEL: func.func @attn(
// STEP-SAME:      %[[K:[^:]*]]: memref<2x1000x4x128xbf16> {multipole.role = "k"}, %[[V:[^:]*]]: memref<2x1000x4x128xbf16> {multipole.role = "v"}
// STEP:         %[[KT:.*]] = memref.transpose %[[K]] (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x1000x4x128xbf16> to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@exact_split_{{[0-9]+}} {{.*}} dynamic_shared_memory_size %{{.*}} args(%{{.*}} : memref<2x16x128xbf16>, %[[KT]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-LABEL: func.func @attn_mp_build(
// STEP-NOT:     gpu.alloc () : memref<2x4x1000x128xbf16>
// STEP:         %[[BK:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         %[[BV:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-NOT:     gpu.alloc () : memref<2x4x1000x128xbf16>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_seed {{.*}} args(%{{.*}} : memref<2xi32>, %[[BK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_assign {{.*}} args(%{{.*}} : memref<2xi32>, %[[BK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_means {{.*}} args(%{{.*}} : memref<2xi32>, %[[BK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_members {{.*}} args(%{{.*}} : memref<2xi32>, %[[BV]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-LABEL: func.func @attn_mp_update(
// STEP-NOT:     gpu.alloc () : memref<2x4x1000x128xbf16>
// STEP:         %[[UK:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         %[[UV:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-NOT:     gpu.alloc () : memref<2x4x1000x128xbf16>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_interval {{.*}} args(%{{.*}} : memref<2xi32>, %[[UK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_assign {{.*}} args(%{{.*}} : memref<2x4x4xi32>, %[[UK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_means {{.*}} args(%{{.*}} : memref<2x4x4xi32>, %[[UK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_rest {{.*}} args(%{{.*}} : memref<2xi32>, %[[UK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_members {{.*}} args(%[[UV]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// The kernels: the tensor-core kernel's cp.async from the strided cache, the
// k-means kernels' loads of strided rows (the tensor-core assignment's A
// fragments, the finish's value rows).
// STEP:       gpu.func @exact_split_{{[0-9]+}}(%{{.*}}: memref<2x16x128xbf16>, %[[EK:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %[[EV:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         nvgpu.device_async_copy %[[EK]][{{.*}}], %{{.*}}[{{.*}}], 8, %{{.*}} {{.*}} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>> to
// STEP:         nvgpu.device_async_copy %[[EV]][{{.*}}], %{{.*}}[{{.*}}], 8, %{{.*}} {{.*}} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>> to
// STEP:       gpu.func @cluster_build_{{[0-9]+}}_seed(%{{.*}}: memref<2xi32>, %[[SK:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         vector.load %[[SK]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:       gpu.func @cluster_build_{{[0-9]+}}_assign(%{{.*}}: memref<2xi32>, %[[AK:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         vector.load %[[AK]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:         nvvm.mma.sync
// STEP:       gpu.func @cluster_build_{{[0-9]+}}_means(%{{.*}}: memref<2xi32>, %[[MK:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         vector.load %[[MK]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:       gpu.func @cluster_build_{{[0-9]+}}_members(%{{.*}}: memref<2xi32>, %[[FV:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         vector.load %[[FV]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP:       gpu.func @cluster_update_{{[0-9]+}}_interval(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:       gpu.func @cluster_update_{{[0-9]+}}_assign(%{{.*}}: memref<2x4x4xi32>, %{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:       gpu.func @cluster_update_{{[0-9]+}}_means(%{{.*}}: memref<2x4x4xi32>, %{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:       gpu.func @cluster_update_{{[0-9]+}}_rest(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:       gpu.func @cluster_update_{{[0-9]+}}_members(%[[UMV:.*]]: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// STEP:         vector.load %[[UMV]][%{{.*}}, %{{.*}}, %{{.*}}, %{{.*}}] {{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// STEP-NOT:   gpu.func @kv_copy

// Windowed RoPE: the pre-RoPE kernel reads the strided keys into the f32
// scratch, which stays row-major (the k-means points); the finish reads the
// strided values.
// ROPE-LABEL: func.func @attn_mp_build(
// ROPE:         %[[SCR:.*]] = gpu.alloc () : memref<2x4x1000x128xf32>
// ROPE:         %[[RK:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// ROPE:         %[[RV:.*]] = memref.transpose %{{.*}} {{.*}} to memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// ROPE:         gpu.launch_func @multipole_kernels::@prerope_{{[0-9]+}} {{.*}} args(%[[RK]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %[[SCR]] : memref<2x4x1000x128xf32>)
// ROPE:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_assign {{.*}} args(%{{.*}} : memref<2xi32>, %[[SCR]] : memref<2x4x1000x128xf32>,
// ROPE:         gpu.launch_func @multipole_kernels::@cluster_build_{{[0-9]+}}_members {{.*}} args(%{{.*}} : memref<2xi32>, %[[RV]] : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// ROPE-LABEL: func.func @attn_mp_update(
// ROPE:         gpu.launch_func @multipole_kernels::@prerope_{{[0-9]+}} {{.*}} args(%{{.*}} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %[[USCR:.*]] : memref<2x4x1000x128xf32>)
// ROPE:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_interval {{.*}} args(%{{.*}} : memref<2xi32>, %[[USCR]] : memref<2x4x1000x128xf32>,
// ROPE:         gpu.launch_func @multipole_kernels::@cluster_update_{{[0-9]+}}_members {{.*}} args(%{{.*}} : memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>
// ROPE:       gpu.func @prerope_{{[0-9]+}}(%{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>, %{{.*}}: memref<2x4x1000x128xf32>)
// ROPE:       gpu.func @cluster_build_{{[0-9]+}}_seed(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32>,
// ROPE:       gpu.func @cluster_build_{{[0-9]+}}_assign(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32>,
// ROPE:       gpu.func @cluster_build_{{[0-9]+}}_means(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32>,
// ROPE:       gpu.func @cluster_build_{{[0-9]+}}_members(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// ROPE:       gpu.func @cluster_update_{{[0-9]+}}_interval(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32>,
// ROPE:       gpu.func @cluster_update_{{[0-9]+}}_rest(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32>,
// ROPE:       gpu.func @cluster_update_{{[0-9]+}}_members(%{{.*}}: memref<2x4x1000x128xbf16, strided<[512000, 128, 512, 1]>>,
// ROPE-NOT:   kv_copy

// An f32 cache without RoPE: the points are the op's keys, of the scratch's
// element type, and strided (the layout follows "are they the scratch", not
// the element type).
// F32-NOT:    kv_copy
// F32:        gpu.func @cluster_build_{{[0-9]+}}_assign(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32, strided<[512000, 128, 512, 1]>>,
// F32:        gpu.func @cluster_build_{{[0-9]+}}_members(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32, strided<[512000, 128, 512, 1]>>,
// F32:        gpu.func @cluster_update_{{[0-9]+}}_interval(%{{.*}}: memref<2xi32>, %{{.*}}: memref<2x4x1000x128xf32, strided<[512000, 128, 512, 1]>>,

// A head dim the k-means kernels do not take (16): the host fallback copies
// the strided cache into a row-major device buffer (kv_copy) before copying
// it to the host (gpu.memcpy copies contiguous buffers only). The step still
// reads it in place.
// HOST-LABEL: func.func @attn(
// HOST-NOT:     kv_copy
// HOST-LABEL: func.func @attn_mp_build(
// HOST:         gpu.launch_func @multipole_kernels::@kv_copy_[[C:[0-9]+]] {{.*}} args(%{{.*}} : memref<2x4x1000x16xbf16, strided<[64000, 16, 64, 1]>>, %[[R:.*]] : memref<2x4x1000x16xbf16>)
// HOST:         gpu.memcpy %{{.*}}, %[[R]] : memref<2x4x1000x16xbf16>, memref<2x4x1000x16xbf16>
// HOST:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// HOST:         multipole.cluster_build
// HOST:         gpu.dealloc %[[R]]
// HOST-LABEL: func.func @attn_mp_update(
// HOST:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// HOST:         gpu.launch_func @multipole_kernels::@kv_copy_[[C]]
// HOST:         multipole.cluster_update

// The default layout: no strided type and no copy anywhere (its kernels are
// those of before, scripts/kernel_snapshot.sh).
// ROWMAJOR-NOT: strided
// ROWMAJOR-NOT: kv_copy
// ROWMAJOR:     gpu.func @prerope
// ROWMAJOR-NOT: strided
