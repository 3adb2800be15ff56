# Grouped-query attention in its grouped linalg spelling (q [B, Hq, D] viewed
# as [B, Hkv, G, D] by tensor.expand_shape, un-repeated [B, Hkv, N, D] keys and
# values, einsums bhgd,bhnd->bhgn and bhgn,bhnd->bhgd, the result collapsed
# back) is detected by multipole-compile, and the library, with a budget that
# covers every token, computes what the same function compiled with --dense
# computes; the dense library agrees with numpy.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: detected: OK
# CHECK: dense library vs numpy: OK
# CHECK: multipole library vs dense library: OK
# CHECK: all passed
import os
import sys

import numpy as np

import multipole as mp
from multipole import reference as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import Checks, compile_pair  # noqa: E402

tmp = sys.argv[1]
os.makedirs(tmp, exist_ok=True)
B, Hq, H, N, D = 2, 8, 2, 2048, 64
G = Hq // H

IR = f"""func.func @attn(%q: tensor<{B}x{Hq}x{D}xf32>, %k: tensor<{B}x{H}x{N}x{D}xf32>,
                 %v: tensor<{B}x{H}x{N}x{D}xf32>) -> tensor<{B}x{Hq}x{D}xf32> {{
  %zero = arith.constant 0.0 : f32
  %scale = arith.constant 0.125 : f32
  %qg = tensor.expand_shape %q [[0], [1, 2], [3]] output_shape [{B}, {H}, {G}, {D}]
        : tensor<{B}x{Hq}x{D}xf32> into tensor<{B}x{H}x{G}x{D}xf32>
  %e0 = tensor.empty() : tensor<{B}x{H}x{G}x{N}xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%e0 : tensor<{B}x{H}x{G}x{N}xf32>) -> tensor<{B}x{H}x{G}x{N}xf32>
  %s = linalg.generic {{
      indexing_maps = [affine_map<(b, h, g, n, d) -> (b, h, g, d)>,
                       affine_map<(b, h, g, n, d) -> (b, h, n, d)>,
                       affine_map<(b, h, g, n, d) -> (b, h, g, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%qg, %k : tensor<{B}x{H}x{G}x{D}xf32>, tensor<{B}x{H}x{N}x{D}xf32>)
      outs(%s0 : tensor<{B}x{H}x{G}x{N}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{G}x{N}xf32>
  %ss = linalg.generic {{
      indexing_maps = [affine_map<(b, h, g, n) -> (b, h, g, n)>, affine_map<(b, h, g, n) -> (b, h, g, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel"]}}
      ins(%s : tensor<{B}x{H}x{G}x{N}xf32>) outs(%e0 : tensor<{B}x{H}x{G}x{N}xf32>) {{
  ^bb0(%x: f32, %out: f32):
    %r = arith.mulf %x, %scale : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{G}x{N}xf32>
  %p = linalg.softmax dimension(3) ins(%ss : tensor<{B}x{H}x{G}x{N}xf32>)
       outs(%e0 : tensor<{B}x{H}x{G}x{N}xf32>) -> tensor<{B}x{H}x{G}x{N}xf32>
  %e1 = tensor.empty() : tensor<{B}x{H}x{G}x{D}xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%e1 : tensor<{B}x{H}x{G}x{D}xf32>) -> tensor<{B}x{H}x{G}x{D}xf32>
  %o = linalg.generic {{
      indexing_maps = [affine_map<(b, h, g, d, n) -> (b, h, g, n)>,
                       affine_map<(b, h, g, d, n) -> (b, h, n, d)>,
                       affine_map<(b, h, g, d, n) -> (b, h, g, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "parallel", "reduction"]}}
      ins(%p, %v : tensor<{B}x{H}x{G}x{N}xf32>, tensor<{B}x{H}x{N}x{D}xf32>)
      outs(%o0 : tensor<{B}x{H}x{G}x{D}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{B}x{H}x{G}x{D}xf32>
  %oc = tensor.collapse_shape %o [[0], [1, 2], [3]]
        : tensor<{B}x{H}x{G}x{D}xf32> into tensor<{B}x{Hq}x{D}xf32>
  return %oc : tensor<{B}x{Hq}x{D}xf32>
}}
"""

check = Checks()
lib, dense = compile_pair(IR, tmp, "gqa")
check("detected", lib.step_entry().kind == "step" and "lens" in lib.step_entry().roles())

q, k, v = ref.make_inputs(B, Hq, H, N, D, "random", seed=5)
lens = np.full(B, N, np.int32)
d_out = dense.step_entry()(q=q, k=k, v=v)["out"]
# Query head i = kv * G + g attends to KV head i // G, scaled by 0.125.
kq = np.repeat(k.astype(np.float64), G, axis=1)
vq = np.repeat(v.astype(np.float64), G, axis=1)
s = np.einsum("bhd,bhnd->bhn", q.astype(np.float64), kq) * 0.125
p = np.exp(s - s.max(-1, keepdims=True))
p /= p.sum(-1, keepdims=True)
want = np.einsum("bhn,bhnd->bhd", p, vq)
e = ref.relative_error(d_out, want)
check("dense library vs numpy", e < 1e-5, f"({e:.2e})")
out = lib.step(q, k, v, lens, lib.build(k, v, lens))
e = ref.relative_error(out, d_out)
check("multipole library vs dense library", e < 1e-5, f"({e:.2e})")

sys.exit(check.finish())
