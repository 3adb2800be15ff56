func.func @attn(%q: tensor<2x8x128xf32>, %k: tensor<2x2x1800x128xf32>,
                %v: tensor<2x2x1800x128xf32>, %lens: tensor<2xi32>) -> tensor<2x8x128xf32> {
  %e = tensor.empty() : tensor<2x8x128xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<2x8x128xf32>, tensor<2x2x1800x128xf32>, tensor<2x2x1800x128xf32>, tensor<2xi32>
        outs tensor<2x8x128xf32> -> tensor<2x8x128xf32>
  return %o : tensor<2x8x128xf32>
}
