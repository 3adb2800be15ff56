// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: 
// gpu-options: 


// Hugging Face layouts: q, k, v are [B, S, H, D] (the projections' layout)
// and transposed to [B, H, S, D] in the IR; the result is transposed back and
// flattened to [B, S, H * D]. The keys and values need a transpose to
// [B, Hkv, N, D]; the result is produced straight in [1, 1, 64].

// CHECK-LABEL: func.func @hf_layout_transposes(
// CHECK-SAME:      %[[Q:.*]]: tensor<1x1x2x32xf32>, %[[K:.*]]: tensor<1x128x2x32xf32>, %[[V:.*]]: tensor<1x128x2x32xf32>)
// CHECK:         %[[Q3:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0], [1, 2], [3]] : tensor<1x1x2x32xf32> into tensor<1x2x32xf32>
// CHECK:         %[[K3:.*]] = tensor.collapse_shape %[[K]] {{\[}}[0, 1], [2], [3]] : tensor<1x128x2x32xf32> into tensor<128x2x32xf32>
// CHECK:         %[[KT:.*]] = linalg.transpose ins(%[[K3]] : tensor<128x2x32xf32>) outs(%{{.*}} : tensor<2x128x32xf32>) permutation = [1, 0, 2]
// CHECK:         %[[K4:.*]] = tensor.expand_shape %[[KT]] {{\[}}[0, 1], [2], [3]] output_shape [1, 2, 128, 32]
// CHECK:         %[[V3:.*]] = tensor.collapse_shape %[[V]]
// CHECK:         %[[VT:.*]] = linalg.transpose ins(%[[V3]] : tensor<128x2x32xf32>) outs(%{{.*}} : tensor<2x128x32xf32>) permutation = [1, 0, 2]
// CHECK:         %[[V4:.*]] = tensor.expand_shape %[[VT]]
// CHECK:         %[[O:.*]] = multipole.decode_attention %[[Q3]], %[[K4]], %[[V4]] outs(%{{.*}}) {scale = 1.000000e+00 : f32}
// CHECK-SAME:        : tensor<1x2x32xf32>, tensor<1x2x128x32xf32>, tensor<1x2x128x32xf32> outs tensor<1x2x32xf32> -> tensor<1x2x32xf32>
// CHECK:         %[[O1:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1, 2]] : tensor<1x2x32xf32> into tensor<64xf32>
// CHECK:         %[[O3:.*]] = tensor.expand_shape %[[O1]] {{\[}}[0, 1, 2]] output_shape [1, 1, 64]
// CHECK-NOT:     linalg.
// CHECK:         return %[[O3]] : tensor<1x1x64xf32>
func.func @hf_layout_transposes(%q: tensor<1x1x2x32xf32>, %k: tensor<1x128x2x32xf32>,
                                %v: tensor<1x128x2x32xf32>) -> tensor<1x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %qt0 = tensor.empty() : tensor<1x2x1x32xf32>
  %qt = linalg.transpose ins(%q : tensor<1x1x2x32xf32>) outs(%qt0 : tensor<1x2x1x32xf32>)
        permutation = [0, 2, 1, 3]
  %kt0 = tensor.empty() : tensor<1x2x128x32xf32>
  %kt = linalg.transpose ins(%k : tensor<1x128x2x32xf32>) outs(%kt0 : tensor<1x2x128x32xf32>)
        permutation = [0, 2, 1, 3]
  %vt = linalg.transpose ins(%v : tensor<1x128x2x32xf32>) outs(%kt0 : tensor<1x2x128x32xf32>)
        permutation = [0, 2, 1, [[0, 1], [2], [3]] : tensor<1x2x1x32xf32> into tensor<2x1x32xf32>
  %k3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x2x128x32xf32> into tensor<2x128x32xf32>
  %ot0 = tensor.empty() : tensor<1x1x2x32xf32>
  %es = tensor.empty() : tensor<2x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x1x128xf32>) -> tensor<2x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q3, %k3 : tensor<2x1x32xf32>, tensor<2x128x32xf32>)
       outs(%s0 : tensor<2x1x128xf32>) -> tensor<2x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<2x1x128xf32>)
       outs(%es : tensor<2x1x128xf32>) -> tensor<2x1x128xf32>
  %eo = tensor.empty() : tensor<2x1x32xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e "func.func"() <{function_type = (memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32>, memref<2x8x64xbf16>) -> (), sym_name = "merge_split"}> ({
  ^bb0(%arg0: memref<2x8x4x64x1x32xf32>
  %o4 = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 2, 1, 32]
        : tensor<2x1x32xf32> into tensor<1x2x1x32xf32>
  %v3 = tensor.collapse_shape %vt [[0, 1], [2], [3]] : tensor<1x2x128x32xf32> into tensor<2x128x32xf32>
  %ot = linalg.transpose ins(%o4 : tensor<1x2x1x32xf32>) outs(%ot0 : tensor<1x1x2x32xf32>)
        permutation = [0, 2, 1, 3]
  %o = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<1x1x2x32xf32> into tensor<1x1x64xf32>
  return %o : tensor<1x1x64xf32>
}

