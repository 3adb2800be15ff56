// RUN: multipole-opt %s -split-input-file --convert-multipole-to-loops -verify-diagnostics
// RUN: not multipole-opt %s -split-input-file --convert-multipole-to-loops 2>&1 | FileCheck %s

// Ops still on tensors are an error: bufferize first.

// CHECK: multipole-to-loops-invalid.mlir:[[@LINE+3]]:8: error: convert-multipole-to-loops expects bufferized ops (memrefs); run one-shot-bufferize first
func.func @tensor_decode_attention(%q: tensor<1x4x16xf32>, %k: tensor<1x4x100x16xf32>, %v: tensor<1x4x100x16xf32>, %o: tensor<1x4x16xf32>) -> tensor<1x4x16xf32> {
  // expected-error @+1 {{convert-multipole-to-loops expects bufferized ops (memrefs); run one-shot-bufferize first}}
  %r = multipole.decode_attention %q, %k, %v outs(%o) : tensor<1x4x16xf32>, tensor<1x4x100x16xf32>, tensor<1x4x100x16xf32> outs tensor<1x4x16xf32> -> tensor<1x4x16xf32>
  return %r : tensor<1x4x16xf32>
}

// -----

// A tensor among memrefs (here the output) is reported too.
// CHECK: multipole-to-loops-invalid.mlir:[[@LINE+3]]:8: error: convert-multipole-to-loops expects bufferized ops
func.func @mixed_merge(%acc: memref<1x4x16xf32>, %m: memref<1x4xf32>, %l: memref<1x4xf32>, %o: tensor<1x4x16xbf16>) -> tensor<1x4x16xbf16> {
  // expected-error @+1 {{convert-multipole-to-loops expects bufferized ops (memrefs); run one-shot-bufferize first}}
  %r = multipole.merge %acc, %m, %l outs(%o) : memref<1x4x16xf32>, memref<1x4xf32>, memref<1x4xf32> outs tensor<1x4x16xbf16> -> tensor<1x4x16xbf16>
  return %r : tensor<1x4x16xbf16>
}

// -----

// Split partials (multipole-gpu-plan) are a GPU form: the CPU backend says so.
func.func @merge_split(%a: memref<2x8x4x64xf32>, %m: memref<2x8x4xf32>, %l: memref<2x8x4xf32>, %o: memref<2x8x64xbf16>) {
  // expected-error @+1 {{split partials are a form of the GPU lowering (multipole-gpu-plan); the CPU backend takes plain partials}}
  multipole.merge %a, %m, %l outs(%o) : memref<2x8x4x64xf32>, memref<2x8x4xf32>, memref<2x8x4xf32> outs memref<2x8x64xbf16>
  return
}
