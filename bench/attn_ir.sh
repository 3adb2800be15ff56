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
