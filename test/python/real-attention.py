# Multipole on real attention: q/K/V of the trained retrieval LM (models/qwen3-retrieval),
# dumped by `bench/accuracy.py --dump` on the GPU machine (4096-token mqar sequence,
# KV head 0 of the layers below, the queries at the 16 positions where the model
# retrieves; test/Inputs/qwen3-retrieval-attention.npz). The compiled CPU library
# (defaults: 6.25% centroids, 10% budget, sink 16, interval 128) is built once per layer
# on the prefix before the queries and stepped at each query position. Its error against
# float64 dense attention must stay under the bound measured on this dump (per layer), and
# on the mean over the layers under twice oracle top-k's over the same tokens and under
# Quest's (pages of 16) at the same budget: the targets of issue 8. Per layer the oracle
# can be far better: layer 3 is a sharp retrieval head, where the budget's top tokens hold
# all the attention (oracle 4.6e-6) and multipole's error is its clusters' (5.4e-3).
# REQUIRES: numpy
# RUN: %python %s %t %S/../Inputs/qwen3-retrieval-attention.npz | FileCheck %s
# CHECK: layer 1: multipole {{.*}} OK
# CHECK: layer 3: multipole {{.*}} OK
# CHECK: mean over layers: multipole {{.*}} OK
# CHECK: all passed
import os
import subprocess
import sys

import numpy as np

import multipole as mp
from multipole import reference as ref

tmp, data = sys.argv[1], sys.argv[2]
# Measured on the committed dump (2026-12-01, this test's own computation: layer 1
# 5.92e-2, layer 3 5.38e-3); the bounds leave 25% of headroom for rounding differences
# between machines.
BOUND = {1: 7.4e-2, 3: 6.7e-3}
SINK, INTERVAL, BUDGET, PAGE = 16, 128, 0.10, 16

d = np.load(data)
qpos = d["query_positions"]
layers = sorted(int(k[1:]) for k in d.files if k.startswith("k"))
G, D = d[f"q{layers[0]}"].shape[1:]
N = d[f"k{layers[0]}"].shape[0]
n0 = int(qpos[0])                       # the prefix the index is built on
os.makedirs(tmp, exist_ok=True)
ir = os.path.join(tmp, "attn.mlir")
T = lambda *s: "x".join(map(str, s)) + "xbf16"
open(ir, "w").write(f"""
func.func @attn(%q: tensor<{T(1, G, D)}>, %k: tensor<{T(1, 1, N, D)}>, %v: tensor<{T(1, 1, N, D)}>,
                %lens: tensor<1xi32>) -> tensor<{T(1, G, D)}> {{
  %e = tensor.empty() : tensor<{T(1, G, D)}>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<{T(1, G, D)}>, tensor<{T(1, 1, N, D)}>, tensor<{T(1, 1, N, D)}>, tensor<1xi32>
        outs tensor<{T(1, G, D)}> -> tensor<{T(1, G, D)}>
  return %o : tensor<{T(1, G, D)}>
}}""")
so = os.path.join(tmp, "attn.so")
subprocess.run(["multipole-compile", ir, "--target=cpu", "-o", so], check=True)
lib = mp.load(so)


def clustered(n):
    return max(0, (n - SINK - INTERVAL) // INTERVAL) * INTERVAL


def sparse_error(q, k, v, n, Lc, pick):
    """Error of exact attention over sink + window + the tokens `pick` chooses."""
    keep = np.zeros(n, bool)
    keep[:SINK] = True
    keep[SINK + Lc:n] = True
    keep[SINK + np.asarray(pick, int)] = True
    s = (q @ k[:n].T) / np.sqrt(D)
    s[:, ~keep] = -np.inf
    p = np.exp(s - s.max(1, keepdims=True))
    return (p / p.sum(1, keepdims=True)) @ v[:n]


ok = True
means = []
for layer in layers:
    k = mp.from_bf16(d[f"k{layer}"]).astype(np.float64)
    v = mp.from_bf16(d[f"v{layer}"]).astype(np.float64)
    qs = mp.from_bf16(d[f"q{layer}"]).astype(np.float64)
    kk, vv = d[f"k{layer}"][None, None].copy(), d[f"v{layer}"][None, None].copy()
    index = lib.build(kk, vv, np.array([n0], np.int32))
    Lc = clustered(n0)                  # no update: the queries stay within the window
    errs = {"multipole": [], "oracle": [], "quest": []}
    for j, p in enumerate(qpos):
        n = int(p) + 1
        q = qs[j]
        refo = ref.dense_attention(q[None], k[None, None], v[None, None], np.array([n]))[0]
        out = lib.step(d[f"q{layer}"][j][None], kk, vv, np.array([n], np.int32), index)[0]
        budget = int(BUDGET * Lc)
        s_all = (q @ k[:n].T) / np.sqrt(D)
        prob = np.exp(s_all - s_all.max(1, keepdims=True))
        prob /= prob.sum(1, keepdims=True)            # true attention of each query head
        top = np.argsort(-prob[:, SINK:SINK + Lc].sum(0), kind="stable")[:budget]
        kr = k[SINK:SINK + Lc].reshape(-1, PAGE, D)
        bound = (np.maximum(q[:, None] * kr.min(1)[None], q[:, None] * kr.max(1)[None])).sum(-1).max(0)
        pages = np.argsort(-bound, kind="stable")[:budget // PAGE]
        quest = (pages[:, None] * PAGE + np.arange(PAGE)).reshape(-1)
        for name, o in (("multipole", out), ("oracle", sparse_error(q, k, v, n, Lc, top)),
                        ("quest", sparse_error(q, k, v, n, Lc, quest))):
            errs[name].append(ref.relative_error(o, refo))
    e = {m: float(np.mean(x)) for m, x in errs.items()}
    means.append(e)
    good = e["multipole"] <= BOUND[layer]
    ok &= good
    print(f"layer {layer}: multipole {e['multipole']:.3e} (bound {BOUND[layer]:.1e}), oracle "
          f"top-k {e['oracle']:.3e}, quest {e['quest']:.3e}: {'OK' if good else 'FAIL'}")
m = {k: float(np.mean([e[k] for e in means])) for k in means[0]}
good = m["multipole"] <= 2 * m["oracle"] and m["multipole"] < m["quest"]
ok &= good
print(f"mean over layers: multipole {m['multipole']:.3e}, oracle top-k {m['oracle']:.3e}, "
      f"quest {m['quest']:.3e} (multipole <= 2x oracle and < quest): {'OK' if good else 'FAIL'}")
print("all passed" if ok else "FAILED")
sys.exit(0 if ok else 1)
