"""GPU correctness: every CUDA entry point against the CPU backend, the numpy
reference and dense f64 attention, on fresh clustered inputs with ragged lengths
(one shorter than sink + 2 * interval), Hkv in {1, 2, 8}, D in {64, 128}, bf16/f16/f32.
Libraries come from bench/compile_libs.sh. Outputs are poisoned with NaN before
each call. Usage (GPU machine): python3 bench/gpu_check.py bench/libs
"""
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "240")), exit=True)

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from multipole import reference as ref  # noqa: E402
from common import dense_f64, rel_err  # noqa: E402

libs = sys.argv[1]
TD = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}
failures = []


def check(label, value, bound):
    ok = np.isfinite(value) and value <= bound
    print(f"  {'ok  ' if ok else 'FAIL'} {label:55s} {value:.3e}  (bound {bound:.0e})")
    if not ok:
        failures.append(label)


def to_np(t):
    return t.float().cpu().numpy()


cases = [("chk_b2_n3000_hq8_h1_d64_bf16", 2, 3000, 8, 1, 64, "bf16"),
         ("chk_b3_n2500_hq16_h8_d128_bf16", 3, 2500, 16, 8, 128, "bf16"),
         ("chk_b2_n1800_hq8_h2_d128_f32", 2, 1800, 8, 2, 128, "f32"),
         ("chk_b1_n700_hq4_h1_d64_f16", 1, 700, 4, 1, 64, "f16")]
only = sys.argv[2] if len(sys.argv) > 2 else ""
for name, B, N, Hq, H, D, dt in cases:
    if only and only not in name:
        continue
    print(f"{name}:")
    seed = int.from_bytes(os.urandom(2), "little")
    q, k, v = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=seed)
    lens = np.array([N - 37 * i for i in range(B)], np.int32)
    if B > 1:
        lens[-1] = 150  # < sink + 2 * interval: no clustered region
    tq, tk, tv = (torch.tensor(x, device="cuda").to(TD[dt]).contiguous() for x in (q, k, v))
    qn, kn, vn = (to_np(t) for t in (tq, tk, tv))   # the values the GPU sees
    tl = torch.tensor(lens, device="cuda")
    dense = dense_f64(tq, tk, tv, lens)
    bound_full = 1e-5 if dt == "f32" else 1e-2
    # Dense kernel.
    dl = mp.load(f"{libs}/{name}_dense_cuda.so")
    e = dl.entries["attn"]
    out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=TD[dt])
    e(q=tq, k=tk, v=tv, lens=tl, out=out)
    check("dense kernel vs dense f64", rel_err(out, dense), bound_full)
    for variant, bound in (("full", bound_full), ("", None)):
        suffix = f"_{variant}" if variant else ""
        cpu = mp.load(f"{libs}/{name}{suffix}_cpu.so")
        gpu = mp.load(f"{libs}/{name}{suffix}_cuda.so")
        idx_cpu = cpu.build(kn.astype(np.float32) if dt == "f32" else kn, vn, lens)
        gstep = gpu.step_entry()
        gidx = gpu._kind("build", gstep)(k=tk, v=tv, lens=tl)
        same = all(np.array_equal(idx_cpu[0][a], gidx["L0." + a].cpu().numpy())
                   for a in ("state", "counts", "assign", "members", "offsets"))
        print(f"  {'ok  ' if same else 'FAIL'} index built by the CUDA library equals the CPU one")
        if not same:
            failures.append(name + " index")
        out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=TD[dt])
        gstep(q=tq, k=tk, v=tv, lens=tl, out=out, **gidx)
        ocpu = cpu.step(qn, kn, vn, lens, idx_cpu)
        tag = "full budget" if variant else "10% budget"
        check(f"{tag}: GPU step vs CPU step (same index)",
              rel_err(out, torch.tensor(ocpu, device="cuda").double()),
              1e-5 if dt == "f32" else 2e-2)
        if variant:
            check(f"{tag}: GPU step vs dense f64", rel_err(out, dense), bound)
        else:
            cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=16,
                             interval=64, block_size=1024)
            o_ref = ref.multipole_attention(qn, kn, vn, lens, idx_cpu, cfg)
            check(f"{tag}: GPU step vs numpy reference (same index)",
                  rel_err(out, torch.tensor(o_ref, device="cuda")),
                  1e-5 if dt == "f32" else 2e-2)
            print(f"  info {tag}: GPU step vs dense f64 {rel_err(out, dense):.3e}")
        # Online update on the GPU library, then a step.
        lens2 = np.minimum(lens + 200, N).astype(np.int32)
        tl2 = torch.tensor(lens2, device="cuda")
        gpu._kind("update", gstep)(k=tk, v=tv, lens=tl2, **gidx)
        cpu.update(kn, vn, lens2, idx_cpu)
        same = all(np.array_equal(idx_cpu[0][a], gidx["L0." + a].cpu().numpy())
                   for a in ("state", "counts", "assign"))
        print(f"  {'ok  ' if same else 'FAIL'} index after update equals the CPU one")
        if not same:
            failures.append(name + " update")
        out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=TD[dt])
        gstep(q=tq, k=tk, v=tv, lens=tl2, out=out, **gidx)
        check(f"{tag}: GPU step after update vs CPU step",
              rel_err(out, torch.tensor(cpu.step(qn, kn, vn, lens2, idx_cpu),
                                        device="cuda").double()),
              1e-5 if dt == "f32" else 2e-2)
# Windowed RoPE: the GPU rotates the scoring query; same index as the CPU.
if not only or "rope" in only:
    name, B, N, Hq, H, D = "chk_b2_n1800_hq8_h2_d128_f32", 2, 1800, 8, 2, 128
    print(f"{name} (rope-theta=10000):")
    q, k, v = ref.make_inputs(B, Hq, H, N, D, "heavy", seed=int.from_bytes(os.urandom(2), "little"))
    k = ref.rope_rotate(k.astype(np.float64), np.arange(N)[None, None, :], 10000.0).astype(np.float32)
    lens = np.array([1800, 1400], np.int32)
    cpu = mp.load(f"{libs}/{name}_rope_cpu.so")
    gpu = mp.load(f"{libs}/{name}_rope_cuda.so")
    idx = cpu.build(k, v, lens)
    ocpu = cpu.step(q, k, v, lens, idx)
    tq, tk, tv = (torch.tensor(x, device="cuda") for x in (q, k, v))
    tl = torch.tensor(lens, device="cuda")
    tidx = {f"L0.{a}": torch.tensor(idx[0][a], device="cuda") for a in idx[0]}
    out = torch.full((B, Hq, D), float("nan"), device="cuda")
    gpu.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=out, **tidx)
    check("rope: GPU step vs CPU step (same index)",
          rel_err(out, torch.tensor(ocpu, device="cuda").double()), 1e-4)
print("GPU check:", "all passed" if not failures else f"FAILED {failures}")
sys.exit(1 if failures else 0)
