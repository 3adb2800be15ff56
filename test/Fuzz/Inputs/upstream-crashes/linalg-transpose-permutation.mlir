// MLIR 22 parser crash (upstream, docs/Fuzzing.md): a permutation entry that
// is not a valid i64.
func.func @f(%a: tensor<2x3xf32>, %b: tensor<3x2xf32>) -> tensor<3x2xf32> {
  %t = linalg.transpose ins(%a : tensor<2x3xf32>) outs(%b : tensor<3x2xf32>) permutation = [0xFFF0000000000000, 0]
  return %t : tensor<3x2xf32>
}
