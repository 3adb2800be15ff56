"""Float64 numpy reference of Multipole Attention.

Follows ``docs/Algorithm.md`` (the normative spec) step by step: deterministic seeding,
argmin ties to the lowest cluster id, block splitting, the re-seed hash
``(c * 7919 + it * 104729) mod L``, no re-seed on the last Lloyd iteration, the online update,
the level-1 (coarse) clustering, the selection threshold rule and the merge rule.

The index is represented exactly like the binary ABI of the compiled code: one dict of numpy
arrays per level (finest first) with the keys

    centroids  f32 [B,H,C,D]   key centroids (pre-RoPE keys), 0 for unused/empty rows
    vcentroids f32 [B,H,C,D]   value centroids, 0 for unused/empty rows
    counts     i32 [B,H,C]     tokens per cluster (level 1: tokens of its fine members)
    offsets    i32 [B,H,C+1]   CSR start of each cluster's member list (total for c >= nclusters);
                               level 1: over fine-cluster items, so it differs from cumsum(counts)
    members    i32 [B,H,M]     items grouped by cluster id, ascending item within; tail = -1
    assign     i32 [B,H,M]     cluster id of each item, -1 when not clustered
    state      i32 [B,H,4]     [nclusters, Lc, block_start, block_cluster_start] ([nc, Lc, 0, 0]
                               for level 1)

with H = Hkv, C = the level's capacity (``Config.capacity``), M = N (tokens) for level 0 and
M = C0 (fine clusters) for level 1. All arithmetic is float64; the index stores the ABI dtypes,
and every function accepts index dicts produced by the compiled code (f32 arrays).
"""
from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import List, Optional, Sequence

import numpy as np

F64 = np.float64
RESEED_C = 7919
RESEED_IT = 104729
INDEX_KEYS = ("centroids", "vcentroids", "counts", "offsets", "members", "assign", "state")

__all__ = [
    "Level", "Config", "rope_rotate", "dense_attention", "block_layout", "build_index",
    "update_index", "index_from_assignment", "validate_index", "score", "eligible", "select",
    "exact_partial", "approx_partial", "merge", "multipole_attention", "make_inputs",
    "relative_error", "pre_rope_keys",
]


# ----------------------------------------------------------------------------------------------
# Configuration
# ----------------------------------------------------------------------------------------------
@dataclass
class Level:
    """One level of `#multipole.config`: `fraction` plus exactly one of the two budgets."""

    fraction: float
    budget_tokens: Optional[int] = None
    budget_fraction: Optional[float] = None

    def __post_init__(self):
        if (self.budget_tokens is None) == (self.budget_fraction is None):
            raise ValueError("exactly one of budget_tokens / budget_fraction must be given")
        if not (0.0 < self.fraction < 1.0):
            raise ValueError(f"fraction must be in (0, 1), got {self.fraction}")
        if self.budget_tokens is not None and self.budget_tokens < 0:
            raise ValueError("budget_tokens must be >= 0")
        if self.budget_fraction is not None and not (0.0 <= self.budget_fraction < 1.0):
            raise ValueError("budget_fraction must be in [0, 1)")

    def budget(self, Lc: int) -> int:
        """Token budget T for a clustered length Lc."""
        if self.budget_tokens is not None:
            return int(self.budget_tokens)
        return int(math.floor(float(self.budget_fraction) * float(Lc)))


@dataclass
class Config:
    """Knobs of `#multipole.config` with the spec defaults."""

    levels: List[Level] = field(default_factory=lambda: [Level(0.0625, budget_fraction=0.1)])
    sink: int = 16
    interval: int = 128
    block_size: int = 8192
    build_iters: int = 10
    update_iters: int = 3
    score_position: int = 2048
    rope_theta: float = 0.0
    replacement: bool = True

    def __post_init__(self):
        self.levels = [lv if isinstance(lv, Level) else Level(**lv) for lv in self.levels]
        if len(self.levels) not in (1, 2):
            raise ValueError("1 or 2 levels")
        if self.sink < 0 or self.interval < 1 or self.block_size < 2:
            raise ValueError("invalid sink / interval / block_size")
        if self.build_iters < 1 or self.update_iters < 1:
            raise ValueError("iteration counts must be >= 1")
        if self.score_position < 0 or self.rope_theta < 0:
            raise ValueError("score_position and rope_theta must be >= 0")

    def extra_clusters(self) -> int:
        """k_extra = max(1, floor(I * f0)) clusters added per update interval."""
        return max(1, int(math.floor(float(self.interval) * self.levels[0].fraction)))

    def capacity(self, N: int) -> List[int]:
        """Cluster capacities per level (ABI): C0 = ceil(N*max(f0, 1/I)) + N//(BS//2) + 2,
        C1 = max(1, ceil(f1*C0)) + 1 (same double arithmetic as ConfigAttr::capacity)."""
        rate = max(float(self.levels[0].fraction), 1.0 / float(self.interval))
        c0 = int(math.ceil(float(N) * rate)) + N // (self.block_size // 2) + 2
        caps = [c0]
        if len(self.levels) == 2:
            caps.append(max(1, int(math.ceil(float(self.levels[1].fraction) * float(c0)))) + 1)
        return caps


# ----------------------------------------------------------------------------------------------
# Small helpers
# ----------------------------------------------------------------------------------------------
def rope_rotate(x, pos, theta):
    """Half-split ("rotate_half") RoPE: rotate the last axis of x (size D, even) by position pos.

    For i < D/2: w_i = theta^(-2i/D), a = pos*w_i, y[i] = x[i] cos a - x[i+D/2] sin a,
    y[i+D/2] = x[i+D/2] cos a + x[i] sin a. `pos` is a scalar or broadcastable to x[..., 0].
    theta == 0 is the identity. Returns float64.
    """
    x = np.asarray(x, dtype=F64)
    if theta == 0:
        return x.copy()
    D = x.shape[-1]
    if D % 2:
        raise ValueError("RoPE needs an even head dimension")
    h = D // 2
    w = float(theta) ** (-2.0 * np.arange(h, dtype=F64) / D)
    a = np.asarray(pos, dtype=F64)[..., None] * w
    c, s = np.cos(a), np.sin(a)
    x1, x2 = x[..., :h], x[..., h:]
    return np.concatenate([x1 * c - x2 * s, x2 * c + x1 * s], axis=-1)


def pre_rope_keys(k, theta):
    """kp[..., j, :] = rot(k[..., j, :], -j) (float64); identity when theta == 0."""
    k = np.asarray(k, dtype=F64)
    if theta == 0:
        return k.copy()
    return rope_rotate(k, -np.arange(k.shape[-2], dtype=F64), theta)


def _lens(lens, B, N):
    if lens is None:
        return np.full(B, N, dtype=np.int64)
    lens = np.asarray(lens, dtype=np.int64).reshape(B)
    if np.any(lens < 0) or np.any(lens > N):
        raise ValueError("lens must be in [0, N]")
    return lens


def _scale(scale, D):
    return float(scale) if scale is not None else 1.0 / math.sqrt(D)


def _segsum(assign, vals, K):
    """sum of vals[t] (shape [L, D]) per cluster id assign[t] in [0, K): returns [K, D]."""
    L, D = vals.shape
    idx = (assign[:, None] * D + np.arange(D)[None, :]).ravel()
    return np.bincount(idx, weights=vals.ravel(), minlength=K * D).reshape(K, D)


def relative_error(out, ref):
    """||out - ref|| / ||ref|| (Frobenius, float64)."""
    out, ref = np.asarray(out, F64), np.asarray(ref, F64)
    den = np.linalg.norm(ref)
    return float(np.linalg.norm(out - ref) / (den if den > 0 else 1.0))


# ----------------------------------------------------------------------------------------------
# Dense attention
# ----------------------------------------------------------------------------------------------
def dense_attention(q, k, v, lens=None, scale=None):
    """Plain softmax attention over tokens [0, lens[b]) in float64.

    q [B,Hq,D], k/v [B,Hkv,N,D], lens [B]; query head i uses KV head i // (Hq // Hkv).
    Returns [B,Hq,D] float64 (0 for an empty sequence).
    """
    q = np.asarray(q, F64)
    k = np.asarray(k, F64)
    v = np.asarray(v, F64)
    B, Hq, D = q.shape
    H, N = k.shape[1], k.shape[2]
    G = Hq // H
    lens = _lens(lens, B, N)
    s = _scale(scale, D)
    x = s * np.einsum("bhgd,bhnd->bhgn", q.reshape(B, H, G, D), k)
    valid = (np.arange(N)[None, :] < lens[:, None])[:, None, None, :]
    x = np.where(valid, x, -np.inf)
    m = x.max(-1, keepdims=True)
    m = np.where(np.isfinite(m), m, 0.0)
    p = np.where(valid, np.exp(x - m), 0.0)
    l = p.sum(-1, keepdims=True)
    o = np.einsum("bhgn,bhnd->bhgd", p, v) / np.where(l > 0, l, 1.0)
    return o.reshape(B, Hq, D)


# ----------------------------------------------------------------------------------------------
# k-means (spec: Build, steps 1-2; shared by level 0 build, update and level 1)
# ----------------------------------------------------------------------------------------------
def _lloyd(x, w, mu0, iters):
    """`iters` Lloyd iterations from the initial centroids mu0 (rows are local cluster ids).

    a. assign t -> argmin_c |mu_c|^2 - 2 x_t.mu_c (np.argmin: ties to the lowest c);
    b. mu_c = w-weighted mean of its points;
    c. if it < iters-1, empty clusters are re-seeded: mu_c = x[(c*7919 + it*104729) mod L].
    After the last iteration empty clusters have mu = 0.
    Returns (assign [L], mu [K,D], weight sums [K], point counts [K]).
    """
    L = x.shape[0]
    K = mu0.shape[0]
    mu = mu0.copy()
    xw = x * w[:, None]
    for it in range(iters):
        d = np.einsum("cd,cd->c", mu, mu)[None, :] - 2.0 * (x @ mu.T)
        a = np.argmin(d, axis=1)
        npts = np.bincount(a, minlength=K)
        wsum = np.bincount(a, weights=w, minlength=K)
        sums = _segsum(a, xw, K)
        ne = npts > 0
        mu = np.zeros_like(mu)
        mu[ne] = sums[ne] / wsum[ne, None]
        if it < iters - 1:
            empty = np.nonzero(~ne)[0]
            if empty.size:
                mu[empty] = x[(empty * RESEED_C + it * RESEED_IT) % L]
    return a, mu, wsum, npts


def block_layout(Lc: int, cfg: Config):
    """Blocks of the clustered region at build: list of (start_token, length)."""
    S, BS = cfg.sink, cfg.block_size
    if Lc <= 0:
        return []
    nb, rem = divmod(Lc, BS)
    if nb == 0:
        lengths = [Lc]
    elif rem >= BS // 2:
        lengths = [BS] * nb + [rem]
    else:
        lengths = [BS] * (nb - 1) + [BS + rem]
    out, start = [], S
    for L in lengths:
        out.append((start, L))
        start += L
    return out


def _build_lc(n: int, cfg: Config) -> int:
    S, I = cfg.sink, cfg.interval
    return max(0, (n - S - I) // I) * I


# ----------------------------------------------------------------------------------------------
# Packing of per-(b,h) float64 results into the ABI dict
# ----------------------------------------------------------------------------------------------
def _empty_level(B, H, C, M, D):
    return {
        "centroids": np.zeros((B, H, C, D), np.float32),
        "vcentroids": np.zeros((B, H, C, D), np.float32),
        "counts": np.zeros((B, H, C), np.int32),
        "offsets": np.zeros((B, H, C + 1), np.int32),
        "members": np.full((B, H, M), -1, np.int32),
        "assign": np.full((B, H, M), -1, np.int32),
        "state": np.zeros((B, H, 4), np.int32),
    }


def _store_bh(level, b, h, assign, mu, nu, counts, state):
    """Write one (b,h): assign [M] (-1 = none), mu/nu [K,D] f64, counts [K], state (4 ints)."""
    K = mu.shape[0]
    C = level["counts"].shape[2]
    if K > C:
        raise ValueError(f"cluster capacity exceeded: {K} > {C}")
    items = np.nonzero(assign >= 0)[0]
    order = items[np.argsort(assign[items], kind="stable")]
    level["assign"][b, h] = assign
    level["members"][b, h] = -1
    level["members"][b, h, : order.size] = order
    cnt = np.zeros(C, np.int64)
    cnt[:K] = counts
    level["counts"][b, h] = cnt
    # CSR over member items (level 0: tokens == counts; level 1: fine clusters, not tokens)
    nitems = np.bincount(assign[items], minlength=C)[:C]
    level["offsets"][b, h, 0] = 0
    level["offsets"][b, h, 1:] = np.cumsum(nitems)
    level["centroids"][b, h] = 0
    level["vcentroids"][b, h] = 0
    level["centroids"][b, h, :K] = mu
    level["vcentroids"][b, h, :K] = nu
    level["state"][b, h] = state


def _weighted_means(assign, vals, weights, K):
    """Per-cluster means of vals [M, D] weighted by weights [M] over the items with
    assign >= 0; zero rows where a cluster has no weight."""
    vals = np.asarray(vals, F64)
    ok = assign >= 0
    num = np.zeros((K, vals.shape[1]))
    den = np.zeros(K)
    np.add.at(num, assign[ok], weights[ok, None] * vals[ok])
    np.add.at(den, assign[ok], weights[ok])
    return np.where(den[:, None] > 0, num / np.maximum(den, 1)[:, None], 0.0)


def _means(assign, vals, K):
    """f64 means of vals over items per cluster (0 for empty clusters); assign -1 ignored."""
    sel = assign >= 0
    a = assign[sel]
    cnt = np.bincount(a, minlength=K)[:K]
    sums = _segsum(a, vals[sel], K)
    mu = np.zeros((K, vals.shape[1]))
    ne = cnt > 0
    mu[ne] = sums[ne] / cnt[ne, None]
    return mu, cnt


# ----------------------------------------------------------------------------------------------
# Level 1 (coarse)
# ----------------------------------------------------------------------------------------------
def _build_level1_bh(mu0, nu0, n0, ncl0, Lc, f1, iters):
    """Weighted k-means over the non-empty fine clusters. Returns (assign [C0], mu, nu, counts, nc)."""
    C0 = mu0.shape[0]
    assign = np.full(C0, -1, np.int64)
    ids = np.nonzero((n0 > 0) & (np.arange(C0) < ncl0))[0]
    m = ids.size
    if m == 0:
        D = mu0.shape[1]
        return assign, np.zeros((0, D)), np.zeros((0, D)), np.zeros(0, np.int64), 0
    Cc = max(1, int(math.floor(f1 * m)))
    x = mu0[ids]
    w = n0[ids].astype(F64)
    init = x[(np.arange(Cc) * m) // Cc]
    a, mu, wsum, npts = _lloyd(x, w, init, iters)
    assign[ids] = a
    counts = np.bincount(a, weights=n0[ids], minlength=Cc).astype(np.int64)
    nu = np.zeros_like(mu)
    ne = npts > 0
    nu[ne] = _segsum(a, nu0[ids] * w[:, None], Cc)[ne] / wsum[ne, None]
    return assign, mu, nu, counts, Cc


def _build_level1(level0_f64, B, H, C0, C1, D, cfg):
    """level0_f64[(b,h)] = (mu0, nu0, counts0, ncl0, Lc) in f64; returns the level-1 dict."""
    lvl = _empty_level(B, H, C1, C0, D)
    f1 = float(cfg.levels[1].fraction)
    for b in range(B):
        for h in range(H):
            mu0, nu0, n0, ncl0, Lc = level0_f64[(b, h)]
            assign, mu, nu, counts, nc = _build_level1_bh(mu0, nu0, n0, ncl0, Lc, f1,
                                                          cfg.build_iters)
            _store_bh(lvl, b, h, assign, mu, nu, counts, (nc, Lc, 0, 0))
    return lvl


# ----------------------------------------------------------------------------------------------
# Build / update / hand-made index
# ----------------------------------------------------------------------------------------------
def build_index(k, v, lens, cfg: Config, N=None):
    """Build the index (list of level dicts, finest first) from caches k/v [B,H,N,D].

    Level 0: blocked k-means on the pre-RoPE keys of the clustered region; level 1 (when cfg
    has two levels): weighted k-means over the non-empty fine clusters. N (default k.shape[2])
    sizes the ABI arrays.
    """
    k = np.asarray(k)
    B, H, Nk, D = k.shape
    N = Nk if N is None else int(N)
    if N < Nk:
        raise ValueError("N must be >= k.shape[2]")
    lens = _lens(lens, B, Nk)
    kp = pre_rope_keys(k, cfg.rope_theta)
    vv = np.asarray(v, F64)
    caps = cfg.capacity(N)
    C0 = caps[0]
    f0 = float(cfg.levels[0].fraction)
    lvl0 = _empty_level(B, H, C0, N, D)
    shadow = {}
    for b in range(B):
        n = int(lens[b])
        Lc = _build_lc(n, cfg)
        blocks = block_layout(Lc, cfg)
        for h in range(H):
            assign = np.full(N, -1, np.int64)
            mus, nus, cnts = [], [], []
            cid = 0
            bstart, bcs = cfg.sink, 0
            for start, L in blocks:
                Cb = max(1, int(math.floor(f0 * L)))
                x = kp[b, h, start:start + L]
                init = x[(np.arange(Cb) * L) // Cb]
                a, mu, _, npts = _lloyd(x, np.ones(L), init, cfg.build_iters)
                nu, _ = _means(a, vv[b, h, start:start + L], Cb)
                assign[start:start + L] = a + cid
                mus.append(mu)
                nus.append(nu)
                cnts.append(npts)
                bstart, bcs = start, cid
                cid += Cb
            mu = np.concatenate(mus) if mus else np.zeros((0, D))
            nu = np.concatenate(nus) if nus else np.zeros((0, D))
            cnt = np.concatenate(cnts) if cnts else np.zeros(0, np.int64)
            _store_bh(lvl0, b, h, assign, mu, nu, cnt, (cid, Lc, bstart, bcs))
            mu_full = np.zeros((C0, D))
            nu_full = np.zeros((C0, D))
            n_full = np.zeros(C0, np.int64)
            mu_full[:cid], nu_full[:cid], n_full[:cid] = mu, nu, cnt
            shadow[(b, h)] = (mu_full, nu_full, n_full, cid, Lc)
    index = [lvl0]
    if len(cfg.levels) == 2:
        index.append(_build_level1(shadow, B, H, C0, caps[1], D, cfg))
    return index


def _copy_index(index):
    return [{key: np.array(lv[key], copy=True) for key in INDEX_KEYS} for lv in index]


def update_index(index, k, v, lens, cfg: Config):
    """Online update (spec "Online update") of level 0 for the new lengths; rebuilds level 1.

    Returns an updated copy; the input index is not modified. An index with bf16 centroids
    (uint16 bit patterns) is widened first and its updated centroids are rounded back to
    bf16; the working centroids are exact member means (f64), where the compiled update
    starts from the stored, rounded values, so the two agree to that rounding.
    """
    index, was_bf16 = _widened(index)
    out = _copy_index(index)
    lvl0 = out[0]
    k = np.asarray(k)
    B, H, Nk, D = k.shape
    lens = _lens(lens, B, Nk)
    kp = pre_rope_keys(k, cfg.rope_theta)
    vv = np.asarray(v, F64)
    S, I, BS = cfg.sink, cfg.interval, cfg.block_size
    C0 = lvl0["counts"].shape[2]
    kx = cfg.extra_clusters()
    shadow = {}
    for b in range(B):
        n = int(lens[b])
        for h in range(H):
            ncl, Lc, bstart, bcs = (int(t) for t in lvl0["state"][b, h])
            assign = lvl0["assign"][b, h].astype(np.int64)
            counts = lvl0["counts"][b, h].astype(np.int64)
            # f64 working centroids: exact member means (== the stored f32 values up to rounding)
            Lm = min(assign.size, Nk)
            mu, _ = _means(assign[:Lm], kp[b, h, :Lm], C0)
            touched = None
            while n - S - Lc >= 2 * I:
                # 1. block bookkeeping
                if Lc == 0:
                    bstart, bcs = S, 0
                elif S + Lc + I - bstart > BS + BS // 2:
                    bstart, bcs = S + Lc, ncl
                if ncl + kx > C0:
                    raise ValueError(f"cluster capacity exceeded during update: {ncl + kx} > {C0}")
                touched = bcs if touched is None else min(touched, bcs)
                t0 = S + Lc
                # 2. seed k_extra new clusters
                seeds = t0 + (np.arange(kx) * I) // kx
                for e in range(kx):
                    mu[ncl + e] = kp[b, h, seeds[e]]
                    counts[ncl + e] = 1
                    assign[seeds[e]] = ncl + e
                # 3. the other new tokens, in order, to the nearest cluster of the block
                seedset = set(int(s_) for s_ in seeds)
                hi = ncl + kx
                for t in range(t0, t0 + I):
                    if t in seedset:
                        continue
                    x = kp[b, h, t]
                    blk = mu[bcs:hi]
                    d = np.einsum("cd,cd->c", blk, blk) - 2.0 * (blk @ x)
                    c = bcs + int(np.argmin(d))
                    mu[c] += (x - mu[c]) / (counts[c] + 1)
                    counts[c] += 1
                    assign[t] = c
                # 4.
                ncl += kx
                Lc += I
                # 5. Lloyd over the current block
                L = S + Lc - bstart
                xb = kp[b, h, bstart:S + Lc]
                a, mub, _, npts = _lloyd(xb, np.ones(L), mu[bcs:ncl], cfg.update_iters)
                mu[bcs:ncl] = mub
                counts[bcs:ncl] = npts
                assign[bstart:S + Lc] = a + bcs
            # 6. value centroids etc. of the touched clusters; frozen rows keep stored values
            mu_st = lvl0["centroids"][b, h, :ncl].astype(F64)
            nu_st = lvl0["vcentroids"][b, h, :ncl].astype(F64)
            if touched is not None:
                nu_all, _ = _means(assign[:Lm], vv[b, h, :Lm], C0)
                mu_st[touched:ncl] = mu[touched:ncl]
                nu_st[touched:ncl] = nu_all[touched:ncl]
            _store_bh(lvl0, b, h, assign, mu_st, nu_st, counts[:ncl], (ncl, Lc, bstart, bcs))
            if len(out) == 2:
                mu_ex, n_ex = _means(assign[:Lm], kp[b, h, :Lm], C0)
                nu_ex, _ = _means(assign[:Lm], vv[b, h, :Lm], C0)
                shadow[(b, h)] = (mu_ex, nu_ex, n_ex, ncl, Lc)
    if len(out) == 2:
        C1 = out[1]["counts"].shape[2]
        out[1] = _build_level1(shadow, B, H, C0, C1, D, cfg)
    if was_bf16:
        from .runtime import to_bf16
        for lv in out:
            for key in ("centroids", "vcentroids"):
                lv[key] = to_bf16(lv[key])
    return out


def index_from_assignment(k, v, lens, cfg: Config, assign, C=None, N=None):
    """Hand-made level-0 index for a given clustering (for tests).

    assign [B,H,N] gives the cluster id of each token of the clustered region R = [S, S+Lc)
    (Lc as at build) and -1 elsewhere; centroids/value centroids are the exact member means,
    state = [max id + 1, Lc, S, 0]. C defaults to cfg.capacity(N)[0] (or larger if needed).
    """
    k = np.asarray(k)
    B, H, Nk, D = k.shape
    N = Nk if N is None else int(N)
    lens = _lens(lens, B, Nk)
    kp = pre_rope_keys(k, cfg.rope_theta)
    vv = np.asarray(v, F64)
    assign = np.asarray(assign, np.int64)
    K = int(assign.max()) + 1 if assign.size else 0
    C = max(cfg.capacity(N)[0], K) if C is None else int(C)
    lvl = _empty_level(B, H, C, N, D)
    for b in range(B):
        Lc = _build_lc(int(lens[b]), cfg)
        for h in range(H):
            a = assign[b, h].copy()
            R = np.zeros(N, bool)
            R[cfg.sink:cfg.sink + Lc] = True
            if np.any((a >= 0) != R):
                raise ValueError("assign must cover exactly the clustered region")
            ncl = int(a.max()) + 1 if Lc > 0 else 0
            mu, cnt = _means(a[:Nk], kp[b, h], max(ncl, 1))
            nu, _ = _means(a[:Nk], vv[b, h], max(ncl, 1))
            _store_bh(lvl, b, h, a, mu[:ncl], nu[:ncl], cnt[:ncl], (ncl, Lc, cfg.sink, 0))
    return lvl


def widened(index):
    """`index` with bf16 centroids (uint16 bit patterns) widened to float32."""
    return _widened(index)[0]


def _widened(index):
    """`index` with centroids stored in bf16 (uint16 bit patterns: centroid-type=bf16, the
    compiler's default) widened to float32, and whether any were: the reference computes
    on the stored values, as the kernels do."""
    from .runtime import from_bf16
    was = False
    out = []
    for lv in index:
        lv = dict(lv)
        for key in ("centroids", "vcentroids"):
            if key in lv and np.asarray(lv[key]).dtype == np.uint16:
                lv[key] = from_bf16(lv[key])
                was = True
        out.append(lv)
    return out, was


def validate_index(index, k, v, lens, cfg: Config, rtol=1e-5, atol=1e-6):
    """Check the ABI invariants of an index against the caches; raises AssertionError.

    Shapes/dtypes, CSR consistency, member ordering, counts sum to Lc (level 0) / to the fine
    tokens (level 1), every non-empty centroid equals the mean of its members (pre-RoPE keys,
    values; level 1: the count-weighted mean of its fine members' centroids as stored), empty/unused rows are 0, Lc as the spec allows. Centroids
    stored in bf16 (centroid-type=bf16, the default) must come as uint16 bit patterns (what
    the package returns; multipole.to_numpy of a torch.bfloat16 tensor): they are compared
    to the means within the bf16 rounding (rtol >= 2^-8). Float32 arrays are held to rtol.
    """
    index, was_bf16 = _widened(index)
    if was_bf16:
        rtol = max(rtol, 2.0 ** -8)
    k = np.asarray(k)
    B, H, Nk, D = k.shape
    lens = _lens(lens, B, Nk)
    kp = pre_rope_keys(k, cfg.rope_theta)
    vv = np.asarray(v, F64)
    assert len(index) == len(cfg.levels), "number of levels"
    N = index[0]["assign"].shape[2]
    caps = cfg.capacity(N)
    for li, lv in enumerate(index):
        assert set(lv) >= set(INDEX_KEYS), f"level {li}: keys {sorted(lv)}"
        C = lv["counts"].shape[2]
        M = N if li == 0 else caps[0]
        assert C == caps[li], f"level {li}: capacity {C} != {caps[li]}"
        exp = {"centroids": ((B, H, C, D), np.float32), "vcentroids": ((B, H, C, D), np.float32),
               "counts": ((B, H, C), np.int32), "offsets": ((B, H, C + 1), np.int32),
               "members": ((B, H, M), np.int32), "assign": ((B, H, M), np.int32),
               "state": ((B, H, 4), np.int32)}
        for key, (shape, dt) in exp.items():
            assert lv[key].shape == shape, f"level {li} {key}: shape {lv[key].shape} != {shape}"
            assert lv[key].dtype == dt, f"level {li} {key}: dtype {lv[key].dtype} != {dt}"
    for b in range(B):
        n = int(lens[b])
        for h in range(H):
            l0 = index[0]
            ncl, Lc, bstart, bcs = (int(t) for t in l0["state"][b, h])
            assert Lc % cfg.interval == 0 and 0 <= Lc, f"({b},{h}) Lc={Lc}"
            if n < cfg.sink + 2 * cfg.interval:
                assert Lc == 0, f"({b},{h}) Lc={Lc} must be 0 for n={n}"
            else:
                assert cfg.interval <= n - cfg.sink - Lc < 2 * cfg.interval, \
                    f"({b},{h}) window out of [I, 2I): Lc={Lc} n={n}"
            for li, lv in enumerate(index):
                nc = int(lv["state"][b, h, 0])
                C = lv["counts"].shape[2]
                cnt = lv["counts"][b, h].astype(np.int64)
                off = lv["offsets"][b, h].astype(np.int64)
                mem = lv["members"][b, h].astype(np.int64)
                asg = lv["assign"][b, h].astype(np.int64)
                assert 0 <= nc <= C, f"level {li} ({b},{h}) nclusters {nc}"
                assert np.all(cnt[nc:] == 0), f"level {li} ({b},{h}) counts beyond nclusters"
                items = np.nonzero(asg >= 0)[0]
                nitems = np.bincount(asg[items], minlength=C)[:C]
                assert asg[items].max(initial=-1) < C, f"level {li} ({b},{h}) assign >= C"
                assert off[0] == 0 and np.array_equal(np.diff(off), nitems), \
                    f"level {li} ({b},{h}) offsets are not the CSR of the assignment"
                tot = int(off[-1])
                assert np.all(mem[tot:] == -1), f"level {li} ({b},{h}) members tail"
                assert items.size == tot, f"level {li} ({b},{h}) assigned items {items.size} != {tot}"
                assert np.all((nitems > 0) == (cnt > 0)), f"level {li} ({b},{h}) empty clusters"
                want = items[np.argsort(asg[items], kind="stable")]
                assert np.array_equal(mem[:tot], want), f"level {li} ({b},{h}) member order"
                assert np.all(asg[items] < nc), f"level {li} ({b},{h}) assign >= nclusters"
                if li == 0:
                    R = np.zeros(N, bool)
                    R[cfg.sink:cfg.sink + Lc] = True
                    assert np.array_equal(asg >= 0, R), f"level 0 ({b},{h}) assigned != region"
                    assert cnt.sum() == Lc, f"level 0 ({b},{h}) counts sum {cnt.sum()} != Lc {Lc}"
                    assert np.array_equal(nitems, cnt), \
                        f"level 0 ({b},{h}) counts != assignment histogram"
                    mu_ex, _ = _means(asg[:Nk], kp[b, h], C)
                    nu_ex, _ = _means(asg[:Nk], vv[b, h], C)
                    fine_cnt = cnt
                else:
                    fine_nc = int(index[0]["state"][b, h, 0])
                    ne_fine = (fine_cnt > 0) & (np.arange(fine_cnt.size) < fine_nc)
                    assert np.array_equal(asg >= 0, ne_fine), f"level 1 ({b},{h}) parent map"
                    assert int(lv["state"][b, h, 1]) == Lc, f"level 1 ({b},{h}) Lc"
                    tokc = np.bincount(asg[items], weights=fine_cnt[items], minlength=C)[:C]
                    assert np.array_equal(tokc.astype(np.int64), cnt), f"level 1 ({b},{h}) counts"
                    assert cnt.sum() == Lc, f"level 1 ({b},{h}) counts sum"
                    # The count-weighted mean of the fine members' centroids as stored (with
                    # bf16 storage: of the rounded fine centroids, then rounded again; with
                    # f32 storage this is the members' token mean to f32 rounding).
                    fa = np.where(ne_fine, asg, -1)
                    wts = np.where(ne_fine, fine_cnt, 0).astype(F64)
                    mu_ex = _weighted_means(fa, index[0]["centroids"][b, h], wts, C)
                    nu_ex = _weighted_means(fa, index[0]["vcentroids"][b, h], wts, C)
                cen = lv["centroids"][b, h].astype(F64)
                vcen = lv["vcentroids"][b, h].astype(F64)
                ne = cnt > 0
                for name, got, ex in (("centroids", cen, mu_ex), ("vcentroids", vcen, nu_ex)):
                    assert np.all(got[~ne] == 0), f"level {li} ({b},{h}) {name}: empty rows not 0"
                    assert np.allclose(got[ne], ex[ne], rtol=rtol, atol=atol), \
                        f"level {li} ({b},{h}) {name} != member means " \
                        f"(max err {np.abs(got[ne] - ex[ne]).max() if ne.any() else 0})"
    return True


# ----------------------------------------------------------------------------------------------
# Scoring, selection, partials, merge
# ----------------------------------------------------------------------------------------------
def _nonempty(level):
    cnt = np.asarray(level["counts"])
    nc = np.asarray(level["state"])[:, :, 0]
    return (cnt > 0) & (np.arange(cnt.shape[2])[None, None, :] < nc[:, :, None])


def _scoring_query(q, lens, cfg):
    q = np.asarray(q, F64)
    if cfg.rope_theta == 0:
        return q
    if lens is None:
        raise ValueError("lens are needed to place the scoring query when rope_theta != 0")
    lens = np.asarray(lens, np.int64)
    pos = (cfg.score_position - (lens - 1)).astype(F64)[:, None]  # [B,1] -> broadcast over Hq
    return rope_rotate(q, pos, cfg.rope_theta)


def score(q, level, lens, cfg: Config, scale=None, parent=None):
    """Cluster scores of one level.

    a[b,i,c] = s * qs_i . mu_c (qs_i = rot(q_i, P - (n-1))), shape [B,Hq,C];
    r[b,h,c] = sum_{i in group(h)} exp(a_ic) / Z_i with Z_i = sum_{non-empty c} n_c exp(a_ic),
    -1 for empty / c >= nclusters, shape [B,H,C]. `parent` is accepted for API symmetry and is
    unused: per the spec Z_i runs over all non-empty clusters of the level.
    """
    q = np.asarray(q, F64)
    B, Hq, D = q.shape
    cen = np.asarray(level["centroids"], F64)
    H, C = cen.shape[1], cen.shape[2]
    G = Hq // H
    s = _scale(scale, D)
    qs = _scoring_query(q, lens, cfg).reshape(B, H, G, D)
    a = s * np.einsum("bhgd,bhcd->bhgc", qs, cen)
    ne = _nonempty(level)[:, :, None, :]
    n = np.asarray(level["counts"], F64)[:, :, None, :]
    am = np.where(ne, a, -np.inf).max(-1, keepdims=True)
    am = np.where(np.isfinite(am), am, 0.0)
    e = np.where(ne, np.exp(a - am), 0.0)
    Z = (n * e).sum(-1, keepdims=True)
    p = e / np.where(Z > 0, Z, 1.0)
    r = np.where(ne[:, :, 0], p.sum(2), -1.0)
    return r, a.reshape(B, Hq, C)


def eligible(level, parent_assign=None, parent_selected=None):
    """Eligible clusters [B,H,C]: non-empty, c < nclusters, and parent selected (if given)."""
    el = _nonempty(level)
    if parent_assign is not None:
        pa = np.asarray(parent_assign, np.int64)
        ps = np.asarray(parent_selected, bool)
        el = el & (pa >= 0) & np.take_along_axis(ps, np.maximum(pa, 0), axis=2)
    return el


def _select_1d(r, n, el, T):
    idx = np.nonzero(el)[0]
    sel = np.zeros(r.shape[0], bool)
    if n[idx].sum() <= T:
        sel[idx] = True
        return sel
    rr, nn = r[idx], n[idx]
    # W(t) = sum_{eligible, r >= t} n; t* = max { r_c : W(r_c) > T }; select r > t*.
    order = np.argsort(-rr, kind="stable")
    rs, cs = rr[order], np.cumsum(nn[order])
    # W at each distinct value = cumulative count through the last element equal to it
    last = np.r_[rs[1:] != rs[:-1], True]
    vals, W = rs[last], cs[last]
    tstar = vals[np.nonzero(W > T)[0][0]]  # vals descending: first with W > T is the max
    sel[idx[rr > tstar]] = True
    return sel


def select(r, level, lens, cfg: Config, level_idx, parent_assign=None, parent_selected=None):
    """Selected clusters [B,H,C] of one level under the budget of cfg.levels[level_idx].

    T = budget_tokens or floor(budget_fraction * Lc). If eligible counts sum to <= T all eligible
    clusters are selected; else t* = max{r_c : W(r_c) > T} and clusters with r_c > t* are kept.
    `lens` is accepted for API symmetry (Lc comes from the level's state).
    """
    r = np.asarray(r, F64)
    B, H, C = r.shape
    el = eligible(level, parent_assign, parent_selected)
    n = np.asarray(level["counts"], np.int64)
    Lc = np.asarray(level["state"])[:, :, 1]
    lvcfg = cfg.levels[level_idx]
    sel = np.zeros((B, H, C), bool)
    for b in range(B):
        for h in range(H):
            sel[b, h] = _select_1d(r[b, h], n[b, h], el[b, h], lvcfg.budget(int(Lc[b, h])))
    return sel


def _partial(x, mask, weights, vals):
    """x [B,H,G,K] logits, mask [B,H,K], weights [B,H,K], vals [B,H,K,D] -> (acc, m, l)."""
    B, H, G, K = x.shape
    mk = mask[:, :, None, :]
    m = np.where(mk, x, -np.inf).max(-1) if K else np.full((B, H, G), -np.inf)
    msafe = np.where(np.isfinite(m), m, 0.0)
    p = np.where(mk, np.exp(x - msafe[..., None]), 0.0) * weights[:, :, None, :]
    l = p.sum(-1)
    acc = np.einsum("bhgk,bhkd->bhgd", p, vals)
    D = vals.shape[-1]
    return acc.reshape(B, H * G, D), m.reshape(B, H * G), l.reshape(B, H * G)


def exact_partial(q, k, v, lens, level0, selected0, cfg: Config, scale=None):
    """Exact partial over sink ∪ window ∪ members of the selected level-0 clusters.

    Returns (acc [B,Hq,D], m [B,Hq], l [B,Hq]); m = -inf, l = 0, acc = 0 for an empty set.
    """
    q = np.asarray(q, F64)
    k = np.asarray(k, F64)
    v = np.asarray(v, F64)
    B, Hq, D = q.shape
    H, N = k.shape[1], k.shape[2]
    G = Hq // H
    lens = _lens(lens, B, N)
    s = _scale(scale, D)
    Lc = np.asarray(level0["state"])[:, :, 1].astype(np.int64)  # [B,H]
    j = np.arange(N)[None, None, :]
    n = lens[:, None, None]
    S = cfg.sink
    mask = (j < np.minimum(S, n)) | ((j >= S + Lc[:, :, None]) & (j < n))
    asg = np.asarray(level0["assign"], np.int64)[:, :, :N]
    sel = np.asarray(selected0, bool)
    mask |= (asg >= 0) & np.take_along_axis(sel, np.maximum(asg, 0), axis=2) & (j < n)
    x = s * np.einsum("bhgd,bhnd->bhgn", q.reshape(B, H, G, D), k)
    return _partial(x, mask, np.ones((B, H, N)), v)


def approx_partial(a, level, mask, cfg: Config = None):
    """Multipole (replacement) partial over the clusters in mask ([B,H,C], eligible & ~selected):
    m = max a_ic, l = sum n_c exp(a_ic - m), acc = sum n_c exp(a_ic - m) nu_c."""
    a = np.asarray(a, F64)
    B, Hq, C = a.shape
    nu = np.asarray(level["vcentroids"], F64)
    H = nu.shape[1]
    mask = np.asarray(mask, bool) & _nonempty(level)
    n = np.asarray(level["counts"], F64)
    return _partial(a.reshape(B, H, Hq // H, C), mask, n, nu)


def merge(partials: Sequence):
    """Merge (acc, m, l) partials: m = max m_p, l = sum l_p e^(m_p-m), o = sum acc_p e^(m_p-m)/l.
    Partials with l_p = 0 contribute nothing; o = 0 where l = 0."""
    ms = [np.where(np.asarray(l) > 0, np.asarray(m, F64), -np.inf) for _, m, l in partials]
    mt = np.max(np.stack(ms), axis=0)
    mts = np.where(np.isfinite(mt), mt, 0.0)
    acc_t = 0.0
    l_t = 0.0
    for (acc, _, l), m in zip(partials, ms):
        f = np.where(np.isfinite(m), np.exp(np.where(np.isfinite(m), m, 0.0) - mts), 0.0)
        l_t = l_t + np.asarray(l, F64) * f
        acc_t = acc_t + np.asarray(acc, F64) * f[..., None]
    l_t = np.asarray(l_t)
    return np.where(l_t[..., None] > 0, acc_t / np.where(l_t > 0, l_t, 1.0)[..., None], 0.0)


def multipole_attention(q, k, v, lens, index, cfg: Config, scale=None, return_parts=False):
    """Full multipole attention with a built index: levels coarse first (selection at the fine
    level restricted to children of selected coarse clusters), replacement partials of every
    level when cfg.replacement, exact partial, merge. Returns [B,Hq,D] float64 (and a dict of
    intermediate results when return_parts). Centroids stored in bf16 are widened."""
    index, _ = _widened(index)
    q = np.asarray(q, F64)
    B, Hq, D = q.shape
    N = np.asarray(k).shape[2]
    lens = _lens(lens, B, N)
    s = _scale(scale, D)
    partials, parts = [], {}
    pa = ps = None
    if len(index) == 2:
        l1 = index[1]
        r1, a1 = score(q, l1, lens, cfg, s)
        sel1 = select(r1, l1, lens, cfg, 1)
        if cfg.replacement:
            partials.append(approx_partial(a1, l1, eligible(l1) & ~sel1))
        pa, ps = l1["assign"], sel1
        parts.update(r1=r1, a1=a1, sel1=sel1)
    l0 = index[0]
    r0, a0 = score(q, l0, lens, cfg, s, parent=index[1] if len(index) == 2 else None)
    sel0 = select(r0, l0, lens, cfg, 0, pa, ps)
    if cfg.replacement:
        partials.append(approx_partial(a0, l0, eligible(l0, pa, ps) & ~sel0))
    partials.append(exact_partial(q, k, v, lens, l0, sel0, cfg, s))
    out = merge(partials)
    parts.update(r0=r0, a0=a0, sel0=sel0, partials=partials)
    return (out, parts) if return_parts else out


# ----------------------------------------------------------------------------------------------
# Data generators
# ----------------------------------------------------------------------------------------------
def make_inputs(B, Hq, Hkv, N, D, kind="random", seed=0):
    """Synthetic q [B,Hq,D], k/v [B,Hkv,N,D] (float32), deterministic in `seed`.

    kind:
      "random":    q, k, v i.i.d. standard normal; attention is diffuse.
      "clustered": per (b, kv head) 32 centers c ~ N(0, I); every token's key is a uniformly
                   drawn center plus N(0, 0.1^2) noise; values standard normal. Per (b, kv head)
                   one or two centers are picked (50/50) and every query of the GQA group is
                   8 sqrt(D) * sum_picked c / |c|^2 plus N(0, 0.05^2) noise, i.e. the scaled logit
                   of a key near a picked center is about 8 (others ~ N(0, 64/D)): attention is
                   peaked on the one or two key clusters (about 3-6% of the tokens).
      "heavy":     "random" plus 8 heavy-hitter tokens per (b, kv head) at random positions whose
                   keys are 2.5 * sqrt(D) * (unit mean direction of the group's queries) (+ small
                   noise): a few tokens dominate the attention.
      "sink":      "random" plus an attention sink: token 0 of every (b, kv head) has key
                   4 * sqrt(D) * (unit mean direction of the group's queries).
    """
    rng = np.random.default_rng(seed)
    G = Hq // Hkv
    if kind == "random" or kind in ("heavy", "sink"):
        q = rng.standard_normal((B, Hq, D))
        k = rng.standard_normal((B, Hkv, N, D))
        v = rng.standard_normal((B, Hkv, N, D))
        if kind in ("heavy", "sink"):
            u = q.reshape(B, Hkv, G, D).mean(2)
            u /= np.linalg.norm(u, axis=-1, keepdims=True)
            if kind == "heavy":
                nh = min(8, N)
                for b in range(B):
                    for h in range(Hkv):
                        pos = rng.choice(N, size=nh, replace=False)
                        k[b, h, pos] = 2.5 * math.sqrt(D) * u[b, h] + \
                            0.1 * rng.standard_normal((nh, D))
            else:
                k[:, :, 0] = 4.0 * math.sqrt(D) * u
    elif kind == "clustered":
        nc = 32
        centers = rng.standard_normal((B, Hkv, nc, D))
        which = rng.integers(0, nc, size=(B, Hkv, N))
        k = np.take_along_axis(centers, which[..., None], axis=2) + \
            0.1 * rng.standard_normal((B, Hkv, N, D))
        v = rng.standard_normal((B, Hkv, N, D))
        q = np.empty((B, Hq, D))
        for b in range(B):
            for h in range(Hkv):
                c = rng.choice(nc, size=2, replace=False)
                u = [centers[b, h, j] / np.dot(centers[b, h, j], centers[b, h, j]) for j in c]
                d = u[0] if rng.random() < 0.5 else u[0] + u[1]
                for i in range(h * G, (h + 1) * G):
                    q[b, i] = 8.0 * math.sqrt(D) * d + 0.05 * rng.standard_normal(D)
    else:
        raise ValueError(f"unknown kind {kind!r}")
    return q.astype(np.float32), k.astype(np.float32), v.astype(np.float32)
