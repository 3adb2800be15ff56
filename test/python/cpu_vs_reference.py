# The CPU backend agrees with the numpy reference: the same clusters from the
# build and the online update, the same decode-step output on the same index,
# dense equivalence with a budget covering everything, and replacement lowering
# the error at a 10% budget. f32 and bf16, ragged lengths (one shorter than
# sink + 2 * interval, so with no clustered region), GQA, two levels, windowed RoPE.
# The libraries store f32 centroids (centroid-type=f32), so that the index equals the
# reference's to f32 rounding; bf16-centroids.py covers the default, bf16 storage.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: f32 build matches reference: OK
# CHECK: f32 step vs reference on the same index: OK
# CHECK: f32 full budget vs dense: OK
# CHECK: f32 update matches reference: OK
# CHECK: f32 step after update vs reference: OK
# CHECK: bf16 step vs reference on the same index: OK
# CHECK: two-level build matches reference: OK
# CHECK: two-level step vs reference: OK
# CHECK: rope build matches reference: OK
# CHECK: rope step vs reference: OK
# CHECK: replacement lowers the error: OK
# CHECK: bad inputs rejected: OK
# CHECK: all passed
import os
import sys

import numpy as np

import multipole as mp
from multipole import reference as ref

tmp = sys.argv[1]
os.makedirs(tmp, exist_ok=True)

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import compile_attention  # noqa: E402


def compile_lib(name, shape, dtype, options):
    lib, r = compile_attention(tmp, name, shape, dtype, options + " centroid-type=f32")
    if lib is None:
        raise RuntimeError(f"multipole-compile failed: {r.stderr.strip()[-500:]}")
    return lib


failures = []


def check(label, ok, detail=""):
    print(f"{label}: {'OK' if ok else 'FAIL'} {detail}")
    if not ok:
        failures.append(label)


def same_index(a, b, atol=1e-4):
    for la, lb in zip(a, b):
        for key in ("state", "counts", "assign", "offsets", "members"):
            if not np.array_equal(la[key], lb[key]):
                return False, f"{key} differs"
        for key in ("centroids", "vcentroids"):
            d = np.abs(la[key] - lb[key]).max()
            if d > atol:
                return False, f"{key} differs by {d}"
    return True, ""


shape = (3, 8, 2, 1200, 32)
B, Hq, H, N, D = shape
opts = "sink=8 interval=32 block-size=512 budget-fraction=0.1"
cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=8, interval=32,
                 block_size=512)
q, k, v = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=3)
lens = np.array([1200, 931, 50], np.int32)  # the last has Lc = 0

lib = compile_lib("f32", shape, "f32", opts)
idx = lib.build(k, v, lens)
ok, why = same_index(idx, ref.build_index(k, v, lens, cfg, N=N))
check("f32 build matches reference", ok, why)
out = lib.step(q, k, v, lens, idx)
e = ref.relative_error(out, ref.multipole_attention(q, k, v, lens, idx, cfg))
check("f32 step vs reference on the same index", e < 1e-5, f"({e:.2e})")

full = compile_lib("f32full", shape, "f32", "sink=8 interval=32 block-size=512 budget-tokens=100000")
fidx = full.build(k, v, lens)
e = ref.relative_error(full.step(q, k, v, lens, fidx), ref.dense_attention(q, k, v, lens))
check("f32 full budget vs dense", e < 1e-5, f"({e:.2e})")

lens2 = np.array([1200, 1100, 300], np.int32)
ref_upd = ref.update_index([{kk: a.copy() for kk, a in lvl.items()} for lvl in idx], k, v, lens2, cfg)
lib.update(k, v, lens2, idx)
ok, why = same_index(idx, ref_upd)
ok = ok and ref.validate_index(idx, k, v, lens2, cfg)
check("f32 update matches reference", ok, why)
e = ref.relative_error(lib.step(q, k, v, lens2, idx),
                       ref.multipole_attention(q, k, v, lens2, idx, cfg))
check("f32 step after update vs reference", e < 1e-5, f"({e:.2e})")

blib = compile_lib("bf16", shape, "bf16", opts)
qb, kb, vb = (mp.from_bf16(mp.to_bf16(x)) for x in (q, k, v))
bidx = blib.build(kb, vb, lens)
out = blib.step(qb, kb, vb, lens, bidx)
e = ref.relative_error(out, ref.multipole_attention(qb, kb, vb, lens, bidx, cfg))
check("bf16 step vs reference on the same index", e < 1e-2, f"({e:.2e})")

cfg2 = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1),
                          ref.Level(0.25, budget_fraction=0.3)], sink=8, interval=32,
                  block_size=512)
lib2 = compile_lib("two", shape, "f32", opts + " coarse-fraction=0.25 coarse-budget-fraction=0.3")
idx2 = lib2.build(k, v, lens)
ok, why = same_index(idx2, ref.build_index(k, v, lens, cfg2, N=N))
check("two-level build matches reference", ok, why)
e = ref.relative_error(lib2.step(q, k, v, lens, idx2),
                       ref.multipole_attention(q, k, v, lens, idx2, cfg2))
check("two-level step vs reference", e < 1e-5, f"({e:.2e})")

cfgr = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=8, interval=32,
                  block_size=512, rope_theta=10000.0)
libr = compile_lib("rope", shape, "f32", opts + " rope-theta=10000")
kr = ref.rope_rotate(k.astype(np.float64), np.arange(N)[None, None, :], 10000.0).astype(np.float32)
idxr = libr.build(kr, v, lens)
ok, why = same_index(idxr, ref.build_index(kr, v, lens, cfgr, N=N), atol=1e-3)
check("rope build matches reference", ok, why)
e = ref.relative_error(libr.step(q, kr, v, lens, idxr),
                       ref.multipole_attention(q, kr, v, lens, idxr, cfgr))
check("rope step vs reference", e < 1e-4, f"({e:.2e})")

off = compile_lib("off", shape, "f32", opts + " replacement=false")
dense = ref.dense_attention(q, k, v, lens)
e_on = ref.relative_error(lib.step(q, k, v, lens, lib.build(k, v, lens)), dense)
e_off = ref.relative_error(off.step(q, k, v, lens, off.build(k, v, lens)), dense)
check("replacement lowers the error", e_on < e_off, f"({e_on:.3e} < {e_off:.3e})")

rejected = 0
try:
    lib.step(q[:, :4], k, v, lens, idx)
except mp.MultipoleError as err:
    rejected += "shape" in str(err)
bad = q.copy()
bad[0, 0, 0] = np.nan
try:
    lib.step(bad, k, v, lens, idx)
except mp.MultipoleError as err:
    rejected += "NaN" in str(err)
check("bad inputs rejected", rejected == 2)

print("all passed" if not failures else f"FAILED: {failures}")
sys.exit(1 if failures else 0)
