"""Cluster build and online update on the GPU at benchmark shapes (Hq 32 / Hkv 8 /
D 128, bf16, 6.25% centroids): time of our k-means kernels (build: 10 Lloyd
iterations, update: +128 tokens) against the torch k-means of bench/common.py
(batched matmuls, 10 iterations) measured in the same run, and the decode-step
error with each index. Usage (GPU machine): python3 bench/build_bench.py bench/libs
"""
import faulthandler
import os
import sys
import time

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "240")), exit=True)

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import build_index_torch, clustered, dense_f64, rel_err  # noqa: E402

libs = sys.argv[1]
Hq, H, D = 32, 8, 128


def wall_ms(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return r, 1e3 * (time.perf_counter() - t0)


lines = [f"{'N':>7} {'B':>3}  {'build':24s} {'ms':>10} {'update ms':>10} {'step rel err':>13}"]
for N, B in ((32768, 1), (131072, 1), (131072, 4)):
    q, k, v = clustered(B, Hq, H, N, D, torch.bfloat16, seed=7 * N + B)
    n0 = N - 200
    lens = torch.full((B,), n0, dtype=torch.int32, device="cuda")
    ref = dense_f64(q, k, v, lens.tolist(), b_list=[0])
    ml = mp.load(f"{libs}/mp_b{B}_n{N}.so")
    step = ml.step_entry()
    shapes = {a["role"]: a["shape"] for a in step.args}
    for label in ("ours (GPU k-means)", "torch k-means"):
        if label.startswith("ours"):
            build = ml.entry("build")
            build(k=k, v=v, lens=lens)  # warm-up (module load)
            idx, ms = wall_ms(lambda: build(k=k, v=v, lens=lens))
            lens2 = lens + 128
            _, ums = wall_ms(lambda: ml.entry("update")(k=k, v=v, lens=lens2, **idx))
            ul = f"{ums:10.1f}"
        else:
            idx, ms = wall_ms(lambda: build_index_torch(
                k, v, n0, shapes, iters=10, dtypes={a["role"]: a["dtype"] for a in step.args}))
            ul = f"{'-':>10}"
        out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
        step(q=q, k=k, v=v, lens=lens, out=out, **{a: t for a, t in idx.items()}) \
            if label.startswith("torch") else None
        if label.startswith("ours"):
            # the index was updated to lens + 128: compare at that length
            ref2 = dense_f64(q, k, v, (lens + 128).tolist(), b_list=[0])
            step(q=q, k=k, v=v, lens=lens + 128, out=out, **idx)
            err = rel_err(out, ref2, [0])
        else:
            err = rel_err(out, ref, [0])
        lines.append(f"{N:>7} {B:>3}  {label:24s} {ms:10.1f} {ul} {err:13.2e}")
        print(lines[-1], flush=True)
        del idx
        torch.cuda.empty_cache()
text = "\n".join(lines)
print(text)
if os.environ.get("OUT"):
    with open(os.path.join(os.environ["OUT"], "build_bench.txt"), "w") as f:
        f.write(text + "\n")
