# A padding mask built in the function from a lens argument (a linalg.generic
# over (b, n): select(index_cast(n) < lens[b], 0, -inf), broadcast over the
# heads by the addition to the scaled scores) is folded by multipole-compile
# into the op's `lens` operand; with ragged lengths, the library with a budget
# that covers every token computes what the same function compiled with
# --dense computes, and the dense library agrees with numpy's masked attention.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: detected: OK
# CHECK: dense library vs numpy: OK
# CHECK: multipole library vs dense library: OK
# CHECK: all passed
import os
import sys

import numpy as np

from multipole import reference as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import Checks, compile_pair  # noqa: E402

tmp = sys.argv[1]
B, H, N, D = 2, 4, 2048, 64

IR = f"""func.func @attn(%q: tensor<{B}x{H}x{D}xf32>, %k: tensor<{B}x{H}x{N}x{D}xf32>,
                 %v: tensor<{B}x{H}x{N}x{D}xf32>, %lens: tensor<{B}xi32>) -> tensor<{B}x{H}x{D}xf32> {{
  %zero = arith.constant 0.0 : f32
  %es = tensor.empty() : tensor<{B}x{H}x{N}xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<{B}x{H}x{N}xf32>) -> tensor<{B}x{H}x{N}xf32>
  %s = linalg.generic {{
      indexing_maps = [affine_map<(b, h, n, d) -> (b, h, d)>, affine_map<(b, h, n, d) -> (b, h, n, d)>,
                       affine_map<(b, h, n, d) -> (b, h, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%q, %k : tensor<{B}x{H}x{D}xf32>, tensor<{B}x{H}x{N}x{D}xf32>) outs(%s0 : tensor<{B}x{H}x{N}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{N}xf32>
  %ss = linalg.generic {{
      indexing_maps = [affine_map<(b, h, n) -> (b, h, n)>, affine_map<(b, h, n) -> (b, h, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%s : tensor<{B}x{H}x{N}xf32>) outs(%es : tensor<{B}x{H}x{N}xf32>) {{
  ^bb0(%x: f32, %out: f32):
    %c = arith.constant 0.125 : f32
    %r = arith.mulf %x, %c : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{N}xf32>
  %em = tensor.empty() : tensor<{B}x{N}xf32>
  %mask = linalg.generic {{
      indexing_maps = [affine_map<(b, n) -> (b)>, affine_map<(b, n) -> (b, n)>],
      iterator_types = ["parallel", "parallel"]}}
      ins(%lens : tensor<{B}xi32>) outs(%em : tensor<{B}x{N}xf32>) {{
  ^bb0(%l: i32, %out: f32):
    %n = linalg.index 1 : index
    %ni = arith.index_cast %n : index to i32
    %keep = arith.cmpi slt, %ni, %l : i32
    %ninf = arith.constant 0xFF800000 : f32
    %r = arith.select %keep, %zero, %ninf : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{N}xf32>
  %sm = linalg.generic {{
      indexing_maps = [affine_map<(b, h, n) -> (b, h, n)>, affine_map<(b, h, n) -> (b, n)>,
                       affine_map<(b, h, n) -> (b, h, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%ss, %mask : tensor<{B}x{H}x{N}xf32>, tensor<{B}x{N}xf32>) outs(%es : tensor<{B}x{H}x{N}xf32>) {{
  ^bb0(%x: f32, %mk: f32, %out: f32):
    %r = arith.addf %x, %mk : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{N}xf32>
  %p = linalg.softmax dimension(2) ins(%sm : tensor<{B}x{H}x{N}xf32>)
       outs(%es : tensor<{B}x{H}x{N}xf32>) -> tensor<{B}x{H}x{N}xf32>
  %eo = tensor.empty() : tensor<{B}x{H}x{D}xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<{B}x{H}x{D}xf32>) -> tensor<{B}x{H}x{D}xf32>
  %o = linalg.generic {{
      indexing_maps = [affine_map<(b, h, d, n) -> (b, h, n)>, affine_map<(b, h, d, n) -> (b, h, n, d)>,
                       affine_map<(b, h, d, n) -> (b, h, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%p, %v : tensor<{B}x{H}x{N}xf32>, tensor<{B}x{H}x{N}x{D}xf32>) outs(%o0 : tensor<{B}x{H}x{D}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{D}xf32>
  return %o : tensor<{B}x{H}x{D}xf32>
}}
"""

check = Checks()
lib, dense = compile_pair(IR, tmp, "masked")
check("detected", lib.step_entry().kind == "step" and "lens" in lib.step_entry().roles())

q, k, v = ref.make_inputs(B, H, H, N, D, "random", seed=7)
lens = np.array([1300, 517], np.int32)  # ragged, not multiples of any block
d_out = dense.step_entry()(q=q, k=k, v=v, lens=lens)["out"]
s = np.einsum("bhd,bhnd->bhn", q.astype(np.float64), k.astype(np.float64)) * 0.125
s = np.where(np.arange(N)[None, None, :] < lens[:, None, None], s, -np.inf)
p = np.exp(s - s.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)
want = np.einsum("bhn,bhnd->bhd", p, v.astype(np.float64))
e = ref.relative_error(d_out, want)
check("dense library vs numpy", e < 1e-5, f"({e:.2e})")
out = lib.step(q, k, v, lens, lib.build(k, v, lens))
e = ref.relative_error(out, d_out)
check("multipole library vs dense library", e < 1e-5, f"({e:.2e})")

sys.exit(check.finish())
