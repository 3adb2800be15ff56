"""Shared by the tests in test/python: labelled checks (`Checks`), a
multipole.decode_attention function of any shape compiled with multipole-compile
(`compile_attention`), and for the detection tests one linalg function compiled
twice (detected, with a budget that covers every token, and --dense)."""
import os
import subprocess

import multipole as mp


class Checks:
    def __init__(self):
        self.failures = []

    def __call__(self, label, ok, detail=""):
        print(f"{label}: {'OK' if ok else 'FAIL'} {detail}")
        if not ok:
            self.failures.append(label)

    def finish(self):
        print("all passed" if not self.failures else f"FAILED: {self.failures}")
        return 1 if self.failures else 0


ATTN_IR = """func.func @attn(%q: tensor<{B}x{Hq}x{D}x{T}>, %k: tensor<{B}x{H}x{N}x{D}x{T}>,
                 %v: tensor<{B}x{H}x{N}x{D}x{T}>, %lens: tensor<{B}xi32>) -> tensor<{B}x{Hq}x{D}x{T}> {{
  %e = tensor.empty() : tensor<{B}x{Hq}x{D}x{T}>
  %o = multipole.decode_attention %q, %k, %v lens %lens outs(%e)
      : tensor<{B}x{Hq}x{D}x{T}>, tensor<{B}x{H}x{N}x{D}x{T}>, tensor<{B}x{H}x{N}x{D}x{T}>, tensor<{B}xi32>
        outs tensor<{B}x{Hq}x{D}x{T}> -> tensor<{B}x{Hq}x{D}x{T}>
  return %o : tensor<{B}x{Hq}x{D}x{T}>
}}
"""


def compile_attention(tmp, name, shape, dtype, options):
    """Decode attention of `shape` (B, Hq, Hkv, N, D) and element type `dtype`, compiled
    for the CPU with --rewrite-options=`options` into tmp/name.so: (the loaded library or
    None, the completed multipole-compile process)."""
    B, Hq, H, N, D = shape
    src = os.path.join(tmp, name + ".mlir")
    with open(src, "w") as f:
        f.write(ATTN_IR.format(B=B, Hq=Hq, H=H, N=N, D=D, T=dtype))
    out = os.path.join(tmp, name + ".so")
    r = subprocess.run(["multipole-compile", src, "-o", out, "--rewrite-options=" + options],
                       capture_output=True, text=True)
    return (mp.load(out) if r.returncode == 0 else None), r


def compile_pair(ir, tmp, name):
    """The (multipole, dense) libraries of `ir`, built under `tmp`."""
    os.makedirs(tmp, exist_ok=True)
    src = os.path.join(tmp, name + ".mlir")
    with open(src, "w") as f:
        f.write(ir)
    mp_so = os.path.join(tmp, name + ".so")
    dense_so = os.path.join(tmp, name + ".dense.so")
    subprocess.run(["multipole-compile", src, "-o", mp_so, "--rewrite-options="
                    "budget-tokens=1000000 sink=16 interval=64 block-size=1024"],
                   check=True)
    subprocess.run(["multipole-compile", src, "-o", dense_so, "--dense"], check=True)
    return mp.load(mp_so), mp.load(dense_so)
