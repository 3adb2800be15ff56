// RUN: multipole-opt %s --multipole-detect-decode-attention -split-input-file --verify-diagnostics | FileCheck %s

// Additive padding masks built in the function from a lengths argument, on
// [B = 2, H = 4, N = 128] scores of generic einsums (already in the op's
// layout). The mask is a linalg.generic over (b, n) reading lens[b] and
// linalg.index n, broadcast over the heads by the map of the addition.

// A padding mask built from lens (i32 [B]): 0 where index_cast(n) < lens[b]
// (cmpi slt), -inf elsewhere, added to the scaled scores: folded into `lens`.

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_slt_lens(
// CHECK-SAME:      %[[Q:[^:]*]]: tensor<2x4x64xf32>, %[[K:[^:]*]]: tensor<2x4x128x64xf32>, %[[V:[^:]*]]: tensor<2x4x128x64xf32>, %[[L:[^:]*]]: tensor<2xi32>)
// CHECK-NEXT:    %[[INIT:.*]] = tensor.empty() : tensor<2x4x64xf32>
// CHECK-NEXT:    %[[O:.*]] = multipole.decode_attention %[[Q]], %[[K]], %[[V]] lens %[[L]] outs(%[[INIT]]) {scale = 1.250000e-01 : f32}
// CHECK-SAME:        : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32>, tensor<2xi32> outs tensor<2x4x64xf32>
// CHECK-NEXT:    return %[[O]]
func.func @mask_slt_lens(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi32>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %c = arith.cmpi slt, %ni, %l : i32
    %ninf = arith.constant 0xFF800000 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

// The inverse spelling with the operands swapped: lens[b] <= n (cmpi ule, on
// index) selects the lowest finite f32, else 0.

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_inverse_lowest(
// CHECK-SAME:      %[[Q:[^:]*]]: tensor<2x4x64xf32>, %[[K:[^:]*]]: tensor<2x4x128x64xf32>, %[[V:[^:]*]]: tensor<2x4x128x64xf32>, %[[L:[^:]*]]: tensor<2xi32>)
// CHECK-NEXT:    %[[INIT:.*]] = tensor.empty() : tensor<2x4x64xf32>
// CHECK-NEXT:    %[[O:.*]] = multipole.decode_attention %[[Q]], %[[K]], %[[V]] lens %[[L]] outs(%[[INIT]]) {scale = 1.250000e-01 : f32}
// CHECK-SAME:        : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>, tensor<2x4x128x64xf32>, tensor<2xi32> outs tensor<2x4x64xf32>
// CHECK-NEXT:    return %[[O]]
func.func @mask_inverse_lowest(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi32>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %li = arith.index_cast %l : i32 to index
    %c = arith.cmpi ule, %li, %n : index
    %low = arith.constant -3.40282347E+38 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %low, %z : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

// Negative: the mask compares the key index with a constant 100, not with
// lens[b]. (It could be folded as lens = 100 for every sequence; it is
// refused instead: a constant bound is a window, not padding.)

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_constant_bound(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.index
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @mask_constant_bound(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi32>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %b = arith.constant 100 : i32
    %c = arith.cmpi slt, %ni, %b : i32
    %ninf = arith.constant 0xFF800000 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  // expected-remark @below {{decode attention not detected: the scores get a mask that does not compare a key index with lengths read from a tensor}}
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

// Negative: a select of 1 / 0 (a multiplicative mask) added to the scores.

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_zero_one(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.index
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @mask_zero_one(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi32>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %c = arith.cmpi slt, %ni, %l : i32
    %one = arith.constant 1.0 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %one, %z : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  // expected-remark @below {{decode attention not detected: the scores get an additive mask computed from the loop indices whose values are not provably 0 and -inf}}
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

// Negative: n <= lens[b] (cmpi sle) keeps one key more than lens[b]; refused
// rather than folded as lens + 1.

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_sle_off_by_one(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.index
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @mask_sle_off_by_one(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi32>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi32>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %c = arith.cmpi sle, %ni, %l : i32
    %ninf = arith.constant 0xFF800000 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  // expected-remark @below {{decode attention not detected: the mask keeps the keys j <= lens[b], one more than `lens` counts (j < lens[b])}}
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}

// -----

// Negative: i64 lengths (the op takes i32 [B]; no cast is inserted).

#q3 = affine_map<(b, h, n, d) -> (b, h, d)>
#k4 = affine_map<(b, h, n, d) -> (b, h, n, d)>
#s3 = affine_map<(b, h, n, d) -> (b, h, n)>
#id3 = affine_map<(b, h, n) -> (b, h, n)>
#bn = affine_map<(b, h, n) -> (b, n)>
#id2 = affine_map<(b, n) -> (b, n)>
#lb = affine_map<(b, n) -> (b)>
#pv_p = affine_map<(b, h, d, n) -> (b, h, n)>
#pv_v = affine_map<(b, h, d, n) -> (b, h, n, d)>
#pv_o = affine_map<(b, h, d, n) -> (b, h, d)>

// CHECK-LABEL: func.func @mask_i64_lens(
// CHECK-NOT:     multipole.decode_attention
// CHECK:         linalg.index
// CHECK-NOT:     multipole.decode_attention
// CHECK:         return
func.func @mask_i64_lens(%q: tensor<2x4x64xf32>, %k: tensor<2x4x128x64xf32>,
    %v: tensor<2x4x128x64xf32>, %lens: tensor<2xi64>) -> tensor<2x4x64xf32> {
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<2x4x128xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %s = linalg.generic {indexing_maps = [#q3, #k4, #s3],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%q, %k : tensor<2x4x64xf32>, tensor<2x4x128x64xf32>) outs(%s0 : tensor<2x4x128xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %em = tensor.empty() : tensor<2x128xf32>
  %mask = linalg.generic {indexing_maps = [#lb, #id2], iterator_types = ["parallel", "parallel"]}
      ins(%lens : tensor<2xi64>) outs(%em : tensor<2x128xf32>) {
  ^bb0(%l: i64, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i64
    %c = arith.cmpi slt, %ni, %l : i64
    %ninf = arith.constant 0xFF800000 : f32
    %z = arith.constant 0.0 : f32
    %r = arith.select %c, %z, %ninf : f32
    linalg.yield %r : f32
  } -> tensor<2x128xf32>
  %ss = linalg.generic {indexing_maps = [#id3, #id3], iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%s : tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %sm = linalg.generic {indexing_maps = [#bn, #id3, #id3],
                        iterator_types = ["parallel", "parallel", "parallel"]}
      ins(%mask, %ss : tensor<2x128xf32>, tensor<2x4x128xf32>) outs(%es : tensor<2x4x128xf32>) {
  ^bb0(%mk: f32, %x: f32, %out: f32):
    %r = arith.addf %mk, %x : f32
    linalg.yield %r : f32
  } -> tensor<2x4x128xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<2x4x128xf32>)
       outs(%es : tensor<2x4x128xf32>) -> tensor<2x4x128xf32>
  %eo = tensor.empty() : tensor<2x4x64xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<2x4x64xf32>) -> tensor<2x4x64xf32>
  // expected-remark @below {{decode attention not detected: the lengths of the mask are not a 1-D i32 tensor}}
  %o = linalg.generic {indexing_maps = [#pv_p, #pv_v, #pv_o],
                       iterator_types = ["parallel", "parallel", "parallel", "reduction"]}
      ins(%p, %v : tensor<2x4x128xf32>, tensor<2x4x128x64xf32>) outs(%o0 : tensor<2x4x64xf32>) {
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  } -> tensor<2x4x64xf32>
  return %o : tensor<2x4x64xf32>
}
