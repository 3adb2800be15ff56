"""Decode-step benchmark on one GPU: torch SDPA (cuDNN and flash, enable_gqa),
our dense kernel, our multipole step (score + select + exact + approx + merge, every
launch counted, captured with torch.cuda.graph on torch's stream and replayed; index
prebuilt). Hq 32 / Hkv 8 / D 128,
bf16, 6.25% centroids, 10% budget. Prints one table; writes it to $OUT if set.
Usage: python3 bench/bench_decode.py bench/libs
"""
import datetime
import math
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "240")), exit=True)

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import (build_index_torch, clustered, dense_f64, median_ms, rel_err,  # noqa: E402
                    torch_graph)

libs = sys.argv[1]


Hq, H, D = 32, 8, 128
rows = []
prof_lines = []
torch.backends.cuda.matmul.allow_tf32 = True
for N in (32768, 131072):
    for B in (1, 4, 16):
        q, k, v = clustered(B, Hq, H, N, D, torch.bfloat16, seed=N + B)
        lens = torch.full((B,), N, dtype=torch.int32, device="cuda")
        bl = [0] if B > 1 else None
        ref = dense_f64(q, k, v, lens.tolist(), b_list=[0])
        kv_bytes = 2 * B * H * N * D * 2
        qo = 2 * B * Hq * D * 2
        res = {}
        # torch SDPA baselines.
        q4 = q.view(B, Hq, 1, D)
        for label, be in (("torch SDPA cuDNN", SDPBackend.CUDNN_ATTENTION),
                          ("torch SDPA flash", SDPBackend.FLASH_ATTENTION)):
            try:
                with sdpa_kernel(be):
                    fn = lambda: F.scaled_dot_product_attention(q4, k, v, enable_gqa=True)
                    o = fn()
                    t = median_ms(fn)
                res[label] = (t, kv_bytes + qo, rel_err(o.view(B, Hq, D), ref, [0]))
            except Exception as e:  # backend not available for this shape
                print(f"# {label} N={N} B={B}: {type(e).__name__}: {e}")
        # Our dense kernel.
        dl = mp.load(f"{libs}/dense_b{B}_n{N}.so")
        g1, out = torch_graph(lambda: dl.step(q, k, v, lens))
        t = median_ms(g1.replay)
        torch.cuda.synchronize()
        res["ours dense"] = (t, kv_bytes + qo, rel_err(out, ref, [0]))
        # Our multipole step with a prebuilt index.
        ml = mp.load(f"{libs}/mp_b{B}_n{N}.so")
        step = ml.step_entry()
        shapes = {a["role"]: a["shape"] for a in step.args}
        idx = build_index_torch(k, v, N, shapes, dtypes={a["role"]: a["dtype"] for a in step.args})
        levels = [{a: idx[f"L0.{a}"] for a in mp.runtime.INDEX_KEYS}]
        g2, out2 = torch_graph(lambda: ml.step(q, k, v, lens, levels))
        replay2 = g2.replay
        t = median_ms(replay2)
        torch.cuda.synchronize()
        if N == 131072 and B in (1, 16):
            # Where the multipole step's time goes, kernel by kernel (CUPTI).
            from torch.profiler import ProfilerActivity, profile
            with profile(activities=[ProfilerActivity.CUDA]) as prof:
                for _ in range(5):
                    replay2()
                torch.cuda.synchronize()
            prof_lines.append(f"# N={N} B={B}: multipole step kernels (5 replays)")
            for ev in sorted(prof.key_averages(), key=lambda e: -e.device_time_total)[:12]:
                prof_lines.append(f"#   {ev.key[:40]:40s} {ev.device_time_total / 5 / 1000:8.4f} ms/step")
        nc = int(idx["L0.state"][0, 0, 0])
        Lc = int(idx["L0.state"][0, 0, 1])
        C = shapes["L0.centroids"][2]
        budget = int(0.1 * Lc)
        exact_tokens = 16 + (N - 16 - Lc) + budget      # upper bound: selected <= budget
        cb = 2 if {a["role"]: a["dtype"] for a in step.args}["L0.centroids"] == "bf16" else 4
        mp_bytes = (B * H * nc * D * cb * 2               # key + value centroids
                    + B * H * exact_tokens * D * 2 * 2    # K/V rows of the exact part
                    + B * Hq * C * 4 * 3 + B * H * C * 4 * 2  # logits, scores
                    + qo)
        res["ours multipole"] = (t, mp_bytes, rel_err(out2, ref, [0]))
        base = res.get("torch SDPA cuDNN", (float("nan"),))[0]
        for label, (t, by, err) in res.items():
            rows.append((N, B, label, t, by, by / t / 1e6, err, base / t))
        torch.cuda.synchronize()
        del q, k, v, idx
        torch.cuda.empty_cache()

dev = torch.cuda.get_device_name()
hdr = (f"# decode step, Hq {Hq} / Hkv {H} / D {D}, bf16, 6.25% centroids, 10% budget; "
       f"{dev}; {datetime.date.today()}; python3 bench/bench_decode.py bench/libs\n"
       f"# time: median of 50 (ours: torch.cuda.graph replay); bytes: multipole counts the budget "
       f"as an upper bound of selected tokens; error: relative L2 vs f64 dense (sequence 0)\n")
lines = [hdr, f"{'N':>7} {'B':>3}  {'variant':20s} {'ms':>9} {'MB moved':>10} {'GB/s':>8} "
              f"{'rel err':>9} {'vs cuDNN':>9}"]
for N, B, label, t, by, gbs, err, sp in rows:
    lines.append(f"{N:>7} {B:>3}  {label:20s} {t:9.4f} {by / 1e6:10.1f} {gbs:8.0f} "
                 f"{err:9.2e} {sp:8.2f}x")
text = "\n".join(lines + prof_lines)
print(text)
if os.environ.get("OUT"):
    with open(os.path.join(os.environ["OUT"], "bench_decode.txt"), "w") as f:
        f.write(text + "\n")
