func.func @attn(%q: tensor<1x4x64xf16>, %k: tensor<1x1x700x64xf16>,
                %v: tensor<1x1x700x64xf16>, %lens: tensor<1xi32>) -> tensor<1x4x64xf16> {
  %e = tensor.empty() : tensor<1x4x64xf16>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<1x4x64xf16>, tensor<1x1x700x64xf16>, tensor<1x1x700x64xf16>, tensor<1xi32>
        outs tensor<1x4x64xf16> -> tensor<1x4x64xf16>
  return %o : tensor<1x4x64xf16>
}
