// upstream-parser
// multipole-fuzz path: parse+verify
// rewrite-options: build-iters=32 fraction=65536 replacement=32
// gpu-options: splits=64 num-sms=-0.5


// Kept: the copy is returned (the caller may write it), and a source that is
// not a function argument (an allocation: its contents may change).

// CHECK-LABEL: func.func @returned(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
// CHECK-LABEL: func.func @not_an_argument(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @returned(%k: memref<1x100x2x64xf32>) -> memref<1x2x100x64xf32> {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [04) <{operandSegmentSizes = array<i32: 1, 1, 1, 1, 1>}> : (tensor<1x8x64xbf16>, tensor<1x2x1024x64xbf16>, tensor<1x2x1024x64xbf16>, tensoxbf16>) -> tenso
  %t = memref.alloc() : mem
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1, 3]
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}
