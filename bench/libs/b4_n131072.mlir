func.func @attn(%q: tensor<4x32x128xbf16>, %k: tensor<4x8x131072x128xbf16>,
                %v: tensor<4x8x131072x128xbf16>, %lens: tensor<4xi32>) -> tensor<4x32x128xbf16> {
  %e = tensor.empty() : tensor<4x32x128xbf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<4x32x128xbf16>, tensor<4x8x131072x128xbf16>, tensor<4x8x131072x128xbf16>, tensor<4xi32>
        outs tensor<4x32x128xbf16> -> tensor<4x32x128xbf16>
  return %o : tensor<4x32x128xbf16>
}
