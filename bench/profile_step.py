"""Runs the multipole step of one benchmark library a few times (index built with
torch), for profiling with Nsight Compute on the GPU machine:
  ncu --section SpeedOfLight --section Occupancy python3 bench/profile_step.py bench/libs B N
"""
import os
import sys

import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from common import build_index_torch, clustered  # noqa: E402

libs, B, N = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
Hq, H, D = 32, 8, 128
q, k, v = clustered(B, Hq, H, N, D, torch.bfloat16, seed=N + B)
lens = torch.full((B,), N, dtype=torch.int32, device="cuda")
ml = mp.load(f"{libs}/mp_b{B}_n{N}.so")
step = ml.step_entry()
shapes = {a["role"]: a["shape"] for a in step.args}
idx = build_index_torch(k, v, N, shapes, iters=2, dtypes={a["role"]: a["dtype"] for a in step.args})
out = torch.empty((B, Hq, D), device="cuda", dtype=torch.bfloat16)
for _ in range(3):
    step(q=q, k=k, v=v, lens=lens, out=out, **idx)
torch.cuda.synchronize()
print("done")
