// Decode attention of one Qwen3-8B layer (B = 1, Hq = 32, Hkv = 8, D = 128,
// N = 4096 cached tokens, bf16), in linalg on tensors as torch-mlir lowers the
// eager attention of Hugging Face transformers:
//
//   k = repeat_kv(k, 4); v = repeat_kv(v, 4)        # GQA: 8 -> 32 heads
//   s = torch.matmul(q, k.transpose(2, 3)) * 128 ** -0.5
//   p = softmax(s, dim=-1, dtype=torch.float32).to(torch.bfloat16)
//   o = torch.matmul(p, v)
//
// `repeat_kv` is unsqueeze + expand + reshape; the 4-D matmuls collapse the
// batch and head dimensions into one for linalg.batch_matmul, with bf16
// operands accumulated in f32 as PyTorch does (a batch_matmul with bf16 outs
// would accumulate the 4096-term sums in bf16, visibly off); the softmax is
// decomposed into max / sub / exp / sum / div in f32.
//
//   multipole-opt --multipole-detect-decode-attention examples/qwen3_8b_decode.mlir
//
// replaces all of it by one multipole.decode_attention (plus reshapes of q and
// of the result).

#id4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, d3)>
#keep4 = affine_map<(d0, d1, d2, d3) -> (d0, d1, d2, 0)>
#rep5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, 0, d3, d4)>
#id5 = affine_map<(d0, d1, d2, d3, d4) -> (d0, d1, d2, d3, d4)>
#id3 = affine_map<(d0, d1, d2) -> (d0, d1, d2)>

func.func @qwen3_8b_decode(%q: tensor<1x32x1x128xbf16>,
                           %k: tensor<1x8x4096x128xbf16>,
                           %v: tensor<1x8x4096x128xbf16>)
    -> tensor<1x32x1x128xbf16> {
  %zero_f32 = arith.constant 0.000000e+00 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %scaling = arith.constant 0.088388347648318441 : f64

  // repeat_kv(k, 4): [1, 8, 4096, 128] -> [1, 8, 1, 4096, 128]
  //   -> [1, 8, 4, 4096, 128] -> [1, 32, 4096, 128]
  %k5 = tensor.expand_shape %k [[0], [1, 2], [3], [4]]
      output_shape [1, 8, 1, 4096, 128]
      : tensor<1x8x4096x128xbf16> into tensor<1x8x1x4096x128xbf16>
  %kx0 = tensor.empty() : tensor<1x8x4x4096x128xbf16>
  %kx = linalg.generic {indexing_maps = [#rep5, #id5],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%k5 : tensor<1x8x1x4096x128xbf16>)
      outs(%kx0 : tensor<1x8x4x4096x128xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<1x8x4x4096x128xbf16>
  %kr = tensor.collapse_shape %kx [[0], [1, 2], [3], [4]]
      : tensor<1x8x4x4096x128xbf16> into tensor<1x32x4096x128xbf16>

  // repeat_kv(v, 4)
  %v5 = tensor.expand_shape %v [[0], [1, 2], [3], [4]]
      output_shape [1, 8, 1, 4096, 128]
      : tensor<1x8x4096x128xbf16> into tensor<1x8x1x4096x128xbf16>
  %vx0 = tensor.empty() : tensor<1x8x4x4096x128xbf16>
  %vx = linalg.generic {indexing_maps = [#rep5, #id5],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "parallel"]}
      ins(%v5 : tensor<1x8x1x4096x128xbf16>)
      outs(%vx0 : tensor<1x8x4x4096x128xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    linalg.yield %in : bf16
  } -> tensor<1x8x4x4096x128xbf16>
  %vr = tensor.collapse_shape %vx [[0], [1, 2], [3], [4]]
      : tensor<1x8x4x4096x128xbf16> into tensor<1x32x4096x128xbf16>

  // k.transpose(2, 3)
  %kt0 = tensor.empty() : tensor<1x32x128x4096xbf16>
  %kt = linalg.transpose ins(%kr : tensor<1x32x4096x128xbf16>)
      outs(%kt0 : tensor<1x32x128x4096xbf16>) permutation = [0, 1, 3, 2]

  // torch.matmul(q, k^T) on [32, 1, 128] x [32, 128, 4096]
  %q3 = tensor.collapse_shape %q [[0, 1], [2], [3]]
      : tensor<1x32x1x128xbf16> into tensor<32x1x128xbf16>
  %kt3 = tensor.collapse_shape %kt [[0, 1], [2], [3]]
      : tensor<1x32x128x4096xbf16> into tensor<32x128x4096xbf16>
  %s0 = tensor.empty() : tensor<32x1x4096xf32>
  %sz = linalg.fill ins(%zero_f32 : f32) outs(%s0 : tensor<32x1x4096xf32>)
      -> tensor<32x1x4096xf32>
  %s3f = linalg.batch_matmul
      ins(%q3, %kt3 : tensor<32x1x128xbf16>, tensor<32x128x4096xbf16>)
      outs(%sz : tensor<32x1x4096xf32>) -> tensor<32x1x4096xf32>
  %s3e = tensor.empty() : tensor<32x1x4096xbf16>
  %s3 = linalg.generic {indexing_maps = [#id3, #id3],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s3f : tensor<32x1x4096xf32>) outs(%s3e : tensor<32x1x4096xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<32x1x4096xbf16>
  %s = tensor.expand_shape %s3 [[0, 1], [2], [3]] output_shape [1, 32, 1, 4096]
      : tensor<32x1x4096xbf16> into tensor<1x32x1x4096xbf16>

  // * scaling (aten.mul.Scalar with a Python float)
  %ss0 = tensor.empty() : tensor<1x32x1x4096xbf16>
  %ss = linalg.generic {indexing_maps = [#id4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%s : tensor<1x32x1x4096xbf16>) outs(%ss0 : tensor<1x32x1x4096xbf16>) {
  ^bb0(%in: bf16, %out: bf16):
    %c = arith.truncf %scaling : f64 to bf16
    %m = arith.mulf %in, %c : bf16
    linalg.yield %m : bf16
  } -> tensor<1x32x1x4096xbf16>

  // softmax(dim=-1, dtype=torch.float32)
  %x0 = tensor.empty() : tensor<1x32x1x4096xf32>
  %x = linalg.generic {indexing_maps = [#id4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%ss : tensor<1x32x1x4096xbf16>) outs(%x0 : tensor<1x32x1x4096xf32>) {
  ^bb0(%in: bf16, %out: f32):
    %e = arith.extf %in : bf16 to f32
    linalg.yield %e : f32
  } -> tensor<1x32x1x4096xf32>
  %r0 = tensor.empty() : tensor<1x32x1x1xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%r0 : tensor<1x32x1x1xf32>)
      -> tensor<1x32x1x1xf32>
  %mx = linalg.generic {indexing_maps = [#id4, #keep4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%x : tensor<1x32x1x4096xf32>) outs(%mx0 : tensor<1x32x1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %m = arith.maximumf %in, %acc : f32
    linalg.yield %m : f32
  } -> tensor<1x32x1x1xf32>
  %sub = linalg.generic {indexing_maps = [#id4, #keep4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%x, %mx : tensor<1x32x1x4096xf32>, tensor<1x32x1x1xf32>)
      outs(%x0 : tensor<1x32x1x4096xf32>) {
  ^bb0(%in: f32, %in_max: f32, %out: f32):
    %d = arith.subf %in, %in_max : f32
    linalg.yield %d : f32
  } -> tensor<1x32x1x4096xf32>
  %exp = linalg.generic {indexing_maps = [#id4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%sub : tensor<1x32x1x4096xf32>) outs(%x0 : tensor<1x32x1x4096xf32>) {
  ^bb0(%in: f32, %out: f32):
    %e = math.exp %in : f32
    linalg.yield %e : f32
  } -> tensor<1x32x1x4096xf32>
  %sm0 = linalg.fill ins(%zero_f32 : f32) outs(%r0 : tensor<1x32x1x1xf32>)
      -> tensor<1x32x1x1xf32>
  %sum = linalg.generic {indexing_maps = [#id4, #keep4],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%exp : tensor<1x32x1x4096xf32>) outs(%sm0 : tensor<1x32x1x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %a = arith.addf %in, %acc : f32
    linalg.yield %a : f32
  } -> tensor<1x32x1x1xf32>
  %p = linalg.generic {indexing_maps = [#id4, #keep4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%exp, %sum : tensor<1x32x1x4096xf32>, tensor<1x32x1x1xf32>)
      outs(%x0 : tensor<1x32x1x4096xf32>) {
  ^bb0(%in: f32, %in_sum: f32, %out: f32):
    %d = arith.divf %in, %in_sum : f32
    linalg.yield %d : f32
  } -> tensor<1x32x1x4096xf32>

  // .to(torch.bfloat16)
  %pb0 = tensor.empty() : tensor<1x32x1x4096xbf16>
  %pb = linalg.generic {indexing_maps = [#id4, #id4],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}
      ins(%p : tensor<1x32x1x4096xf32>) outs(%pb0 : tensor<1x32x1x4096xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<1x32x1x4096xbf16>

  // torch.matmul(p, v) on [32, 1, 4096] x [32, 4096, 128]
  %p3 = tensor.collapse_shape %pb [[0, 1], [2], [3]]
      : tensor<1x32x1x4096xbf16> into tensor<32x1x4096xbf16>
  %v3 = tensor.collapse_shape %vr [[0, 1], [2], [3]]
      : tensor<1x32x4096x128xbf16> into tensor<32x4096x128xbf16>
  %o0 = tensor.empty() : tensor<32x1x128xf32>
  %oz = linalg.fill ins(%zero_f32 : f32) outs(%o0 : tensor<32x1x128xf32>)
      -> tensor<32x1x128xf32>
  %o3f = linalg.batch_matmul
      ins(%p3, %v3 : tensor<32x1x4096xbf16>, tensor<32x4096x128xbf16>)
      outs(%oz : tensor<32x1x128xf32>) -> tensor<32x1x128xf32>
  %o3e = tensor.empty() : tensor<32x1x128xbf16>
  %o3 = linalg.generic {indexing_maps = [#id3, #id3],
      iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%o3f : tensor<32x1x128xf32>) outs(%o3e : tensor<32x1x128xbf16>) {
  ^bb0(%in: f32, %out: bf16):
    %t = arith.truncf %in : f32 to bf16
    linalg.yield %t : bf16
  } -> tensor<32x1x128xbf16>
  %o = tensor.expand_shape %o3 [[0, 1], [2], [3]] output_shape [1, 32, 1, 128]
      : tensor<32x1x128xbf16> into tensor<1x32x1x128xbf16>
  return %o : tensor<1x32x1x128xbf16>
}
