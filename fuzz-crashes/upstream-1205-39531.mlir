// upstream-parser
// multipole-fuzz path: detect+rewrite
// rewrite-options: 
// gpu-options: 
// reproduce: multipole-opt --pass-pipeline='builtin.module(func.func(multipole-detect-decode-attention),multipole-rewrite{})' FILE


// Kept: the copy is returned (the caller may write it), and a source that is
// not a function argument (an allocation: its contents may change).

// CHECK-LABEL: func.func @returned(
// CHECK:    linalg.transpose
// CHECK-NOT:     memref.transfunc.func @not_an_argument(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @returned(%k: memref<1x100x2x64xf32>) -> memref<1x2x100x64xf32> {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  return %t : memref<1x2x100x64xf32>
}
func.func @not_an_argument(%q: memref<1x8x64xf32>, %out: memref<1x8x64xf32>) {
  %k = memref.alloc() : memref<1x100x2x64xf32>
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, ttention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}
