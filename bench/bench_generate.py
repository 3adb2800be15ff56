"""Generation-loop benchmark (issue 10): the lifecycle a user runs, per generated token.

For each configuration: a cache prefilled to N0 tokens (clustered keys, bench/common.py),
the index built by the library's build entry point, then T decode steps. Each step appends
one token's K/V to the static cache (a torch index_copy at the current length), runs the
multipole step and, when 128 new tokens have arrived, the library's update: the
generation loop of DESIGN.md, all on torch's current stream. The append + step is one
torch.cuda.graph (the position and lengths are device tensors), replayed per token; the
update runs eagerly when due.

Dense baseline, in the same run: the same append, then cuDNN SDPA over the cache, with
its time measured by graph replay at the first and the last length of the loop (cuDNN
plans per shape, so a growing slice would time plan building). Ragged batches pad dense to
the longest sequence (SDPA has no per-sequence lengths).

Reports per configuration: multipole per-token median and mean (step + amortized update),
dense per token, the ratio, the build against the torch k-means, the update's own time, and
the error against f64 dense (sequence 0) right after the build and after the last step,
and the cost of an update call that finds nothing due (graph replay, microseconds).

Usage: python3 bench/bench_generate.py bench/libs [T]   (libraries: bench/compile_libs.sh)
  MP_GEN_LIBS=gen,gen32: the library sets to run, by file prefix (default gen; gen32:
  centroids stored in f32 rather than the default bf16, from bench/compile_libs.sh), each configuration once per set in
  this process; column "lib"; "auto" takes every set in the directory (the GQA shape matrix
  of bench/compile_shape_libs.sh: `MP_GEN_LIBS=auto python3 bench/bench_generate.py
  bench/libs_shapes`). Sets other than gen run the configurations they have libraries for;
  the head layout of each row is its library's (column "shape", Hq/Hkv/D).
  MP_GEN_PROFILE=1: also print, per configuration, where the GPU time of the loop's last 128
  tokens goes (torch.profiler, CUPTI kernel records: per kernel, launches per token and
  microseconds per token), step and update together; those tokens' timings include the
  profiler's overhead, so take the table's numbers from a run without it.
  MP_GEN_ONLY=131072:1,131072:16: only those configurations (N0:B; the ragged one is 131072:8).
  MP_PDL_AB=1: run every configuration twice in this process, first with programmatic
  dependent launch off (MULTIPOLE_PROGRAMMATIC_LAUNCH=0: each kernel waits for the previous
  one to complete), then on (the libraries' default); column "pdl".
"""
import datetime
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "540")), exit=True)

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import (build_index_torch, clustered, dense_f64, median_ms, rel_err,  # noqa: E402
                    torch_graph)

libs = sys.argv[1]
T = int(sys.argv[2]) if len(sys.argv) > 2 else 1024
Hq, H, D = 32, 8, 128
S, I = 16, 128
GROW = 1024            # the libraries' caches hold N0 + 1024 tokens
# (N0, B, lengths or None): the grid and one ragged batch
CONFIGS = [(n0, b, None) for n0 in (32768, 131072) for b in (1, 4, 16)]
CONFIGS.append((131072, 8, [5120 + (131072 - 5120) * i // 7 for i in range(8)]))
if os.environ.get("MP_GEN_ONLY"):   # e.g. "131072:1,131072:16" (N0:B; ragged: "131072:8")
    keep = {tuple(map(int, c.split(":"))) for c in os.environ["MP_GEN_ONLY"].split(",")}
    CONFIGS = [c for c in CONFIGS if (c[0], c[1]) in keep]


def clustered_len(n):
    return max(0, (n - S - I) // I) * I


def events_ms(pairs):
    torch.cuda.synchronize()
    return [a.elapsed_time(b) for a, b in pairs]


PROFILE = os.environ.get("MP_GEN_PROFILE") == "1"


def print_profile(prof, what, tokens):
    """Per kernel (CUPTI records): launches and microseconds per generated token."""
    def dev_us(e):   # torch >= 2.4 says device, older torch cuda
        return getattr(e, "self_device_time_total", None) or getattr(e, "self_cuda_time_total", 0)
    ev = sorted((e for e in prof.key_averages() if dev_us(e) > 0), key=lambda e: -dev_us(e))
    tot = sum(dev_us(e) for e in ev) / tokens
    print(f"# profile {what}: GPU time {tot:.1f} us per token over the last {tokens} tokens")
    for e in ev:
        print(f"#   {e.key[:60]:<60} {e.count / tokens:7.3f}/token {dev_us(e) / tokens:8.2f} us/token "
              f"{dev_us(e) / max(e.count, 1):8.2f} us each")


def run(n0, B, ragged, prefix="gen"):
    N = n0 + GROW
    lib = mp.load(f"{libs}/{prefix}_b{B}_n{n0}.so")
    # The head layout is the library's (q [B, Hq, D], k [B, Hkv, N, D]).
    shp = {a["role"]: a["shape"] for a in lib.step_entry().args}
    Hq, H, D = shp["q"][1], shp["k"][1], shp["q"][-1]
    q, k_src, v_src = clustered(B, Hq, H, N, D, torch.bfloat16, seed=n0 + B)
    lens0 = torch.tensor(ragged or [n0] * B, dtype=torch.int32, device="cuda")
    kc = torch.zeros_like(k_src)
    vc = torch.zeros_like(v_src)
    for b in range(B):                                  # the prefill
        n = int(lens0[b])
        kc[b, :, :n] = k_src[b, :, :n]
        vc[b, :, :n] = v_src[b, :, :n]
    # Build: the library's entry point, against the torch k-means (bench/common.py).
    build_ms = median_ms(lambda: lib.build(kc, vc, lens0), reps=3, warmup=1)
    index = lib.build(kc, vc, lens0)
    shapes = {a["role"]: a["shape"] for a in lib.step_entry().args}
    dtypes = {a["role"]: a["dtype"] for a in lib.step_entry().args}
    torch_ms = (median_ms(lambda: build_index_torch(kc, vc, n0, shapes, dtypes=dtypes),
                          reps=3, warmup=1)
                if ragged is None else float("nan"))
    ref0 = dense_f64(q, kc, vc, lens0.tolist(), b_list=[0])
    err_build = rel_err(lib.step(q, kc, vc, lens0, index), ref0, [0])
    # An update that finds nothing due (right after the build the window holds < 2I
    # tokens): what a generation loop pays to ask on every token, captured in a graph.
    gi, _ = torch_graph(lambda: lib.update(kc, vc, lens0, index))
    idle_us = 1000 * median_ms(gi.replay)

    # The loop: append + step as one graph over device-side position and lengths.
    lens = lens0.clone()
    pos = lens0.to(torch.int64).clone()
    rows = torch.arange(B, device="cuda")

    def append_step():
        kc[rows, :, pos] = k_src[rows, :, pos]
        vc[rows, :, pos] = v_src[rows, :, pos]
        lens.add_(1)
        pos.add_(1)
        return lib.step(q, kc, vc, lens, index)

    snap = (lens.clone(), pos.clone())
    g, out = torch_graph(append_step)                   # warm-up + capture advance twice
    lens.copy_(snap[0]); pos.copy_(snap[1])
    Lc = [clustered_len(int(n)) for n in lens0.tolist()]
    host = lens0.tolist()
    s = torch.cuda.current_stream()
    marks, upd = [], []
    prof = None
    for t in range(T):
        if PROFILE and t == T - 128:
            torch.cuda.synchronize()
            prof = torch.profiler.profile(activities=[torch.profiler.ProfilerActivity.CUDA])
            prof.__enter__()
        a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
        a.record(s)
        g.replay()
        host = [n + 1 for n in host]
        if any(n - S - c >= 2 * I for n, c in zip(host, Lc)):   # 128 new tokens: update
            u0, u1 = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
            u0.record(s)
            lib.update(kc, vc, lens, index)
            u1.record(s)
            upd.append((u0, u1))
            Lc = [c + I if n - S - c >= 2 * I else c for n, c in zip(host, Lc)]
        b.record(s)
        marks.append((a, b))
    if prof is not None:
        torch.cuda.synchronize()
        prof.__exit__(None, None, None)
        print_profile(prof, f"N0={n0} B={B}{' ragged' if ragged else ''} {prefix}", 128)
    per_token = sorted(events_ms(marks))
    upd_ms = events_ms(upd)
    mean = sum(per_token) / len(per_token)
    ref1 = dense_f64(q, kc, vc, lens.tolist(), b_list=[0])
    err_last = rel_err(out, ref1, [0])

    # Dense: the same append (eager here: it is a few small copies) + cuDNN at fixed lengths.
    def dense_at(n):
        q4 = q.view(B, Hq, 1, D)
        with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
            fn = lambda: F.scaled_dot_product_attention(q4, kc[:, :, :n], vc[:, :, :n], enable_gqa=True)
            gd, _ = torch_graph(fn)
            return median_ms(gd.replay)
    nmax = int(lens0.max())
    dense = [dense_at(nmax + 1), dense_at(nmax + T)]

    def append_only():
        kc[rows, :, pos] = k_src[rows, :, pos]
        vc[rows, :, pos] = v_src[rows, :, pos]
    pos.copy_(lens0.to(torch.int64))
    ga, _ = torch_graph(append_only)
    append_ms = median_ms(ga.replay)
    dense_tok = sum(dense) / 2 + append_ms
    step_ratio = (dense_tok - append_ms) / max(per_token[len(per_token) // 2] - append_ms, 1e-9)
    return {"N0": n0, "B": B, "ragged": ragged is not None, "shape": f"{Hq}/{H}/{D}",
            "step_ratio": step_ratio, "mp_median": per_token[len(per_token) // 2],
            "mp_mean": mean, "dense": dense_tok, "dense_first_last": dense, "append": append_ms,
            "ratio_mean": dense_tok / mean, "build": build_ms, "torch_build": torch_ms,
            "updates": len(upd_ms), "update_median": sorted(upd_ms)[len(upd_ms) // 2] if upd_ms else 0.0,
            "err_build": err_build, "err_last": err_last, "idle_update_us": idle_us}


rows = []
PDL = ("0", "1") if os.environ.get("MP_PDL_AB") == "1" else (None,)
PREFIXES = os.environ.get("MP_GEN_LIBS", "gen").split(",")
if PREFIXES == ["auto"]:   # every library set in the directory (<prefix>_b<B>_n<N0>.so)
    import re
    PREFIXES = sorted({m.group(1) for f in os.listdir(libs)
                       if (m := re.match(r"(.+)_b\d+_n\d+\.so$", f))})
for n0, B, ragged in CONFIGS:
    for prefix, pdl in [(p, d) for p in PREFIXES for d in PDL]:
        if prefix != "gen" and not os.path.exists(f"{libs}/{prefix}_b{B}_n{n0}.so"):
            continue   # library sets of other shapes cover part of the grid
        if pdl == "0":
            os.environ["MULTIPOLE_PROGRAMMATIC_LAUNCH"] = "0"
        else:
            os.environ.pop("MULTIPOLE_PROGRAMMATIC_LAUNCH", None)
        try:
            rows.append(run(n0, B, ragged, prefix))
            r = rows[-1]
            r["pdl"] = "off" if pdl == "0" else "on"
            r["lib"] = prefix
            print(f"# N0={n0} B={B}{' ragged' if ragged else ''} {prefix} pdl {r['pdl']}: multipole "
                  f"{r['mp_mean']:.4f} ms/token, dense {r['dense']:.4f}, {r['ratio_mean']:.2f}x", flush=True)
        except Exception as e:  # a missing library or a failed call: say so, go on
            print(f"# N0={n0} B={B}: {type(e).__name__}: {e}", flush=True)
        torch.cuda.empty_cache()
os.environ.pop("MULTIPOLE_PROGRAMMATIC_LAUNCH", None)

dev = torch.cuda.get_device_name()
hdr = (f"# generation loop, Hq / Hkv / D per row (shape), bf16, 6.25% centroids, 10% budget, T {T}; "
       f"{dev}; {datetime.date.today()}; python3 bench/bench_generate.py {libs} {T}\n"
       "# per token: append + step (graph replay) + update when due, events per token; dense: the same "
       "append + cuDNN SDPA (graph, mean of first and last length); ms; step ratio: dense over "
       "the multipole median, both without the append")
lines = [hdr, f"{'N0':>7} {'B':>3} {'rag':>3} {'shape':>10} {'lib':>16} {'pdl':>3} {'mp med':>8} {'mp mean':>8} {'dense':>8} {'ratio':>6} {'step':>6} "
              f"{'build':>8} {'torch km':>8} {'upd n':>5} {'upd ms':>7} {'idle us':>7} {'err build':>9} {'err last':>9}"]
for r in rows:
    lines.append(f"{r['N0']:>7} {r['B']:>3} {'y' if r['ragged'] else 'n':>3} {r['shape']:>10} {r['lib']:>16} {r['pdl']:>3} {r['mp_median']:8.4f} "
                 f"{r['mp_mean']:8.4f} {r['dense']:8.4f} {r['ratio_mean']:5.2f}x {r['step_ratio']:5.2f}x {r['build']:8.2f} "
                 f"{r['torch_build']:8.2f} {r['updates']:>5} {r['update_median']:7.3f} {r['idle_update_us']:7.1f} "
                 f"{r['err_build']:9.2e} {r['err_last']:9.2e}")
text = "\n".join(lines)
print(text)
if os.environ.get("OUT"):
    with open(os.path.join(os.environ["OUT"], "bench_generate.txt"), "w") as f:
        f.write(text + "\n")
