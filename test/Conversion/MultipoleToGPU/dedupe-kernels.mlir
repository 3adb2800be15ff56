// Kernels with equal specs are generated once: two layers of the same shape
// launch the same kernels; a layer with a longer cache gets its own split
// kernel but shares the combine (which depends on B, Hq, splits and D only).
// RUN: multipole-opt %s --convert-multipole-to-gpu="splits=8" | FileCheck %s

// CHECK-LABEL: func.func @layer0
// CHECK: gpu.launch_func @multipole_kernels::@decode_split_0
// CHECK: gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK-LABEL: func.func @layer1
// CHECK: gpu.launch_func @multipole_kernels::@decode_split_0
// CHECK: gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK-LABEL: func.func @other
// CHECK: gpu.launch_func @multipole_kernels::@decode_split_4
// CHECK: gpu.launch_func @multipole_kernels::@decode_combine_1
// CHECK: gpu.module @multipole_kernels
// CHECK: gpu.func @decode_split_0(
// CHECK: gpu.func @decode_combine_1(
// CHECK: gpu.func @decode_split_4(
// CHECK-NOT: gpu.func @decode_
func.func @layer0(%q: memref<1x8x128xbf16>, %k: memref<1x2x1024x128xbf16>, %v: memref<1x2x1024x128xbf16>, %lens: memref<1xi32>, %out: memref<1x8x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<1x8x128xbf16>, memref<1x2x1024x128xbf16>, memref<1x2x1024x128xbf16>, memref<1xi32> outs memref<1x8x128xbf16>
  return
}
func.func @layer1(%q: memref<1x8x128xbf16>, %k: memref<1x2x1024x128xbf16>, %v: memref<1x2x1024x128xbf16>, %lens: memref<1xi32>, %out: memref<1x8x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<1x8x128xbf16>, memref<1x2x1024x128xbf16>, memref<1x2x1024x128xbf16>, memref<1xi32> outs memref<1x8x128xbf16>
  return
}
func.func @other(%q: memref<1x8x128xbf16>, %k: memref<1x2x2048x128xbf16>, %v: memref<1x2x2048x128xbf16>, %lens: memref<1xi32>, %out: memref<1x8x128xbf16>) {
  multipole.decode_attention %q, %k, %v lens %lens outs(%out) : memref<1x8x128xbf16>, memref<1x2x2048x128xbf16>, memref<1x2x2048x128xbf16>, memref<1xi32> outs memref<1x8x128xbf16>
  return
}
