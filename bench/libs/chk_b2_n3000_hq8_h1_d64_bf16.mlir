func.func @attn(%q: tensor<2x8x64xbf16>, %k: tensor<2x1x3000x64xbf16>,
                %v: tensor<2x1x3000x64xbf16>, %lens: tensor<2xi32>) -> tensor<2x8x64xbf16> {
  %e = tensor.empty() : tensor<2x8x64xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x8x64xbf16>, tensor<2x1x3000x64xbf16>, tensor<2x1x3000x64xbf16>, tensor<2xi32>
        outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>
  return %o : tensor<2x8x64xbf16>
}
