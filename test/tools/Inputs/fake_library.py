"""Writes a shared library with a hand-made multipole manifest: one entry
point `attn` whose query has the shape given on the command line (to test
that multipole-run rejects damaged manifests). Usage: fake_library.py OUT.so SHAPE"""
import json
import os
import shutil
import subprocess
import sys
import tempfile

out, shape = sys.argv[1], json.loads(sys.argv[2])
k = [2, 2, 8, 16]
manifest = {
    "version": 1, "target": "cpu",
    "entries": [{
        "name": "attn", "symbol": "_mlir_ciface_attn", "kind": "step",
        "args": [
            {"role": "q", "dtype": "f32", "shape": shape, "io": "in"},
            {"role": "k", "dtype": "f32", "shape": k, "io": "in"},
            {"role": "v", "dtype": "f32", "shape": k, "io": "in"},
            {"role": "out", "dtype": "f32", "shape": shape, "io": "out"},
        ]}]}
text = json.dumps(manifest).replace("\\", "\\\\").replace('"', '\\"')
src = ('const char __multipole_manifest[] = "%s";\n'
       "void _mlir_ciface_attn(void) {}\n" % text)
cc = os.environ.get("MULTIPOLE_LINKER") or shutil.which("clang-22") or shutil.which("cc")
with tempfile.TemporaryDirectory() as d:
    c = os.path.join(d, "fake.c")
    with open(c, "w") as f:
        f.write(src)
    subprocess.run([cc, "-shared", "-fPIC", "-o", out, c], check=True)
