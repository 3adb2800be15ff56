"""GPU correctness: every CUDA entry point against the CPU backend, the numpy
reference and dense f64 attention, on fresh clustered inputs with ragged lengths
(one shorter than sink + 2 * interval), Hkv in {1, 2, 8}, D in {64, 128}, bf16/f16/f32.
Libraries come from bench/compile_libs.sh. Outputs are poisoned with NaN before
each call. Usage (GPU machine): python3 bench/gpu_check.py bench/libs
"""
import faulthandler
import os
import sys
import time

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


KEYS = ("centroids", "vcentroids", "counts", "offsets", "members", "assign", "state")


def to_index(gidx, levels):
    """The index arrays of a GPU library call, as the reference's list of dicts (bf16
    centroids as uint16 bit patterns, the package's convention)."""
    return [{a: mp.to_numpy(gidx[f"L{l}.{a}"]) for a in KEYS} for l in range(levels)]


widened = ref.widened   # bf16 centroids (uint16 patterns) as float32, for the reference


def timed(fn):
    torch.cuda.synchronize()
    t0 = time.perf_counter()
    r = fn()
    torch.cuda.synchronize()
    return r, 1e3 * (time.perf_counter() - t0)


def check_index(label, idx, k, v, lens, cfg):
    """The ABI invariants (bf16 centroids: within their rounding, validate_index)."""
    try:
        ref.validate_index(idx, k, v, lens, cfg, rtol=1e-4, atol=1e-5)
        print(f"  ok   {label}")
    except AssertionError as e:
        print(f"  FAIL {label}: {e}")
        failures.append(label)


def inertia(level, kp, lens, cfg):
    """Mean squared distance of the clustered tokens to their centroid."""
    tot, cnt = 0.0, 0
    cen = widened([level])[0]["centroids"]
    for b in range(kp.shape[0]):
        for h in range(kp.shape[1]):
            a = level["assign"][b, h]
            j = np.nonzero(a >= 0)[0]
            if len(j):
                d = kp[b, h, j] - cen[b, h, a[j]].astype(np.float64)
                tot += float((d * d).sum())
                cnt += len(j)
    return tot / max(cnt, 1)


def compare_kmeans(label, gidx, cidx, k, lens, cfg):
    """GPU k-means vs the CPU one: same clustered tokens and states, similar
    inertia (sums run in another order, so near-ties may differ)."""
    g, c = gidx[0], cidx[0]
    same_state = np.array_equal(g["state"], c["state"])
    print(f"  {'ok  ' if same_state else 'FAIL'} {label}: state (nclusters, Lc, last block) equals the CPU one")
    if not same_state:
        failures.append(label + " state")
    m = c["assign"] >= 0
    agree = float((g["assign"][m] == c["assign"][m]).mean()) if m.any() else 1.0
    kp = ref.pre_rope_keys(np.asarray(k, np.float64), cfg.rope_theta)
    ig, ic = inertia(g, kp, lens, cfg), inertia(c, kp, lens, cfg)
    print(f"  info {label}: {100 * agree:.2f}% of assignments equal the CPU ones; "
          f"inertia GPU/CPU {ig / max(ic, 1e-30):.4f}")
    check(f"{label}: inertia GPU / CPU", ig / max(ic, 1e-30), 1.02)


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
        cfg = ref.Config(levels=[ref.Level(0.0625, budget_tokens=1000000) if variant else
                                 ref.Level(0.0625, budget_fraction=0.1)],
                         sink=16, interval=64, block_size=1024)
        cpu = mp.load(f"{libs}/{name}{suffix}_cpu.so")
        gpu = mp.load(f"{libs}/{name}{suffix}_cuda.so")
        kc = kn.astype(np.float32) if dt == "f32" else kn
        idx_cpu = cpu.build(kc, vn, lens)
        gstep = gpu.step_entry()
        gidx, ms = timed(lambda: gpu.entry("build")(k=tk, v=tv, lens=tl))
        print(f"  info index built on the GPU in {ms:.1f} ms")
        gnp = to_index(gidx, 1)
        check_index("GPU-built index: ABI invariants", gnp, kn, vn, lens, cfg)
        compare_kmeans("GPU build", gnp, idx_cpu, kn, lens, cfg)
        out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=TD[dt])
        gstep(q=tq, k=tk, v=tv, lens=tl, out=out, **gidx)
        ocpu = cpu.step(qn, kn, vn, lens, gnp)
        tag = "full budget" if variant else "10% budget"
        check(f"{tag}: GPU step vs CPU step (GPU index)",
              rel_err(out, torch.tensor(ocpu, device="cuda").double()),
              1e-5 if dt == "f32" else 2e-2)
        if variant:
            check(f"{tag}: GPU step vs dense f64", rel_err(out, dense), bound)
        else:
            o_ref = ref.multipole_attention(qn, kn, vn, lens, gnp, cfg)
            check(f"{tag}: GPU step vs numpy reference (GPU index)",
                  rel_err(out, torch.tensor(o_ref, device="cuda")),
                  1e-5 if dt == "f32" else 2e-2)
            print(f"  info {tag}: GPU step vs dense f64 {rel_err(out, dense):.3e}")
        # Online update on the GPU library, then a step.
        lens2 = np.minimum(lens + 200, N).astype(np.int32)
        tl2 = torch.tensor(lens2, device="cuda")
        _, ms = timed(lambda: gpu.entry("update")(k=tk, v=tv, lens=tl2, **gidx))
        print(f"  info update on the GPU in {ms:.1f} ms")
        cpu.update(kc, vn, lens2, idx_cpu)
        gnp = to_index(gidx, 1)
        check_index("GPU-updated index: ABI invariants", gnp, kn, vn, lens2, cfg)
        compare_kmeans("GPU update", gnp, idx_cpu, kn, lens2, cfg)
        out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=TD[dt])
        gstep(q=tq, k=tk, v=tv, lens=tl2, out=out, **gidx)
        check(f"{tag}: GPU step after update vs CPU step (GPU index)",
              rel_err(out, torch.tensor(cpu.step(qn, kn, vn, lens2, gnp),
                                        device="cuda").double()),
              1e-5 if dt == "f32" else 2e-2)
        if not variant:
            o_ref = ref.multipole_attention(qn, kn, vn, lens2, gnp, cfg)
            check(f"{tag}: GPU step after update vs numpy reference",
                  rel_err(out, torch.tensor(o_ref, device="cuda")),
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
    tidx = {f"L0.{a}": mp.to_torch(idx[0][a]) for a in idx[0]}
    out = torch.full((B, Hq, D), float("nan"), device="cuda")
    gpu.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=out, **tidx)
    check("rope: GPU step vs CPU step (CPU index)",
          rel_err(out, torch.tensor(ocpu, device="cuda").double()), 1e-4)
    cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=16, interval=64,
                     block_size=1024, rope_theta=10000.0)
    gstep = gpu.step_entry()
    gidx = gpu.entry("build")(k=tk, v=tv, lens=tl)
    gnp = to_index(gidx, 1)
    check_index("rope: GPU-built index: ABI invariants (pre-RoPE means)", gnp, k, v, lens, cfg)
    compare_kmeans("rope: GPU build", gnp, idx, k, lens, cfg)
    lens2 = np.minimum(lens + 150, N).astype(np.int32)
    tl2 = torch.tensor(lens2, device="cuda")
    gpu.entry("update")(k=tk, v=tv, lens=tl2, **gidx)
    cpu.update(k, v, lens2, idx)
    gnp = to_index(gidx, 1)
    check_index("rope: GPU-updated index: ABI invariants", gnp, k, v, lens2, cfg)
    compare_kmeans("rope: GPU update", gnp, idx, k, lens2, cfg)
    out = torch.full((B, Hq, D), float("nan"), device="cuda")
    gstep(q=tq, k=tk, v=tv, lens=tl2, out=out, **gidx)
    check("rope: GPU step vs CPU step (GPU index, after update)",
          rel_err(out, torch.tensor(cpu.step(q, k, v, lens2, gnp), device="cuda").double()), 1e-4)
# Two levels: coarse k-means and parent-restricted selection on the GPU.
if not only or "2lvl" in only:
    name, B, N, Hq, H, D = "chk_b3_n2500_hq16_h8_d128_bf16", 3, 2500, 16, 8, 128
    print(f"{name} (two levels):")
    q, k, v = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=int.from_bytes(os.urandom(2), "little"))
    lens = np.array([2500, 2100, 1333], np.int32)
    tq, tk, tv = (torch.tensor(x, device="cuda").to(torch.bfloat16).contiguous() for x in (q, k, v))
    qn, kn, vn = (to_np(t) for t in (tq, tk, tv))
    tl = torch.tensor(lens, device="cuda")
    cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1),
                             ref.Level(0.25, budget_fraction=0.25)],
                     sink=16, interval=64, block_size=1024)
    cpu = mp.load(f"{libs}/{name}_2lvl_cpu.so")
    gpu = mp.load(f"{libs}/{name}_2lvl_cuda.so")
    idx = cpu.build(kn, vn, lens)
    gstep = gpu.step_entry()
    gidx = gpu.entry("build")(k=tk, v=tv, lens=tl)
    gnp = to_index(gidx, 2)
    check_index("2 levels: GPU-built index: ABI invariants", gnp, kn, vn, lens, cfg)
    compare_kmeans("2 levels: GPU build (level 0)", gnp, idx, kn, lens, cfg)
    same = np.array_equal(gnp[1]["state"], idx[1]["state"])
    print(f"  {'ok  ' if same else 'FAIL'} 2 levels: coarse state equals the CPU one")
    if not same:
        failures.append("2lvl coarse state")
    out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    gstep(q=tq, k=tk, v=tv, lens=tl, out=out, **gidx)
    check("2 levels: GPU step vs CPU step (GPU index)",
          rel_err(out, torch.tensor(cpu.step(qn, kn, vn, lens, gnp), device="cuda").double()), 2e-2)
    o_ref = ref.multipole_attention(qn, kn, vn, lens, gnp, cfg)
    check("2 levels: GPU step vs numpy reference (GPU index)",
          rel_err(out, torch.tensor(o_ref, device="cuda")), 2e-2)
    print(f"  info 2 levels: GPU step vs dense f64 {rel_err(out, dense_f64(tq, tk, tv, lens)):.3e}")
    # The approximation on tensor cores (mma-approx, the default with bf16 caches) with a
    # parent level, against the CUDA-core kernel (mma-approx=false) on the same index.
    cc = mp.load(f"{libs}/{name}_2lvl_ccapprox_cuda.so")
    occ = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    cc.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=occ, **gidx)
    check("2 levels: mma approximation vs CUDA-core (step)", rel_err(out, occ.double()), 5e-3)
# Centroids stored in bf16 (centroid-type=bf16): the GPU index against the CPU library
# of the same option, the reference on the widened index, and the error against dense
# within 1.1x of the f32-centroid library's on the same inputs (issue 13's bound).
# The logits on tensor cores (the default where they apply) against the CUDA-core kernel
# (mma-logits=false) on the same index: the same clusters selected, so the same output
# up to f32 summation order.
C16_CASES = [("chk_b3_n2500_hq16_h8_d128_bf16", 3, 2500, 16, 8, 128, [2500, 2100, 1333]),
             ("chk_b2_n3000_hq8_h1_d64_bf16", 2, 3000, 8, 1, 64, [3000, 1777])]
for name, B, N, Hq, H, D, lens0 in (C16_CASES if not only or "c16" in only else []):
    print(f"{name} (centroid-type=bf16):")
    q, k, v = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=int.from_bytes(os.urandom(2), "little"))
    lens = np.array(lens0, np.int32)
    tq, tk, tv = (torch.tensor(x, device="cuda").to(torch.bfloat16).contiguous() for x in (q, k, v))
    qn, kn, vn = (to_np(t) for t in (tq, tk, tv))
    tl = torch.tensor(lens, device="cuda")
    cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=16, interval=64,
                     block_size=1024)
    cpu = mp.load(f"{libs}/{name}_c16_cpu.so")
    gpu = mp.load(f"{libs}/{name}_c16_cuda.so")
    g32 = mp.load(f"{libs}/{name}_f32_cuda.so")
    dense = dense_f64(tq, tk, tv, lens)
    gidx = gpu.entry("build")(k=tk, v=tv, lens=tl)
    ok = gidx["L0.centroids"].dtype == torch.bfloat16 and gidx["L0.vcentroids"].dtype == torch.bfloat16
    print(f"  {'ok  ' if ok else 'FAIL'} centroid-type=bf16: the index's centroids are bf16")
    if not ok:
        failures.append("c16 dtype")
    gnp = to_index(gidx, 1)
    check_index("centroid-type=bf16: GPU-built index: ABI invariants (means to bf16 rounding)",
                gnp, kn, vn, lens, cfg)
    idx_cpu = cpu.build(kn, vn, lens)
    compare_kmeans("centroid-type=bf16: GPU build", widened(gnp), widened(idx_cpu), kn, lens, cfg)
    out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    gpu.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=out, **gidx)
    check("centroid-type=bf16: GPU step vs CPU step (GPU index)",
          rel_err(out, torch.tensor(cpu.step(qn, kn, vn, lens, gnp), device="cuda").double()), 2e-2)
    check("centroid-type=bf16: GPU step vs numpy reference (GPU index)",
          rel_err(out, torch.tensor(ref.multipole_attention(qn, kn, vn, lens, widened(gnp), cfg),
                                    device="cuda")), 2e-2)
    nomma = mp.load(f"{libs}/{name}_c16_nommalogits_cuda.so")
    o_cc = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    nomma.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=o_cc, **gidx)
    check("centroid-type=bf16: mma logits vs CUDA-core logits (step)", rel_err(out, o_cc.double()), 4e-3)
    # The approximation on tensor cores (mma-approx, the default with bf16 caches: its
    # weights are rounded to bf16 as the exact part's are) against the CUDA-core kernel
    # (mma-approx=false) on the same index.
    cc = mp.load(f"{libs}/{name}_c16_ccapprox_cuda.so")
    o_cc2 = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    cc.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=o_cc2, **gidx)
    check("centroid-type=bf16: mma approximation vs CUDA-core (step)", rel_err(out, o_cc2.double()), 5e-3)
    g32idx = g32.entry("build")(k=tk, v=tv, lens=tl)
    o32 = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    g32.step_entry()(q=tq, k=tk, v=tv, lens=tl, out=o32, **g32idx)
    e16, e32 = rel_err(out, dense), rel_err(o32, dense)
    check("centroid-type=bf16: error vs dense / f32 centroids' error", e16 / max(e32, 1e-30), 1.1)
    lens2 = np.minimum(lens + 200, N).astype(np.int32)
    tl2 = torch.tensor(lens2, device="cuda")
    gpu.entry("update")(k=tk, v=tv, lens=tl2, **gidx)
    gnp = to_index(gidx, 1)
    check_index("centroid-type=bf16: GPU-updated index: ABI invariants", gnp, kn, vn, lens2, cfg)
    out = torch.full((B, Hq, D), float("nan"), device="cuda", dtype=torch.bfloat16)
    gpu.step_entry()(q=tq, k=tk, v=tv, lens=tl2, out=out, **gidx)
    check("centroid-type=bf16: GPU step after update vs numpy reference",
          rel_err(out, torch.tensor(ref.multipole_attention(qn, kn, vn, lens2, widened(gnp), cfg),
                                    device="cuda")), 2e-2)
print("GPU check:", "all passed" if not failures else f"FAILED {failures}")
sys.exit(1 if failures else 0)
