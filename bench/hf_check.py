"""Multipole attention inside transformers, on the GPU (test/Device/hf-generate.test).

A tiny Qwen3-architecture model (4 layers, Hq 4, Hkv 2, head_dim 128, random weights from
its config: nothing downloaded), every layer on multipole attention:
  1. greedy model.generate of 64 tokens with MultipoleCache on a library whose budget covers
     every token equals dense greedy generation (SDPA, transformers' own cache): the same
     tokens and logits within 1e-4, f32; at batch 1 and at batch 3 with prompts of different
     lengths (left padding, bucket 4 with an empty row); the index invariants hold after
     every update (reference.validate_index), and updates happened;
  2. the same under CUDA graphs (multipole.hf.generate_graphed: each decode step one captured
     graph, replayed): tokens equal the graphed dense baseline (MultipoleCache(dense=True))
     and, at batch 1, eager dense generation;
  3. a batch of 5 over the library's largest bucket (4) and a 3-token forward after the prompt
     fall back to dense attention with one warning each, with dense's results;
  4. bf16 at a 10% budget: generation runs, per-layer attention error at the last step;
  5. the README's transformers snippet runs as written (its library path replaced).
Libraries: bench/compile_hf_libs.sh. Usage: python3 bench/hf_check.py bench/libs
"""
import faulthandler
import os
import re
import sys
import time
import traceback
import warnings

faulthandler.dump_traceback_later(int(os.environ.get("MP_WATCHDOG", "420")), exit=True)

import numpy as np  # noqa: E402
import torch  # noqa: E402

ROOT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..")
sys.path.insert(0, os.path.join(ROOT, "python"))
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import multipole as mp  # noqa: E402
from multipole import hf as mph  # noqa: E402
from multipole import reference as ref  # noqa: E402

libs = sys.argv[1]
FULL = os.path.join(libs, "hf_tiny_f32_full.so")
PART = os.path.join(libs, "hf_tiny_bf16.so")
failures = []
T0 = time.time()


def check(label, ok, detail=""):
    print(f"{'ok  ' if ok else 'FAIL'} {label} {detail}".rstrip(), flush=True)
    if not ok:
        failures.append(label)


def case(fn):
    """Runs one part; an exception is a FAIL with its traceback, and the next part runs."""
    print(f"-- {fn.__name__} ({time.time() - T0:.0f} s)", flush=True)
    try:
        fn()
    except Exception as e:  # noqa: BLE001
        traceback.print_exc()
        check(f"{fn.__name__} raised {type(e).__name__}: {str(e)[:200]}", False)


import transformers  # noqa: E402
print(f"torch {torch.__version__}, transformers {transformers.__version__}, "
      f"{torch.cuda.get_device_name()}", flush=True)


def tiny_config():
    """The model of bench/compile_hf_libs.sh's hf_tiny_*.json."""
    return transformers.Qwen3Config(
        vocab_size=512, hidden_size=256, intermediate_size=512, num_hidden_layers=4,
        num_attention_heads=4, num_key_value_heads=2, head_dim=128,
        max_position_embeddings=4096, bos_token_id=None, eos_token_id=None, pad_token_id=0,
        tie_word_embeddings=False)


def tiny_model(dtype, seed=0):
    torch.manual_seed(seed)
    model = transformers.Qwen3ForCausalLM(tiny_config()).to("cuda", dtype).eval()
    model.generation_config.eos_token_id = None
    model.generation_config.pad_token_id = 0
    return model


def set_attn(model, name):
    try:
        model.set_attn_implementation(name)
    except (AttributeError, TypeError, ValueError, KeyError):
        model.config._attn_implementation = name
    model.config._attn_implementation = name


def prompts(lengths, seed):
    """Left-padded random prompts and their attention mask."""
    g = torch.Generator(device="cuda").manual_seed(seed)
    P = max(lengths)
    ids = torch.zeros(len(lengths), P, dtype=torch.long, device="cuda")
    mask = torch.zeros_like(ids)
    for b, n in enumerate(lengths):
        ids[b, P - n:] = torch.randint(1, 512, (n,), device="cuda", generator=g)
        mask[b, P - n:] = 1
    return ids, mask


def index_cfg(lib):
    c = lib.manifest["config"]
    num = lambda k, d: float(re.search(rf"\b{k} = ([-0-9.e+]+)", c).group(1)) if re.search(rf"\b{k} = ", c) else d
    lvl = (ref.Level(num("fraction", 0.0625), budget_tokens=int(num("budget_tokens", 0)))
           if "budget_tokens" in c else ref.Level(num("fraction", 0.0625),
                                                  budget_fraction=num("budget_fraction", 0.1)))
    return ref.Config(levels=[lvl], sink=int(num("sink", 16)), interval=int(num("interval", 128)),
                      block_size=int(num("block_size", 8192)))


class Invariants:
    """cache.core.on_update: every layer's index against the caches, after every update."""
    def __init__(self, lib):
        self.cfg, self.bad, self.n = index_cfg(lib), [], 0

    def __call__(self, core):
        self.n += 1
        lens = np.array(core.lengths, np.int32)
        for layer in range(core.layers):
            idx = [{k: mp.to_numpy(t) for k, t in lvl.items()} for lvl in core.index[layer]]
            k = core.k[layer].float().cpu().numpy()
            v = core.v[layer].float().cpu().numpy()
            try:
                ref.validate_index(idx, k, v, lens, self.cfg, rtol=1e-4, atol=1e-5)
            except AssertionError as e:
                self.bad.append(f"update {self.n} layer {layer}: {e}")


def generate(model, ids, mask, new, cache=None):
    kw = dict(attention_mask=mask, max_new_tokens=new, do_sample=False, pad_token_id=0,
              output_logits=True, return_dict_in_generate=True)
    if cache is not None:
        kw["past_key_values"] = cache
    with torch.no_grad():
        out = model.generate(ids, **kw)
    return out.sequences[:, ids.shape[1]:], torch.stack(out.logits, 1).float()


def rel(a, b):
    return (torch.linalg.vector_norm(a.double() - b.double())
            / torch.linalg.vector_norm(b.double())).item()


M32 = tiny_model(torch.float32)
CASES = {"batch 1": ([700], 11), "batch 3, prompts 700/413/1200": ([700, 413, 1200], 12)}
DENSE = {}


def eager_generate():
    for label, (lengths, seed) in CASES.items():
        ids, mask = prompts(lengths, seed)
        set_attn(M32, "sdpa")
        d_tok, d_log = generate(M32, ids, mask, 64)
        DENSE[label] = d_tok
        mph.enable(M32, library=FULL)
        cache = mph.MultipoleCache(M32, batch_size=len(lengths))
        inv = Invariants(cache.core.lib)
        cache.core.on_update = inv
        m_tok, m_log = generate(M32, ids, mask, 64, cache)
        same = torch.equal(d_tok, m_tok)
        agree = (d_tok == m_tok).float().mean().item()
        check(f"{label}: generate, multipole tokens equal dense", same,
              f"({100 * agree:.1f}% equal; bucket {cache.core.rows})")
        e = rel(m_log, d_log)
        check(f"{label}: logits of every step vs dense", e < 1e-4, f"({e:.1e})")
        check(f"{label}: index invariants after every update",
              inv.n > 0 and not inv.bad and cache.core.updates == inv.n,
              f"({inv.n} updates)" + (f" {inv.bad[:2]}" if inv.bad else ""))
        check(f"{label}: every decode step ran the compiled step",
              cache.core.dense_calls == 0 and cache.core.seen == ids.shape[1] + 63,
              f"(dense calls {cache.core.dense_calls}, positions {cache.core.seen})")


def graphed():
    mph.enable(M32, library=FULL)
    for label, (lengths, seed) in CASES.items():
        ids, mask = prompts(lengths, seed)
        toks = {}
        for mode in ("dense", "multipole"):
            cache = mph.MultipoleCache(M32, batch_size=len(lengths), dense=mode == "dense")
            inv = Invariants(cache.core.lib)
            if mode == "multipole":
                cache.core.on_update = inv
            tm = {}
            out = mph.generate_graphed(M32, ids, cache, attention_mask=mask, max_new_tokens=64,
                                       timings=tm)
            toks[mode] = out[:, ids.shape[1]:]
            print(f"  info {label} {mode}: prefill {tm['prefill_s']:.2f} s, capture "
                  f"{tm['capture_s']:.2f} s, {tm['decode_tokens']} replays "
                  f"{1e3 * tm['decode_s'] / max(1, tm['decode_tokens']):.2f} ms/token")
            if mode == "multipole":
                check(f"{label}: CUDA graph, index invariants after every update",
                      inv.n > 0 and not inv.bad, f"({inv.n} updates)" + (f" {inv.bad[:2]}" if inv.bad else ""))
        check(f"{label}: CUDA graph, multipole tokens equal the graphed dense baseline",
              torch.equal(toks["dense"], toks["multipole"]),
              f"({100 * (toks['dense'] == toks['multipole']).float().mean().item():.1f}% equal)")
        same = label in DENSE and torch.equal(DENSE[label], toks["multipole"])
        if len(lengths) == 1:
            check(f"{label}: CUDA graph, tokens equal generate's dense tokens", same)
        else:
            print(f"  info {label}: CUDA graph tokens equal generate's dense tokens: {same} "
                  "(positions of padded rows as generate computes them)")


def fallbacks():
    mph.enable(M32, library=FULL)
    ids, mask = prompts([300, 250, 200, 150, 100], 13)
    set_attn(M32, "sdpa")
    d_tok, d_log = generate(M32, ids, mask, 16)
    mph.enable(M32, library=FULL)
    mph._WARNED.clear()
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        cache = mph.MultipoleCache(M32, batch_size=5)
        m_tok, m_log = generate(M32, ids, mask, 16, cache)
    msgs = [str(x.message) for x in w if "multipole" in str(x.message)]
    check("batch 5 over the largest bucket: one warning, dense's tokens",
          len([m for m in msgs if "largest bucket" in m]) == 1 and torch.equal(d_tok, m_tok)
          and rel(m_log, d_log) < 1e-4 and not cache.core.serves, f"({msgs})")
    # A 3-token forward after the prompt: dense attention over the cache, warned once.
    ids, mask = prompts([500], 14)
    extra = torch.randint(1, 512, (1, 3), device="cuda")
    with torch.no_grad():
        set_attn(M32, "sdpa")
        dc = transformers.DynamicCache()
        M32(ids, past_key_values=dc, use_cache=True)
        want = M32(extra, past_key_values=dc, use_cache=True).logits
        mph.enable(M32, library=FULL)
        cache = mph.MultipoleCache(M32, batch_size=1)
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            M32(ids, past_key_values=cache, use_cache=True)
            got = M32(extra, past_key_values=cache, use_cache=True).logits
            got2 = M32(extra, past_key_values=cache, use_cache=True).logits
    msgs = [str(x.message) for x in w if "query tokens" in str(x.message)]
    check("3-token forward after the prompt: one warning, dense's logits",
          len(msgs) == 1 and rel(got, want) < 1e-4 and cache.core.lengths[0] == 506
          and torch.isfinite(got2).all().item(), f"({rel(got, want):.1e}, {msgs})")


def bf16_budget():
    model = tiny_model(torch.bfloat16, seed=1)
    ids, mask = prompts([1500, 900], 15)
    set_attn(model, "sdpa")
    d_tok, _ = generate(model, ids, mask, 64)
    mph.enable(model, library=PART)
    cache = mph.MultipoleCache(model, batch_size=2)
    cache.core.keep_queries = True
    inv = Invariants(cache.core.lib)
    cache.core.on_update = inv
    m_tok, m_log = generate(model, ids, mask, 64, cache)
    core = cache.core
    errs, ref_errs = [], []
    from common import dense_f64, rel_err
    cfg = index_cfg(core.lib)
    for layer in range(core.layers):
        q = core.queries[layer].contiguous()
        qp = torch.zeros(core.rows, *q.shape[1:], dtype=q.dtype, device="cuda")
        qp[: q.shape[0]] = q
        lens = core._lens.clone()   # the last step's lengths (its own token included)
        out = core.lib.step(qp, core.k[layer], core.v[layer], lens, core.index[layer],
                            step=core.step_name)
        errs.append(rel_err(out[:2], dense_f64(qp, core.k[layer], core.v[layer], lens.tolist())[:2]))
        # The numpy reference on the library's own index: what the step must equal
        # (short prompts at a 10% budget are far from dense by construction: the
        # reference with a CPU-built index errs as much on such lengths).
        idx = [{k: mp.to_numpy(t) for k, t in lvl.items()} for lvl in core.index[layer]]
        o = ref.multipole_attention(qp.float().cpu().numpy(), core.k[layer].float().cpu().numpy(),
                                    core.v[layer].float().cpu().numpy(),
                                    lens.cpu().numpy().astype(np.int32), idx, cfg)
        ref_errs.append(rel(out[:2].float().cpu(), torch.from_numpy(o)[:2]))
    check("bf16, 10% budget: generation runs, finite logits, invariants",
          torch.isfinite(m_log).all().item() and not inv.bad and inv.n > 0,
          f"({inv.n} updates)")
    print(f"  info bf16 10%: tokens equal to dense {100 * (d_tok == m_tok).float().mean().item():.1f}%; "
          "attention error vs f64 dense at the last step, per layer: "
          + " ".join(f"{e:.2e}" for e in errs))
    check("bf16, 10% budget: every layer's last step equals the numpy reference on its index",
          all(np.isfinite(ref_errs)) and max(ref_errs) < 2e-2, f"(max {max(ref_errs):.2e})")


def readme_snippet():
    text = open(os.path.join(ROOT, "README.md")).read()
    m = re.search(r"<!-- hf-snippet.*?-->\s*```python\n(.*?)```", text, re.S)
    if not m:
        check("README transformers snippet found", False)
        return
    code = m.group(1)
    lib_path = '"bench/libs/hf_tiny_bf16.so"'
    check("README transformers snippet found", lib_path in code)
    exec(compile(code.replace(lib_path, repr(PART)), "README.md:hf-snippet", "exec"), {})


for fn in (eager_generate, graphed, fallbacks, bf16_budget, readme_snippet):
    case(fn)
print(f"hf check: {'all passed' if not failures else 'FAILED: ' + '; '.join(failures)} "
      f"({time.time() - T0:.0f} s)")
sys.exit(1 if failures else 0)
