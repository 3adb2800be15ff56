func.func @attn(%q: tensor<16x32x128xbf16>, %k: tensor<16x8x32768x128xbf16>,
                %v: tensor<16x8x32768x128xbf16>, %lens: tensor<16xi32>) -> tensor<16x32x128xbf16> {
  %e = tensor.empty() : tensor<16x32x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<16x32x128xbf16>, tensor<16x8x32768x128xbf16>, tensor<16x8x32768x128xbf16>, tensor<16xi32>
        outs tensor<16x32x128xbf16> -> tensor<16x32x128xbf16>
  return %o : tensor<16x32x128xbf16>
}
