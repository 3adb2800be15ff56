// Dense decode attention on the GPU: a split-KV kernel and a combine kernel,
// launched with one CTA per (split, KV head, sequence); K/V rows are read with
// 16-byte vector loads, once for the whole GQA group (4 query heads here), and
// reduced across the 16 lanes of a row with warp shuffles (the 4 heads' sums
// exchanged, then a clustered gpu.subgroup_reduce over the last 4 lanes).
// RUN: multipole-opt %s --convert-multipole-to-gpu="splits=8 mma=false" | FileCheck %s
// RUN: multipole-opt %s --convert-multipole-to-gpu="splits=8" | FileCheck %s --check-prefix=MMA
// RUN: not multipole-opt %s --convert-multipole-to-gpu="threads=48" 2>&1 | FileCheck %s --check-prefix=BAD

// With tensor cores (the default for bf16): 128 threads, the cp.async stages
// in dynamic shared memory (3 x 2 x 64 rows x 256 B + the warps' partials).
// MMA: gpu.launch_func @multipole_kernels::@decode_split_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) dynamic_shared_memory_size %c106640_i32 args(%arg0 : memref<2x32x128xbf16>, %arg1 : memref<2x8x4096x128xbf16>, %arg2 : memref<2x8x4096x128xbf16>, %arg3 : memref<2xi32>, %{{.*}} : memref<2x32x8x128xf32>
// MMA: gpu.launch_func @multipole_kernels::@decode_combine_1
// MMA: gpu.func @decode_split_0
// MMA-SAME: known_block_size = array<i32: 128, 1, 1>
// MMA: gpu.dynamic_shared_memory
// MMA: nvgpu.device_async_copy
// MMA: nvgpu.device_async_create_group
// MMA: nvgpu.device_async_wait %{{.*}} {numGroups = 2 : i32}
// MMA: nvgpu.ldmatrix
// MMA: nvvm.mma.sync {{.*}} multiplicandAPtxType = #nvvm.mma_type<bf16>
// MMA: gpu.subgroup_reduce  maximumf %{{.*}} uniform cluster(size = 4) : (f32) -> f32
// MMA: nvgpu.ldmatrix {{.*}} transpose = true

// CHECK: module attributes {gpu.container_module}
// CHECK: func.func @dense
// CHECK-DAG: %[[PACC:.*]] = gpu.alloc () : memref<2x32x8x128xf32>
// CHECK-DAG: %[[PM:.*]] = gpu.alloc () : memref<2x32x8xf32>
// CHECK: gpu.launch_func @multipole_kernels::@decode_split_0 blocks in (%{{.*}}, %{{.*}}, %{{.*}}) threads in (%{{.*}}, %{{.*}}, %{{.*}}) args(%arg0 : memref<2x32x128xbf16>, %arg1 : memref<2x8x4096x128xbf16>, %arg2 : memref<2x8x4096x128xbf16>, %arg3 : memref<2xi32>, %[[PACC]] : memref<2x32x8x128xf32>
// CHECK: gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK: gpu.dealloc %[[PACC]]
// CHECK: gpu.module @multipole_kernels
// CHECK: gpu.func @decode_split_0
// CHECK-SAME: workgroup
// CHECK-SAME: kernel
// CHECK: vector.load %{{.*}} {alignment = 16 : i64} : memref<2x8x4096x128xbf16>, vector<8xbf16>
// CHECK: gpu.shuffle  xor %{{.*}}, %{{.*}}, %{{.*}} : f32
// CHECK: gpu.subgroup_reduce  add %{{.*}} uniform cluster(size = 4) : (f32) -> f32
// CHECK: gpu.barrier
// CHECK: gpu.func @decode_combine_1
// CHECK: arith.truncf %{{.*}} : f32 to bf16
// BAD: threads must be a multiple of 32 in [32, 1024]

func.func @dense(%q: memref<2x32x128xbf16>, %k: memref<2x8x4096x128xbf16>, %v: memref<2x8x4096x128xbf16>, %lens: memref<2xi32>, %out: memref<2x32x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<2x32x128xbf16>, memref<2x8x4096x128xbf16>, memref<2x8x4096x128xbf16>, memref<2xi32> outs memref<2x32x128xbf16>
  return
}
