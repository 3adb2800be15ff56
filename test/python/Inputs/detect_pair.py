"""Shared by the tests in test/python: labelled checks (`Checks`), and for the
detection tests one linalg function compiled twice with multipole-compile
(detected, with a budget that covers every token, and --dense)."""
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
