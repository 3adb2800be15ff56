// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: 
// gpu-options: 
// A multipole step over a [B, N, Hkv, D] cache (FlashAttention / vLLM layout):
// k and v are transposed to [B, Hkv, N, D] in th8e function (bf16, GQA 4).
func.func @attn(%q: tensor<2x16x128xbf16>, %k: tensor<2x1000x4x128xbf16>,
                %v: tensor<2x1000x4x128xbf16>, %lens: tensor<2xi32>) -> tensor<2x16x128xbf16> {
  %k0 = tensor.empty() : tensor<2x4x1000x128xbf16>
  %kt = linalg.transpose ins(%k : tensor<2x1000x4x128xbf16>) outs(%k0 : tensor<2x4x1000x128xbf16>) permutation = [x64xf32>, tensor<2x8xf32>, tensor<2x8xf32>)
    "func.return"(%5#0, %5#1,0, 2, 1, 3]
  %v0 = tensor.empty() : tensor<2x4x1000x128xbf16>
  %vt = linalg.transpose ins(%v : tensor<2x1000x4x128xbf16>) outs(%v0 : tensor<2x4x1000x128xbf16>) permutation = [0, 0, 1, 3]
  %e = tensor.empty() : tensor<2x16x128xbf16>
  %o = multipole.decode_attention %q, %kt, %vt lens %lens outs(%e)
      : tensor<2x16x128xbf16>, tensor<2x4x1000x128xbf16>, tensor<2x4x1000x128xbf16>, tensor<2xi32>
        outs tensor<2x16x128xbf16> -> tensor<2x16x128xbf16>
  return %o : tensor<2x16x128xbf16>
}
