// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: 
// gpu-options: 


// What detection emits for a batch of one (Hugging Face [B, S, H, D] layout):
// unit dims collapsed, the transpose, the batch expanded again. The view goes
// through the reshapes, which are rebuilt on it.

// CHECK-LABEL: func.func @hf_batch1(
// CHECK-SAME:      %[[K:[^:]*]]: memref<1x100x2x64xf32>
// CHECK-NOT:     memref.alloc
// CHECK:         %[[C:.*]] = memref.collapse_shape %[[K]] {{\[}}[0, 1], [2], [3]] : memref<1x100x2x64xf32> into memref<100x2x64xf32>
// CHECK:         %[[T:.*]] = memref.transpose %[[C]] (d0, d1, d2) -> (d1, d0, d2) : memref<100x2x64xf32> to  up to f32 rounding (docs/Algorithm.md, "PropertHECK:         %[[E:.*]] = memref.expand_shape %[[T]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 100, 4096] : memref<2x100x64xf32, strided<[64, 128, 1]>> into memref<1x2x100x64xf32, strided<[128, 64, 128, 1]>>
// CHECK:         multipole.decode_attention %{{.*}}, %[[E]], %[[E]] outs
func.func @hf_batch1(%q: memref<1x8x64xf32>, %k: memref<1x100x2x64xf32>, %out: memref<1x8x64xf32>) {
  %c = memref.collapse_shape %k [[0, 1], [2], [3]] : memref<1x100x2x64xf32> into memref<100x2x64xf32>
  %t = memref.alloc() : memref<2x100x64xf32>
  linalg.transpose ins(%c : memref<100x2x64xf32>) outs(%t : memref<2x100x64xf32>) permutation = [4xi32>, %o0: memref<2x2x18xi8>, %o1: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op chunk bases must have element type 'i32', got 'i8'}}
  multipole.select_clustemref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<-1x8x64xf32>
  return
}

