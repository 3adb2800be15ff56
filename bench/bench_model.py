"""Model-library benchmark (issue 11): one library compiled from the Qwen3-8B config.json
(36 layers, 32 / 8 heads, head_dim 128, bf16) serves every layer at run-time batch sizes.

Libraries (bench/model_libs.sh, here): ``qwen3_8b_b8.so`` (``--max-batch=8``: steps for
the buckets 1, 2, 4, 8) and ``qwen3_8b_b3.so`` (``--max-batch=3``: B = 3 exactly), both
for ``--max-len`` = MAXLEN (65536 by default).

For B in {1, 3, 8}, ragged lengths: every layer has its own bf16 K/V cache (clustered keys,
bench/common.py) of the bucket's rows and its own index, built by the library's build;
then one token through every layer's attention: the step of each of the 36 layers in
order. Reported per configuration: the build of every layer, the step of every layer as
one CUDA graph (replays timed by CUDA events on torch's current stream, median) and
eagerly (Python calls), per layer, the error against dense f64 attention on every layer
(what the 10% budget costs: reported), and against the numpy reference of the algorithm
(multipole.reference, on the library's own index: the check) on a few layers. B = 3 runs in the
max-batch=8 library's bucket 4 (a fourth row of length 0) and in the B = 3 library; their
step times are measured interleaved, and the ratio is the issue's figure (target <= 1.15).
Their outputs must agree.

If the GPU cannot hold a cache per layer (MAXLEN=131072: 144 GiB at B = 8), layers share
P caches (layer l reads cache l mod P; each still has its own index); the header says P.

Usage (GPU machine): MULTIPOLE_CUDA_RUNTIME=$PWD/build/lib/libmultipole_cuda_runtime.so \\
    python3 bench/bench_model.py bench/libs
Env: MP_REPS (graph replays per median, 30), OUT (also write bench_model.txt there).
Prints one table, the checks (ok / FAIL) and "bench_model: all checks passed"; exit 1 on
any FAIL. A CPU library of the same names (TARGET=cpu bench/model_libs.sh DIR) dry-runs
the script here (times are then wall clock and meaningless).
"""
import datetime
import faulthandler
import os
import sys

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "400")), exit=True)

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "python"))
sys.path.insert(0, os.path.dirname(__file__))
from multipole import reference as ref  # noqa: E402
from common import clustered, dense_f64, torch_graph  # noqa: E402
from model_common import (Checks, ModelLib, index_np, interleaved_ms, np_f32,  # noqa: E402
                          rel_err_rows, timed_ms)

libs = sys.argv[1] if len(sys.argv) > 1 else "bench/libs"
REPS = int(os.environ.get("MP_REPS", "30"))
RATIO_TARGET = 1.15
log = []


def say(line=""):
    print(line, flush=True)
    log.append(line)


check = Checks(say)


lib8 = ModelLib(os.path.join(libs, "qwen3_8b_b8.so"))
lib3 = ModelLib(os.path.join(libs, "qwen3_8b_b3.so"))
m8, m3 = lib8.model, lib3.model
same = all(m8[k] == m3[k] for k in ("layers", "num_attention_heads", "num_key_value_heads",
                                    "head_dim", "dtype", "max_len"))
if not same or m8["max_batch"] != 8 or m3["max_batch"] != 3:
    sys.exit(f"bench_model: the libraries are not the max-batch 8 and 3 builds of one model: "
             f"{m8} / {m3}")
L, Hq, H, D, N = lib8.layers, lib8.heads, lib8.kv_heads, lib8.head_dim, lib8.max_len
cuda, dev = lib8.cuda, lib8.device
dt = {"bf16": torch.bfloat16, "f16": torch.float16, "f32": torch.float32}[m8["dtype"]]
esize = torch.tensor([], dtype=dt).element_size()
R8 = lib8.rows(8)


def index_bytes(ml, batch):
    e = ml.lib.step_entry(ml.lib.step_for_batch(batch))
    return sum(int(np.prod(a["shape"])) * (2 if a["dtype"] == "bf16" else 4)
               for a in e.args if a["role"].startswith("L"))


# Caches: one per layer when they fit beside every layer's index and the generator's
# float32 temporaries (about 4 caches' worth).
per_cache = 2 * R8 * H * N * D * esize
P = L
if cuda:
    free = torch.cuda.mem_get_info()[0]
    spare = free - L * index_bytes(lib8, 8) - 4 * per_cache - (6 << 30)
    P = max(1, min(L, spare // per_cache))


def clip(n):
    return int(min(N, max(1, n)))


# Ragged lengths, none a multiple of a tile; B = 8 has one sequence of 1500 tokens.
LENGTHS = {1: [clip(N - 129)],
           3: [clip(N - 1000), clip(5 * N // 8 + 333), clip(N // 4 + 77)],
           8: [clip(N - 7), clip(N - 4097), clip(7 * N // 8 + 11), clip(3 * N // 4 - 5),
               clip(N // 2 + 1), clip(N // 3), clip(N // 8 + 300), clip(1500)]}
REF_LAYERS = {1: sorted({0, L - 1}), 3: sorted({0, L - 1}), 8: [L // 2]}

say(f"# model library: {m8['model_type']}, {L} layers, Hq {Hq} / Hkv {H} / D {D}, {m8['dtype']}, "
    f"max-len {N}; {lib8.cfg.levels[0]}; "
    f"{torch.cuda.get_device_name() if cuda else 'CPU dry run'}; {datetime.date.today()}")
say(f"# libraries: {lib8.path} (buckets {m8['batch_buckets']}), {lib3.path} "
    f"(buckets {m3['batch_buckets']})")
say(f"# KV caches: {P} distinct of [{R8}, {H}, {N}, {D}] for {L} layers"
    + ("" if P == L else f" (layer l reads cache l mod {P}; every layer has its own index)")
    + f", {P * per_cache / 2**30:.1f} GiB")
caches = []
for p in range(P):
    caches.append(clustered(R8, Hq, H, N, D, dt, seed=7000 + p, device=dev))
if cuda:
    torch.cuda.synchronize()
say(f"# caches written; step graphs replayed {REPS} times per median")


def layer_qkv(layer, rows):
    q, k, v = caches[layer % P]
    return q[:rows], k[:rows], v[:rows]


def prepare(ml, B):
    """Every layer's index for B sequences, and the step of every layer."""
    R = ml.rows(B)
    lens = ml.lens(B, LENGTHS[B])
    ml.build(B, *layer_qkv(0, R)[1:], lens)      # warm-up: the first call loads the module
    ml.sync()
    idx, build_ms = timed_ms(lambda: [ml.build(B, *layer_qkv(l, R)[1:], lens)
                                      for l in range(L)], cuda)

    def run():
        return [ml.step(B, *layer_qkv(l, R), lens, idx[l]) for l in range(L)]
    outs = run()
    ml.sync()
    return dict(ml=ml, B=B, R=R, lens=lens, idx=idx, run=run, outs=outs, build_ms=build_ms)


def correctness(c, name):
    """Every layer: finite, its error against dense f64 (the budget's, reported); a few
    layers against the numpy reference on the library's index (the check)."""
    B, R, lens = c["B"], c["R"], c["lens"].tolist()
    cfg = c["ml"].cfg
    errs = []
    finite = True
    for l, out in enumerate(c["outs"]):
        q, k, v = layer_qkv(l, R)
        finite &= bool(torch.isfinite(out[:B].float()).all())
        errs.append(rel_err_rows(out, dense_f64(q, k, v, lens, b_list=range(B)), B))
    worst = int(np.argmax(errs))
    check(f"{name}: outputs finite, every layer", finite)
    say(f"  info {name}: error against dense f64 (the budget's), every layer: max "
        f"{max(errs):.2e} (layer {worst}), median {np.median(errs):.2e}")
    rerr = []
    for l in REF_LAYERS[B]:
        q, k, v = layer_qkv(l, B)
        o = ref.multipole_attention(np_f32(q), np_f32(k), np_f32(v), np.array(lens[:B]),
                                    index_np(c["idx"][l], B), cfg)
        rerr.append(rel_err_rows(c["outs"][l], torch.from_numpy(o), B))
        check(f"{name}: layer {l} vs numpy reference (library's index, bound 2e-2)",
              rerr[-1] <= 2e-2, f"{rerr[-1]:.2e}")
    pad = [bool(torch.isfinite(out[B:].float()).all()) for out in c["outs"]] if R > B else []
    if pad:
        say(f"  info {name}: rows past B (length 0) finite on {sum(pad)} of {L} layers")
    c["err_dense"], c["err_ref"] = max(errs), max(rerr) if rerr else float("nan")


def timing(cs):
    """All-layer step times of the configurations in `cs`, interleaved: graph, eager."""
    if cuda:
        graphs = [torch_graph(c["run"])[0] for c in cs]
        g = interleaved_ms([gr.replay for gr in graphs], REPS, cuda)
    else:
        g = [float("nan")] * len(cs)
    e = interleaved_ms([c["run"] for c in cs], 5 if cuda else 1, cuda, warmup=1)
    for c, gm, em in zip(cs, g, e):
        c["graph_ms"], c["eager_ms"] = gm, em
    if cuda:
        del graphs


rows = []


def measure(configs, header):
    """Prepares, checks and times (interleaved) the (library, name, B) of `configs`."""
    say(header)
    cs = [prepare(ml, B) for ml, _, B in configs]
    for c, (_, name, B) in zip(cs, configs):
        correctness(c, name)
    if len(cs) == 2:
        agree = [rel_err_rows(a, b, 3) for a, b in zip(cs[0]["outs"], cs[1]["outs"])]
        check("B=3: max-batch=8 library equals the B=3 library, every layer (bound 1e-2)",
              max(agree) <= 1e-2, f"max {max(agree):.2e}")
    timing(cs)
    for c, (ml, _, _) in zip(cs, configs):
        rows.append((f"max-batch={ml.max_batch}", c))
        del c["idx"], c["outs"], c["run"]
    if cuda:
        torch.cuda.empty_cache()
    return cs


measure([(lib8, "B=1", 1)], "B = 1 (max-batch=8 library, bucket 1):")
c38, c33 = measure([(lib8, "B=3 in max-batch=8", 3), (lib3, "B=3 library", 3)],
                   "B = 3 (max-batch=8 library, bucket 4; B=3 library):")
ratio = c38["graph_ms"] / c33["graph_ms"] if cuda else float("nan")
measure([(lib8, "B=8", 8)], "B = 8 (max-batch=8 library, bucket 8):")

if cuda:
    check(f"B=3 step, all layers: max-batch=8 library / B=3 library <= {RATIO_TARGET}",
          ratio <= RATIO_TARGET, f"{ratio:.3f}x")
say()
say(f"# one token through all {L} layers' attention (ms); graph: the {L} steps as one CUDA "
    f"graph, median of {REPS} replays; eager: Python calls, median of 5; per layer = graph / {L}")
say(f"{'library':>12} {'B':>2} {'rows':>4} {'max len':>8} {'sum len':>8} {'build all':>10} "
    f"{'step graph':>10} {'per layer':>10} {'eager':>8} {'err dense':>9} {'err ref':>9}")
for name, c in rows:
    ls = LENGTHS[c["B"]]
    say(f"{name:>12} {c['B']:>2} {c['R']:>4} {max(ls):>8} {sum(ls):>8} {c['build_ms']:10.1f} "
        f"{c['graph_ms']:10.3f} {1000 * c['graph_ms'] / L:8.1f}us {c['eager_ms']:8.2f} "
        f"{c['err_dense']:9.2e} {c['err_ref']:9.2e}")
say(f"B=3 ratio (max-batch=8 / max-batch=3, step graph, all layers): {ratio:.3f}x "
    f"(target <= {RATIO_TARGET})")
say("bench_model: " + ("all checks passed" if not check.failures else f"FAILED {check.failures}"))
if os.environ.get("OUT"):
    with open(os.path.join(os.environ["OUT"], "bench_model.txt"), "w") as f:
        f.write("\n".join(log) + "\n")
sys.exit(1 if check.failures else 0)
