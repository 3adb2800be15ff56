// f32 attention with 65 query heads per KV head (GPU conversion tests).
func.func @attn(%q: tensor<1x65x64xf32>, %k: tensor<1x1x1024x64xf32>, %v: tensor<1x1x1024x64xf32>, %lens: tensor<1xi32>) -> tensor<1x65x64xf32> {
  %e = tensor.empty() : tensor<1x65x64xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e) : tensor<1x65x64xf32>, tensor<1x1x1024x64xf32>, tensor<1x1x1024x64xf32>, tensor<1xi32> outs tensor<1x65x64xf32> -> tensor<1x65x64xf32>
  return %o : tensor<1x65x64xf32>
}
