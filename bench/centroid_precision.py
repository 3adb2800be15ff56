#!/usr/bin/env python3
"""How much attention error does storing the centroids in 16 bits add? (issue 13, item 1)

CPU only (numpy): the reference implementation (python/multipole/reference.py, which the
compiled build, update and step equal) builds the index in float64/float32 as today; the
centroid arrays (key centroids, which the selection scores, and value centroids, which the
replacement term reads) are then rounded to bf16 or f16 (round to nearest even), the way an
index that stores them in 16 bits and computes in f32 would hold them. After an update the
rounding is applied again (the update starts from the stored, rounded centroids). The error
of each variant is the relative L2 against float64 dense attention; the issue's bound is
that 16-bit centroids may grow it by at most 1.1x.

Data:
- the trained retrieval LM's q/K/V (test/Inputs/qwen3-retrieval-attention.npz: layers 1 and
  3, KV head 0, 4096 tokens, the 16 query positions where the model retrieves), as in
  test/python/real-attention.py: index built on the prefix before the first query;
- synthetic caches (reference.make_inputs): clustered, heavy hitters, attention sink, i.i.d.
  random, and "llm": keys with a large common offset, low-rank structure, a few outlier
  channels, RoPE (theta 1e6) and a sink, queries correlated with a few keys. Each is built
  on N - 256 tokens, stepped, updated by 256 tokens and stepped again.

Usage: python3 bench/centroid_precision.py [--seeds 3] [--n 4096]
Prints one table (error with f32 centroids, bf16, f16, and the ratios).
"""
import argparse
import math
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
import multipole as mp  # noqa: E402
from multipole import reference as ref  # noqa: E402

ROUND = {
    "f32": lambda x: x,
    "bf16": lambda x: mp.from_bf16(mp.to_bf16(x)).astype(x.dtype),
    "f16": lambda x: x.astype(np.float16).astype(x.dtype),
}


def rounded(index, how):
    out = []
    for level in index:
        lv = dict(level)
        for key in ("centroids", "vcentroids"):
            lv[key] = ROUND[how](np.asarray(level[key]))
        out.append(lv)
    return out


def llm_like(B, Hq, H, N, D, seed):
    """Keys with the structure trained models show: a common offset, low-rank content, a few
    outlier channels, RoPE at theta 1e6 and a sink; queries near a few keys."""
    rng = np.random.default_rng(seed)
    G = Hq // H
    r = 8
    basis = rng.standard_normal((B, H, r, D))
    coef = rng.standard_normal((B, H, N, r))
    k = coef @ basis / math.sqrt(r) + 0.3 * rng.standard_normal((B, H, N, D))
    k += 2.0 * rng.standard_normal((B, H, 1, D))            # common offset
    out = rng.choice(D, size=4, replace=False)
    k[..., out] *= 8.0                                       # outlier channels
    k[:, :, 0] = 6.0 * k[:, :, 0] / np.linalg.norm(k[:, :, 0], axis=-1, keepdims=True) * math.sqrt(D)
    v = rng.standard_normal((B, H, N, D))
    q = np.empty((B, Hq, D))
    for b in range(B):
        for h in range(H):
            pick = rng.choice(N, size=3, replace=False)
            u = k[b, h, pick].mean(0)
            for i in range(h * G, (h + 1) * G):
                q[b, i] = u / np.linalg.norm(u) * math.sqrt(D) + rng.standard_normal(D)
    # RoPE on keys (at their positions) and queries (at position N), theta 1e6
    pos = np.arange(N)
    k = ref.rope_rotate(k, pos, 1e6)
    q = ref.rope_rotate(q[:, :, None], np.array([N]), 1e6)[:, :, 0]
    return q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)


def synthetic(kind, n, seed, cfg):
    B, Hq, H, D = 1, 8, 2, 128
    if kind == "llm":
        q, k, v = llm_like(B, Hq, H, n, D, seed)
    else:
        q, k, v = ref.make_inputs(B, Hq, H, n, D, kind, seed=seed)
    n0 = n - 256
    res = {}
    base = ref.build_index(k, v, np.array([n0]), cfg)
    upd = {}
    for how in ROUND:
        idx = rounded(base, how)
        e0 = ref.relative_error(
            ref.multipole_attention(q, k, v, np.array([n0]), idx, cfg),
            ref.dense_attention(q, k, v, np.array([n0])))
        idx2 = rounded(ref.update_index(idx, k, v, np.array([n]), cfg), how)
        e1 = ref.relative_error(
            ref.multipole_attention(q, k, v, np.array([n]), idx2, cfg),
            ref.dense_attention(q, k, v, np.array([n])))
        res[how] = (e0 + e1) / 2
        upd[how] = idx2
    return res


def real(cfg, data):
    d = np.load(data)
    qpos = d["query_positions"]
    n0 = int(qpos[0])
    rows = {}
    for layer in (1, 3):
        k = mp.from_bf16(d[f"k{layer}"]).astype(np.float32)[None, None]
        v = mp.from_bf16(d[f"v{layer}"]).astype(np.float32)[None, None]
        qs = mp.from_bf16(d[f"q{layer}"]).astype(np.float32)
        base = ref.build_index(k, v, np.array([n0]), cfg)
        res = {}
        for how in ROUND:
            idx = rounded(base, how)
            errs = []
            for j, p in enumerate(qpos):
                n = np.array([int(p) + 1])
                q = qs[j][None]
                errs.append(ref.relative_error(ref.multipole_attention(q, k, v, n, idx, cfg),
                                               ref.dense_attention(q, k, v, n)))
            res[how] = float(np.mean(errs))
        rows[f"trained LM, layer {layer}"] = res
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--seeds", type=int, default=3, help="seeds per synthetic kind (default 3)")
    ap.add_argument("--n", type=int, default=4096, help="synthetic cache length (default 4096)")
    ap.add_argument("--data", default=os.path.join(HERE, "..", "test", "Inputs",
                                                   "qwen3-retrieval-attention.npz"),
                    help="the trained model's q/K/V dump (default test/Inputs/...)")
    a = ap.parse_args()
    cfg = ref.Config()                      # the defaults: 6.25% centroids, 10% budget, sink 16
    rows = real(cfg, a.data)
    for kind in ("clustered", "heavy", "sink", "random", "llm"):
        acc = {h: [] for h in ROUND}
        for s in range(a.seeds):
            r = synthetic(kind, a.n, 100 + s, cfg)
            for h in ROUND:
                acc[h].append(r[h])
        rows[f"{kind} (N {a.n}, {a.seeds} seeds, build + update)"] = {h: float(np.mean(x)) for h, x in acc.items()}
    print("| data | f32 centroids | bf16 | f16 | bf16 / f32 | f16 / f32 |")
    print("| --- | --- | --- | --- | --- | --- |")
    for name, r in rows.items():
        print(f"| {name} | {r['f32']:.4e} | {r['bf16']:.4e} | {r['f16']:.4e} | "
              f"{r['bf16'] / r['f32']:.3f} | {r['f16'] / r['f32']:.3f} |")


if __name__ == "__main__":
    main()
