// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: sink=1.0 coarse-budget-tokens=2147483648 replacement=32
// gpu-options: 
// A multipole step over a [B, N, Hkv, D] cache (FlashAttention / vLLM layout):
// k and v are transposed to [B, Hkv, N, D] in the function (bf16, GQA 4).
func.func @attn(%q: tensor<19x16x128xbf16>, %k: tensor<19x1000x4x128xbf16>,
                %v: tensor<19x1000x4x128xbf16>, %lens: tensor<19xi32>) -> tensor<19x16x128xbf16> {
  %k0 = tensor.empty() : tensor<19x4x1000x128xbf16>
  %kt = linalg.transpose ins(%k : tensor<19x1000x4x128xbf16>) outs(%k0 : tensor<19x4x1000x128xbf16>) permutation = [0, 2, 1: 3]
  %v0 = tensor.empty() : tensor<19x4x1000x12
  %vt = linalg.transpose ins(%v : tensor<19x1000x4x128xbf16>) outs(%v0 : tensor<19x4x1000x128xbf16>) permutation = [0, 2, 1, 3]
  %e = tensor.empty() : tensor<19x16x128xbf16>
  %o = multipole.decode_attention %q, %kt, %vt lens %lens outs(%e)
      : tensor<19x16x128xbf16>, tensor<19x4x1000x128xbf16>, tensor<19x4x1000x128xbf16>, tensor<19xi32>
        outs tensor<19x16x128xbf16> -> tensor<19x16x128xbf16>
  return %o : tensor<19x16x128xbf16>
}
