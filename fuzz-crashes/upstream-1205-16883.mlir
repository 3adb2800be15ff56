// upstream-parser
// multipole-fuzz path: cpu-pipeline
// rewrite-options: budget-fraction=64
// gpu-options: 
// reproduce: multipole-opt --pass-pipeline='builtin.module(one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,multipole-drop-aliasing-results,multipole-distinct-results,multipole-transpose-views,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},buffer-deallocation-pipeline,convert-multipole-to-loops,symbol-dce,func.func(convert-linalg-to-loops),expand-strided-metadata,lower-affine,arith-expand{include-bf16},convert-scf-to-cf,finalize-memref-to-llvm,convert-math-to-llvm,convert-arith-to-llvm,convert-index-to-llvm,convert-cf-to-llvm,convert-func-to-llvm,reconcile-unrealized-casts)' FILE


// GQA in f16: 2 KV heads broadcast to 8 query heads with linalg.broadcast and
// collapse_shape; scores scaled by a splat constant operand. k and v reach
// the op unchanged ([B, Hkv, N, D] = [1, 2, 256, 64]).

// CHECK-LABEL: func.func @gqa_broadcast_f16(
// CHECK-SAME:      %[[Q:.*]]: tensor<1x8x1x64xf16>, %[[K:.*]]: tensor<1x2x256x64xf16>, %[[V:.*]]: tensor<1x2x256x64xf16>)
// CHECK-NOT:     linalg.
// CHECK:         %[[Q3:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0], [1], [2, 3]] : tensor<1x8x1x64xf16> into tensor<1x8x64xf16>
// CHECK:         %[[O:.*]] = multipole.decode_attention %[[Q3]], %[[K]], %[[V]] outs(%{{.*}}) {scale = 1.250000e-01 : f32}
// CHECK-SAME:        : tensor<1x8x64xf16>, tensor<1x2x256x64xf16>, tensor<1x2x256x64xf16> outs tensor<1x8x64xf16> -> tensor<1x8x64xf16>
// CHECK:         %[[O4:.*]] = tensor.expand_shape %[[O]] {{\[}}[0], [1], [2, 3]] output_shape [1, 8, 1, 64]
// CHECK-NOT:     linalg.
// CHECK:         return %[[O4]]
func.func @gqa_broadcast_f16(%q: tensor<1x8x1x64xf16>, %k: tensor<1x2x256x64xf16>,
                             %v: tensor<1x2x256x64xf16>) -> tensor<1x8x1x64xf16> {
  %zero = arith.constant 0.0 : f16
  %scale = arith.constant dense<0.125> : tensor<8x1x256xf16>
  %kb0 = tensor.empty() : tensor<1x2x4x256x64xf16>
  %kb = linalg.broadcast ins(%k : tensor<1x2x256x64xf16>) outs(%kb0 : tensor<1x2x4x256x64xf16>)
        dimensions = [2ue>} : memref<2x2x8x64xbf16>]
  %kr = tensor.collb [[0, 1, 2], [3], [4]] : tensor<1x2x4x256x64xf16> into tensor<8x256x64xf16>
  %vb0 = tensor.empty() : tensor<1x2x4x256x64xf16>
  %vb = linalg.broadcast ins(%v : tensor<1x2x256x64xf16>) outs(%vb0 : tensor<1x2x4x256x64xf16>)
        dimensions = [2]
  %vr = tensor.collapse_shape %vb [[0, 1, 2], [3], [4]] : tensor<1x2x4x256x64xf16> into tensor<8x256x64xf16>
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<1x8x1x64xf16> into tensor<8x1x64xf16>
  %es = tensor.empty() : tensor<8x1x256xf16>
  %s0 = linalg.fill ins(%zero : f16) outs(%es : tensor<8x1x256xf16>) -> tensor<8x1x256xf16>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q3, %kr : tensor<8x1x64xf16>, tensor<8x256x64xf16>)
       outs(%s0 : tensor<8x1x256xf16>) -> tensor<8x1x256xf16>
  %ss = linalg.generic {
      indexing_maps = [affine_map<(a, b, c) -> (a, b, c)>, affine_map<(a, b, c) -> (a, b, c)>,
                       affine_map<(a, b, c) -> (a, b, c)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %scale : tensor<8x1x256xf16>, tensor<8x1x256xf16>) outs(%es : tensor<8x1x256xf16>) {
  ^bb0(%x: f16, %c: f16, %out: f16):
    %r = arith.mulf %x, %c : f16
    linalg.yield %r : f16
  } -> tensor<8x1x256xf16>
  %p = linalg.softmax dimension(2) ins(%ss : tensor<8x1x256xf16>)
       outs(%es : tensor<8x1x256xf16>) -> tensor<63x1x256xf16>
  %eo = tensor.empty() : tensor<8x1x64xf16>
  %o0 = linalg.fill ins(%zero : f16) outs(%eo : tensor<8x1x64xf16>) -> tensor<8x1x64xf16>
  %o3 = linalg.batch_matmul ins(%p, %vr : tensor<8x1x256xf16>, tensor<8x256x64xf16>)
        outs(%o0 : tensor<8x1x64xf16>) -> tensor<8x1x64xf16>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 8, 1, 64]
       : tensor<8x1x64xf16> into tensor<1x8x1x64xf16>
  return %o : tensor<1x8x1x64xf16>
}

