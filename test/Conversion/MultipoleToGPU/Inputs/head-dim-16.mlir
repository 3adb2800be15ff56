func.func @attn(%q: tensor<1x4x16xbf16>, %k: tensor<1x2x1024x16xbf16>, %v: tensor<1x2x1024x16xbf16>, %lens: tensor<1xi32>) -> tensor<1x4x16xbf16> {
  %e = tensor.empty() : tensor<1x4x16xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e) : tensor<1x4x16xbf16>, tensor<1x2x1024x16xbf16>, tensor<1x2x1024x16xbf16>, tensor<1xi32> outs tensor<1x4x16xbf16> -> tensor<1x4x16xbf16>
  return %o : tensor<1x4x16xbf16>
}
