"""Same-run A/B of the decode step of two builds of the compiler: cuDNN, then the
multipole and dense libraries of build A and build B at 128K (Hq 32 / Hkv 8 / D 128,
bf16, 6.25% centroids, 10% budget, index prebuilt with torch), each captured with
torch.cuda.graph, timed in alternating rounds so that drift hits both. Prints one
table: median ms over rounds, ratio to cuDNN, and B's time relative to A's.
Usage (GPU machine): python3 bench/ab_step.py LIBDIR_A LIBDIR_B [rounds]
"""
import os
import sys

import torch
import torch.nn.functional as F
from torch.nn.attention import SDPBackend, sdpa_kernel

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import (build_index_torch, clustered, dense_f64, median_ms, rel_err,  # noqa: E402
                    torch_graph)

A, Bdir = sys.argv[1], sys.argv[2]
rounds = int(sys.argv[3]) if len(sys.argv) > 3 else 5
Hq, H, D, N = 32, 8, 128, 131072
torch.backends.cuda.matmul.allow_tf32 = True


print(f"# A = {A}, B = {Bdir}; {torch.cuda.get_device_name()}; {rounds} rounds of median-of-50")
print(f"{'B':>3} {'variant':22s} {'ms':>8} {'vs cuDNN':>9} {'B/A':>7} {'rel err':>9}")
for Bsz in (1, 4, 16):
    q, k, v = clustered(Bsz, Hq, H, N, D, torch.bfloat16, seed=N + Bsz)
    lens = torch.full((Bsz,), N, dtype=torch.int32, device="cuda")
    ref = dense_f64(q, k, v, lens.tolist(), b_list=[0])
    q4 = q.view(Bsz, Hq, 1, D)
    variants = {}
    keep = []  # the index tensors the captured graphs read must outlive them
    with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
        variants["cuDNN"] = (lambda: F.scaled_dot_product_attention(q4, k, v, enable_gqa=True), None)
    for tag, d in (("A", A), ("B", Bdir)):
        ml = mp.load(f"{d}/mp_b{Bsz}_n{N}.so")
        shapes = {a["role"]: a["shape"] for a in ml.step_entry().args}
        idx = build_index_torch(k, v, N, shapes, dtypes={a["role"]: a["dtype"] for a in ml.step_entry().args})
        levels = [{a: idx[f"L0.{a}"] for a in mp.runtime.INDEX_KEYS}]
        keep.append(idx)
        g, out = torch_graph(lambda: ml.step(q, k, v, lens, levels))
        variants[f"{tag} multipole"] = (g.replay, out)
        dl = mp.load(f"{d}/dense_b{Bsz}_n{N}.so")
        g2, out2 = torch_graph(lambda: dl.step(q, k, v, lens))
        variants[f"{tag} dense"] = (g2.replay, out2)
    times = {k_: [] for k_ in variants}
    for _ in range(rounds):
        for name, (fn, _) in variants.items():
            if name == "cuDNN":
                with sdpa_kernel(SDPBackend.CUDNN_ATTENTION):
                    times[name].append(median_ms(fn))
            else:
                times[name].append(median_ms(fn))
    med = {k_: sorted(t)[len(t) // 2] for k_, t in times.items()}
    for name, (fn, out) in variants.items():
        err = rel_err(out, ref, [0]) if out is not None else float("nan")
        ba = ""
        if name.startswith("B "):
            ba = f"{med[name] / med['A ' + name[2:]]:6.3f}"
        print(f"{Bsz:>3} {name:22s} {med[name]:8.4f} {med['cuDNN'] / med[name]:8.2f}x {ba:>7} {err:9.2e}")
    torch.cuda.synchronize()
    del q, k, v, variants, keep
    torch.cuda.empty_cache()
