// multipole-compile prints the detection remark that says why no decode
// attention was found (release builds of LLVM have no -debug-only), before the
// error that there is nothing to rewrite.
// RUN: not multipole-compile %s --target=cpu -o %t.so 2>&1 | FileCheck %s
// CHECK: remark: decode attention not detected: the query has 2 tokens (one is required)
// CHECK: error: no decode attention was found

func.func @two_tokens(%q: tensor<8x2x64xf32>, %k: tensor<8x128x64xf32>,
                      %v: tensor<8x128x64xf32>) -> tensor<8x2x64xf32> {
  %zero = arith.constant 0.0 : f32
  %e0 = tensor.empty() : tensor<8x2x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x2x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %p = linalg.softmax dimension(2) ins(%s : tensor<8x2x128xf32>)
       outs(%e0 : tensor<8x2x128xf32>) -> tensor<8x2x128xf32>
  %e1 = tensor.empty() : tensor<8x2x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x2x64xf32>) -> tensor<8x2x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x2x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x2x64xf32>) -> tensor<8x2x64xf32>
  return %o : tensor<8x2x64xf32>
}
