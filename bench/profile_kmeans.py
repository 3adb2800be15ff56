"""Per-kernel GPU time of the index build and of one update (+128 tokens) of the
generation libraries (bench/compile_libs.sh: gen_b{B}_n{N0}.so), from torch.profiler's
CUDA activity (no kernel replay), on torch's current stream.
  python3 bench/profile_kmeans.py bench/libs [B ...]     (default B = 1 16, N0 = 131072)
Prints one table per batch: kernel, launches, total ms, share.
"""
import os
import sys
from collections import defaultdict

import torch
from torch.profiler import ProfilerActivity, profile

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import clustered  # noqa: E402

libs = sys.argv[1]
batches = [int(b) for b in sys.argv[2:]] or [1, 16]
N0, GROW, Hq, H, D = 131072, 1024, 32, 8, 128


def table(title, prof):
    acc = defaultdict(lambda: [0, 0.0])
    for e in prof.events():
        if e.device_type == torch.autograd.DeviceType.CUDA:
            a = acc[e.name]
            a[0] += 1
            a[1] += e.device_time_total / 1000.0  # us -> ms
    tot = sum(a[1] for a in acc.values())
    print(f"# {title}: {tot:.2f} ms of GPU time")
    for name, (n, ms) in sorted(acc.items(), key=lambda kv: -kv[1][1]):
        print(f"#   {name[:44]:44s} {n:4d} launches {ms:9.3f} ms {100 * ms / max(tot, 1e-9):5.1f}%")


for B in batches:
    lib = mp.load(f"{libs}/gen_b{B}_n{N0}.so")
    q, k, v = clustered(B, Hq, H, N0 + GROW, D, torch.bfloat16, seed=N0 + B)
    lens = torch.full((B,), N0, dtype=torch.int32, device="cuda")
    lib.build(k, v, lens)                       # warm-up (module load, first launches)
    torch.cuda.synchronize()
    with profile(activities=[ProfilerActivity.CUDA]) as pb:
        index = lib.build(k, v, lens)
        torch.cuda.synchronize()
    table(f"build, B={B}, N0={N0}", pb)
    lens2 = lens + 128                          # the cache already holds these tokens
    with profile(activities=[ProfilerActivity.CUDA]) as pu:
        lib.update(k, v, lens2, index)
        torch.cuda.synchronize()
    table(f"update (+128 tokens), B={B}", pu)
    with profile(activities=[ProfilerActivity.CUDA]) as pi:
        lib.update(k, v, lens2, index)          # nothing due now
        torch.cuda.synchronize()
    table(f"update with nothing due, B={B}", pi)
    del lib, q, k, v, index
    torch.cuda.empty_cache()
