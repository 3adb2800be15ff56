"""Device check of a [B, N, Hkv, D] KV cache read in place (issue 11, item 2;
test/Device/kv-layout.test). One attention (B 3, N 3000, Hq 16 / Hkv 8, D 128, bf16)
compiled from IR whose k and v are [B, N, Hkv, D] arguments transposed in the function
(``kv_bnhd.so``, ``kv_bnhd_dense.so``) and from the same IR over [B, Hkv, N, D]
(``kv_bhnd.so``, ``kv_bhnd_dense.so``; bench/compile_libs.sh). Every kernel reads the
strided cache in place, with the same code as for [B, Hkv, N, D] but for the addresses:
the tensor-core attention kernel (the step's exact part, dense decode) and the k-means
kernels of build and update; no copy of the cache. On the same data (the
[B, N, Hkv, D] tensors are the others transposed):
- the index built and updated from [B, N, Hkv, D] equals the [B, Hkv, N, D] one
  exactly, and holds the ABI invariants;
- the step equals the [B, Hkv, N, D] step bit for bit (the same kernels, launches and
  summation orders) and the numpy reference on its index; the dense step equals the
  [B, Hkv, N, D] dense step bit for bit and dense f64 attention.
Usage (GPU machine): python3 bench/kv_layout_check.py bench/libs. A CPU build of the
same libraries dry-runs it (``--target=cpu``, same names).
"""
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "200")), exit=True)

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
import multipole as mp  # noqa: E402
from multipole import reference as ref  # noqa: E402
from common import clustered, dense_f64  # noqa: E402
from model_common import Checks, ModelLib, index_np, np_f32, ref_config, rel_err_rows  # noqa: E402

libs = sys.argv[1] if len(sys.argv) > 1 else "bench/libs"
check = Checks()


class Lib:
    """An IR-compiled library through ModelLib's torch / numpy adapter."""

    def __init__(self, path):
        self.lib = mp.load(path)
        self.cuda = self.lib.target == "cuda"
        self.dev = "cuda" if self.cuda else "cpu"
        self.cfg = ref_config(self.lib.manifest.get("config", ""))
        self.shapes = {a["role"]: a["shape"] for a in self.lib.step_entry().args}

    _in = ModelLib._in

    def call(self, kind, *xs, index=None):
        xs = [self._in(x) for x in xs]
        if kind == "build":
            return self.lib.build(*xs)
        if kind == "update":
            return self.lib.update(*xs, index)
        out = self.lib.step(*xs, index)
        return out if self.cuda else torch.from_numpy(out)

    def dense(self, q, k, v, lens):
        e = self.lib.step_entry()
        out = e(q=self._in(q), k=self._in(k), v=self._in(v), lens=self._in(lens))["out"]
        if self.cuda:
            return out
        return torch.from_numpy(mp.from_bf16(out) if out.dtype == np.uint16 else out)


t, r = Lib(os.path.join(libs, "kv_bnhd.so")), Lib(os.path.join(libs, "kv_bhnd.so"))
td, rd = Lib(os.path.join(libs, "kv_bnhd_dense.so")), Lib(os.path.join(libs, "kv_bhnd_dense.so"))
B, H, N, D = r.shapes["k"]
Hq = r.shapes["q"][1]
print(f"KV layout [B, N, Hkv, D] read in place: B {B}, N {N}, Hq {Hq} / Hkv {H}, D {D}; "
      f"{torch.cuda.get_device_name() if t.cuda else 'CPU dry run'}", flush=True)
check("roles k and v in the caller's layout",
      t.shapes.get("k") == [B, N, H, D] and t.shapes.get("v") == [B, N, H, D]
      and td.lib.step_entry().roles()[:3] == ["q", "k", "v"], str(t.shapes.get("k")))
q, k, v = clustered(B, Hq, H, N, D, torch.bfloat16, seed=11, device=t.dev)
kt = k.transpose(1, 2).contiguous()
vt = v.transpose(1, 2).contiguous()
lens_l = [N, N - 1001, 150]
lens = torch.tensor(lens_l, dtype=torch.int32, device=t.dev)


def same_index(a, b):
    a, b = index_np(a), index_np(b)
    diff = [key for x, y in zip(a, b) for key in mp.runtime.INDEX_KEYS
            if not np.array_equal(x[key], y[key])]
    return not diff, ", ".join(diff)


for phase in ("built", "updated"):
    if phase == "built":
        it, ir_ = t.call("build", kt, vt, lens), r.call("build", k, v, lens)
    else:
        lens_l = [N, N - 801, 350]
        lens = torch.tensor(lens_l, dtype=torch.int32, device=t.dev)
        t.call("update", kt, vt, lens, index=it)
        r.call("update", k, v, lens, index=ir_)
    ot, or_ = t.call("step", q, kt, vt, lens, index=it), r.call("step", q, k, v, lens, index=ir_)
    if t.cuda:
        torch.cuda.synchronize()
    ok, diff = same_index(it, ir_)
    check(f"{phase}: index from [B, N, Hkv, D] equals the [B, Hkv, N, D] one", ok, diff)
    try:
        ref.validate_index(index_np(it), np_f32(k), np_f32(v), np.array(lens_l), t.cfg,
                           rtol=1e-4, atol=1e-5)
        check(f"{phase}: index ABI invariants (validate_index)", True)
    except AssertionError as e:
        check(f"{phase}: index ABI invariants (validate_index)", False, str(e))
    e = rel_err_rows(ot, or_, B)
    check(f"{phase}: step equals the [B, Hkv, N, D] step bit for bit",
          torch.equal(ot.cpu(), or_.cpu()), f"max rel err {e:.2e}")
    o = ref.multipole_attention(np_f32(q), np_f32(k), np_f32(v), np.array(lens_l),
                                index_np(it), t.cfg)
    e = rel_err_rows(ot, torch.from_numpy(o), B)
    check(f"{phase}: step vs numpy reference (its index, bound 2e-2)", e <= 2e-2, f"{e:.2e}")
dense = dense_f64(q, k, v, lens_l)
od, ord_ = td.dense(q, kt, vt, lens), rd.dense(q, k, v, lens)
check("dense step over [B, N, Hkv, D] equals the [B, Hkv, N, D] one bit for bit",
      torch.equal(od.cpu(), ord_.cpu()), f"max rel err {rel_err_rows(od, ord_, B):.2e}")
e = rel_err_rows(od, dense, B)
check("dense step over [B, N, Hkv, D] vs dense f64 (bound 1e-2)", e <= 1e-2, f"{e:.2e}")
e = rel_err_rows(ord_, dense, B)
check("dense step over [B, Hkv, N, D] vs dense f64 (bound 1e-2)", e <= 1e-2, f"{e:.2e}")
print("kv layout check:", "all passed" if not check.failures else f"FAILED {check.failures}")
sys.exit(1 if check.failures else 0)
