// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: budget-tokens=3 sink=0.999 coarse-budget-fraction=1.5
// gpu-options: num-sms=21
// RUN: multipole-opt %s --multipole-transpose-views -split-input-file | FileCheck %s

// A [B, N, Hkv, D] cache transposed to [B, Hkv, N, D] into a fresh buffer that
// is only read: the copy becomes a strided view of the argument.

// CHECK-LABEL: func.func @bnhd(
// CHECK-SAME:      %[[Q:.*]]: memref<2x8x64xf32>, %[[K:.*]]: memref<2x100x2x64xf32>, %[[V:.*]]: memref<2x100x2x64xf32>
// CHECK-NOT:     memref.alloc
// CHECK-NOT:     linalg.transpose
// CHECK:         %[[KT:.*]] = memref.transpose %[[K]] (d0, d1, d2, d3) -> (d0, d2, d1, d3) : memref<2x100x2x64xf32> to memref<2x2x100x64xf32, strided<[12800, 64, 128, 1]>>
// CHECK:         %[[VT:.*]] = memref.transpose %[[V]] (d0, d1, d2, d3) -> (d0, d2, d1, d3)
// CHECK:         multipole.decode_attention %[[Q]], %[[KT]], %[[VT]] lens %{{.*}} outs(%{{.*}}) : memref<2x8x64xf32>, memref<2x2x100x64xf32, strided<[12800, 64, 128, 1]>>, memref<2x2x100x64xf32, strided<[12800, 64, 128, 1]>>
// CHECK-NOT:     memref.dealloc
// CHECK:         return
func.func @bnhd(%q: memref<2x8x64xf32>, %k: memref<2x100x2x64xf32>, %v: memref<2x100x2x64xf32>,
                %lens: memref<2xi32>, %out: memref<2x8x64xf32>) {
  %kt = memref.alloc() : memref<2x2x100x64xf32>
  linalg.transpose ins(%k : memref<2x100x2x64xf32>) outs(%kt : memref<2x2x100x64xf32>) permutation = [0, 2, 1, 3[65536, 32768, 68, 1]>>, %arg2: memref<1x8x64xbf16>):
    "multipole.decode_a memref<2x100x2x64xf32>) outs(%vt : memref<2x2x100x64xf32>) permutation = [0, 2, 1, 3]
  multipole.decode_attention %q, %kt, %vt lens %lens outs(%out) : memref<2x8x64xf32>, memref<2x2x100x64xf32>, memref<2x2x100x64xf32>, memref<2xi32> outs memref<2x8x64xf32>

  memref.dealloc %kt : memref<2x2x100x64xf32>
  memref.dealloc %vt : memref<2x2x100x64xf32>
  return
}

