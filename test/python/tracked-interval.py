# The tracked interval of the GPU update (docs/Design.md, "The update's interval,
# tracked"), as a model in numpy: every token of the interval keeps its nearest cluster
# (distance, lowest id on ties) current as the tokens before it move clusters, and scans
# its row of distances only when its nearest cluster moved away from it (stale). The
# model must take exactly the decisions of docs/Algorithm.md's steps 2-4 (each non-seed
# token, in order, joins the argmin over the current centroids, lowest id on ties, by a
# running mean), with one f32 distance function |mu|^2 - 2 x . mu for both. Checked on
# random blocks, on integer-valued ones (exact ties), on one where every token is the
# same point (every distance ties), on one where seeds sit on far points (stale tokens
# at once), and on two built so that a moved cluster lands exactly at a later token's
# best distance (the lower id must take over, a higher one must not); every case but the one-point one (where a move only brings a
# cluster nearer) must take both paths (some tokens stale and rescanned, others taken
# from their kept best), so that both are checked.
# REQUIRES: numpy
# RUN: %python %s | FileCheck %s
# CHECK: random: decisions equal: OK
# CHECK: integer (ties): decisions equal: OK
# CHECK: one point (all ties): decisions equal: OK
# CHECK: far seeds: decisions equal: OK
# CHECK: moved lower id ties the best: decisions equal: OK
# CHECK: moved higher id ties the best: decisions equal: OK
# CHECK: both paths taken: OK
# CHECK-NOT: FAIL
import numpy as np


def dist(x, mu):
    """|mu|^2 - 2 x . mu in f32 (one function for every comparison)."""
    x = x.astype(np.float32)
    mu = mu.astype(np.float32)
    return np.float32(np.dot(mu, mu)) - np.float32(2) * np.float32(np.dot(x, mu))


def argmin_low(d):
    """Lowest index of the minimum (the argmins' tie rule)."""
    best = 0
    for c in range(1, len(d)):
        if d[c] < d[best]:
            best = c
    return best


def seeds_of(I, kx):
    return [e * I // kx for e in range(kx)]


def sequential(X, cent, cnt, kx):
    """Steps 2-4: seeds, then each other token into its current argmin."""
    cent, cnt = cent.copy(), cnt.copy()
    I = len(X)
    sp = seeds_of(I, kx)
    for e, t in enumerate(sp):
        cent = np.vstack([cent, X[t][None]])
        cnt = np.append(cnt, 1)
    choice = []
    for t in range(I):
        if t in sp:
            continue
        d = [dist(X[t], cent[c]) for c in range(len(cent))]
        w = argmin_low(d)
        cnt[w] += 1
        cent[w] = (cent[w] + (X[t] - cent[w]) / np.float32(cnt[w])).astype(np.float32)
        choice.append(w)
    return choice, cent, cnt


def tracked(X, cent, cnt, kx):
    """The GPU's form: a distance table after seeding, each token's best, then per
    token only the moved cluster's distances to later tokens change."""
    cent, cnt = cent.copy(), cnt.copy()
    I = len(X)
    sp = seeds_of(I, kx)
    for t in sp:
        cent = np.vstack([cent, X[t][None]])
        cnt = np.append(cnt, 1)
    Cb = len(cent)
    table = np.array([[dist(X[t], cent[c]) for c in range(Cb)] for t in range(I)],
                     dtype=np.float32)
    best = [argmin_low(table[t]) for t in range(I)]
    bestd = [table[t][best[t]] for t in range(I)]
    stale = [False] * I
    choice, rescans = [], 0
    for t in range(I):
        if t in sp:
            continue
        if stale[t]:
            w = argmin_low(table[t])
            rescans += 1
        else:
            w = best[t]
        cnt[w] += 1
        cent[w] = (cent[w] + (X[t] - cent[w]) / np.float32(cnt[w])).astype(np.float32)
        choice.append(w)
        for u in range(t + 1, I):
            dn = dist(X[u], cent[w])
            table[u][w] = dn
            if stale[u]:
                continue
            if best[u] == w:
                if dn <= bestd[u]:
                    bestd[u] = dn
                else:
                    stale[u] = True
            elif dn < bestd[u] or (dn == bestd[u] and w < best[u]):
                best[u], bestd[u] = w, dn
    return choice, cent, cnt, rescans


def check(name, X, cent, cnt, kx, stats):
    a = sequential(X, cent, cnt, kx)
    b = tracked(X, cent, cnt, kx)
    ok = a[0] == b[0] and np.array_equal(a[1], b[1]) and np.array_equal(a[2], b[2])
    stats.append((b[3], len(X) - kx))
    print(f"{name}: decisions equal: {'OK' if ok else 'FAIL'}")


rng = np.random.default_rng(7)
stats = []
ok = True
for rep in range(6):
    C, I, D = 24, 64, 16
    cent = rng.standard_normal((C, D)).astype(np.float32)
    X = (cent[rng.integers(0, C, I)] + 0.6 * rng.standard_normal((I, D))).astype(np.float32)
    cnt = rng.integers(1, 40, C)
    a = sequential(X, cent, cnt, 4)
    b = tracked(X, cent, cnt, 4)
    ok &= a[0] == b[0] and np.array_equal(a[1], b[1])
    stats.append((b[3], I - 4))
print(f"random: decisions equal: {'OK' if ok else 'FAIL'}")
# Integer-valued points and centroids: many exact distance ties.
cent = rng.integers(-2, 3, (16, 8)).astype(np.float32)
X = rng.integers(-2, 3, (64, 8)).astype(np.float32)
check("integer (ties)", X, cent, np.full(16, 3), 4, stats)
# Every token the same point, centroids equidistant: every comparison ties.
cent = np.array([[1, 0, 0, 0], [-1, 0, 0, 0], [0, 1, 0, 0], [0, -1, 0, 0]], np.float32)
X = np.zeros((32, 4), np.float32)
check("one point (all ties)", X, cent, np.full(4, 5), 2, stats)
stats.pop()
# Seeds on far points: the first tokens move their clusters a lot.
cent = rng.standard_normal((8, 8)).astype(np.float32)
X = rng.standard_normal((48, 8)).astype(np.float32)
X[::12] *= 50
check("far seeds", X, cent, np.ones(8, np.int64), 4, stats)
# A moved cluster lands exactly at a later token's best distance. Token 0 seeds a far
# cluster, token 1 = (-4, 2) joins (-2, 6) and moves it to (-3, 4), at |mu|^2 = 25 from
# token 2 = (0, 0), whose best so far is (0, -5), also at 25: the lower id must win.
X = np.array([[100, 100], [-4, 2], [0, 0]], np.float32)
cnt = np.array([1, 1])
check("moved lower id ties the best", X, np.array([[-2, 6], [0, -5]], np.float32), cnt,
      1, [])
check("moved higher id ties the best", X, np.array([[0, -5], [-2, 6]], np.float32), cnt,
      1, [])
both = all(0 < r < n for r, n in stats)
print(f"both paths taken: {'OK' if both else 'FAIL'} "
      f"(rescans / tokens: {', '.join(f'{r}/{n}' for r, n in stats)})")
