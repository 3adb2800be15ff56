# multipole.hf without transformers: the cache logic MultipoleCache runs, on CPU model
# libraries against the numpy reference. A left-padded ragged batch of 3 (bucket 4) is
# prefilled as a decoder hands it over (padded positions with garbage, the mask saying
# which are real) and compacted; 100 decode tokens follow, then forwards of 3 tokens
# (the dense fallback, warned once), then single tokens again. A budget covering every
# token equals dense attention at every step, 10% equals the reference on the library's
# index; updates come when due (also after several tokens at once) and every index keeps
# the ABI invariants after every update. A batch over the largest bucket, with a prompt
# that has holes, and dense=True run dense attention over the same caches. The compile
# path of enable() (config -> multipole-compile --model -> checked library) runs without
# transformers; the transformers part is skipped with a message when it is missing.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: import without torch or transformers: OK
# CHECK: masks give the real tokens: OK
# CHECK: prefill compacts the padded prompt: OK
# CHECK: full budget equals dense at every step: OK
# CHECK: 10% equals the reference on the library's index at every step: OK
# CHECK: updates when due: OK
# CHECK: several tokens: dense attention equals the reference: OK
# CHECK: several tokens: warned once: OK
# CHECK: update after several tokens, then steps equal the reference: OK
# CHECK: index invariants after every update: OK
# CHECK: positions seen: OK
# CHECK: batch over the largest bucket: dense equals the reference: OK
# CHECK: dense=True: no index, equals dense: OK
# CHECK: reset, prefill again: OK
# CHECK: compile from a config, checked against the model: OK
# CHECK: transformers part: skipped
# CHECK: all passed
import os
import sys
import types
import warnings

import numpy as np

import multipole as mp
from multipole import hf
from multipole import reference as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import Checks  # noqa: E402

tmp = sys.argv[1]
os.makedirs(tmp, exist_ok=True)
check = Checks()
check("import without torch or transformers",
      "transformers" not in sys.modules and "torch" not in sys.modules)

N, L, T, Hq, H, D = 512, 2, 100, 4, 2, 16
S, I = 8, 32
qwen3 = dict(model_type="qwen3", hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
             head_dim=16, num_hidden_layers=2)
# Compiled by the function enable() compiles with (multipole-compile --model).
full, part = (mp.load(hf.compile_model(qwen3, max_len=N, max_batch=4, dtype="float32",
                                       target="cpu", out=os.path.join(tmp, name + ".so"),
                                       sink=S, interval=I, block_size=256, **budget))
              for name, budget in (("full", dict(budget_tokens=1000000)),
                                   ("part", dict(budget_fraction=0.1))))
cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=S, interval=I,
                 block_size=256)

rng = np.random.default_rng(7)
src = [ref.make_inputs(5, Hq, H, N, D, "clustered", seed=30 + layer)[1:] for layer in range(L)]
prompt = [300, 200, 97]
P = max(prompt)


def padded(layer, rows, valid):
    """A layer's prompt K/V as a decoder produces it: the real tokens where `valid`, garbage
    elsewhere."""
    k, v = src[layer]
    B = len(rows)
    kp = np.full((B, H, valid.shape[1], D), 1e3, np.float32)
    vp = np.full_like(kp, -1e3)
    for b in range(B):
        pos = np.nonzero(valid[b])[0]
        kp[b][:, pos] = k[rows[b], :, :pos.size]
        vp[b][:, pos] = v[rows[b], :, :pos.size]
    return kp, vp


# Left padding, and the masks a decoder's attention gets for it.
valid = np.zeros((3, P), bool)
for b, n in enumerate(prompt):
    valid[b, P - n:] = True
causal = np.tril(np.ones((P, P), bool))
mask4 = (causal[None] & valid[:, None, :])[:, None]
additive = np.where(mask4, 0.0, np.finfo(np.float32).min).astype(np.float32)
check("masks give the real tokens",
      np.array_equal(hf.valid_from_mask(mask4, P), valid)
      and np.array_equal(hf.valid_from_mask(additive, P), valid)
      and np.array_equal(hf.valid_from_mask(valid.astype(np.int64), P), valid)
      and hf.valid_from_mask(None, P) is None)

caches = {name: hf.DecodeCache(lib, 3) for name, lib in (("full", full), ("part", part))}
inv = {"ok": True, "n": 0}


def validate(c):
    for layer in range(L):
        k, v = src[layer]
        idx = [{kk: a[:3] for kk, a in lvl.items()} for lvl in c.index[layer]]
        try:
            ref.validate_index(idx, k[:3], v[:3], np.array(c.lengths[:3]), cfg)
        except AssertionError as e:
            print("  invariant:", e)
            inv["ok"] = False
    inv["n"] += 1


caches["part"].on_update = validate
kinds = set()
for c in caches.values():
    kinds.add(c.begin(P))
    for layer in range(L):
        kp, vp = padded(layer, [0, 1, 2], valid)
        c.prefill_padded(layer, kp, vp, hf.valid_from_mask(mask4, P))
    c.finish()
ok = kinds == {"prefill"}
for c in caches.values():
    ok &= c.lengths == prompt + [0] and c.seen == P
    for layer in range(L):
        k, v = src[layer]
        for b, n in enumerate(prompt):
            ok &= np.array_equal(c.k[layer][b, :, :n], k[b, :, :n])
            ok &= np.array_equal(c.v[layer][b, :, :n], v[b, :, :n])
validate(caches["part"])
check("prefill compacts the padded prompt", ok and inv["ok"])


def one_token(c, q_of, want):
    """A decode forward of one token: append and attend every layer; max error vs `want`."""
    assert c.begin(1) == "token"
    n = np.array(c.lengths[:3])
    worst = 0.0
    for layer in range(L):
        k, v = src[layer]
        c.append_token(layer, k[np.arange(3), :, n], v[np.arange(3), :, n])
        q = q_of(layer)
        out = c.attend_token(layer, q) if c.serves_layer(layer) else c.attend_dense(layer, q[:, :, None])[:, :, 0]
        worst = max(worst, ref.relative_error(out, want(c, layer, q, n + 1)))
    return worst, c.finish()


def dense_want(c, layer, q, lens):
    k, v = src[layer]
    return ref.dense_attention(q, k[:3], v[:3], lens)


def mp_want(c, layer, q, lens):
    k, v = src[layer]
    idx = [{kk: a[:3] for kk, a in lvl.items()} for lvl in c.index[layer]]
    return ref.multipole_attention(q, k[:3], v[:3], lens, idx, cfg)


qs = rng.standard_normal((T, L, 3, Hq, D)).astype(np.float32)
worst = {"full": 0.0, "part": 0.0}
update_steps = []
for t in range(T):
    for name, c in caches.items():
        e, due = one_token(c, lambda layer: qs[t, layer], dense_want if name == "full" else mp_want)
        worst[name] = max(worst[name], e)
        if due and name == "part":
            update_steps.append(t)
check("full budget equals dense at every step", worst["full"] < 1e-5, f"(worst {worst['full']:.1e})")
check("10% equals the reference on the library's index at every step", worst["part"] < 1e-5,
      f"(worst {worst['part']:.1e})")
expect = sorted({t for t in range(T) for n0 in prompt
                 for lc in [max(0, (n0 - S - I) // I) * I + I * j for j in range(5)]
                 if n0 + t + 1 == S + lc + 2 * I})
check("updates when due", update_steps == expect and caches["part"].updates == len(expect),
      f"({update_steps} vs {expect})")

# Forwards of 3 tokens (a prefill chunk, assisted decoding): dense over the cache.
hf._WARNED.discard("tokens")
c = caches["part"]
dense_ok, warned, due_any = True, [], False
with warnings.catch_warnings(record=True) as w:
    warnings.simplefilter("always")
    for rep in range(12):
        assert c.begin(3) == "tokens"
        n = np.array(c.lengths[:3])
        for layer in range(L):
            k, v = src[layer]
            c.append_tokens(layer, np.stack([k[b, :, n[b]:n[b] + 3] for b in range(3)]),
                            np.stack([v[b, :, n[b]:n[b] + 3] for b in range(3)]))
            q3 = rng.standard_normal((3, Hq, 3, D)).astype(np.float32)
            out = c.attend_dense(layer, q3)
            for i in range(3):
                e = ref.relative_error(out[:, :, i], ref.dense_attention(q3[:, :, i], k[:3], v[:3], n + i + 1))
                dense_ok &= e < 1e-5
        due_any |= c.finish()
    warned = [x for x in w if "query tokens in one forward" in str(x.message)]
check("several tokens: dense attention equals the reference", dense_ok)
check("several tokens: warned once", len(warned) == 1, str([str(x.message) for x in warned]))
e_after = 0.0
for t in range(40):
    e, _ = one_token(c, lambda layer: rng.standard_normal((3, Hq, D)).astype(np.float32), mp_want)
    e_after = max(e_after, e)
check("update after several tokens, then steps equal the reference", due_any and e_after < 1e-5,
      f"({e_after:.1e})")
check("index invariants after every update", inv["ok"] and inv["n"] == c.updates + 1,
      f"({inv['n'] - 1} updates checked)")
check("positions seen", c.seen == P + T + 36 + 40 and c.lengths[:3] == [n + T + 76 for n in prompt],
      f"({c.seen}, {c.lengths})")

# A batch of 5 over the largest bucket (4), one prompt with holes: dense attention over
# caches of its own; and dense=True on a batch that fits.
valid5 = np.zeros((5, 160), bool)
for b, n in enumerate([160, 120, 90, 60, 30]):
    valid5[b, :n] = True                      # right padding
valid5[2] = False
valid5[2, ::2] = True                         # 80 tokens with holes
n5 = valid5.sum(1)


def dense_run(c, rows, valid_rows, steps=20):
    assert c.begin(valid_rows.shape[1]) == "prefill"
    for layer in range(L):
        kp, vp = padded(layer, rows, valid_rows)
        c.prefill_padded(layer, kp, vp, valid_rows)
    c.finish()
    ok = c.lengths[: len(rows)] == list(valid_rows.sum(1))
    worst = 0.0
    for t in range(steps):
        assert c.begin(1) == "token"
        n = np.array(c.lengths[: len(rows)])
        for layer in range(L):
            k, v = src[layer]
            c.append_token(layer, k[rows, :, n], v[rows, :, n])
            q = rng.standard_normal((len(rows), Hq, D)).astype(np.float32)
            assert not c.serves_layer(layer)
            out = c.attend_dense(layer, q[:, :, None])[:, :, 0]
            worst = max(worst, ref.relative_error(out, ref.dense_attention(q, k[rows], v[rows], n + 1)))
        c.finish()
    return ok and worst < 1e-5 and all(i is None for i in c.index), worst


big = hf.DecodeCache(full, 5)
ok5, w5 = dense_run(big, [0, 1, 2, 3, 4], valid5)
check("batch over the largest bucket: dense equals the reference",
      ok5 and not big.library_fits and big.rows == 5 and big.updates == 0, f"({w5:.1e})")
dn = hf.DecodeCache(part, 3, dense=True)
okd, wd = dense_run(dn, [0, 1, 2], valid)
check("dense=True: no index, equals dense", okd and dn.library_fits and not dn.serves, f"({wd:.1e})")

c = caches["full"]
c.reset()
ok = c.seen == 0 and c.lengths == [0] * 4 and c.begin(50) == "prefill"
for layer in range(L):
    kp, vp = padded(layer, [0, 1, 2], np.ones((3, 50), bool))
    c.prefill_padded(layer, kp, vp, None)
c.finish()
e, _ = one_token(c, lambda layer: qs[0, layer], dense_want)
check("reset, prefill again", ok and c.lengths == [51, 51, 51, 0] and e < 1e-5, f"({e:.1e})")

# enable()'s compile path without transformers: a transformers-5-style config (rope_theta in
# rope_parameters) through multipole-compile --model, the library checked against the model.
conf = dict(model_type="qwen3", hidden_size=64, num_attention_heads=4, num_key_value_heads=2,
            head_dim=16, num_hidden_layers=3, max_position_embeddings=4096,
            rope_parameters={"rope_type": "default", "rope_theta": 1e6})
flat = hf.model_config_json(conf, "float32")
so = hf.compile_model(conf, max_len=256, max_batch=2, dtype="float32", target="cpu",
                      out=os.path.join(tmp, "compiled.so"), budget_fraction=0.1, interval=64)
lib = mp.load(so)
model_cfg = types.SimpleNamespace(**conf)
hf.check_library(lib, model_cfg, "float32")
try:
    hf.check_library(lib, types.SimpleNamespace(**dict(conf, num_hidden_layers=4)), "float32")
    refused = False
except mp.MultipoleError as e:
    refused = "layers 3 (the model has 4)" in str(e)
check("compile from a config, checked against the model",
      flat["rope_theta"] == 1e6 and flat["dtype"] == "float32" and lib.model["layers"] == 3
      and lib.model["max_batch"] == 2 and "interval = 64" in lib.manifest["config"] and refused
      and hf.rewrite_options({"budget_fraction": 0.1, "replacement": False})
      == "budget-fraction=0.1 replacement=false")

# The transformers part (MultipoleCache, the attention function, generate) runs on the GPU
# machine (test/Device/hf-generate.test). Here: a clear ImportError when it is missing.
try:
    hf.MultipoleCache
    print("transformers part: skipped (it needs a GPU: test/Device/hf-generate.test)")
except ImportError as e:
    print("transformers part: skipped (transformers is not installed; it runs in "
          "test/Device/hf-generate.test)")
    check("ImportError names transformers", "transformers" in str(e), str(e)[:120])
sys.exit(check.finish())
