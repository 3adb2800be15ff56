"""Device check of a model library (issue 11; test/Device/model-library.test).

The Qwen3-8B config.json compiled by ``multipole-compile --model`` (36 layers, 32 / 8
heads, head_dim 128, bf16, ``--max-batch=8``, ``--max-len=12288``; bench/model_libs.sh)
twice: ``qwen3_8b_chk.so`` (the default 10% budget) and ``qwen3_8b_chk_full.so`` (a budget
that covers every token, so its step is dense attention). Every layer has its own K/V
cache (clustered keys) and its own index. For B in {1, 3, 8} (buckets 1, 4, 8) with ragged
lengths (a full cache, one token, sink + 2 * interval and one less, lengths that are no
multiple of a tile), as a model runs them: every layer's index built, then every layer's
step, then 200 more tokens folded in by every layer's update and every step again:
- full budget, every layer: the step equals dense f64 attention (bound 1e-2, bf16);
- 10% budget: layers 0 and L-1 equal the numpy reference of the algorithm on the
  library's own index (bound 2e-2) and their indexes hold the ABI invariants
  (multipole.reference.validate_index, padded rows included); every layer's error against
  dense is reported; layers' indexes differ (each is built from its own cache);
- the generation loop, ``multipole.ModelCache`` on the library: B = 3, every layer
  prefilled, 12 tokens appended and attended, the update when due (one, predicted on the
  host), every layer's last output against dense f64, the updated indexes valid.

Usage (GPU machine): MULTIPOLE_CUDA_RUNTIME=.../libmultipole_cuda_runtime.so
    python3 bench/model_check.py bench/libs
Prints ok / FAIL per check and "model check: all passed"; exit 1 on any FAIL. A CPU
library of the same names (TARGET=cpu CHKLEN=1024 bench/model_libs.sh DIR) dry-runs it.
"""
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "300")), exit=True)

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from multipole import reference as ref  # noqa: E402
from common import clustered, dense_f64  # noqa: E402
from model_common import (Checks, ModelLib, clustered_len, index_np, np_f32,  # noqa: E402
                          rel_err_rows)

libs = sys.argv[1] if len(sys.argv) > 1 else "bench/libs"
check = Checks()


def info(text):
    print(f"  info {text}", flush=True)


full = ModelLib(os.path.join(libs, "qwen3_8b_chk_full.so"))
part = ModelLib(os.path.join(libs, "qwen3_8b_chk.so"))
L, Hq, H, D, N = full.layers, full.heads, full.kv_heads, full.head_dim, full.max_len
cuda, dev = full.cuda, full.device
cfg = part.cfg
S, I = cfg.sink, cfg.interval
print(f"model libraries: {full.model['model_type']}, {L} layers, Hq {Hq} / Hkv {H} / D {D}, "
      f"{full.model['dtype']}, max-len {N}, buckets {full.model['batch_buckets']}; "
      f"{torch.cuda.get_device_name() if cuda else 'CPU dry run'}", flush=True)
check("manifests: one model, max-batch 8, every layer",
      full.model == {**part.model} and full.max_batch == 8 and L == full.model["model_layers"],
      f"{L} layers")
R8 = full.rows(8)
dt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[full.model["dtype"]]
caches = [clustered(R8, Hq, H, N, D, dt, seed=300 + l, device=dev) for l in range(L)]


def clip(n):
    return int(min(N, max(1, n)))


LENGTHS = {1: [clip(N - 333)],
           3: [clip(N - 57), clip(N // 2 + 1001), 150],
           8: [N, clip(N - 1), clip(3 * N // 4 + 7), clip(N // 2 - 3), clip(N // 3 + 64),
               S + 2 * I, S + 2 * I - 1, 1]}
CHECKED = sorted({0, L - 1})


def qkv(layer, rows):
    q, k, v = caches[layer]
    return q[:rows], k[:rows], v[:rows]


def dense_errs(outs, B, R, lens):
    return [rel_err_rows(o, dense_f64(*qkv(l, R), lens, b_list=range(B)), B)
            for l, o in enumerate(outs)]


def ref_checks(tag, idx, outs, B, R, lens, layers, validate=True):
    for l in layers:
        q, k, v = qkv(l, R)
        if validate:
            try:
                ref.validate_index(index_np(idx[l]), np_f32(k), np_f32(v), np.array(lens), cfg,
                                   rtol=1e-4, atol=1e-5)
                check(f"{tag}: layer {l} index: ABI invariants (validate_index, {R} rows)", True)
            except AssertionError as e:
                check(f"{tag}: layer {l} index: ABI invariants (validate_index, {R} rows)",
                      False, str(e))
        o = ref.multipole_attention(np_f32(q, B), np_f32(k, B), np_f32(v, B),
                                    np.array(lens[:B]), index_np(idx[l], B), cfg)
        e = rel_err_rows(outs[l], torch.from_numpy(o), B)
        check(f"{tag}: layer {l} step vs numpy reference (library's index)", e <= 2e-2,
              f"{e:.2e}")


def run_batch(B):
    R = full.rows(B)
    lens = LENGTHS[B] + [0] * (R - B)
    lens2 = [min(N, n + 200) for n in LENGTHS[B]] + [0] * (R - B)
    print(f"B={B} (bucket {R}), lengths {LENGTHS[B]}:", flush=True)
    for ml, tag in ((full, f"B={B} full budget"), (part, f"B={B} 10% budget")):
        tl, tl2 = ml.lens(B, LENGTHS[B]), ml.lens(B, lens2[:B])
        idx = [ml.build(B, *qkv(l, R)[1:], tl) for l in range(L)]
        outs = [ml.step(B, *qkv(l, R), tl, idx[l]) for l in range(L)]
        ml.sync()
        for phase, ls in (("built", lens), ("updated", lens2)):
            if phase == "updated":
                for l in range(L):
                    ml.update(B, *qkv(l, R)[1:], tl2, idx[l])
                outs = [ml.step(B, *qkv(l, R), tl2, idx[l]) for l in range(L)]
                ml.sync()
            finite = all(bool(torch.isfinite(o[:B].float()).all()) for o in outs)
            check(f"{tag}, {phase}: every layer's output finite", finite)
            errs = dense_errs(outs, B, R, ls)
            worst = int(np.argmax(errs))
            if ml is full:
                check(f"{tag}, {phase}: every layer's step equals dense f64 (bound 1e-2)",
                      max(errs) <= 1e-2, f"max {max(errs):.2e} (layer {worst})")
                continue
            info(f"{tag}, {phase}: every layer's error against dense f64: max {max(errs):.2e} "
                 f"(layer {worst}), median {np.median(errs):.2e}")
            # The invariants after the build on the checked layers, after the update on the last.
            ref_checks(f"{tag}, {phase}", idx, outs, B, R, ls,
                       CHECKED if phase == "built" else [L - 1])
            if phase == "built" and L > 1 and B == 8:
                c0, c1 = (index_np(idx[l])[0]["centroids"] for l in (0, 1))
                check(f"{tag}: layers 0 and 1 have their own index", not np.allclose(c0, c1))
        del idx, outs
        if cuda:
            torch.cuda.empty_cache()


for B in (1, 3, 8):
    run_batch(B)


def generation_loop(ml, B=3, T=12):
    """multipole.ModelCache over the library: prefill every layer, T tokens."""
    print(f"generation loop: ModelCache, B={B}, {T} tokens, every layer:", flush=True)
    arr = (lambda t: t) if cuda else np_f32
    cache = mp.ModelCache(ml.lib, batch=B)
    # Row 0 is due for an update after 3 tokens, row 1 after I, row 2 has no clustered
    # region yet.
    n0 = S + I * ((N // 2) // I) + 2 * I - 3
    n1 = S + I * ((2 * N // 3) // I) + I
    lengths = [clip(n0), clip(n1), 150][:B]
    if max(lengths) + T > N:
        check("generation loop: the lengths fit the cache", False, f"{lengths} + {T} > {N}")
        return
    for l in range(L):
        _, k, v = qkv(l, B)
        cache.prefill(l, arr(k), arr(v), lengths)
    lc = [clustered_len(n, cfg) for n in lengths]
    host, predicted = list(lengths), 0
    rows = torch.arange(B, device=dev)
    for t in range(T):
        pos = torch.tensor(host, device=dev)
        outs = []
        for l in range(L):
            q, k, v = qkv(l, B)
            cache.append(l, arr(k[rows, :, pos]), arr(v[rows, :, pos]))
            o = cache.attend(l, arr(q))
            outs.append(o if cuda else torch.from_numpy(np.asarray(o)))
        cache.advance()
        host = [n + 1 for n in host]
        due = False
        for b in range(B):
            while host[b] - S - lc[b] >= 2 * I:
                lc[b] += I
                due = True
        predicted += due
    if cuda:
        torch.cuda.synchronize()
    check("generation loop: updates as predicted on the host", cache.updates == predicted and
          predicted >= 1, f"{cache.updates} (predicted {predicted})")
    errs = [rel_err_rows(o, dense_f64(*qkv(l, B), host, b_list=range(B)), B)
            for l, o in enumerate(outs)]
    check("generation loop: every layer's last output equals dense f64 (bound 1e-2)",
          max(errs) <= 1e-2, f"max {max(errs):.2e} (layer {int(np.argmax(errs))})")
    for l in CHECKED:
        idx = index_np(cache.index[l])
        R = cache.rows
        k = np_f32(cache.k[l]) if cuda else np.asarray(cache.k[l])
        v = np_f32(cache.v[l]) if cuda else np.asarray(cache.v[l])
        try:
            ref.validate_index(idx, k, v, np.array(host + [0] * (R - B)), cfg, rtol=1e-4,
                               atol=1e-5)
            ok, why = True, ""
        except AssertionError as e:
            ok, why = False, str(e)
        got = [int(x) for x in idx[0]["state"][:B, 0, 1]]
        check(f"generation loop: layer {l} index valid, clustered lengths {lc}",
              ok and got == lc, why or f"{got}")


generation_loop(full)
print("model check:", "all passed" if not check.failures else f"FAILED {check.failures}")
sys.exit(1 if check.failures else 0)
