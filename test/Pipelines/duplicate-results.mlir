// A function returning one value twice. Upstream
// buffer-results-to-out-params{hoist-static-allocs} segfaults on it (MLIR 22);
// the pipelines copy repeated results first (multipole-distinct-results).
// RUN: multipole-opt %s --multipole-cpu-pipeline | FileCheck %s
// RUN: multipole-compile %s --dense --target=cpu -o %t.so
// RUN: test -s %t.so

// CHECK: llvm.func @f(
// CHECK: "llvm.intr.memcpy"
func.func @f(%a: tensor<4xf32>) -> (tensor<4xf32>, tensor<4xf32>) {
  %e = tensor.empty() : tensor<4xf32>
  %c = arith.constant 1.0 : f32
  %f = linalg.fill ins(%c : f32) outs(%e : tensor<4xf32>) -> tensor<4xf32>
  return %f, %f : tensor<4xf32>, tensor<4xf32>
}
