# The test IR of one decode attention: `ir B N Hq Hkv D dtype` prints a function
# @attn(q, k, v, lens) -> out with multipole.decode_attention of that shape.
# Sourced by bench/compile_libs.sh and scripts/kernel_snapshot.sh.
ir() { # B N Hq Hkv D dtype
  local B=$1 N=$2 HQ=$3 H=$4 D=$5 T=$6
  cat <<MLIR
func.func @attn(%q: tensor<${B}x${HQ}x${D}x${T}>, %k: tensor<${B}x${H}x${N}x${D}x${T}>,
                %v: tensor<${B}x${H}x${N}x${D}x${T}>, %lens: tensor<${B}xi32>) -> tensor<${B}x${HQ}x${D}x${T}> {
  %e = tensor.empty() : tensor<${B}x${HQ}x${D}x${T}>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<${B}x${HQ}x${D}x${T}>, tensor<${B}x${H}x${N}x${D}x${T}>, tensor<${B}x${H}x${N}x${D}x${T}>, tensor<${B}xi32>
        outs tensor<${B}x${HQ}x${D}x${T}> -> tensor<${B}x${HQ}x${D}x${T}>
  return %o : tensor<${B}x${HQ}x${D}x${T}>
}
MLIR
}
# The same attention over a [B, N, Hkv, D] cache (FlashAttention / vLLM layout):
# `ir_bnhd B N Hq Hkv D dtype`; k and v are transposed to [B, Hkv, N, D] in the
# function, which the compiler reads in place (multipole-transpose-views).
ir_bnhd() { # B N Hq Hkv D dtype
  local B=$1 N=$2 HQ=$3 H=$4 D=$5 T=$6
  local KV="${B}x${N}x${H}x${D}x${T}" KT="${B}x${H}x${N}x${D}x${T}"
  cat <<MLIR
func.func @attn(%q: tensor<${B}x${HQ}x${D}x${T}>, %k: tensor<${KV}>, %v: tensor<${KV}>,
                %lens: tensor<${B}xi32>) -> tensor<${B}x${HQ}x${D}x${T}> {
  %k0 = tensor.empty() : tensor<${KT}>
  %kt = linalg.transpose ins(%k : tensor<${KV}>) outs(%k0 : tensor<${KT}>) permutation = [0, 2, 1, 3]
  %v0 = tensor.empty() : tensor<${KT}>
  %vt = linalg.transpose ins(%v : tensor<${KV}>) outs(%v0 : tensor<${KT}>) permutation = [0, 2, 1, 3]
  %e = tensor.empty() : tensor<${B}x${HQ}x${D}x${T}>
  %o = multipole.decode_attention %q, %kt, %vt lens %lens outs(%e)
      : tensor<${B}x${HQ}x${D}x${T}>, tensor<${KT}>, tensor<${KT}>, tensor<${B}xi32>
        outs tensor<${B}x${HQ}x${D}x${T}> -> tensor<${B}x${HQ}x${D}x${T}>
  return %o : tensor<${B}x${HQ}x${D}x${T}>
}
MLIR
}
