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
  linalg.transpose ins(%k : memref<2x100x2x64xf32>) outs(%kt : memref<2x2x100x64xf32>) permutation = [0, 2, 1, 3]
  %vt = memref.alloc() : memref<2x2x100x64xf32>
  linalg.transpose ins(%v : memref<2x100x2x64xf32>) outs(%vt : memref<2x2x100x64xf32>) permutation = [0, 2, 1, 3]
  multipole.decode_attention %q, %kt, %vt lens %lens outs(%out) : memref<2x8x64xf32>, memref<2x2x100x64xf32>, memref<2x2x100x64xf32>, memref<2xi32> outs memref<2x8x64xf32>
  memref.dealloc %kt : memref<2x2x100x64xf32>
  memref.dealloc %vt : memref<2x2x100x64xf32>
  return
}

// -----

// What detection emits for a batch of one (Hugging Face [B, S, H, D] layout):
// unit dims collapsed, the transpose, the batch expanded again. The view goes
// through the reshapes, which are rebuilt on it.

// CHECK-LABEL: func.func @hf_batch1(
// CHECK-SAME:      %[[K:[^:]*]]: memref<1x100x2x64xf32>
// CHECK-NOT:     memref.alloc
// CHECK:         %[[C:.*]] = memref.collapse_shape %[[K]] {{\[}}[0, 1], [2], [3]] : memref<1x100x2x64xf32> into memref<100x2x64xf32>
// CHECK:         %[[T:.*]] = memref.transpose %[[C]] (d0, d1, d2) -> (d1, d0, d2) : memref<100x2x64xf32> to memref<2x100x64xf32, strided<[64, 128, 1]>>
// CHECK:         %[[E:.*]] = memref.expand_shape %[[T]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 100, 64] : memref<2x100x64xf32, strided<[64, 128, 1]>> into memref<1x2x100x64xf32, strided<[128, 64, 128, 1]>>
// CHECK:         multipole.decode_attention %{{.*}}, %[[E]], %[[E]] outs
func.func @hf_batch1(%q: memref<1x8x64xf32>, %k: memref<1x100x2x64xf32>, %out: memref<1x8x64xf32>) {
  %c = memref.collapse_shape %k [[0, 1], [2], [3]] : memref<1x100x2x64xf32> into memref<100x2x64xf32>
  %t = memref.alloc() : memref<2x100x64xf32>
  linalg.transpose ins(%c : memref<100x2x64xf32>) outs(%t : memref<2x100x64xf32>) permutation = [1, 0, 2]
  %e = memref.expand_shape %t [[0, 1], [2], [3]] output_shape [1, 2, 100, 64] : memref<2x100x64xf32> into memref<1x2x100x64xf32>
  multipole.decode_attention %q, %e, %e outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}

// -----

// Kept: the function writes the source after the transpose (the copy holds
// the old values).

// CHECK-LABEL: func.func @source_written(
// CHECK:         memref.alloc
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @source_written(%q: memref<1x8x64xf32>, %k: memref<1x100x2x64xf32>, %out: memref<1x8x64xf32>) {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  %z = arith.constant 0.0 : f32
  linalg.fill ins(%z : f32) outs(%k : memref<1x100x2x64xf32>)
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}

// -----

// Kept: the copy is written after the transpose.

// CHECK-LABEL: func.func @copy_written(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @copy_written(%q: memref<1x8x64xf32>, %k: memref<1x100x2x64xf32>, %out: memref<1x8x64xf32>) {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  %z = arith.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  memref.store %z, %t[%c0, %c0, %c0, %c0] : memref<1x2x100x64xf32>
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}

// -----

// Kept: the copy is returned (the caller may write it), and a source that is
// not a function argument (an allocation: its contents may change).

// CHECK-LABEL: func.func @returned(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
// CHECK-LABEL: func.func @not_an_argument(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @returned(%k: memref<1x100x2x64xf32>) -> memref<1x2x100x64xf32> {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  return %t : memref<1x2x100x64xf32>
}
func.func @not_an_argument(%q: memref<1x8x64xf32>, %out: memref<1x8x64xf32>) {
  %k = memref.alloc() : memref<1x100x2x64xf32>
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}
