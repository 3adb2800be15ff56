"""Smoke test of one CUDA library on a GPU machine, with timestamps and a watchdog that
prints the Python stack if a call hangs. Usage: python3 bench/diag.py LIB.so"""
import faulthandler, os, sys, time
faulthandler.dump_traceback_later(40, exit=True)
t0 = time.time()
def p(*a): print(f"[{time.time()-t0:6.2f}s]", *a, flush=True)
import numpy as np, torch
sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
import multipole as mp
p("imported; torch sees", torch.cuda.get_device_name())
rt = mp.runtime.cuda_runtime(); p("runtime loaded, available =", rt.mpCudaAvailable(), rt.mpGetLastError())
lib = mp.load(sys.argv[1]); p("module loaded", list(lib.entries))
B, N, Hq, H, D = 2, 3000, 8, 1, 64
q = torch.randn(B, Hq, D, device="cuda", dtype=torch.bfloat16)
k = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
v = torch.randn(B, H, N, D, device="cuda", dtype=torch.bfloat16)
lens = torch.tensor([3000, 150], dtype=torch.int32, device="cuda")
torch.cuda.synchronize(); p("inputs ready")
out = lib.entries["attn"](q=q, k=k, v=v, lens=lens)["out"]
p("call returned")
torch.cuda.synchronize(); p("synced", out.float().abs().sum().item(), rt.mpGetLastError())
