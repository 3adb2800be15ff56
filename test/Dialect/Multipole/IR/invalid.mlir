// RUN: multipole-opt %s -split-input-file -verify-diagnostics

// One case per verifier error of the multipole ops (MultipoleOps.cpp) and of
// the #multipole.level / #multipole.config attributes. The ops are on memrefs
// (no results) so that only the multipole verifiers are involved.
// Generated layout: B = 2, Hq = 8, Hkv = 2, N = 256, D = 64, C = 18 (level 0),
// C = 6 (level 1).

// decode_attention: query of rank 2
func.func @f(%q: memref<2x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query must have rank 3 [?, ?, ?], got rank 2}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: key cache of rank 3
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op key cache must have rank 4 [?, ?, ?, ?], got rank 3}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: value cache of rank 5
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<1x2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op value cache must have rank 4 [2, 2, 256, 64], got rank 5}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<1x2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: output of rank 2
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x512xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op output must have rank 3 [2, 8, 64], got rank 2}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x512xbf16>
  return
}

// -----

// decode_attention: batch of k differs from q
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<3x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op key cache has shape [3, 2, 256, 64] but expected [2, 2, 256, 64] (dimension 0 is 3, expected 2)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<3x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: head dim of k differs from q
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x32xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op key cache has shape [2, 2, 256, 32] but expected [2, 2, 256, 64] (dimension 3 is 32, expected 64)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x32xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: KV heads of v differ from k
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x4x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op value cache has shape [2, 4, 256, 64] but expected [2, 2, 256, 64] (dimension 1 is 4, expected 2)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x4x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: cache length of v differs from k
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x128x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op value cache has shape [2, 2, 128, 64] but expected [2, 2, 256, 64] (dimension 2 is 128, expected 256)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x128x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: head dim of v differs
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x128xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op value cache has shape [2, 2, 256, 128] but expected [2, 2, 256, 64] (dimension 3 is 128, expected 64)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x128xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: batch of the output differs
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<1x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op output has shape [1, 8, 64] but expected [2, 8, 64] (dimension 0 is 1, expected 2)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<1x8x64xbf16>
  return
}

// -----

// decode_attention: query heads of the output differ
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x4x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op output has shape [2, 4, 64] but expected [2, 8, 64] (dimension 1 is 4, expected 8)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x4x64xbf16>
  return
}

// -----

// decode_attention: head dim of the output differs
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x32xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op output has shape [2, 8, 32] but expected [2, 8, 64] (dimension 2 is 32, expected 64)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x32xbf16>
  return
}

// -----

// decode_attention: Hq not a multiple of Hkv
func.func @f(%q: memref<2x6x64xbf16>, %k: memref<2x4x256x64xbf16>, %v: memref<2x4x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x6x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op number of query heads (6) must be a multiple of the number of KV heads (4)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x6x64xbf16>, memref<2x4x256x64xbf16>, memref<2x4x256x64xbf16>, memref<2xi32> outs memref<2x6x64xbf16>
  return
}

// -----

// decode_attention: unsupported (integer) element type
func.func @f(%q: memref<2x8x64xi32>, %k: memref<2x2x256x64xi32>, %v: memref<2x2x256x64xi32>, %lens: memref<2xi32>, %o0: memref<2x8x64xi32>) {
  // expected-error @+1 {{'multipole.decode_attention' op query element type must be bf16, f16 or f32, got 'i32'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xi32>, memref<2x2x256x64xi32>, memref<2x2x256x64xi32>, memref<2xi32> outs memref<2x8x64xi32>
  return
}

// -----

// decode_attention: unsupported (f64) element type
func.func @f(%q: memref<2x8x64xf64>, %k: memref<2x2x256x64xf64>, %v: memref<2x2x256x64xf64>, %lens: memref<2xi32>, %o0: memref<2x8x64xf64>) {
  // expected-error @+1 {{'multipole.decode_attention' op query element type must be bf16, f16 or f32, got 'f64'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xf64>, memref<2x2x256x64xf64>, memref<2x2x256x64xf64>, memref<2xi32> outs memref<2x8x64xf64>
  return
}

// -----

// decode_attention: k element type differs from q
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query, key cache and value cache must share one element type}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: v element type differs from q
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xf32>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query, key cache and value cache must share one element type}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xf32>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: output element type differs from q
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xf32>) {
  // expected-error @+1 {{'multipole.decode_attention' op output must have element type 'bf16', got 'f32'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xf32>
  return
}

// -----

// decode_attention: zero scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op scale must be positive and finite, got 0.000000e+00}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) {scale = 0.0 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: negative scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op scale must be positive and finite, got -1.250000e-01}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) {scale = -0.125 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: lens of the wrong length
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<3xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op lens has shape [3] but expected [2] (dimension 0 is 3, expected 2)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<3xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: lens of rank 2
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2x1xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op lens must have rank 1 [2], got rank 2}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2x1xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: lens of type i64
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi64>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op lens must have element type 'i32', got 'i64'}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi64> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: no output (generic form: the custom form needs an output type)
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op expected one output, got 0}}
  "multipole.decode_attention"(%q, %k, %v) <{operandSegmentSizes = array<i32: 1, 1, 1, 0, 0>}> : (memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>) -> ()
  return
}

// -----

// decode_attention: two outputs
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>, %o1: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op expected one output, got 2}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0, %o1) : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>, memref<2x8x64xbf16>
  return
}

// -----

// cluster_build: key cache of rank 3
func.func @f(%k: memref<2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op key cache must have rank 4 [?, ?, ?, ?], got rank 3}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: value cache of another length
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x255x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op value cache has shape [2, 2, 255, 64] but expected [2, 2, 256, 64] (dimension 2 is 255, expected 256)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x255x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: key and value element types differ
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op key and value caches must share one element type among bf16, f16 and f32}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: integer caches
func.func @f(%k: memref<2x2x256x64xi32>, %v: memref<2x2x256x64xi32>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op key and value caches must share one element type among bf16, f16 and f32}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xi32>, memref<2x2x256x64xi32>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: lens of the wrong batch
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<4xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op lens has shape [4] but expected [2] (dimension 0 is 4, expected 2)}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<4xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: lens of type f32
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op lens must have element type 'i32', got 'f32'}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xf32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: sink larger than the cache
func.func @f(%k: memref<2x2x8x64xbf16>, %v: memref<2x2x8x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x8xi32>, %asg: memref<2x2x8xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op sink (16 tokens) is larger than the KV cache (8 tokens)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x8x64xbf16>, memref<2x2x8x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x8xi32>, memref<2x2x8xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: sink larger than the cache
func.func @f(%k: memref<2x2x15x64xbf16>, %v: memref<2x2x15x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x15xi32>, %asg: memref<2x2x15xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op sink (16 tokens) is larger than the KV cache (15 tokens)}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x15x64xbf16>, memref<2x2x15x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x15xi32>, memref<2x2x15xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: six index arrays (FIXME: the expected count prints as a control character, see the report; only the rest of the message is checked)
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>) {
  // expected-error @+1 {{arrays (centroids, vcentroids, counts, offsets, members, assign, state), got 6}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>
  return
}

// -----

// cluster_build: centroids of the wrong head dim
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x32xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index centroids has shape [2, 2, 18, 32] but expected [2, 2, 18, 64] (dimension 3 is 32, expected 64)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x32xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: centroids of the wrong KV heads
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x4x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index centroids has shape [2, 4, 18, 64] but expected [2, 2, 18, 64] (dimension 1 is 4, expected 2)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x4x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: bf16 key centroids with f32 value centroids
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xbf16>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index vcentroids must have the element type of the level-0 index centroids ('bf16')}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xbf16>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: centroids of rank 3
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index centroids must have rank 4 [2, 2, 18, 64], got rank 3}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: vcentroids with another capacity
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x17x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op level-0 index vcentroids has shape [2, 2, 17, 64] but expected [2, 2, 18, 64] (dimension 2 is 17, expected 18)}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x17x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: centroids in f16 (f32 or bf16 only)
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf16>, %vc: memref<2x2x18x64xf16>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index centroids must have element type f32 or bf16, got 'f16'}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf16>, memref<2x2x18x64xf16>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: counts with another capacity
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x20xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index counts has shape [2, 2, 20] but expected [2, 2, 18] (dimension 2 is 20, expected 18)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x20xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: counts in i64
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi64>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index counts must have element type 'i32', got 'i64'}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi64>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: offsets of C entries instead of C + 1
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x18xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index offsets has shape [2, 2, 18] but expected [2, 2, 19] (dimension 2 is 18, expected 19)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: offsets in i8
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi8>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op level-0 index offsets must have element type 'i32', got 'i8'}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi8>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: members not of the cache length N
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x255xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index members has shape [2, 2, 255] but expected [2, 2, 256] (dimension 2 is 255, expected 256)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x255xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: members in f32
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xf32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index members must have element type 'i32', got 'f32'}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xf32>, memref<2x2x256xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_update: assign not of the cache length N
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x512xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_update' op level-0 index assign has shape [2, 2, 512] but expected [2, 2, 256] (dimension 2 is 512, expected 256)}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x512xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: assign in i64
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi64>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index assign must have element type 'i32', got 'i64'}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi64>, memref<2x2x4xi32>
  return
}

// -----

// cluster_build: state of 5 entries
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x5xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index state has shape [2, 2, 5] but expected [2, 2, 4] (dimension 2 is 5, expected 4)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x5xi32>
  return
}

// -----

// cluster_update: state in i64
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi64>) {
  // expected-error @+1 {{'multipole.cluster_update' op level-0 index state must have element type 'i32', got 'i64'}}
  multipole.cluster_update %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi64>
  return
}

// -----

// cluster_build: state of rank 2
func.func @f(%k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x8xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op level-0 index state must have rank 3 [2, 2, 4], got rank 2}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x8xi32>
  return
}

// -----

// cluster_coarsen: level 1 with a one-level configuration
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op level 1 is out of range: the configuration has 1 level(s)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: bf16 fine centroids, f32 coarse centroids
func.func @f(%fc: memref<2x2x18x64xbf16>, %fvc: memref<2x2x18x64xbf16>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op coarse index centroids must have the element type of the fine index centroids ('bf16'), got 'f32'}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_fraction = 0.25>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xbf16>, memref<2x2x18x64xbf16>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: level 2
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op level 2 is out of range: the configuration has 2 level(s)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 2 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: negative level
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op level -1 is out of range: the configuration has 2 level(s)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = -1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: level 0 is not a coarse level
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op builds a coarse level: level must be >= 1, got 0}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: fine index with 6 arrays
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op fine index must have 7 arrays, got 6}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: coarse index with 8 arrays (FIXME: count prints as a control character)
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>, %cx7: memref<2x2x4xi32>) {
  // expected-error @+1 {{arrays (centroids, vcentroids, counts, offsets, members, assign, state), got 8}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst, %cx7) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: fine offsets of C entries
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x18xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op fine index offsets has shape [2, 2, 18] but expected [2, 2, 19] (dimension 2 is 18, expected 19)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: coarse centroids of another head dim
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x32xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op coarse index centroids has shape [2, 2, 6, 32] but expected [2, 2, 6, 64] (dimension 3 is 32, expected 64)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x32xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: coarse members not over the fine clusters
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x256xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op coarse index members has shape [2, 2, 256] but expected [2, 2, 18] (dimension 2 is 256, expected 18)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x256xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: coarse assign not over the fine clusters
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x7xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x17xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op coarse index assign has shape [2, 2, 17] but expected [2, 2, 18] (dimension 2 is 17, expected 18)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x7xi32>, memref<2x2x18xi32>, memref<2x2x17xi32>, memref<2x2x4xi32>
  return
}

// -----

// cluster_coarsen: coarse offsets of C + 2 entries
func.func @f(%fc: memref<2x2x18x64xf32>, %fvc: memref<2x2x18x64xf32>, %fn: memref<2x2x18xi32>, %foff: memref<2x2x19xi32>, %fmem: memref<2x2x256xi32>, %fasg: memref<2x2x256xi32>, %fst: memref<2x2x4xi32>, %cc: memref<2x2x6x64xf32>, %cvc: memref<2x2x6x64xf32>, %cn: memref<2x2x6xi32>, %coff: memref<2x2x8xi32>, %cmem: memref<2x2x18xi32>, %casg: memref<2x2x18xi32>, %cst: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_coarsen' op coarse index offsets has shape [2, 2, 8] but expected [2, 2, 7] (dimension 2 is 8, expected 7)}}
  multipole.cluster_coarsen fine(%fc, %fvc, %fn, %foff, %fmem, %fasg, %fst) outs(%cc, %cvc, %cn, %coff, %cmem, %casg, %cst) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32> outs memref<2x2x6x64xf32>, memref<2x2x6x64xf32>, memref<2x2x6xi32>, memref<2x2x8xi32>, memref<2x2x18xi32>, memref<2x2x18xi32>, memref<2x2x4xi32>
  return
}

// -----

// centroid_score: level out of range
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op level 1 is out of range: the configuration has 1 level(s)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 1 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: query of rank 4
func.func @f(%q: memref<2x8x1x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op query must have rank 3 [?, ?, ?], got rank 4}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x1x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: integer query
func.func @f(%q: memref<2x8x64xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op query element type must be bf16, f16 or f32}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: centroids of another head dim than the query
func.func @f(%q: memref<2x8x128xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op index centroids has shape [2, 2, 18, 64] but expected [2, 2, 18, 128] (dimension 3 is 64, expected 128)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x128xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: seven arrays expected (FIXME: count prints as a control character)
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{arrays (centroids, vcentroids, counts, offsets, members, assign, state), got 5}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: counts in f32
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xf32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op index counts must have element type 'i32', got 'f32'}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xf32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: lens of the wrong batch
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<1xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op lens has shape [1] but expected [2] (dimension 0 is 1, expected 2)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<1xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: Hq not a multiple of Hkv
func.func @f(%q: memref<2x7x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x7x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op number of query heads (7) must be a multiple of the number of KV heads (2)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x7x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x7x18xf32>
  return
}

// -----

// centroid_score: one output
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op expected two outputs (scores, logits), got 1}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>
  return
}

// -----

// centroid_score: scores over the query heads
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x8x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op scores has shape [2, 8, 18] but expected [2, 2, 18] (dimension 1 is 8, expected 2)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x8x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// centroid_score: logits of another capacity
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x19xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op logits has shape [2, 8, 19] but expected [2, 8, 18] (dimension 2 is 19, expected 18)}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x19xf32>
  return
}

// -----

// centroid_score: logits in bf16
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xbf16>) {
  // expected-error @+1 {{'multipole.centroid_score' op logits must have element type 'f32', got 'bf16'}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xbf16>
  return
}

// -----

// centroid_score: no index arrays
func.func @f(%q: memref<2x8x64xbf16>, %lens: memref<2xi32>, %r: memref<2x2x18xf32>, %a: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op index must have 7 arrays, got 0}}
  "multipole.centroid_score"(%q, %lens, %r, %a) <{config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, operandSegmentSizes = array<i32: 1, 0, 1, 2>}> : (memref<2x8x64xbf16>, memref<2xi32>, memref<2x2x18xf32>, memref<2x8x18xf32>) -> ()
  return
}

// -----

// select_clusters: level out of range
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op level 2 is out of range: the configuration has 2 level(s)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 2 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: scores in f16
func.func @f(%r: memref<2x2x18xf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op scores must have element type 'f32', got 'f16'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: scores of rank 2
func.func @f(%r: memref<2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op scores must have rank 3 [?, ?, ?], got rank 2}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: scores of another capacity
func.func @f(%r: memref<2x2x17xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op scores has shape [2, 2, 17] but expected [2, 2, 18] (dimension 2 is 17, expected 18)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x17xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: index of the wrong KV heads
func.func @f(%r: memref<2x4x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op index centroids has shape [2, 2, 18, 64] but expected [2, 4, 18, 64] (dimension 1 is 2, expected 4)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x4x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: selection mask in i1
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi1>) {
  // expected-error @+1 {{'multipole.select_clusters' op selection mask must have element type 'i8', got 'i1'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi1>
  return
}

// -----

// select_clusters: selection mask in i32
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi32>) {
  // expected-error @+1 {{'multipole.select_clusters' op selection mask must have element type 'i8', got 'i32'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi32>
  return
}

// -----

// select_clusters: selection mask of another capacity
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x19xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op selection mask has shape [2, 2, 19] but expected [2, 2, 18] (dimension 2 is 19, expected 18)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x19xi8>
  return
}

// -----

// select_clusters: a second output that is not i32 chunk bases
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>, %o1: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op chunk bases must have element type 'i32', got 'i8'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>, memref<2x2x18xi8>
  return
}

// -----

// select_clusters: parent assign in i8
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %pa: memref<2x2x18xi8>, %ps: memref<2x2x6xi8>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op parent assign must have element type 'i32', got 'i8'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x18xi8>, memref<2x2x6xi8>) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: parent assign not over the fine clusters
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %pa: memref<2x2x6xi32>, %ps: memref<2x2x6xi8>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op parent assign has shape [2, 2, 6] but expected [2, 2, 18] (dimension 2 is 6, expected 18)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x6xi32>, memref<2x2x6xi8>) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: parent selection in i32
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %pa: memref<2x2x18xi32>, %ps: memref<2x2x6xi32>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op parent selection must have element type 'i8', got 'i32'}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x18xi32>, memref<2x2x6xi32>) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: parent selection of the wrong batch
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %pa: memref<2x2x18xi32>, %ps: memref<1x2x6xi8>, %o0: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op parent selection has shape [1, 2, 6] but expected [2, 2, ?] (dimension 0 is 1, expected 2)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) parent(%pa, %ps : memref<2x2x18xi32>, memref<1x2x6xi8>) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>
  return
}

// -----

// select_clusters: no index arrays
func.func @f(%r: memref<2x2x18xf32>, %o: memref<2x2x18xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op index must have 7 arrays, got 0}}
  "multipole.select_clusters"(%r, %o) <{config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, operandSegmentSizes = array<i32: 1, 0, 0, 0, 1>}> : (memref<2x2x18xf32>, memref<2x2x18xi8>) -> ()
  return
}

// -----

// sparse_attention: value cache of another length
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x128x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op value cache has shape [2, 2, 128, 64] but expected [2, 2, 256, 64] (dimension 2 is 128, expected 256)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x128x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: Hq not a multiple of Hkv
func.func @f(%q: memref<2x3x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x3x64xf32>, %o1: memref<2x3xf32>, %o2: memref<2x3xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op number of query heads (3) must be a multiple of the number of KV heads (2)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x3x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x3x64xf32>, memref<2x3xf32>, memref<2x3xf32>
  return
}

// -----

// sparse_attention: q and caches of different element types
func.func @f(%q: memref<2x8x64xf32>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op query, key cache and value cache must share one element type}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xf32>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: lens in i64
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi64>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op lens must have element type 'i32', got 'i64'}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi64>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: sink larger than the cache
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x4x64xbf16>, %v: memref<2x2x4x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x4xi32>, %asg: memref<2x2x4xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op sink (16 tokens) is larger than the KV cache (4 tokens)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x4x64xbf16>, memref<2x2x4x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x4xi32>, memref<2x2x4xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: members not of the cache length
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x18xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op level-0 index members has shape [2, 2, 18] but expected [2, 2, 256] (dimension 2 is 18, expected 256)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x18xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: selection mask in i32
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi32>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op selection mask must have element type 'i8', got 'i32'}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi32> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: selection mask of another capacity
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x6xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op selection mask has shape [2, 2, 6] but expected [2, 2, 18] (dimension 2 is 6, expected 18)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x6xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: two outputs
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op expected output partial as three values (acc, m, l), got 2}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: acc over the KV heads
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x2x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op output partial acc has shape [2, 2, 64] but expected [2, 8, 64] (dimension 1 is 2, expected 8)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x2x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: acc in bf16
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xbf16>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op output partial acc must have element type 'f32', got 'bf16'}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xbf16>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: m of rank 3
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8x1xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op output partial m must have rank 2 [2, 8], got rank 3}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8x1xf32>, memref<2x8xf32>
  return
}

// -----

// sparse_attention: l of the wrong batch
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<1x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op output partial l has shape [1, 8] but expected [2, 8] (dimension 0 is 1, expected 2)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<1x8xf32>
  return
}

// -----

// centroid_approx: logits in f16
func.func @f(%a: memref<2x8x18xf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op logits must have element type 'f32', got 'f16'}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: logits of another capacity
func.func @f(%a: memref<2x8x6xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op logits has shape [2, 8, 6] but expected [2, 8, 18] (dimension 2 is 6, expected 18)}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x6xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: Hq not a multiple of Hkv
func.func @f(%a: memref<2x5x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x5x64xf32>, %o1: memref<2x5xf32>, %o2: memref<2x5xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op number of query heads (5) must be a multiple of the number of KV heads (2)}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x5x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x5x64xf32>, memref<2x5xf32>, memref<2x5xf32>
  return
}

// -----

// centroid_approx: selection mask in i1
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi1>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op selection mask must have element type 'i8', got 'i1'}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi1> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: parent selection in i1
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %pa: memref<2x2x18xi32>, %ps: memref<2x2x6xi1>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op parent selection must have element type 'i8', got 'i1'}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel parent(%pa, %ps : memref<2x2x18xi32>, memref<2x2x6xi1>) outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: parent assign of the wrong KV heads
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %pa: memref<2x1x18xi32>, %ps: memref<2x2x6xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op parent assign has shape [2, 1, 18] but expected [2, 2, 18] (dimension 1 is 1, expected 2)}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel parent(%pa, %ps : memref<2x1x18xi32>, memref<2x2x6xi8>) outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: partial of four values
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>, %o3: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op expected output partial as three values (acc, m, l), got 4}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2, %o3) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: acc of another head dim than the value centroids
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x128xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op output partial acc has shape [2, 8, 128] but expected [2, 8, 64] (dimension 2 is 128, expected 64)}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x128xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_approx: state of the wrong shape
func.func @f(%a: memref<2x8x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x3xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.centroid_approx' op index state has shape [2, 2, 3] but expected [2, 2, 4] (dimension 2 is 3, expected 4)}}
  multipole.centroid_approx %a index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {level = 0 : i64} : memref<2x8x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x3xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// merge: 4 partial values
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %p3: memref<2x8x64xf32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op expects partials as (acc, m, l) triples, got 4 values}}
  multipole.merge %p0, %p1, %p2, %p3 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32> outs memref<2x8x64xbf16>
  return
}

// -----

// merge: 5 partial values
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %p3: memref<2x8x64xf32>, %p4: memref<2x8xf32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op expects partials as (acc, m, l) triples, got 5 values}}
  multipole.merge %p0, %p1, %p2, %p3, %p4 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>
  return
}

// -----

// merge: two outputs
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %o0: memref<2x8x64xbf16>, %o1: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op expected one output, got 2}}
  multipole.merge %p0, %p1, %p2 outs(%o0, %o1) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>, memref<2x8x64xbf16>
  return
}

// -----

// merge: output of rank 2
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %o0: memref<16x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op output must have rank 3 [?, ?, ?], got rank 2}}
  multipole.merge %p0, %p1, %p2 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<16x64xbf16>
  return
}

// -----

// merge: integer output
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %o0: memref<2x8x64xi16>) {
  // expected-error @+1 {{'multipole.merge' op output element type must be bf16, f16 or f32, got 'i16'}}
  multipole.merge %p0, %p1, %p2 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xi16>
  return
}

// -----

// merge: partial #0 acc of another head dim
func.func @f(%p0: memref<2x8x32xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %o0: memref<2x8x64xf16>) {
  // expected-error @+1 {{'multipole.merge' op partial #0 acc has shape [2, 8, 32] but expected [2, 8, 64] (dimension 2 is 32, expected 64)}}
  multipole.merge %p0, %p1, %p2 outs(%o0) : memref<2x8x32xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x64xf16>
  return
}

// -----

// merge: partial #1 m of other query heads
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %p3: memref<2x8x64xf32>, %p4: memref<2x4xf32>, %p5: memref<2x8xf32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op partial #1 m has shape [2, 4] but expected [2, 8] (dimension 1 is 4, expected 8)}}
  multipole.merge %p0, %p1, %p2, %p3, %p4, %p5 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x4xf32>, memref<2x8xf32> outs memref<2x8x64xbf16>
  return
}

// -----

// merge: partial #2 l in bf16
func.func @f(%p0: memref<2x8x64xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %p3: memref<2x8x64xf32>, %p4: memref<2x8xf32>, %p5: memref<2x8xf32>, %p6: memref<2x8x64xf32>, %p7: memref<2x8xf32>, %p8: memref<2x8xbf16>, %o0: memref<2x8x64xf32>) {
  // expected-error @+1 {{'multipole.merge' op partial #2 l must have element type 'f32', got 'bf16'}}
  multipole.merge %p0, %p1, %p2, %p3, %p4, %p5, %p6, %p7, %p8 outs(%o0) : memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>, memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xbf16> outs memref<2x8x64xf32>
  return
}

// -----

// merge: no partials (generic form)
func.func @f(%o: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op expects partials as (acc, m, l) triples, got 0 values}}
  "multipole.merge"(%o) <{operandSegmentSizes = array<i32: 0, 1>}> : (memref<2x8x64xbf16>) -> ()
  return
}

// -----

// level: fraction 1
// expected-error @+1 {{cluster fraction must be in (0, 1), got 1.000000e+00}}
#l = #multipole.level<fraction = 1.0, budget_tokens = 64>

// -----

// level: fraction above 1
// expected-error @+1 {{cluster fraction must be in (0, 1), got 1.500000e+00}}
#l = #multipole.level<fraction = 1.5, budget_tokens = 64>

// -----

// level: fraction 0
// expected-error @+1 {{cluster fraction must be in (0, 1), got 0.000000e+00}}
#l = #multipole.level<fraction = 0.0, budget_fraction = 0.1>

// -----

// level: negative fraction
// expected-error @+1 {{cluster fraction must be in (0, 1), got -2.500000e-01}}
#l = #multipole.level<fraction = -0.25, budget_fraction = 0.1>

// -----

// level: negative budget_tokens
// expected-error @+1 {{budget_tokens must be >= 0, got -1}}
#l = #multipole.level<fraction = 0.0625, budget_tokens = -1>

// -----

// level: budget_fraction 1
// expected-error @+1 {{budget_fraction must be in [0, 1), got 1.000000e+00}}
#l = #multipole.level<fraction = 0.0625, budget_fraction = 1.0>

// -----

// level: budget_fraction above 1
// expected-error @+1 {{budget_fraction must be in [0, 1), got 2.500000e+00}}
#l = #multipole.level<fraction = 0.0625, budget_fraction = 2.5>

// -----

// level: negative budget_fraction
// expected-error @+1 {{budget_fraction must be in [0, 1), got -5.000000e-01}}
#l = #multipole.level<fraction = 0.0625, budget_fraction = -0.5>

// -----

// level: both budgets
// expected-error @+1 {{exactly one of budget_tokens and budget_fraction must be given}}
#l = #multipole.level<fraction = 0.0625, budget_tokens = 64, budget_fraction = 0.1>

// -----

// level: no budget
// expected-error @+1 {{exactly one of budget_tokens and budget_fraction must be given}}
#l = #multipole.level<fraction = 0.0625>

// -----

// config: three levels
// expected-error @+1 {{expected 1 or 2 levels, got 3}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.25, budget_tokens = 64>, #multipole.level<fraction = 0.25, budget_tokens = 64>, #multipole.level<fraction = 0.25, budget_tokens = 64>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: no level
// expected-error @+1 {{expected 1 or 2 levels, got 0}}
#c = #multipole.config<levels = [], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: negative sink
// expected-error @+1 {{sink must be >= 0, got -1}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = -1, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: interval 0
// expected-error @+1 {{interval must be >= 1, got 0}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 0, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: block_size 1
// expected-error @+1 {{block_size must be >= 2, got 1}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 1, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: build_iters 0
// expected-error @+1 {{build_iters must be in [1, 1000], got 0}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 0, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: update_iters 0
// expected-error @+1 {{update_iters must be in [1, 1000], got 0}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 0, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: build_iters beyond the bound (the GPU lowering launches two kernels
// per iteration; found by the fuzzer at 2^62)
// expected-error @+1 {{build_iters must be in [1, 1000], got 4611686018427387904}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 4611686018427387904, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>

// -----

// config: negative score_position
// expected-error @+1 {{score_position must be >= 0, got -5}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = -5, rope_theta = 0.0, replacement = true>

// -----

// config: negative rope_theta
// expected-error @+1 {{rope_theta must be finite and >= 0 (0 disables RoPE), got -1.000000e+00}}
#c = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = -1.0, replacement = true>

// -----

// Zero-sized dimensions and non-finite scales (found by fuzz/).

// decode_attention: head dim 0
func.func @f(%q: memref<2x8x0xbf16>, %k: memref<2x2x256x0xbf16>, %v: memref<2x2x256x0xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x0xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query has shape [2, 8, 0]: dimension 2 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x0xbf16>, memref<2x2x256x0xbf16>, memref<2x2x256x0xbf16>, memref<2xi32> outs memref<2x8x0xbf16>
  return
}

// -----

// decode_attention: batch 0
func.func @f(%q: memref<0x8x64xbf16>, %k: memref<0x2x256x64xbf16>, %v: memref<0x2x256x64xbf16>, %lens: memref<0xi32>, %o0: memref<0x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query has shape [0, 8, 64]: dimension 0 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<0x8x64xbf16>, memref<0x2x256x64xbf16>, memref<0x2x256x64xbf16>, memref<0xi32> outs memref<0x8x64xbf16>
  return
}

// -----

// decode_attention: no query heads
func.func @f(%q: memref<2x0x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x0x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op query has shape [2, 0, 64]: dimension 1 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x0x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x0x64xbf16>
  return
}

// -----

// decode_attention: empty KV cache
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x0x64xbf16>, %v: memref<2x2x0x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op key cache has shape [2, 2, 0, 64]: dimension 2 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) : memref<2x8x64xbf16>, memref<2x2x0x64xbf16>, memref<2x2x0x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: infinite scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op scale must be positive and finite, got INF}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) {scale = 0x7F800000 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// decode_attention: NaN scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %o0: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.decode_attention' op scale must be positive and finite, got nan}}
  multipole.decode_attention %q, %k, %v lens %lens outs(%o0) {scale = 0x7FC00000 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32> outs memref<2x8x64xbf16>
  return
}

// -----

// centroid_score: negative scale
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op scale must be positive and finite, got -1.000000e+00}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, scale = -1.0 : f32} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// sparse_attention: negative scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op scale must be positive and finite, got -1.000000e+00}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = -1.0 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_score: zero scale
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op scale must be positive and finite, got 0.000000e+00}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, scale = 0.0 : f32} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// sparse_attention: zero scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op scale must be positive and finite, got 0.000000e+00}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0.0 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_score: NaN scale
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op scale must be positive and finite, got nan}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, scale = 0x7FC00000 : f32} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// sparse_attention: NaN scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op scale must be positive and finite, got nan}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0x7FC00000 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// centroid_score: infinite scale
func.func @f(%q: memref<2x8x64xbf16>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %lens: memref<2xi32>, %o0: memref<2x2x18xf32>, %o1: memref<2x8x18xf32>) {
  // expected-error @+1 {{'multipole.centroid_score' op scale must be positive and finite, got INF}}
  multipole.centroid_score %q index(%c, %vc, %n, %off, %mem, %asg, %st) lens %lens outs(%o0, %o1) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64, scale = 0x7F800000 : f32} : memref<2x8x64xbf16>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2xi32> outs memref<2x2x18xf32>, memref<2x8x18xf32>
  return
}

// -----

// sparse_attention: infinite scale
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op scale must be positive and finite, got INF}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0x7F800000 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// merge: head dim 0
func.func @f(%p0: memref<2x8x0xf32>, %p1: memref<2x8xf32>, %p2: memref<2x8xf32>, %o0: memref<2x8x0xbf16>) {
  // expected-error @+1 {{'multipole.merge' op output has shape [2, 8, 0]: dimension 2 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.merge %p0, %p1, %p2 outs(%o0) : memref<2x8x0xf32>, memref<2x8xf32>, memref<2x8xf32> outs memref<2x8x0xbf16>
  return
}

// -----

// cluster_build: empty KV cache
func.func @f(%k: memref<2x2x0x64xbf16>, %v: memref<2x2x0x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x0xi32>, %asg: memref<2x2x0xi32>, %st: memref<2x2x4xi32>) {
  // expected-error @+1 {{'multipole.cluster_build' op key cache has shape [2, 2, 0, 64]: dimension 2 is 0 (zero-sized batches, heads, caches and head dims have no attention)}}
  multipole.cluster_build %k, %v lens %lens outs(%c, %vc, %n, %off, %mem, %asg, %st) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>} : memref<2x2x0x64xbf16>, memref<2x2x0x64xbf16>, memref<2xi32> outs memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x0xi32>, memref<2x2x0xi32>, memref<2x2x4xi32>
  return
}

// -----

// select_clusters: chunk bases with no chunk
func.func @f(%r: memref<2x2x18xf32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x18xi8>, %cb: memref<2x2x1xi32>) {
  // expected-error @+1 {{'multipole.select_clusters' op chunk bases need at least one chunk (K + 1 >= 2 entries per head), got 1}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0, %cb) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x2x18xf32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x18xi8>, memref<2x2x1xi32>
  return
}

// -----

// sparse_attention: chunk bases of another batch
func.func @f(%q: memref<2x8x64xbf16>, %k: memref<2x2x256x64xbf16>, %v: memref<2x2x256x64xbf16>, %lens: memref<2xi32>, %c: memref<2x2x18x64xf32>, %vc: memref<2x2x18x64xf32>, %n: memref<2x2x18xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %sel: memref<2x2x18xi8>, %cb: memref<3x2x1025xi32>, %o0: memref<2x8x64xf32>, %o1: memref<2x8xf32>, %o2: memref<2x8xf32>) {
  // expected-error @+1 {{'multipole.sparse_attention' op chunk bases has shape [3, 2, 1025] but expected [2, 2, ?] (dimension 0 is 3, expected 2)}}
  multipole.sparse_attention %q, %k, %v lens %lens index(%c, %vc, %n, %off, %mem, %asg, %st) selected %sel chunk_bases(%cb : memref<3x2x1025xi32>) outs(%o0, %o1, %o2) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, scale = 0.125 : f32} : memref<2x8x64xbf16>, memref<2x2x256x64xbf16>, memref<2x2x256x64xbf16>, memref<2xi32>, index(memref<2x2x18x64xf32>, memref<2x2x18x64xf32>, memref<2x2x18xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>), memref<2x2x18xi8> outs memref<2x8x64xf32>, memref<2x8xf32>, memref<2x8xf32>
  return
}

// -----

// merge: split partials exist on memrefs only
func.func @f(%a: tensor<2x8x4x64xf32>, %m: tensor<2x8x4xf32>, %l: tensor<2x8x4xf32>, %o: tensor<2x8x64xbf16>) -> tensor<2x8x64xbf16> {
  // expected-error @+1 {{'multipole.merge' op partial #0: split partials are a form of the GPU lowering and exist on memrefs only}}
  %r = multipole.merge %a, %m, %l outs(%o) : tensor<2x8x4x64xf32>, tensor<2x8x4xf32>, tensor<2x8x4xf32> outs tensor<2x8x64xbf16> -> tensor<2x8x64xbf16>
  return %r : tensor<2x8x64xbf16>
}

// -----

// merge: split partials whose m has another split count
func.func @f(%a: memref<2x8x4x64xf32>, %m: memref<2x8x3xf32>, %l: memref<2x8x4xf32>, %o: memref<2x8x64xbf16>) {
  // expected-error @+1 {{'multipole.merge' op partial #0 m has shape [2, 8, 3] but expected [2, 8, 4] (dimension 2 is 3, expected 4)}}
  multipole.merge %a, %m, %l outs(%o) : memref<2x8x4x64xf32>, memref<2x8x3xf32>, memref<2x8x4xf32> outs memref<2x8x64xbf16>
  return
}

// -----

// Index capacity at the int64 limit (fuzzer find: C + 1 offsets overflowed).
func.func @f(%r: memref<2x4x9223372036854775807xf32>, %c: memref<2x2x9223372036854775807x64xf32>, %vc: memref<2x2x9223372036854775807x64xf32>, %n: memref<2x2x9223372036854775807xi32>, %off: memref<2x2x19xi32>, %mem: memref<2x2x256xi32>, %asg: memref<2x2x256xi32>, %st: memref<2x2x4xi32>, %o0: memref<2x2x9223372036854775807xi8>) {
  // expected-error @+1 {{'multipole.select_clusters' op index capacity 9223372036854775807 is too large (the offsets need C + 1 entries)}}
  multipole.select_clusters %r index(%c, %vc, %n, %off, %mem, %asg, %st) outs(%o0) {config = #multipole.config<levels = [#multipole.level<fraction = 0.0625, budget_fraction = 0.1>], sink = 16, interval = 128, block_size = 8192, build_iters = 10, update_iters = 3, score_position = 2048, rope_theta = 0.0, replacement = true>, level = 0 : i64} : memref<2x4x9223372036854775807xf32>, index(memref<2x2x9223372036854775807x64xf32>, memref<2x2x9223372036854775807x64xf32>, memref<2x2x9223372036854775807xi32>, memref<2x2x19xi32>, memref<2x2x256xi32>, memref<2x2x256xi32>, memref<2x2x4xi32>) outs memref<2x2x9223372036854775807xi8>
  return
}
