// RUN: multipole-opt %s --multipole-detect-decode-attention -split-input-file --verify-diagnostics | FileCheck %s

// Where nothing is detected in a function that has a contraction and a
// softmax, one remark at a contraction says why (the failed attempt that came
// furthest); --verify-diagnostics also checks that no other function gets one.

// MHA in f32 with the heads flattened into the batch: batch_matmul with a
// transposed key map, linalg.softmax, no scaling (recorded as 1.0: the op's
// default would be 1/sqrt(D)). Flattened keys give B = 1, Hkv = 8.

// CHECK-LABEL: func.func @mha_bmm_softmax_f32(
// CHECK-SAME:      %[[Q:.*]]: tensor<8x1x64xf32>, %[[K:.*]]: tensor<8x128x64xf32>, %[[V:.*]]: tensor<8x128x64xf32>)
// CHECK-NOT:     linalg.
// CHECK:         %[[Q2:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0], [1, 2]] : tensor<8x1x64xf32> into tensor<8x64xf32>
// CHECK:         %[[Q3:.*]] = tensor.expand_shape %[[Q2]] {{\[}}[0, 1], [2]] output_shape [1, 8, 64] : tensor<8x64xf32> into tensor<1x8x64xf32>
// CHECK:         %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 128, 64]
// CHECK:         %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1], [2], [3]] output_shape [1, 8, 128, 64]
// CHECK:         %[[INIT:.*]] = tensor.empty() : tensor<1x8x64xf32>
// CHECK:         %[[O:.*]] = multipole.decode_attention %[[Q3]], %[[K4]], %[[V4]] outs(%[[INIT]]) {scale = 1.000000e+00 : f32}
// CHECK-SAME:        : tensor<1x8x64xf32>, tensor<1x8x128x64xf32>, tensor<1x8x128x64xf32> outs tensor<1x8x64xf32> -> tensor<1x8x64xf32>
// CHECK:         %[[O2:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0, 1], [2]]
// CHECK:         %[[O3:.*]] = tensor.expand_shape %[[O2]] {{\[}}[0], [1, 2]] output_shape [8, 1, 64]
// CHECK-NOT:     linalg.
// CHECK:         return %[[O3]] : tensor<8x1x64xf32>
func.func @mha_bmm_softmax_f32(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                               %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// 4-D tensors as torch.matmul lowers them: K transposed by linalg.transpose
// feeding a plain batch_matmul, scores divided by sqrt(32), softmax on the
// 4-D scores. The 4-D q, k, v are already [B, H, 1, D] / [B, H, N, D].

// CHECK-LABEL: func.func @transposed_k_div_scale(
// CHECK-SAME:      %[[Q:.*]]: tensor<1x4x1x32xf32>, %[[K:.*]]: tensor<1x4x64x32xf32>, %[[V:.*]]: tensor<1x4x64x32xf32>)
// CHECK-NOT:     linalg.
// CHECK:         %[[Q3:.*]] = tensor.collapse_shape %[[Q]] {{\[}}[0], [1], [2, 3]] : tensor<1x4x1x32xf32> into tensor<1x4x32xf32>
// CHECK:         %[[O:.*]] = multipole.decode_attention %[[Q3]], %[[K]], %[[V]] outs(%{{.*}}) {scale = 0.176776692 : f32}
// CHECK-SAME:        : tensor<1x4x32xf32>, tensor<1x4x64x32xf32>, tensor<1x4x64x32xf32> outs tensor<1x4x32xf32> -> tensor<1x4x32xf32>
// CHECK:         %[[O4:.*]] = tensor.expand_shape %[[O]] {{\[}}[0], [1], [2, 3]] output_shape [1, 4, 1, 32]
// CHECK-NOT:     linalg.
// CHECK:         return %[[O4]]
func.func @transposed_k_div_scale(%q: tensor<1x4x1x32xf32>, %k: tensor<1x4x64x32xf32>,
                                  %v: tensor<1x4x64x32xf32>) -> tensor<1x4x1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %sqrt_d = arith.constant 5.65685415 : f32
  %kt0 = tensor.empty() : tensor<1x4x32x64xf32>
  %kt = linalg.transpose ins(%k : tensor<1x4x64x32xf32>) outs(%kt0 : tensor<1x4x32x64xf32>)
        permutation = [0, 1, 3, 2]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]] : tensor<1x4x1x32xf32> into tensor<4x1x32xf32>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x4x32x64xf32> into tensor<4x32x64xf32>
  %e0 = tensor.empty() : tensor<4x1x64xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<4x1x64xf32>) -> tensor<4x1x64xf32>
  %s3 = linalg.batch_matmul ins(%q3, %kt3 : tensor<4x1x32xf32>, tensor<4x32x64xf32>)
        outs(%s0 : tensor<4x1x64xf32>) -> tensor<4x1x64xf32>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [1, 4, 1, 64]
       : tensor<4x1x64xf32> into tensor<1x4x1x64xf32>
  %e1 = tensor.empty() : tensor<1x4x1x64xf32>
  %ss = linalg.generic {
      indexing_maps = [affine_map<(a, b, c, d) -> (a, b, c, d)>,
                       affine_map<(a, b, c, d) -> (a, b, c, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x4x1x64xf32>) outs(%e1 : tensor<1x4x1x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %r = arith.divf %in, %sqrt_d : f32
    linalg.yield %r : f32
  } -> tensor<1x4x1x64xf32>
  %p = linalg.softmax dimension(3) ins(%ss : tensor<1x4x1x64xf32>)
       outs(%e1 : tensor<1x4x1x64xf32>) -> tensor<1x4x1x64xf32>
  %p3 = tensor.collapse_shape %p [[0, 1], [2], [3]] : tensor<1x4x1x64xf32> into tensor<4x1x64xf32>
  %v3 = tensor.collapse_shape %v [[0, 1], [2], [3]] : tensor<1x4x64x32xf32> into tensor<4x64x32xf32>
  %e2 = tensor.empty() : tensor<4x1x32xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e2 : tensor<4x1x32xf32>) -> tensor<4x1x32xf32>
  %o3 = linalg.batch_matmul ins(%p3, %v3 : tensor<4x1x64xf32>, tensor<4x64x32xf32>)
        outs(%o0 : tensor<4x1x32xf32>) -> tensor<4x1x32xf32>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 4, 1, 32]
       : tensor<4x1x32xf32> into tensor<1x4x1x32xf32>
  return %o : tensor<1x4x1x32xf32>
}

// -----

// IREE-style: both contractions are linalg.generic einsums on [B, H, D] and
// [B, H, N, D] (B = 2), the query is scaled before the contraction, and the
// softmax is decomposed with exp(x - max) fused in one op and a
// multiplication by the reciprocal of the sum. Already canonical: no reshape.

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#row = affine_map<(b, h, n) -> (b, h)>
#id2 = affine_map<(b, h) -> (b, h)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @generic_contractions_decomposed(
// CHECK-SAME:      %[[Q:.*]]: tensor<2x4x64xf32>, %[[K:.*]]: tensor<2x4x128x64xf32>, %[[V:.*]]: tensor<2x4x128x64xf32>)
// CHECK-NEXT:    %[[INIT:.*]] = tensor.empty() : tensor<2x4x64xf32>
// CHECK-NEXT:    %[[O:.*]] = multipole.decode_attention %[[Q]], %[[K]], %[[V]] outs(%[[INIT]]) {scale = 1.250000e-01 : f32}
// CHECK-SAME:        : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32> outs tensor<2x4x64xf32> -> tensor<2x4x64xf32>
// CHECK-NEXT:    return %[[O]] : tensor<2x4x64xf32>
func.func @generic_contractions_decomposed(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
                                           %v: tensor<2x4x128x64xf32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %eq = tensor.empty() : tensor<2x4x64xf32>
  %qs = linalg.generic {indexing_maps = [#id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%q : tensor<2x4x64xf32>) outs(%eq : tensor<2x4x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %c, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%qs, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %er = tensor.empty() : tensor<2x4xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row],
                        iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<2x4x128xf32>) outs(%mx0 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maxnumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %e = linalg.generic {indexing_maps = [#id3, #row, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<2x4x128xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %d = arith.subf %x, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<2x4xf32>) -> tensor<2x4xf32>
  %sum = linalg.generic {indexing_maps = [#id3, #row],
                         iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<2x4x128xf32>) outs(%sm0 : tensor<2x4xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %in, %acc : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %rcp = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%sum : tensor<2x4xf32>) outs(%er : tensor<2x4xf32>) {
  ^bb0(%in: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %in : f32
    linalg.yield %r : f32
  } -> tensor<2x4xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3],
                       iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %rcp : tensor<2x4x128xf32>, tensor<2x4xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %r: f32, %out: f32):
    %y = arith.mulf %x, %r : f32
    linalg.yield %y : f32
  } -> tensor<2x4x128xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eq : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

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
        dimensions = [2]
  %kr = tensor.collapse_shape %kb [[0, 1, 2], [3], [4]] : tensor<1x2x4x256x64xf16> into tensor<8x256x64xf16>
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
       outs(%es : tensor<8x1x256xf16>) -> tensor<8x1x256xf16>
  %eo = tensor.empty() : tensor<8x1x64xf16>
  %o0 = linalg.fill ins(%zero : f16) outs(%eo : tensor<8x1x64xf16>) -> tensor<8x1x64xf16>
  %o3 = linalg.batch_matmul ins(%p, %vr : tensor<8x1x256xf16>, tensor<8x256x64xf16>)
        outs(%o0 : tensor<8x1x64xf16>) -> tensor<8x1x64xf16>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 8, 1, 64]
       : tensor<8x1x64xf16> into tensor<1x8x1x64xf16>
  return %o : tensor<1x8x1x64xf16>
}

// -----

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
        permutation = [0, 2, 1, 3]
  %q3 = tensor.collapse_shape %qt [[0, 1], [2], [3]] : tensor<1x2x1x32xf32> into tensor<2x1x32xf32>
  %k3 = tensor.collapse_shape %kt [[0, 1], [2], [3]] : tensor<1x2x128x32xf32> into tensor<2x128x32xf32>
  %v3 = tensor.collapse_shape %vt [[0, 1], [2], [3]] : tensor<1x2x128x32xf32> into tensor<2x128x32xf32>
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
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %o3 = linalg.batch_matmul ins(%p, %v3 : tensor<2x1x128xf32>, tensor<2x128x32xf32>)
        outs(%o0 : tensor<2x1x32xf32>) -> tensor<2x1x32xf32>
  %o4 = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 2, 1, 32]
        : tensor<2x1x32xf32> into tensor<1x2x1x32xf32>
  %ot0 = tensor.empty() : tensor<1x1x2x32xf32>
  %ot = linalg.transpose ins(%o4 : tensor<1x2x1x32xf32>) outs(%ot0 : tensor<1x1x2x32xf32>)
        permutation = [0, 2, 1, 3]
  %o = tensor.collapse_shape %ot [[0], [1], [2, 3]] : tensor<1x1x2x32xf32> into tensor<1x1x64xf32>
  return %o : tensor<1x1x64xf32>
}

// -----

// One head with 2-D linalg.matmul (transposed key map), an additive mask that
// is a constant zero (accepted), and a decomposed softmax with keepdim
// reductions and a compare/select max, computed in f32 from bf16 operands.

#id2 = affine_map<(m, n) -> (m, n)>
#keep = affine_map<(m, n) -> (m, 0)>

// CHECK-LABEL: func.func @matmul_zero_mask_bf16(
// CHECK-SAME:      %[[Q:.*]]: tensor<1x64xbf16>, %[[K:.*]]: tensor<128x64xbf16>, %[[V:.*]]: tensor<128x64xbf16>)
// CHECK-NOT:     linalg.
// CHECK:         %[[Q3:.*]] = tensor.expand_shape %[[Q]] {{\[}}[0], [1, 2]] output_shape [1, 1, 64] : tensor<1x64xbf16> into tensor<1x1x64xbf16>
// CHECK:         %[[K4:.*]] = tensor.expand_shape %[[K]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 128, 64] : tensor<128x64xbf16> into tensor<1x1x128x64xbf16>
// CHECK:         %[[V4:.*]] = tensor.expand_shape %[[V]] {{\[}}[0, 1, 2], [3]] output_shape [1, 1, 128, 64]
// CHECK:         %[[O:.*]] = multipole.decode_attention %[[Q3]], %[[K4]], %[[V4]] outs(%{{.*}}) {scale = 1.000000e+00 : f32}
// CHECK-SAME:        : tensor<1x1x64xbf16>, tensor<1x1x128x64xbf16>, tensor<1x1x128x64xbf16> outs tensor<1x1x64xbf16> -> tensor<1x1x64xbf16>
// CHECK:         %[[O2:.*]] = tensor.collapse_shape %[[O]] {{\[}}[0], [1, 2]] : tensor<1x1x64xbf16> into tensor<1x64xbf16>
// CHECK-NOT:     linalg.
// CHECK:         return %[[O2]]
func.func @matmul_zero_mask_bf16(%q: tensor<1x64xbf16>, %k: tensor<128x64xbf16>,
                                 %v: tensor<128x64xbf16>) -> tensor<1x64xbf16> {
  %zero = arith.constant 0.0 : f32
  %lowest = arith.constant -3.40282347E+38 : f32
  %mask = arith.constant dense<0.0> : tensor<1x128xf32>
  %es = tensor.empty() : tensor<1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<1x128xf32>) -> tensor<1x128xf32>
  %s = linalg.matmul indexing_maps = [
         affine_map<(m, n, d) -> (m, d)>,
         affine_map<(m, n, d) -> (n, d)>,
         affine_map<(m, n, d) -> (m, n)>]
       ins(%q, %k : tensor<1x64xbf16>, tensor<128x64xbf16>)
       outs(%s0 : tensor<1x128xf32>) -> tensor<1x128xf32>
  %sm = linalg.generic {indexing_maps = [#id2, #id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%s, %mask : tensor<1x128xf32>, tensor<1x128xf32>) outs(%es : tensor<1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.addf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x128xf32>
  %er = tensor.empty() : tensor<1x1xf32>
  %mx0 = linalg.fill ins(%lowest : f32) outs(%er : tensor<1x1xf32>) -> tensor<1x1xf32>
  %mx = linalg.generic {indexing_maps = [#id2, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%sm : tensor<1x128xf32>) outs(%mx0 : tensor<1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %gt = arith.cmpf ogt, %in, %acc : f32
    %r = arith.select %gt, %in, %acc : f32
    linalg.yield %r : f32
  } -> tensor<1x1xf32>
  %d = linalg.generic {indexing_maps = [#id2, #keep, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%sm, %mx : tensor<1x128xf32>, tensor<1x1xf32>) outs(%es : tensor<1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.subf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<1x128xf32>
  %e = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%d : tensor<1x128xf32>) outs(%es : tensor<1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.exp %x : f32
    linalg.yield %r : f32
  } -> tensor<1x128xf32>
  %sum0 = linalg.fill ins(%zero : f32) outs(%er : tensor<1x1xf32>) -> tensor<1x1xf32>
  %sum = linalg.generic {indexing_maps = [#id2, #keep], iterator_types = ["parallel", "reduction"]}
      ins(%e : tensor<1x128xf32>) outs(%sum0 : tensor<1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<1x1xf32>
  %pb0 = tensor.empty() : tensor<1x128xbf16>
  %p = linalg.generic {indexing_maps = [#id2, #keep, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%e, %sum : tensor<1x128xf32>, tensor<1x1xf32>) outs(%pb0 : tensor<1x128xbf16>) {
  ^bb0(%x: f32, %t: f32, %out: bf16):
    %r = arith.divf %x, %t : f32
    %b = arith.truncf %r : f32 to bf16
    linalg.yield %b : bf16
  } -> tensor<1x128xbf16>
  %eo = tensor.empty() : tensor<1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<1x64xf32>) -> tensor<1x64xf32>
  %of = linalg.matmul ins(%p, %v : tensor<1x128xbf16>, tensor<128x64xbf16>)
        outs(%o0 : tensor<1x64xf32>) -> tensor<1x64xf32>
  %ob0 = tensor.empty() : tensor<1x64xbf16>
  %o = linalg.generic {indexing_maps = [#id2, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%of : tensor<1x64xf32>) outs(%ob0 : tensor<1x64xbf16>) {
  ^bb0(%x: f32, %out: bf16):
    %b = arith.truncf %x : f32 to bf16
    linalg.yield %b : bf16
  } -> tensor<1x64xbf16>
  return %o : tensor<1x64xbf16>
}

// -----

// Negative: two query tokens per head (prefill-like), left alone.

// CHECK-LABEL: func.func @two_query_tokens(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @two_query_tokens(%q: tensor<8x2x64xf32>, %k: tensor<8x128x64xf32>,
                            %v: tensor<8x128x64xf32>) -> tensor<8x2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x2x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x2x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x2x128xf32>)
       outs(%e0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %e1 = tensor.empty() : tensor<8x2x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x2x64xf32>) -> tensor<8x2x64xf32>
  // expected-remark @below {{decode attention not detected: the query has 2 tokens (one is required)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x2x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x2x64xf32>) -> tensor<8x2x64xf32>
  return %o : tensor<8x2x64xf32>
}

// -----

// Negative: no softmax, the raw scores multiply V.

// CHECK-LABEL: func.func @missing_softmax(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.batch_matmul
// CHECK:         linalg.batch_matmul
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @missing_softmax(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                           %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%s, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: the softmax normalizes over the heads, not over the keys.

// CHECK-LABEL: func.func @softmax_over_heads(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax dimension(0)
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @softmax_over_heads(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                              %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(0) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the softmax is over dimension 0 of the probabilities, but the contraction with V sums over dimension 2 (the keys)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: an additive mask that is not a constant zero.

// CHECK-LABEL: func.func @nonzero_mask(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         arith.addf
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @nonzero_mask(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                        %v: tensor<8x128x64xf32>, %mask: tensor<1x128xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %sm = linalg.generic {
      indexing_maps = [affine_map<(h, m, n) -> (h, m, n)>, affine_map<(h, m, n) -> (m, n)>,
                       affine_map<(h, m, n) -> (h, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mask : tensor<8x1x128xf32>, tensor<1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.addf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the scores get an additive mask that is a runtime tensor whose values are unknown; only a constant-zero mask can be dropped}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: the value head dimension (32) differs from the key one (64);
// valid linalg, but not the op's shape.

// CHECK-LABEL: func.func @value_dim_mismatch(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @value_dim_mismatch(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                              %v: tensor<8x128x32xf32>) -> tensor<8x1x32xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x32xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x32xf32>) -> tensor<8x1x32xf32>
  // expected-remark @below {{decode attention not detected: the head dimension of the values (32) differs from that of the keys (64)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x32xf32>)
       outs(%o0 : tensor<8x1x32xf32>) -> tensor<8x1x32xf32>
  return %o : tensor<8x1x32xf32>
}

// -----

// Negative: K heads are repeated as kv * 4 + g but V heads as g * 2 + kv, so
// query head h reads the keys of one KV head and the values of another.

// CHECK-LABEL: func.func @kv_broadcast_mismatch(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @kv_broadcast_mismatch(%q: tensor<8x1x64xf32>, %k: tensor<2x128x64xf32>,
                                 %v: tensor<2x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %kb0 = tensor.empty() : tensor<2x4x128x64xf32>
  %kb = linalg.broadcast ins(%k : tensor<2x128x64xf32>) outs(%kb0 : tensor<2x4x128x64xf32>)
        dimensions = [1]
  %kr = tensor.collapse_shape %kb [[0, 1], [2], [3]] : tensor<2x4x128x64xf32> into tensor<8x128x64xf32>
  %vb0 = tensor.empty() : tensor<4x2x128x64xf32>
  %vb = linalg.broadcast ins(%v : tensor<2x128x64xf32>) outs(%vb0 : tensor<4x2x128x64xf32>)
        dimensions = [0]
  %vr = tensor.collapse_shape %vb [[0, 1], [2], [3]] : tensor<4x2x128x64xf32> into tensor<8x128x64xf32>
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %kr : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the keys and the values are repeated to the query heads differently}}
  %o = linalg.batch_matmul ins(%p, %vr : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: P @ V reduces over the heads instead of the keys,
// o[n, e] = sum_h p[h, n] * v[h, n, e]. With H = N = 8 every type is the one
// of the real attention.

// CHECK-LABEL: func.func @pv_contracts_over_heads(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @pv_contracts_over_heads(%q: tensor<8x1x64xf32>, %k: tensor<8x8x64xf32>,
                                   %v: tensor<8x8x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x8xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x8x64xf32>)
       outs(%s0 : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x8xf32>)
       outs(%e0 : tensor<8x1x8xf32>) -> tensor<8x1x8xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the softmax is over dimension 2 of the probabilities, but the contraction with V sums over dimension 0 (the keys)}}
  %o = linalg.generic {
      indexing_maps = [affine_map<(n, m, e, h) -> (h, m, n)>,
                       affine_map<(n, m, e, h) -> (h, n, e)>,
                       affine_map<(n, m, e, h) -> (n, m, e)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<8x1x8xf32>, tensor<8x8x64xf32>) outs(%o0 : tensor<8x1x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: the values are one vector broadcast over all tokens.

// CHECK-LABEL: func.func @values_broadcast_over_tokens(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @values_broadcast_over_tokens(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                                        %v: tensor<8x1x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %vb0 = tensor.empty() : tensor<8x128x64xf32>
  %vb = linalg.generic {
      indexing_maps = [affine_map<(h, n, d) -> (h, 0, d)>, affine_map<(h, n, d) -> (h, n, d)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%v : tensor<8x1x64xf32>) outs(%vb0 : tensor<8x128x64xf32>) {
  ^bb0(%in: f32, %out: f32):
    linalg.yield %in : f32
  } -> tensor<8x128x64xf32>
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the values are broadcast over the tokens or the head dimension}}
  %o = linalg.batch_matmul ins(%p, %vb : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: the probabilities are scaled after the softmax (P * 2 @ V).

// CHECK-LABEL: func.func @scaled_probabilities(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.softmax
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @scaled_probabilities(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                                %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p2 = linalg.generic {
      indexing_maps = [affine_map<(h, m, n) -> (h, m, n)>, affine_map<(h, m, n) -> (h, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%p : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = arith.mulf %x, %two : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the probabilities are scaled by a constant before the contraction with V}}
  %o = linalg.batch_matmul ins(%p2, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative, and no remark: a softmax without any contraction.

// CHECK-LABEL: func.func @softmax_only(
// CHECK:         linalg.softmax
func.func @softmax_only(%x: tensor<8x128xf32>) -> tensor<8x128xf32> {
  %e = tensor.empty() : tensor<8x128xf32>
  %p = linalg.softmax dimension(1) ins(%x : tensor<8x128xf32>)
       outs(%e : tensor<8x128xf32>) -> tensor<8x128xf32>
  return %p : tensor<8x128xf32>
}

// -----

// Negative: logit soft-capping (tanh) between the scores and the softmax.

// CHECK-LABEL: func.func @softcap_scores(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         math.tanh
func.func @softcap_scores(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                          %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %t = linalg.generic {
      indexing_maps = [affine_map<(h, m, n) -> (h, m, n)>, affine_map<(h, m, n) -> (h, m, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.tanh %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%t : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the scores pass through linalg.generic (math.tanh) between Q.K^T and the softmax}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: the contractions accumulate into a function argument, not into
// a zero-filled tensor, so neither can start a match.

// CHECK-LABEL: func.func @accumulating_contractions(
// CHECK-NOT:     multipole.decode_attention
func.func @accumulating_contractions(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                                     %v: tensor<8x128x64xf32>, %acc: tensor<8x1x64xf32>,
                                     %sacc: tensor<8x1x128xf32>) -> tensor<8x1x64xf32> {
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  // expected-remark @below {{decode attention not detected: this contraction is not taken for Q.K^T or P @ V because it accumulates into a tensor that is not zero-filled}}
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%sacc : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%acc : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// The scale folded into K (K / 2, an f32 scalar constant) and into q
// (q * 0.25, a splat), none on the logits: scale = 0.25 / 2. The operands of
// the op are the unscaled q and K.

// CHECK-LABEL: func.func @scale_in_q_and_k(
// CHECK-SAME:      %[[Q:.*]]: tensor<8x1x64xf32>, %[[K:.*]]: tensor<8x128x64xf32>, %[[V:.*]]: tensor<8x128x64xf32>)
// CHECK-NOT:     linalg.
// CHECK:         %[[K4:.*]] = tensor.expand_shape %[[K]]
// CHECK:         multipole.decode_attention %{{.*}}, %[[K4]], %{{.*}} outs(%{{.*}}) {scale = 1.250000e-01 : f32}
// CHECK-NOT:     linalg.
// CHECK:         return
func.func @scale_in_q_and_k(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
                            %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %two = arith.constant 2.0 : f32
  %quarter = arith.constant dense<0.25> : tensor<8x1x64xf32>
  %eq = tensor.empty() : tensor<8x1x64xf32>
  %qs = linalg.generic {
      indexing_maps = [affine_map<(h, m, d) -> (h, m, d)>, affine_map<(h, m, d) -> (h, m, d)>,
                       affine_map<(h, m, d) -> (h, m, d)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%quarter, %q : tensor<8x1x64xf32>, tensor<8x1x64xf32>) outs(%eq : tensor<8x1x64xf32>) {
  ^bb0(%c: f32, %x: f32, %out: f32):
    %r = arith.mulf %c, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x64xf32>
  %ek = tensor.empty() : tensor<8x128x64xf32>
  %ks = linalg.generic {
      indexing_maps = [affine_map<(h, n, d) -> (h, n, d)>, affine_map<(h, n, d) -> (h, n, d)>],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%k : tensor<8x128x64xf32>) outs(%ek : tensor<8x128x64xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = arith.divf %x, %two : f32
    linalg.yield %r : f32
  } -> tensor<8x128x64xf32>
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%qs, %ks : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x1x128xf32>)
       outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}
