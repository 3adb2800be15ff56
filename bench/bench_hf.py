"""Generation benchmark of multipole inside transformers (issue 12): decode tokens/s of a
Qwen3-8B-shaped model with random weights (Hq 32, Hkv 8, head_dim 128, hidden 4096, MLP
12288, vocab 151936, bf16; 8 of its 36 layers by default: the libraries of
bench/compile_hf_libs.sh are compiled for 8), dense against multipole in the same run.

For each (N0, B): B prompts of N0 random tokens. Both methods run the same model through
multipole.hf: the prompt eagerly (SDPA; multipole also builds every layer's index), then
greedy decoding with each decode step one captured CUDA graph (GraphedDecoder) replayed T
times, the cache's host side between replays (multipole: the update of every layer when
due, eagerly). Dense is MultipoleCache(dense=True): SDPA over the same static caches with a
per-row length mask, cuDNN first (masked GQA), as transformers' static cache would but
without repeating K/V. Reported:
  - decode tokens/s (B * T / wall time of the T replays, synchronized) and ms per token;
  - attention ms per step: a graph of the step's attention alone (every layer) at the final
    lengths, and its share of the step; for reference, unmasked cuDNN SDPA over exactly the
    cached tokens (what a dense kernel costs without the mask);
  - per-layer attention output error at the last step against f64 dense (the step's query
    of every layer), multipole and dense SDPA;
  - the index updates run, prefill seconds, and how many tokens the two methods share
    (random weights: not an accuracy measure).

Usage: python3 bench/bench_hf.py bench/libs [T] [--out FILE]
  env BENCH_CONFIGS="32768:1,32768:4,131072:1" (N0:B pairs), BENCH_LAYERS=8
"""
import datetime
import faulthandler
import gc
import os
import sys
import time

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "420")), exit=True)

import torch  # noqa: E402
import torch.nn.functional as F  # noqa: E402

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multipole.hf as mph  # noqa: E402
from common import dense_f64, rel_err  # noqa: E402

import transformers  # noqa: E402

argv = sys.argv[1:]
out_file = None
if "--out" in argv:
    i = argv.index("--out")
    out_file = argv[i + 1]
    del argv[i:i + 2]
libs = argv[0]
T = int(argv[1]) if len(argv) > 1 else 128
LAYERS = int(os.environ.get("BENCH_LAYERS", "8"))
CONFIGS = [tuple(int(x) for x in c.split(":")) for c in
           os.environ.get("BENCH_CONFIGS", "32768:1,32768:4,131072:1").split(",")]
Hq, H, D, VOCAB = 32, 8, 128, 151936
T0 = time.time()


def log(msg):
    print(f"[{time.time() - T0:5.0f} s] {msg}", flush=True)


def qwen3_8b(layers):
    config = transformers.Qwen3Config(
        vocab_size=VOCAB, hidden_size=4096, intermediate_size=12288, num_hidden_layers=layers,
        num_attention_heads=Hq, num_key_value_heads=H, head_dim=D,
        max_position_embeddings=262144, bos_token_id=None, eos_token_id=None, pad_token_id=0,
        tie_word_embeddings=False)
    torch.manual_seed(0)
    with torch.device("cuda"):
        model = transformers.Qwen3ForCausalLM(config)
    return model.to(torch.bfloat16).eval()


def graph_ms(fn, reps=20):
    """Mean time of `reps` replays of `fn` captured as one CUDA graph (ms)."""
    side = torch.cuda.Stream()
    side.wait_stream(torch.cuda.current_stream())
    with torch.cuda.stream(side):
        fn()
    torch.cuda.current_stream().wait_stream(side)
    g = torch.cuda.CUDAGraph()
    with torch.cuda.graph(g):
        fn()
    g.replay()
    a, b = torch.cuda.Event(enable_timing=True), torch.cuda.Event(enable_timing=True)
    torch.cuda.synchronize()
    a.record()
    for _ in range(reps):
        g.replay()
    b.record()
    torch.cuda.synchronize()
    ms = a.elapsed_time(b) / reps
    del g
    return ms


def probe_backend():
    """Which SDPA kernel takes masked GQA decode here (the dense baseline's attention)."""
    from torch.nn.attention import SDPBackend, sdpa_kernel
    q = torch.randn(1, Hq, 1, D, device="cuda", dtype=torch.bfloat16)
    k = torch.randn(1, H, 4096, D, device="cuda", dtype=torch.bfloat16)
    m = torch.ones(1, 1, 1, 4096, dtype=torch.bool, device="cuda")
    for name, be in (("cuDNN", SDPBackend.CUDNN_ATTENTION),
                     ("memory-efficient", SDPBackend.EFFICIENT_ATTENTION)):
        try:
            with sdpa_kernel([be]):
                F.scaled_dot_product_attention(q, k, k, attn_mask=m, enable_gqa=True)
            return name
        except RuntimeError:
            continue
    return "math (no fused kernel takes a mask with GQA here: dense is slowed by K/V copies)"


def attention_ms(core, mode, B):
    """The decode step's attention alone, every layer, at the cache's current lengths."""
    core.keep_queries = False
    core._dmask = None
    q = torch.randn(B, Hq, D, device="cuda", dtype=torch.bfloat16)
    q4 = q[:, :, None]
    if mode == "multipole":
        fn = lambda: [core.attend_token(layer, q) for layer in range(core.layers)]
    else:
        fn = lambda: [core.attend_dense(layer, q4) for layer in range(core.layers)]
    return graph_ms(fn)


def cudnn_unmasked_ms(core, B):
    from torch.nn.attention import SDPBackend, sdpa_kernel
    n = max(core.lengths[:B])
    q4 = torch.randn(B, Hq, 1, D, device="cuda", dtype=torch.bfloat16)

    def fn():
        with sdpa_kernel([SDPBackend.CUDNN_ATTENTION]):
            for layer in range(core.layers):
                F.scaled_dot_product_attention(q4, core.k[layer][:B, :, :n],
                                               core.v[layer][:B, :, :n], enable_gqa=True)
    try:
        return graph_ms(fn)
    except RuntimeError as e:
        log(f"unmasked cuDNN not available: {str(e)[:120]}")
        return float("nan")


def last_step_errors(core, mode, B):
    """Per layer: the last decode step's attention output against f64 dense (that step's
    query; the cache's lengths after it include its own token)."""
    lens = core._lens.clone()
    errs = []
    for layer in range(core.layers):
        q = core.queries[layer].contiguous()
        ref = dense_f64(q, core.k[layer][:B], core.v[layer][:B], lens[:B].tolist())
        if mode == "multipole":
            qp = q
            if core.rows != B:
                qp = torch.zeros(core.rows, Hq, D, dtype=q.dtype, device="cuda")
                qp[:B] = q
            out = core.lib.step(qp, core.k[layer], core.v[layer], lens, core.index[layer],
                                step=core.step_name)[:B]
        else:
            W = int(lens.max())
            mask = (torch.arange(W, device="cuda")[None, :] < lens[:B, None])[:, None, None]
            with mph._sdpa_backends():
                out = F.scaled_dot_product_attention(
                    q[:, :, None], core.k[layer][:B, :, :W], core.v[layer][:B, :, :W],
                    attn_mask=mask, enable_gqa=True)[:, :, 0]
        errs.append(rel_err(out, ref))
        del ref
    return errs


def run(model, N0, B):
    lib_path = os.path.join(libs, f"hf_8b_l{LAYERS}_n{N0 // 1024}k.so")
    lib = mph.enable(model, library=lib_path)
    if lib.model["max_len"] < N0 + T + 2 or lib.model["max_batch"] < B:
        raise SystemExit(f"{lib_path}: max_len {lib.model['max_len']} / max_batch "
                         f"{lib.model['max_batch']} do not hold {N0} + {T + 2} tokens x {B}")
    g = torch.Generator(device="cuda").manual_seed(N0 + B)
    ids = torch.randint(1, VOCAB, (B, N0), device="cuda", generator=g)
    res = {}
    for mode in ("dense", "multipole"):
        cache = mph.MultipoleCache(model, batch_size=B, dense=mode == "dense")
        core = cache.core
        core.keep_queries = True
        dec = mph.GraphedDecoder(model, cache, ids)
        torch.cuda.synchronize()
        t0 = time.perf_counter()
        dec.prefill()
        torch.cuda.synchronize()
        t1 = time.perf_counter()
        dec.capture()
        torch.cuda.synchronize()
        u0 = core.updates
        t2 = time.perf_counter()
        for _ in range(T):
            dec.step()
        torch.cuda.synchronize()
        t3 = time.perf_counter()
        r = dict(prefill_s=t1 - t0, capture_s=t2 - t1, step_ms=1e3 * (t3 - t2) / T,
                 tok_s=B * T / (t3 - t2), updates=core.updates - u0,
                 tokens=torch.stack(dec.tokens, 1).cpu())
        r["errs"] = last_step_errors(core, mode, B)
        r["attn_ms"] = attention_ms(core, mode, B)
        if mode == "dense":
            r["cudnn_ms"] = cudnn_unmasked_ms(core, B)
        res[mode] = r
        log(f"N0 {N0} B {B} {mode}: {r['tok_s']:.1f} tok/s ({r['step_ms']:.3f} ms/step), "
            f"attention {r['attn_ms']:.3f} ms/step, prefill {r['prefill_s']:.1f} s, "
            f"updates {r['updates']}, errors {' '.join(f'{e:.1e}' for e in r['errs'])}")
        del dec, cache, core
        gc.collect()
        torch.cuda.empty_cache()
    return res


log(f"torch {torch.__version__}, transformers {transformers.__version__}, "
    f"{torch.cuda.get_device_name()}; {LAYERS} layers, T = {T} decode tokens; configs {CONFIGS}")
backend = probe_backend()
log(f"dense decode attention (masked, GQA): {backend}")
model = qwen3_8b(LAYERS)
log(f"model built ({sum(p.numel() for p in model.parameters()) / 1e9:.2f} B parameters)")
rows = []
for N0, B in CONFIGS:
    try:
        rows.append((N0, B, run(model, N0, B)))
    except torch.cuda.OutOfMemoryError as e:
        log(f"N0 {N0} B {B}: out of memory: {str(e)[:200]}")
        gc.collect()
        torch.cuda.empty_cache()

lines = [f"# bench_hf {datetime.date.today()}: {torch.cuda.get_device_name()}, torch "
         f"{torch.__version__}, transformers {transformers.__version__}",
         f"# Qwen3-8B shape, {LAYERS} of 36 layers, bf16, random weights; {T} decode tokens "
         "per row, each step one CUDA graph replay; dense = SDPA over the same static cache with "
         f"a length mask ({backend}); multipole = the library's step, 10% budget, 6.25% "
         "centroids, updates when due",
         "",
         "| N0 | B | dense tok/s | multipole tok/s | vs dense | dense attn ms/step (share) "
         "| multipole attn ms/step (share) | attn vs dense | cuDNN unmasked attn ms | updates "
         "| prefill s dense / mp | max layer err mp / dense | tokens equal |",
         "| ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |"]
for N0, B, r in rows:
    d, m = r["dense"], r["multipole"]
    same = (d["tokens"] == m["tokens"]).float().mean().item()
    lines.append(
        f"| {N0 // 1024}K | {B} | {d['tok_s']:.1f} | {m['tok_s']:.1f} | "
        f"**{m['tok_s'] / d['tok_s']:.2f}x** | {d['attn_ms']:.3f} ({100 * d['attn_ms'] / d['step_ms']:.0f}%) | "
        f"{m['attn_ms']:.3f} ({100 * m['attn_ms'] / m['step_ms']:.0f}%) | "
        f"{d['attn_ms'] / m['attn_ms']:.2f}x | {d['cudnn_ms']:.3f} | {m['updates']} | "
        f"{d['prefill_s']:.1f} / {m['prefill_s']:.1f} | {max(m['errs']):.1e} / {max(d['errs']):.1e} | "
        f"{100 * same:.0f}% |")
lines.append("")
for N0, B, r in rows:
    lines.append(f"# N0 {N0 // 1024}K B {B} per-layer error vs f64 at the last step: multipole "
                 + " ".join(f"{e:.2e}" for e in r["multipole"]["errs"]) + "; dense SDPA "
                 + " ".join(f"{e:.2e}" for e in r["dense"]["errs"]))
table = "\n".join(lines)
print(table)
if out_file:
    with open(out_file, "w") as f:
        f.write(table + "\n")
log("done")
