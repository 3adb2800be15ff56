// upstream-parser
// multipole-fuzz path: rewrite+gpu-conversion
// rewrite-options: coarse-fraction=9223372036854775807 centroid-type=1024
// gpu-options: score-splits=f32 approx-splits=1.0 programmatic-launch=0
// reproduce: multipole-opt --pass-pipeline='builtin.module(func.func(multipole-detect-decode-attention),multipole-rewrite{coarse-fraction=9223372036854775807 centroid-type=1024},one-shot-bufferize{bufferize-function-boundaries function-boundary-type-conversion=identity-layout-map},drop-equivalent-buffer-results,multipole-drop-aliasing-results,multipole-distinct-results,multipole-transpose-views,buffer-results-to-out-params{hoist-static-allocs modify-public-functions},buffer-deallocation-pipeline,multipole-gpu-plan,convert-multipole-to-gpu{score-splits=f32 approx-splits=1.0 programmatic-launch=0},multipole-gpu-programmatic-launch{score-splits=f32 approx-splits=1.0 programmatic-launch=0})' FILE


// Kept: the copy is written after the transpose.

// CHECK-LABEL: func.func @copy_written(
// CHECK:         linalg.transpose
// CHECK-NOT:     memref.transpose
func.func @copy_written(%q: memref<1x8x64xf32>, %k: memref<1x100x2x64xf32>, %out: memref<1x8x64xf32>) {
  %t = memref.alloc() : memref<1x2x100x64xf32>
  linalg.transpose ins(%k : memref<1x100x2x64xf32>) outs(%t : memref<1x2x100x64xf32>) permutation = [0, 2, 1,th.constant 0.0 : f32
  %c0 = arith.constant 0 : index
  memref.store %z, %t[%c0, %c0, %c0, %c0] : memref<1x2x100x64xf32>
  multipole.decode_attention %q, %t, %t outs(%out) : memref<1x8x64xf32>, memref<1x2x100x64xf32>, memref<1x2x100x64xf32> outs memref<1x8x64xf32>
  return
}

