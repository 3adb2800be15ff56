# KV caches laid out as [B, N, Hkv, D] (FlashAttention / vLLM) are read in place
# on the CPU (issue 11, item 2): the transpose to [B, Hkv, N, D] that the model
# code (or detection) puts before the attention becomes a strided view after
# bufferization (multipole-transpose-views), not a copy of the cache per call.
# - a step whose k, v are [B, N, Hkv, D] arguments transposed in the function:
#   the arguments carry the k and v roles in their own layout, and build, step
#   and update equal those of the same step compiled for [B, Hkv, N, D] on the
#   transposed data; the bufferized IR of every entry point has views, no copy;
#   the manifest says k / v are "BNHD" (the other library: "BHND"), so that
#   random_inputs gives them in that layout, and multipole-run synthesises
#   [B, Hkv, N, D] data and hands the library its transpose (the same errors
#   and index checks as the [B, Hkv, N, D] library; --k / --v files in the
#   library's layout);
# - a linalg attention that indexes [B, N, H, D] keys and values directly
#   (detection inserts the transpose): detected, read in place, equal to
#   numpy's dense attention (a budget covering every token) and to --dense.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: roles in the caller's layout: OK
# CHECK: manifest layout BNHD / BHND: OK
# CHECK: random_inputs in the library's layout: OK
# CHECK: multipole-run on BNHD equals BHND: OK
# CHECK: multipole-run --k/--v in the library's layout: OK
# CHECK: build equals the [B, Hkv, N, D] library: OK
# CHECK: step equals the [B, Hkv, N, D] library: OK
# CHECK: update equals the [B, Hkv, N, D] library: OK
# CHECK: bufferized entry points read views, no copy: OK
# CHECK: linalg [B, N, H, D] attention detected, roles k and v: OK
# CHECK: linalg [B, N, H, D]: no copy: OK
# CHECK: linalg [B, N, H, D]: multipole (covering budget) vs numpy dense: OK
# CHECK: linalg [B, N, H, D]: dense library vs numpy dense: OK
# CHECK: all passed
import os
import re
import subprocess
import sys

import numpy as np

import multipole as mp
from multipole import reference as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import Checks, compile_pair  # noqa: E402

tmp = sys.argv[1]
os.makedirs(tmp, exist_ok=True)
check = Checks()
B, Hq, H, N, D = 2, 8, 2, 1000, 64
OPTS = "sink=16 interval=64 block-size=256 budget-fraction=0.1"
BUFFERIZE = ("one-shot-bufferize{bufferize-function-boundaries "
             "function-boundary-type-conversion=identity-layout-map},"
             "drop-equivalent-buffer-results,multipole-drop-aliasing-results,"
             "multipole-distinct-results,multipole-transpose-views")


def step_ir(bnhd):
    kv = f"{B}x{N}x{H}x{D}xf32" if bnhd else f"{B}x{H}x{N}x{D}xf32"
    head = (f"func.func @attn(%q: tensor<{B}x{Hq}x{D}xf32>, %k: tensor<{kv}>, %v: tensor<{kv}>,\n"
            f"                %lens: tensor<{B}xi32>) -> tensor<{B}x{Hq}x{D}xf32> {{\n")
    t = f"{B}x{H}x{N}x{D}xf32"
    body = ""
    k, v = "%k", "%v"
    if bnhd:
        body = (f"  %k0 = tensor.empty() : tensor<{t}>\n"
                f"  %kt = linalg.transpose ins(%k : tensor<{kv}>) outs(%k0 : tensor<{t}>) permutation = [0, 2, 1, 3]\n"
                f"  %v0 = tensor.empty() : tensor<{t}>\n"
                f"  %vt = linalg.transpose ins(%v : tensor<{kv}>) outs(%v0 : tensor<{t}>) permutation = [0, 2, 1, 3]\n")
        k, v = "%kt", "%vt"
    body += (f"  %e = tensor.empty() : tensor<{B}x{Hq}x{D}xf32>\n"
             f"  %o = multipole.decode_attention %q, {k}, {v} lens %lens outs(%e)\n"
             f"      : tensor<{B}x{Hq}x{D}xf32>, tensor<{t}>, tensor<{t}>, tensor<{B}xi32>\n"
             f"        outs tensor<{B}x{Hq}x{D}xf32> -> tensor<{B}x{Hq}x{D}xf32>\n"
             f"  return %o : tensor<{B}x{Hq}x{D}xf32>\n}}\n")
    return head + body


def compile_ir(ir, name, *args):
    src = os.path.join(tmp, name + ".mlir")
    with open(src, "w") as f:
        f.write(ir)
    so = os.path.join(tmp, name + ".so")
    subprocess.run(["multipole-compile", src, "--target=cpu", "-o", so] + list(args), check=True)
    return src, mp.load(so)


def bufferized(src, pre):
    return subprocess.run(["multipole-opt", src, f"--pass-pipeline=builtin.module({pre}{BUFFERIZE})"],
                          capture_output=True, text=True, check=True).stdout


def roles(lib, name):
    return {a["role"]: a["shape"] for a in lib.entries[name].args}


src, lib_t = compile_ir(step_ir(True), "bnhd", "--rewrite-options=" + OPTS)
_, lib_r = compile_ir(step_ir(False), "bhnd", "--rewrite-options=" + OPTS)
want = [B, N, H, D]
ok = all(roles(lib_t, e).get(r) == want for e in ("attn", "attn_mp_build", "attn_mp_update")
         for r in ("k", "v")) and "lens" in roles(lib_t, "attn") and "q" in roles(lib_t, "attn")
check("roles in the caller's layout", ok, str(roles(lib_t, "attn_mp_build")))


def layouts(lib):
    return {a.get("layout") for e in lib.entries.values() for a in e.args if a["role"] in ("k", "v")}


check("manifest layout BNHD / BHND", layouts(lib_t) == {"BNHD"} and layouts(lib_r) == {"BHND"},
      f"{layouts(lib_t)} {layouts(lib_r)}")
qa, ka, va, na = lib_t.random_inputs(seed=2)
qb, kb, vb, nb = lib_r.random_inputs(seed=2)
check("random_inputs in the library's layout",
      ka.shape == (B, N, H, D) and np.array_equal(ka, kb.transpose(0, 2, 1, 3))
      and np.array_equal(va, vb.transpose(0, 2, 1, 3)) and np.array_equal(qa, qb),
      str(ka.shape))


def mprun(name, *extra):
    r = subprocess.run(["multipole-run", os.path.join(tmp, name), "--data=clustered", "--seed=5",
                        "--updates=1", "--check-index", *extra], capture_output=True, text=True)
    # the lines that must agree: errors against dense and the index checks
    keep = [re.sub(r"time [0-9.]+ ms \(median of \d+\)", "", ln)
            for ln in r.stdout.splitlines() if "rel error" in ln or ln.startswith("index after")]
    return r, keep


# multipole-run synthesises [B, Hkv, N, D] data and hands a BNHD library its transpose:
# the same errors against dense and the same index checks as the BHND library's.
rt, lt = mprun("bnhd.so")
rr, lr = mprun("bhnd.so")
check("multipole-run on BNHD equals BHND",
      rt.returncode == 0 and rr.returncode == 0 and len(lt) == 4 and lt == lr
      and all("OK" in ln for ln in lt if ln.startswith("index")),
      f"{rt.returncode} {rt.stderr.strip()[-200:]} {lt} {lr}")
# --k / --v files are in the library's layout: the transposed cache of the BHND run.
kf, vf = os.path.join(tmp, "k_bnhd.npy"), os.path.join(tmp, "v_bnhd.npy")
q5, k5, v5 = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=6)
np.save(kf, np.ascontiguousarray(k5.transpose(0, 2, 1, 3)))
np.save(vf, np.ascontiguousarray(v5.transpose(0, 2, 1, 3)))
np.save(os.path.join(tmp, "k_bhnd.npy"), k5)
np.save(os.path.join(tmp, "v_bhnd.npy"), v5)
rt, lt = mprun("bnhd.so", "--k=" + kf, "--v=" + vf)
rr, lr = mprun("bhnd.so", "--k=" + os.path.join(tmp, "k_bhnd.npy"), "--v=" + os.path.join(tmp, "v_bhnd.npy"))
check("multipole-run --k/--v in the library's layout",
      rt.returncode == 0 and len(lt) == 4 and lt == lr, f"{rt.stderr.strip()[-200:]} {lt} {lr}")

q, k, v = ref.make_inputs(B, Hq, H, N, D, "clustered", seed=3)
kt = np.ascontiguousarray(k.transpose(0, 2, 1, 3))
vt = np.ascontiguousarray(v.transpose(0, 2, 1, 3))
lens = np.array([1000, 613], np.int32)
it, ir_ = lib_t.build(kt, vt, lens), lib_r.build(k, v, lens)


def same_index(a, b):
    return all(np.array_equal(x[key], y[key]) for x, y in zip(a, b) for key in mp.runtime.INDEX_KEYS)


check("build equals the [B, Hkv, N, D] library", same_index(it, ir_))
e = float(np.abs(lib_t.step(q, kt, vt, lens, it) - lib_r.step(q, k, v, lens, ir_)).max())
check("step equals the [B, Hkv, N, D] library", e == 0.0, f"(max |diff| {e:.1e})")
lens2 = np.array([1000, 777], np.int32)
lib_t.update(kt, vt, lens2, it)
lib_r.update(k, v, lens2, ir_)
e = float(np.abs(lib_t.step(q, kt, vt, lens2, it) - lib_r.step(q, k, v, lens2, ir_)).max())
check("update equals the [B, Hkv, N, D] library", same_index(it, ir_) and e == 0.0, f"(step {e:.1e})")

text = bufferized(src, "multipole-rewrite{" + OPTS + "},multipole-entry-points,")
views = text.count("memref.transpose")
check("bufferized entry points read views, no copy",
      views == 6 and "linalg.transpose" not in text and "strided<[128000, 64, 128, 1]>" in text,
      f"({views} views)")

# A linalg attention over [B, N, H, D] keys and values (MHA, scale 1/sqrt(D)): the
# contractions index them directly; detection transposes them for the op.
Bl, Hl, Nl, Dl = 2, 4, 700, 32
kv = f"{Bl}x{Nl}x{Hl}x{Dl}xf32"
LIN = f"""func.func @attn(%q: tensor<{Bl}x{Hl}x{Dl}xf32>, %k: tensor<{kv}>, %v: tensor<{kv}>) -> tensor<{Bl}x{Hl}x{Dl}xf32> {{
  %zero = arith.constant 0.0 : f32
  %c = arith.constant 0.17677669529663687 : f32
  %es = tensor.empty() : tensor<{Bl}x{Hl}x{Nl}xf32>
  %s0 = linalg.fill ins(%zero : f32) outs(%es : tensor<{Bl}x{Hl}x{Nl}xf32>) -> tensor<{Bl}x{Hl}x{Nl}xf32>
  %s = linalg.generic {{
      indexing_maps = [affine_map<(b, h, n, d) -> (b, h, d)>, affine_map<(b, h, n, d) -> (b, n, h, d)>,
                       affine_map<(b, h, n, d) -> (b, h, n)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%q, %k : tensor<{Bl}x{Hl}x{Dl}xf32>, tensor<{kv}>) outs(%s0 : tensor<{Bl}x{Hl}x{Nl}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{Bl}x{Hl}x{Nl}xf32>
  %ec = tensor.empty() : tensor<{Bl}x{Hl}x{Nl}xf32>
  %sc = linalg.generic {{
      indexing_maps = [affine_map<(b, h, n) -> (b, h, n)>, affine_map<(b, h, n) -> (b, h, n)>],
      iterator_types = ["parallel", "parallel", "parallel"]}}
      ins(%s : tensor<{Bl}x{Hl}x{Nl}xf32>) outs(%ec : tensor<{Bl}x{Hl}x{Nl}xf32>) {{
  ^bb0(%a: f32, %o: f32):
    %m = arith.mulf %a, %c : f32
    linalg.yield %m : f32
  }} -> tensor<{Bl}x{Hl}x{Nl}xf32>
  %ep = tensor.empty() : tensor<{Bl}x{Hl}x{Nl}xf32>
  %p = linalg.softmax dimension(2) ins(%sc : tensor<{Bl}x{Hl}x{Nl}xf32>) outs(%ep : tensor<{Bl}x{Hl}x{Nl}xf32>) -> tensor<{Bl}x{Hl}x{Nl}xf32>
  %eo = tensor.empty() : tensor<{Bl}x{Hl}x{Dl}xf32>
  %o0 = linalg.fill ins(%zero : f32) outs(%eo : tensor<{Bl}x{Hl}x{Dl}xf32>) -> tensor<{Bl}x{Hl}x{Dl}xf32>
  %o = linalg.generic {{
      indexing_maps = [affine_map<(b, h, d, n) -> (b, h, n)>, affine_map<(b, h, d, n) -> (b, n, h, d)>,
                       affine_map<(b, h, d, n) -> (b, h, d)>],
      iterator_types = ["parallel", "parallel", "parallel", "reduction"]}}
      ins(%p, %v : tensor<{Bl}x{Hl}x{Nl}xf32>, tensor<{kv}>) outs(%o0 : tensor<{Bl}x{Hl}x{Dl}xf32>) {{
  ^bb0(%a: f32, %b: f32, %acc: f32):
    %m = arith.mulf %a, %b : f32
    %r = arith.addf %acc, %m : f32
    linalg.yield %r : f32
  }} -> tensor<{Bl}x{Hl}x{Dl}xf32>
  return %o : tensor<{Bl}x{Hl}x{Dl}xf32>
}}
"""
mpl, dense = compile_pair(LIN, tmp, "linalg_bnhd")
r = roles(mpl, "attn")
check("linalg [B, N, H, D] attention detected, roles k and v",
      "attn_mp_build" in mpl.entries and r.get("k") == [Bl, Nl, Hl, Dl] and r.get("v") == [Bl, Nl, Hl, Dl],
      str(sorted(r)))
src = os.path.join(tmp, "linalg_bnhd.mlir")
text = bufferized(src, "func.func(multipole-detect-decode-attention),multipole-rewrite{budget-tokens=1000000 "
                       "interval=64 block-size=1024},multipole-entry-points,")
check("linalg [B, N, H, D]: no copy", text.count("memref.transpose") == 6 and "linalg.transpose" not in text,
      f"({text.count('memref.transpose')} views)")
q, k, v = ref.make_inputs(Bl, Hl, Hl, Nl, Dl, "clustered", seed=5)
kt = np.ascontiguousarray(k.transpose(0, 2, 1, 3))
vt = np.ascontiguousarray(v.transpose(0, 2, 1, 3))
want = ref.dense_attention(q, k, v)
full = np.full(Bl, Nl, np.int32)
idx = mpl.build(kt, vt, full)
e = ref.relative_error(mpl.step(q, kt, vt, full, idx), want)
check("linalg [B, N, H, D]: multipole (covering budget) vs numpy dense", e < 1e-5, f"({e:.1e})")
e = ref.relative_error(dense.step_entry()(q=q, k=kt, v=vt)["out"], want)
check("linalg [B, N, H, D]: dense library vs numpy dense", e < 1e-5, f"({e:.1e})")
sys.exit(check.finish())
