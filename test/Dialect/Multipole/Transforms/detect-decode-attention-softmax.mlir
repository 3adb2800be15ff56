// RUN: multipole-opt %s --multipole-detect-decode-attention -split-input-file --verify-diagnostics | FileCheck %s

// Softmax spellings on MHA scores [H = 8, 1, N = 128] from a batch_matmul with
// a transposed key map (flattened heads: B = 1, Hkv = 8). linalg.softmax, the
// maxnumf and cmpf/select maxes, exp and the division are also covered by
// detect-decode-attention.mlir.

// Max with arith.maximumf; exp2((x - max) * log2e) fused with the subtraction;
// division by the sum. exp2(c * y) = exp(c * ln2 * y): the scale is
// log2e_f32 * ln2, which rounds to 1.0 in f32.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @exp2_log2e_fused_maximumf(
// CHECK-NOT:     linalg.generic
// CHECK:         multipole.decode_attention {{.*}} {scale = 1.000000e+00 : f32}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @exp2_log2e_fused_maximumf(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %e = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %d = arith.subf %x, %m : f32
    %c = arith.constant 1.44269504 : f32
    %l = arith.mulf %d, %c : f32
    %r = math.exp2 %l : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sm : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %r = arith.divf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// The flash-attention spelling: the scores scaled by 0.125, then by log2e in an
// op of their own; max (maxnumf), subtraction and exp2 on the pre-scaled
// logits in separate ops; multiplication by the reciprocal of the sum computed
// in an op of its own.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @flash_exp2_prescaled(
// CHECK-NOT:     linalg.generic
// CHECK:         multipole.decode_attention {{.*}} {scale = 1.250000e-01 : f32}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @flash_exp2_prescaled(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %ts = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %yl = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ts : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 1.44269504 : f32
    %r = arith.mulf %c, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%yl : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maxnumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%yl, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.subf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%d : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.exp2 %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %rc = linalg.generic {indexing_maps = [affine_map<(h, m) -> (h, m)>, affine_map<(h, m) -> (h, m)>], iterator_types = ["parallel", "parallel"]}
      ins(%sm : tensor<8x1xf32>) outs(%er : tensor<8x1xf32>) {
  ^bb0(%x: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %rc : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %r = arith.mulf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Compare/select max; the log2e multiplication (an f64 constant truncated to
// f32) in an op between the subtraction and the exp2; (1 / sum) * e in one
// payload.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @exp2_log2e_own_op_reciprocal(
// CHECK-NOT:     linalg.generic
// CHECK:         multipole.decode_attention {{.*}} {scale = 1.000000e+00 : f32}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @exp2_log2e_own_op_reciprocal(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %gt = arith.cmpf ogt, %in, %acc : f32
    %r = arith.select %gt, %in, %acc : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.subf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %l = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%d : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 1.4426950408889634 : f64
    %cf = arith.truncf %c : f64 to f32
    %r = arith.mulf %x, %cf : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%l : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.exp2 %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sm : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %i = arith.divf %one, %t : f32
    %r = arith.mulf %i, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// math.exp with an arith.maximumf max and e * (1 / sum) in one payload.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @exp_maximumf_reciprocal(
// CHECK-NOT:     linalg.generic
// CHECK:         multipole.decode_attention {{.*}} {scale = 1.000000e+00 : f32}
// CHECK-NOT:     linalg.generic
// CHECK:         return
func.func @exp_maximumf_reciprocal(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %e = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %d = arith.subf %x, %m : f32
    %r = math.exp %d : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sm : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %i = arith.divf %one, %t : f32
    %r = arith.mulf %x, %i : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: exp2(x - max) with no log2e factor anywhere (the scores are only
// multiplied by 0.125 and 1.0): a softmax of ln2 * x, not of x.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @exp2_without_log2e(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         math.exp2
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @exp2_without_log2e(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %ts = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %yl = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%ts : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 1.0 : f32
    %r = arith.mulf %c, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%yl : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maxnumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %d = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%yl, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %r = arith.subf %x, %m : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%d : tensor<8x1x128xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %r = math.exp2 %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %rc = linalg.generic {indexing_maps = [affine_map<(h, m) -> (h, m)>, affine_map<(h, m) -> (h, m)>], iterator_types = ["parallel", "parallel"]}
      ins(%sm : tensor<8x1xf32>) outs(%er : tensor<8x1xf32>) {
  ^bb0(%x: f32, %out: f32):
    %one = arith.constant 1.0 : f32
    %r = arith.divf %one, %x : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %rc : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %r = arith.mulf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: the softmax is computed with exp2 but the logits are not multiplied by log2(e)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}

// -----

// Negative: exp2((x - max) * 1.4427): 1.4427 is not log2(e) to f32 precision,
// so this is not taken for a softmax.

#id3 = affine_map<(h, m, n) -> (h, m, n)>
#row = affine_map<(h, m, n) -> (h, m)>

// CHECK-LABEL: func.func @exp2_inexact_log2e(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         math.exp2
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @exp2_inexact_log2e(%q: tensor<8x1x64xf32>, %k: tensor<8x128x64xf32>,
    %v: tensor<8x128x64xf32>) -> tensor<8x1x64xf32> {
  %zero = arith.constant 0.0 : f32
  %ninf = arith.constant 0xFF800000 : f32
  %e0 = tensor.empty() : tensor<8x1x128xf32>
  %er = tensor.empty() : tensor<8x1xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %s = linalg.batch_matmul indexing_maps = [
         affine_map<(b, m, n, d) -> (b, m, d)>,
         affine_map<(b, m, n, d) -> (b, n, d)>,
         affine_map<(b, m, n, d) -> (b, m, n)>]
       ins(%q, %k : tensor<8x1x64xf32>, tensor<8x128x64xf32>)
       outs(%s0 : tensor<8x1x128xf32>) -> tensor<8x1x128xf32>
  %mx0 = linalg.fill ins(%ninf : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %mx = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%s : tensor<8x1x128xf32>) outs(%mx0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.maximumf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %e = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s, %mx : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %m: f32, %out: f32):
    %d = arith.subf %x, %m : f32
    %c = arith.constant 1.4427 : f32
    %l = arith.mulf %d, %c : f32
    %r = math.exp2 %l : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %sm0 = linalg.fill ins(%zero : f32) outs(%er : tensor<8x1xf32>) -> tensor<8x1xf32>
  %sm = linalg.generic {indexing_maps = [#id3, #row], iterator_types = ["parallel", "parallel", "reduction"]}
      ins(%e : tensor<8x1x128xf32>) outs(%sm0 : tensor<8x1xf32>) {
  ^bb0(%in: f32, %acc: f32):
    %r = arith.addf %acc, %in : f32
    linalg.yield %r : f32
  } -> tensor<8x1xf32>
  %p = linalg.generic {indexing_maps = [#id3, #row, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%e, %sm : tensor<8x1x128xf32>, tensor<8x1xf32>) outs(%e0 : tensor<8x1x128xf32>) {
  ^bb0(%x: f32, %t: f32, %out: f32):
    %r = arith.divf %x, %t : f32
    linalg.yield %r : f32
  } -> tensor<8x1x128xf32>
  %e1 = tensor.empty() : tensor<8x1x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  // expected-remark @below {{decode attention not detected: there is no softmax before the contraction with V (the probabilities are not exp(x - max) / sum)}}
  %o = linalg.batch_matmul ins(%p, %v : tensor<8x1x128xf32>, tensor<8x128x64xf32>)
       outs(%o0 : tensor<8x1x64xf32>) -> tensor<8x1x64xf32>
  return %o : tensor<8x1x64xf32>
}
