// upstream-parser
// multipole-fuzz path: detect+rewrite
// rewrite-options: 
// gpu-options: score-lane-floats=4
// reproduce: multipole-opt --pass-pipeline='builtin.module(func.func(multipole-detect-decode-attention),multipole-rewrite{})' FILE


// Kept: the function writes the source after the transpose (the copy holds
// the old values).

// CHECK-LABEL: func.func @source_written(
// CHECK:         memref.alloc
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @source_written(%q: memref<1x8x33xf32>, %k: memref<1x100x2x33xf32>, %out: memref<1x8x33xf32>) {
  %t = memref.alloc() : memref<1x2x100x33xf32>
  linalg.transpose ins(%k : memref<1x100x2x33xf32>) outs(%t : memref<1x2x100x33xf32>) permutation = [0, 2, 0.0 : f32
  linalg.fill ins(%z : f32) outs(%k : memref<1x100x2x33xf32>)
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x33xf32>, memref<1x2x100x33xf32>, memref<1x2x100x33xf32> outs memref<1x8x33xf32>
  return
}

