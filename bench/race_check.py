"""The caller's-stream test: compiled CUDA libraries called between ordinary torch work.

In a loop: queue long torch work (matmuls) on the current stream, then write the inputs
with torch (so they are ready only after that work), free and reallocate tensors (with
and without torch.cuda.empty_cache()), call build / step / update / step of several
libraries, and allocate sentinel tensors in the memory just freed. Everything runs on
the default stream, then again under a non-default current stream. At the end of every
iteration: each sentinel must be unchanged, each multipole output must equal (bitwise)
the same call made in isolation (synchronized before and after), and every output must
be close to dense attention computed by torch. Then torch.cuda.graph captures a step
and an update, and torch.compile compiles a step; both must reproduce the eager result.

Usage (GPU machine): python3 bench/race_check.py LIBDIR [--iters=N] [--quick]
  [--api=legacy]   drive the ABI-1 Python package (lib._kind, synchronous calls) of an
                   earlier commit, to show that the test catches its race
Prints one line per check and "race check: all passed" or "race check: N FAILED".
"""
import argparse
import faulthandler
import math
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "240")), exit=True)

import torch

ap = argparse.ArgumentParser()
ap.add_argument("libs")
ap.add_argument("--iters", type=int, default=4)
ap.add_argument("--quick", action="store_true", help="small matmuls, 1 iteration "
                "(for compute-sanitizer)")
ap.add_argument("--api", choices=["public", "legacy"], default="public")
ap.add_argument("--python", default=os.path.join(os.path.dirname(__file__), "..", "python"),
                help="the multipole package to use")
args = ap.parse_args()
if args.quick:
    args.iters = 1
sys.path.insert(0, args.python)
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multipole as mp  # noqa: E402
from common import clustered  # noqa: E402

failures = []


def check(label, ok, detail=""):
    print(f"  {'ok  ' if ok else 'FAIL'} {label}{'  ' + detail if detail else ''}", flush=True)
    if not ok:
        failures.append(label)


class PublicAPI:
    """The package's public API: Module.build / update / step on the current stream."""
    def build(self, lib, k, v, lens):
        return lib.build(k, v, lens)

    def update(self, lib, k, v, lens, index):
        lib.update(k, v, lens, index)

    def step(self, lib, q, k, v, lens, index):
        return lib.step(q, k, v, lens, index)


class LegacyAPI:
    """What callers of the ABI-1 package (before the caller's-stream issue) wrote."""
    def build(self, lib, k, v, lens):
        return lib._nest(lib._kind("build", lib.step_entry())(k=k, v=v, lens=lens))

    def update(self, lib, k, v, lens, index):
        lib._kind("update", lib.step_entry())(k=k, v=v, lens=lens, **lib._flatten(index))

    def step(self, lib, q, k, v, lens, index):
        e = next(e for e in lib.entries.values() if e.kind in ("step", "function"))
        return e(q=q, k=k, v=v, lens=lens, **lib._flatten(index or []))["out"]


api = PublicAPI() if args.api == "public" else LegacyAPI()
TD = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}

# (file, seed): multipole libraries first, B=16 first (the cycle of the original report).
NAMES = ["race_mp_b16.so", "race_mp_b4.so", "race_dense_b4.so", "race_mp_b2.so"]
if args.quick:  # under compute-sanitizer every kernel runs instrumented: keep it small
    NAMES = ["race_dense_b4.so", "race_mp_b2.so"]
libs = []
for i, n in enumerate(NAMES):
    lib = mp.load(os.path.join(args.libs, n))
    st = next(e for e in lib.entries.values() if e.kind in ("step", "function"))
    shapes = {a["role"]: (tuple(a["shape"]), a["dtype"]) for a in st.args}
    dense = not any(r.startswith("L") for r in shapes)
    cfg = lib.manifest.get("config", "")
    interval = int(cfg.split("interval = ")[1].split(",")[0]) if "interval = " in cfg else 128
    libs.append(dict(name=n, lib=lib, entry=st, shapes=shapes, dense=dense, seed=100 + i,
                     interval=interval))

BIG = 1024 if args.quick else 4096
MATMULS = 2 if args.quick else 8


def busy(a):
    """Long torch work queued on the current stream; returns its result."""
    for _ in range(MATMULS):
        a = torch.tanh(a @ a)
    return a


def inputs(L):
    """q, k, v, lens, lens after one interval, all written by torch kernels on the
    current stream (no host copy: torch synchronizes after a blocking copy, which would
    hide the race)."""
    (B, Hq, D), dt = L["shapes"]["q"]
    (_, H, N, _), _ = L["shapes"]["k"]
    q, k, v = clustered(B, Hq, H, N, D, TD[dt], seed=L["seed"])
    n0 = N - 2 * L["interval"] - 7
    lens = n0 - 13 * torch.arange(B, dtype=torch.int32, device="cuda")
    lens2 = lens + L["interval"]
    return q, k, v, lens, lens2


def run(L, q, k, v, lens, lens2):
    """build, step, update, step (multipole) or step (dense); outputs by name."""
    lib = L["lib"]
    if L["dense"]:
        return {"step": api.step(lib, q, k, v, lens, None)}
    index = api.build(lib, k, v, lens)
    o1 = api.step(lib, q, k, v, lens, index)
    api.update(lib, k, v, lens2, index)
    o2 = api.step(lib, q, k, v, lens2, index)
    res = {"step": o1, "step_after_update": o2}
    for key in ("centroids", "counts", "members"):
        res["index." + key] = index[0][key]
    return res


def dense_ref(q, k, v, lens):
    """Dense decode attention by torch (float32), per sequence."""
    B, Hq, D = q.shape
    H = k.shape[1]
    G = Hq // H
    out = torch.zeros(B, Hq, D, device=q.device)
    for b in range(B):
        n = int(lens[b])
        qq = q[b].float().view(H, G, D)
        s = torch.einsum("hgd,hnd->hgn", qq, k[b, :, :n].float()) / math.sqrt(D)
        out[b] = torch.einsum("hgn,hnd->hgd", torch.softmax(s, -1),
                              v[b, :, :n].float()).reshape(Hq, D)
    return out


def same(x, r):
    """Equal to the isolated call: bitwise for integer arrays, within 1e-5 (relative L2)
    for floats (a kernel that read unwritten inputs is off by O(1))."""
    if not x.is_floating_point():
        return torch.equal(x, r)
    return x.shape == r.shape and bool(torch.isfinite(x.float()).all()) and \
        rel(x, r.float()) <= 1e-5


def rel(x, r):
    x = x.float()
    return (torch.linalg.vector_norm(x - r) / torch.linalg.vector_norm(r)).item()


# References: every call in isolation (device synchronized around it, and without
# programmatic dependent launch: MULTIPOLE_PROGRAMMATIC_LAUNCH=0 makes every kernel wait
# for the previous one to complete), and torch's dense attention on the same inputs.
# Everything after runs with the libraries' programmatic launches.
print(f"race check: {len(libs)} libraries, api={args.api}, iters={args.iters}", flush=True)
for L in libs:
    check(f"{L['name']}: kernels launched with programmatic stream serialization",
          L["lib"].manifest.get("programmatic_launch") is True,
          f"manifest programmatic_launch = {L['lib'].manifest.get('programmatic_launch')}")
refs = {}
for L in libs:
    torch.cuda.synchronize()
    ins = inputs(L)
    torch.cuda.synchronize()
    os.environ["MULTIPOLE_PROGRAMMATIC_LAUNCH"] = "0"
    out = run(L, *ins)
    torch.cuda.synchronize()
    del os.environ["MULTIPOLE_PROGRAMMATIC_LAUNCH"]
    q, k, v, lens, lens2 = ins
    refs[L["name"]] = ({n: t.clone() for n, t in out.items()},
                       dense_ref(q, k, v, lens), dense_ref(q, k, v, lens2))
    err = rel(out["step"], refs[L["name"]][1])
    bound = 2e-2 if L["dense"] else 5e-2
    check(f"{L['name']}: isolated step vs torch dense attention", err <= bound,
          f"rel err {err:.2e} (bound {bound:.0e})")
    del out, ins
torch.cuda.synchronize()


def iteration(it, side_stream):
    sentinels = []
    outs = []
    a = torch.randn(BIG, BIG, device="cuda") / math.sqrt(BIG)
    for L in libs:
        a = busy(a)                          # the stream is busy for a while ...
        q, k, v, lens, lens2 = inputs(L)     # ... and the inputs are written after it
        scratch = [torch.randn_like(k, dtype=torch.float32) for _ in range(2)]
        del scratch                          # freed with work pending on the stream
        if it % 2 == 1:
            torch.cuda.empty_cache()
        out = run(L, q, k, v, lens, lens2)
        outs.append((L, out))
        del q, k, v, lens, lens2             # freed while the library's work is queued
        if it % 2 == 1:
            torch.cuda.empty_cache()
        # Sentinels in the memory just freed: later library work must not touch them.
        for _ in range(3):
            s = torch.full((1 << 20,), 7.0, device="cuda")
            sentinels.append(s)
        a = busy(a)
    torch.cuda.synchronize()
    tag = f"iter {it} ({'side stream' if side_stream else 'default stream'}" \
          f"{', empty_cache' if it % 2 == 1 else ''})"
    bad = sum(int((s != 7.0).sum()) for s in sentinels)
    check(f"{tag}: sentinels unchanged", bad == 0, f"{bad} elements overwritten")
    for L, out in outs:
        ref_out, d1, d2 = refs[L["name"]]
        mism = [n for n, t in out.items() if not same(t, ref_out[n])]
        fin = all(torch.isfinite(t.float()).all().item() for n, t in out.items()
                  if n.startswith("step"))
        e1 = rel(out["step"], d1)
        check(f"{tag}: {L['name']} equals the isolated call", not mism and fin,
              f"differs: {mism}" if mism else f"rel err vs torch dense {e1:.2e}")


for it in range(args.iters):
    iteration(it, False)
side = torch.cuda.Stream()
with torch.cuda.stream(side):
    for it in range(args.iters):
        iteration(it, True)
torch.cuda.synchronize()

if args.api == "public":
    # torch.cuda.graph: capture step, update, step on one index; replay; compare with
    # the eager calls on a copy of the same index.
    for L in libs:
        if L["dense"]:
            continue
        lib = L["lib"]
        q, k, v, lens, lens2 = inputs(L)
        index = api.build(lib, k, v, lens)
        eager_idx = [{kk: t.clone() for kk, t in lvl.items()} for lvl in index]
        e1 = api.step(lib, q, k, v, lens, eager_idx)
        api.update(lib, k, v, lens2, eager_idx)
        e2 = api.step(lib, q, k, v, lens2, eager_idx)
        torch.cuda.synchronize()
        snap = [{kk: t.clone() for kk, t in lvl.items()} for lvl in index]
        # warm up on a side stream (as torch recommends), then capture
        s = torch.cuda.Stream()
        s.wait_stream(torch.cuda.current_stream())
        with torch.cuda.stream(s):
            api.step(lib, q, k, v, lens, index)
        torch.cuda.current_stream().wait_stream(s)
        torch.cuda.synchronize()
        g = torch.cuda.graph
        graph = torch.cuda.CUDAGraph()
        with g(graph):
            g1 = api.step(lib, q, k, v, lens, index)
            api.update(lib, k, v, lens2, index)
            g2 = api.step(lib, q, k, v, lens2, index)
        ok = True
        for rep in range(3):
            for lvl, sn in zip(index, snap):      # reset the index the graph updates
                for kk in lvl:
                    lvl[kk].copy_(sn[kk])
            graph.replay()
            torch.cuda.synchronize()
            ok = ok and same(g1, e1) and same(g2, e2) and \
                same(index[0]["centroids"], eager_idx[0]["centroids"]) and \
                same(index[0]["members"], eager_idx[0]["members"])
        check(f"{L['name']}: torch.cuda.graph of step+update+step replays the eager result",
              ok)
        del graph

    # torch.compile: the custom op inside a compiled function.
    from multipole import torch_ops
    if args.quick:
        pass  # torch.compile under a sanitizer takes minutes; the full run checks it
    elif torch_ops.HAS_CUSTOM_OPS:
        L = libs[1]
        lib = L["lib"]
        q, k, v, lens, lens2 = inputs(L)
        index = api.build(lib, k, v, lens)
        eager = api.step(lib, q, k, v, lens, index)

        @torch.compile(fullgraph=True)
        def f(q, k, v, lens, index):
            return lib.step(q * 1.0, k, v, lens, index).float() * 2.0

        try:
            got = f(q, k, v, lens, index)
            torch.cuda.synchronize()
            check(f"{L['name']}: torch.compile(fullgraph) of the step op",
                  same(got, eager.float() * 2.0))
        except Exception as e:  # report, do not hide
            check(f"{L['name']}: torch.compile(fullgraph) of the step op", False,
                  f"{type(e).__name__}: {str(e)[:300]}")
    else:
        check("torch.library.custom_op available", False, torch.__version__)

print(f"race check: {'all passed' if not failures else f'{len(failures)} FAILED'}")
sys.exit(1 if failures else 0)
