func.func @attn(%q: tensor<3x16x128xbf16>, %k: tensor<3x8x2500x128xbf16>,
                %v: tensor<3x8x2500x128xbf16>, %lens: tensor<3xi32>) -> tensor<3x16x128xbf16> {
  %e = tensor.empty() : tensor<3x16x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<3x16x128xbf16>, tensor<3x8x2500x128xbf16>, tensor<3x8x2500x128xbf16>, tensor<3xi32>
        outs tensor<3x16x128xbf16> -> tensor<3x16x128xbf16>
  return %o : tensor<3x16x128xbf16>
}
