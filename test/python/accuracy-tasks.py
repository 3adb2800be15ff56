# bench/accuracy.py's task names and table without a model or a GPU: mqar<N> (MQAR with N
# pairs) parses and names its own cells and columns, bad names are refused with a message
# before anything loads, and --table orders the columns mqar, mqar<N> by N, passkey, chain.
# REQUIRES: numpy
# RUN: %python %s %src %t | FileCheck %s
# CHECK: names: OK
# CHECK: mqar0: {{.*}}error: task mqar0: mqar<N> needs 16 <= N <= 128
# CHECK: mqar999: {{.*}}error: task mqar999: mqar<N> needs 16 <= N <= 128
# CHECK: mqarX: {{.*}}error: unknown task 'mqarX'
# CHECK: | method | mqar 8K | mqar64 2K | mqar64 8K | mqar128 8K | passkey 8K | chain 1000 |
# CHECK-NEXT: |---|---|---|---|---|---|---|
# CHECK-NEXT: | dense | 1.000 (1.0e-03) | 0.750 (2.0e-02) | 0.500 (4.0e-02) | 0.250 (1.0e-01) | 1.000 (1.0e-03) | 1.000 (1.0e-03) |
# CHECK-NEXT: | quest:b10 | 1.000 (1.0e-01) | 0.625 (2.0e-01) |  |  |  |  |
# CHECK: table: OK
import json
import os
import subprocess
import sys

src, tmp = sys.argv[1], sys.argv[2]
script = os.path.join(src, "bench", "accuracy.py")
sys.path.insert(0, os.path.join(src, "bench"))
import accuracy as A  # noqa: E402

assert A.task_spec("mqar") == ("mqar", 16) and A.task_spec("chain") == ("chain", 16)
assert A.task_spec("mqar64") == ("mqar", 64) and A.task_spec("mqar128") == ("mqar", 128)
for bad in ("mqar0", "mqar15", "mqar129", "mqar064", "mqarX", "", "quest"):
    try:
        A.task_spec(bad)
        raise SystemExit(f"{bad!r} accepted")
    except ValueError:
        pass
print("names: OK")

for bad in ("mqar0", "mqar999", "mqarX"):
    r = subprocess.run([sys.executable, script, "--out", os.path.join(tmp, "never"),
                        "--tasks", f"passkey,{bad}"], capture_output=True, text=True)
    assert r.returncode == 2 and not os.path.exists(os.path.join(tmp, "never")), r
    print(f"{bad}: {r.stderr.strip().splitlines()[-1]}")

os.makedirs(tmp, exist_ok=True)
cells = [("dense", "chain", 1000, 1.0, 1e-3), ("dense", "passkey", 8192, 1.0, 1e-3),
         ("dense", "mqar128", 8192, 0.25, 0.1), ("dense", "mqar64", 8192, 0.5, 0.04),
         ("dense", "mqar64", 2048, 0.75, 0.02), ("dense", "mqar", 8192, 1.0, 1e-3),
         ("quest:b10", "mqar64", 2048, 0.5, 0.2), ("quest:b10", "mqar64", 2048, 0.75, 0.2),
         ("quest:b10", "mqar", 8192, 1.0, 0.1)]
with open(os.path.join(tmp, "cells.jsonl"), "w") as f:
    for m, t, L, acc, err in cells:
        f.write(json.dumps({"task": t, "length": L, "method": m, "accuracy": acc,
                            "examples": 2, "attn_error": err}) + "\n")
r = subprocess.run([sys.executable, script, "--table", tmp], capture_output=True, text=True)
assert r.returncode == 0, r.stderr
print(r.stdout)
print("table: OK")
