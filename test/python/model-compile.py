# multipole-compile --model=config.json: one CPU library for every layer of a
# two-layer Llama-architecture model, from its Hugging Face config.json. The
# manifest describes the model; each layer has its own index (built from its own
# K/V, updated as tokens arrive) and the library's build, update and step equal
# the numpy reference for every layer, with ragged lengths. Bad configs are
# rejected with a message and a non-zero exit.
# REQUIRES: numpy
# RUN: %python %s %t | FileCheck %s
# CHECK: manifest model: OK
# CHECK: batch buckets: OK
# CHECK: layer 0 build matches reference: OK
# CHECK: layer 0 step vs reference: OK
# CHECK: layer 1 build matches reference: OK
# CHECK: layer 1 step vs reference: OK
# CHECK: layer 0 update matches reference: OK
# CHECK: layer 1 step after update vs reference: OK
# CHECK: layers differ: OK
# CHECK: bucket 3 with an empty row equals bucket 2: OK
# CHECK: emit=mlir shapes: OK
# CHECK: bad configs rejected: OK
# CHECK: mutated configs: OK no crash
# CHECK: all passed
import json
import os
import subprocess
import sys

import numpy as np

import multipole as mp
from multipole import reference as ref

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "Inputs"))
from detect_pair import Checks  # noqa: E402

tmp = sys.argv[1]
os.makedirs(tmp, exist_ok=True)
check = Checks()


def write_config(name, **fields):
    path = os.path.join(tmp, name + ".json")
    with open(path, "w") as f:
        json.dump(fields, f)
    return path


# A small Llama: hidden 64, 4 query heads, 2 KV heads (head_dim 16), 2 layers.
base = dict(architectures=["LlamaForCausalLM"], model_type="llama", hidden_size=64,
            num_attention_heads=4, num_key_value_heads=2, num_hidden_layers=2,
            rope_theta=500000.0, max_position_embeddings=2048, torch_dtype="float32",
            vocab_size=1000, intermediate_size=128)
cfg_path = write_config("llama", **base)
B, N, MAXB = 2, 700, 3
lib_path = os.path.join(tmp, "llama.so")
opts = "sink=8 interval=32 block-size=256 budget-fraction=0.1"
subprocess.run(["multipole-compile", f"--model={cfg_path}", f"--max-batch={MAXB}",
                f"--max-len={N}", "--target=cpu", "-o", lib_path,
                "--rewrite-options=" + opts], check=True)
lib = mp.load(lib_path)
model = lib.model or {}
want = {"model_type": "llama", "layers": 2, "num_attention_heads": 4,
        "num_key_value_heads": 2, "head_dim": 16, "dtype": "f32", "max_batch": MAXB,
        "max_len": N, "kv_layout": "BHND"}
check("manifest model", all(model.get(k) == v for k, v in want.items()), str(model))
# One step per batch bucket (1, 2 and the maximum 3); B sequences use the smallest >= B.
try:
    lib.step_for_batch(4)
    too_big = False
except mp.MultipoleError:
    too_big = True
check("batch buckets", model.get("batch_buckets") == [1, 2, 3] and lib.step_for_batch(1) == "attn_b1"
      and lib.step_for_batch(2) == "attn_b2" and lib.step_for_batch(3) == "attn_b3" and too_big,
      str(model.get("bucket_steps")))
S2 = lib.step_for_batch(B)

cfg = ref.Config(levels=[ref.Level(0.0625, budget_fraction=0.1)], sink=8, interval=32,
                 block_size=256)
lens = np.array([700, 413], np.int32)
layers = []
for layer in range(2):
    q, k, v = ref.make_inputs(B, 4, 2, N, 16, "clustered", seed=10 + layer)
    idx = lib.build(k, v, lens, step=S2)
    r = ref.build_index(k, v, lens, cfg, N=N)
    same = all(np.array_equal(a[key], b[key]) for a, b in zip(idx, r)
               for key in ("state", "counts", "assign", "offsets", "members"))
    check(f"layer {layer} build matches reference", same)
    e = ref.relative_error(lib.step(q, k, v, lens, idx, step=S2),
                           ref.multipole_attention(q, k, v, lens, idx, cfg))
    check(f"layer {layer} step vs reference", e < 1e-5, f"({e:.2e})")
    layers.append((q, k, v, idx))

# Tokens arrive: each layer's index is updated on its own cache.
lens2 = np.array([700, 520], np.int32)
for layer, (q, k, v, idx) in enumerate(layers):
    r = ref.update_index([{kk: a.copy() for kk, a in lvl.items()} for lvl in idx], k, v,
                         lens2, cfg)
    lib.update(k, v, lens2, idx, step=S2)
    same = all(np.array_equal(a[key], b[key]) for a, b in zip(idx, r)
               for key in ("state", "counts", "assign", "offsets", "members"))
    same = same and ref.validate_index(idx, k, v, lens2, cfg)
    if layer == 0:
        check("layer 0 update matches reference", same)
    else:
        e = ref.relative_error(lib.step(q, k, v, lens2, idx, step=S2),
                               ref.multipole_attention(q, k, v, lens2, idx, cfg))
        check("layer 1 step after update vs reference", same and e < 1e-5, f"({e:.2e})")
a0 = layers[0][3][0]["centroids"]
a1 = layers[1][3][0]["centroids"]
check("layers differ", not np.allclose(a0, a1))

# The same two sequences through bucket 3, with a third, empty row (length 0).
q, k, v, _ = layers[1]
pad = lambda x: np.concatenate([x, np.zeros_like(x[:1])])
S3 = lib.step_for_batch(3)
lens3 = np.array([700, 520, 0], np.int32)
idx3 = lib.build(pad(k), pad(v), lens3, step=S3)
o3 = lib.step(pad(q), pad(k), pad(v), lens3, idx3, step=S3)
idx2 = lib.build(k, v, lens2, step=S2)
o2 = lib.step(q, k, v, lens2, idx2, step=S2)
e = float(np.abs(o3[:2] - o2).max())
check("bucket 3 with an empty row equals bucket 2", e < 1e-6 and np.all(o3[2] == 0), f"({e:.1e})")

# The IR that --model compiles, for a Qwen3-8B config.
q8 = write_config("qwen3", model_type="qwen3", hidden_size=4096, num_attention_heads=32,
                  num_key_value_heads=8, head_dim=128, num_hidden_layers=36,
                  rope_theta=1000000, max_position_embeddings=40960, torch_dtype="bfloat16")
ir = subprocess.run(["multipole-compile", f"--model={q8}", "--max-len=4096", "--max-batch=3",
                     "--emit=mlir", "-o", "-"], capture_output=True, text=True, check=True).stdout
check("emit=mlir shapes", "tensor<3x32x128xbf16>" in ir and "tensor<3x8x4096x128xbf16>" in ir
      and "multipole.decode_attention" in ir, ir[:200])


def rejected(args, text):
    p = subprocess.run(["multipole-compile"] + args + ["-o", os.path.join(tmp, "bad.so")],
                       capture_output=True, text=True)
    ok = p.returncode != 0 and text in p.stderr and "Stack dump" not in p.stderr
    if not ok:
        print("  not rejected as expected:", args, p.returncode, p.stderr[-300:])
    return ok


bad = {
    "bert": (dict(base, model_type="bert"), "model_type 'bert' is not supported"),
    "heads": (dict(base, num_key_value_heads=3), "is not a multiple of num_key_value_heads 3"),
    "nohidden": ({k: v for k, v in base.items() if k != "hidden_size"}, 'missing "hidden_size"'),
    "hidden": (dict(base, hidden_size=66), "hidden_size 66 is not a multiple of num_attention_heads 4"),
    "negative": (dict(base, num_hidden_layers=-2), '"num_hidden_layers" must be a positive integer'),
    "dtype": (dict(base, torch_dtype="int8"), "dtype 'int8' is not supported"),
}
ok = True
for name, (fields, text) in bad.items():
    ok &= rejected([f"--model={write_config(name, **fields)}", "--max-len=64"], text)
notjson = os.path.join(tmp, "notjson.json")
open(notjson, "w").write("{ this is not json")
ok &= rejected([f"--model={notjson}", "--max-len=64"], "not valid JSON")
ok &= rejected([f"--model={cfg_path}"], "--model needs --max-len")
ok &= rejected([f"--model={cfg_path}", "--max-len=64", "--layers=3"], "--layers must be in [1, 2]")
ok &= rejected([f"--model={cfg_path}", "--max-len=64", "--max-batch=0"], "--max-batch must be in [1, 65535]")
ok &= rejected([f"--model={cfg_path}", "--max-len=4294967296"], "(lengths are i32)")
scaled = write_config("scaled", **dict(base, rope_scaling={"rope_type": "llama3", "factor": 8.0}))
ok &= rejected([f"--model={scaled}", "--max-len=64", "--rewrite-options=rope-theta=500000"],
               "windowed RoPE (rope-theta) implements only the unscaled rotation")
ok &= rejected([f"--model={cfg_path}", "--max-len=64", os.path.join(tmp, "x.mlir")],
               "exactly one of the two")
ok &= rejected([f"--model={os.path.join(tmp, 'missing.json')}", "--max-len=64"], "cannot read")
check("bad configs rejected", ok)

# Mutated configs (keys dropped, values of other types, out of range, huge): every run
# ends with the IR or an error, never a crash.
rng = np.random.default_rng(5)
values = [None, -1, 0, 1, 3, 2**31, 2**62, -2**63, 1.5, 1e308, "", "x", "bfloat16", [], {},
          [1, 2], {"rope_type": 7}, True]
crashes = []
for trial in range(150):
    fields = dict(base)
    for _ in range(int(rng.integers(1, 4))):
        key = list(base)[int(rng.integers(len(base)))]
        if rng.random() < 0.3:
            fields.pop(key, None)
        else:
            fields[key] = values[int(rng.integers(len(values)))]
    if rng.random() < 0.2:
        fields["rope_scaling"] = values[int(rng.integers(len(values)))]
    path = write_config(f"mut{trial}", **fields)
    args = [f"--max-len={int(rng.choice([1, 64, 2**40]))}", f"--max-batch={int(rng.choice([1, 3, 2**33]))}"]
    p = subprocess.run(["multipole-compile", f"--model={path}", "--emit=mlir", "-o", os.devnull] + args,
                       capture_output=True, text=True)
    if p.returncode not in (0, 1) or "Stack dump" in p.stderr or "Assertion" in p.stderr:
        crashes.append((fields, args, p.returncode, p.stderr[-400:]))
for c in crashes[:3]:
    print("  crash:", c)
check("mutated configs", not crashes, "no crash" if not crashes else f"{len(crashes)} crashes")

sys.exit(check.finish())
