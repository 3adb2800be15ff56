// multipole-gpu-plan on ops that were never bufferized (found by the fuzzer: a
// nested module that bufferization did not reach) leaves them alone, and
// convert-multipole-to-gpu reports them; it used to read their tensor
// operands as memrefs and crash.
// RUN: not multipole-opt %s --pass-pipeline="builtin.module(multipole-rewrite{interval=16 block-size=64},multipole-gpu-plan,convert-multipole-to-gpu)" 2>&1 | FileCheck %s
// CHECK: error: convert-multipole-to-gpu expects bufferized ops on statically shaped memrefs
// CHECK-NOT: Stack dump
func.func @f(%q: tensor<1x4x16xf32>, %k: tensor<1x2x64x16xf32>, %v: tensor<1x2x64x16xf32>,
             %lens: tensor<1xi32>) -> tensor<1x4x16xf32> {
  %e = tensor.empty() : tensor<1x4x16xf32>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<1x4x16xf32>, tensor<1x2x64x16xf32>, tensor<1x2x64x16xf32>, tensor<1xi32>
        outs tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  return %o : tensor<1x4x16xf32>
}
