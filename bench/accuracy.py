#!/usr/bin/env python3
"""Task accuracy and attention error of dense, multipole, oracle top-k and Quest decoding
on the trained retrieval LM (models/), on the GPU machine.

    python3 bench/accuracy.py --model models/qwen3-retrieval --libs bench/acclibs --out DIR
    python3 bench/accuracy.py ... --tasks mqar64,mqar128 --out DIR   # MQAR with more pairs
    python3 bench/accuracy.py --table DIR            # the table of the saved cells

Libraries: ``bench/accuracy_libs.sh`` (here) compiles one CUDA library per multipole
configuration for the model's attention (B 32, Hq 4, Hkv 2, D 128, bf16, cache 34816).

Tasks (``--tasks``, models/tasks.py): ``mqar``, ``passkey``, ``chain``, and ``mqar<N>``
(e.g. ``mqar64``, ``mqar128``; 16 <= N <= 128): MQAR with N key-value pairs scattered
through the context instead of training's 16 (keys distinct, from the same 128), still
16 of them queried at the end. An evaluation-only variant (the model was trained on 16
pairs; dense accuracy is the reference): more planted keys that resemble the queried one,
more of the clustered region's pages holding a key, for a sparse method to tell apart.
Its cells and table columns are named ``mqar<N>``.

For each task and context length, the prompts but their last token are
prefilled densely (SDPA), then the decode loop of ``models/model.py`` runs every method
from the same caches: each layer's attention of each decode step goes to the method
(``attend``). The last prompt token is the first decode step, so every answer comes from a
decode step of the method. Methods:

- ``dense``: attention over the whole cache (f32 arithmetic on the bf16 cache);
- ``mp:b<budget%>:r<replacement 1/0>:w<windowed RoPE 1/0>:l<levels>[:f1]``: the compiled
  multipole step, index built at prefill by the library's build entry point and updated by
  its update entry point whenever 128 tokens have arrived (the generation loop of
  DESIGN.md), fraction 6.25%, sink 16, interval 128, centroids stored in bf16 (the
  compiler's default); ``:f1`` stores them in f32 (``centroid-type=f32``, libraries
  ``acc_*_f32.so``; run 47's ``:c1`` cells were bf16 against an f32 default);
- ``oracle:b<budget%>``: exact attention over the sink, the window and the budget's worth of
  clustered-region tokens with the highest true attention (summed over the GQA group, as
  multipole's selection is), no replacement;
- ``quest:b<budget%>``: Quest with pages of 16: pages of the clustered region ranked by the
  upper bound sum_d max(q_d min_d, q_d max_d) (max over the group's query heads), the
  budget's worth of pages plus the sink and the window.

The sink, window and clustered region are the same for every sparse method (window of
128..255 tokens, budget = fraction of the clustered length). Accuracy: mqar, the queried
values (greedy); passkey, the whole key (greedy, exact match); chain, the model samples
(temperature 1, one seeded generator per method; constrained to distinct value tokens for
the key and to text tokens after it, see ``chain_constrain``) a key and 1200 tokens of
text, and is then asked for the key it generated (greedy, exact match against what it generated). Attention error: relative L2 of each
layer's attention output against float64 dense attention over the same q and cache, on
every decode step of mqar/passkey and every ``--err-every``-th step of chain, averaged.
"""
from __future__ import annotations

import argparse
import glob
import json
import math
import os
import sys
import time

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "python"))
sys.path.insert(0, os.path.join(HERE, "..", "models"))

SINK, INTERVAL = 16, 128
DEV = "cuda"   # --device cpu runs the same harness on CPU libraries (a self-test of this script)
BUDGETS = (5, 10, 20)
LENGTHS = (8192, 16384, 32768)


def task_spec(name):
    """(base task, mqar pairs) of a ``--tasks`` name: mqar, passkey, chain or mqar<N>;
    ValueError for anything else."""
    import tasks as T
    if name in T.TASKS:
        return name, T.PAIRS
    digits = name[len("mqar"):]
    if name.startswith("mqar") and digits.isdigit():
        n = int(digits)
        if not T.QUERIES <= n <= T.MQAR_KEYS:
            raise ValueError(f"task {name}: mqar<N> needs {T.QUERIES} <= N <= {T.MQAR_KEYS} "
                             f"(the {T.QUERIES} queries are distinct pairs; keys are drawn "
                             f"without replacement from {T.MQAR_KEYS})")
        if digits != str(n):
            raise ValueError(f"task {name}: write mqar{n}")
        return "mqar", n
    raise ValueError(f"unknown task {name!r}: one of {', '.join(T.TASKS)} or mqar<N> "
                     f"({T.QUERIES} <= N <= {T.MQAR_KEYS})")


def lib_name(b, r, w, l, f=0):
    return f"acc_b{b}_r{r}_w{w}_l{l}{'_f32' if f else ''}.so"


def all_methods():
    ms = ["dense"]
    for b in BUDGETS:
        ms += [f"oracle:b{b}", f"quest:b{b}"]
        for r in (1, 0):
            for w in (0, 1):
                for l in (1, 2):
                    ms.append(f"mp:b{b}:r{r}:w{w}:l{l}")
    return ms


def one_at_a_time():
    """The defaults at three budgets, and each knob changed alone at 10%."""
    ms = ["dense"] + [f"{k}:b{b}" for b in BUDGETS for k in ("oracle", "quest")]
    ms += [f"mp:b{b}:r1:w0:l1" for b in BUDGETS]
    ms += ["mp:b10:r0:w0:l1", "mp:b10:r1:w1:l1", "mp:b10:r1:w0:l2"]
    return ms


def with_f32_centroids():
    """The defaults (bf16 centroids) at three budgets, and with f32 centroids (issue 13)."""
    return ["dense"] + [f"mp:b{b}:r1:w0:l1{f}" for b in BUDGETS for f in ("", ":f1")]


def parse(m):
    kind, *rest = m.split(":")
    kv = {p[0]: int(p[1:]) for p in rest}
    return kind, kv


def clustered_len(n):
    """Clustered length for a sequence of n tokens (build rule; updates keep it)."""
    return max(0, (n - SINK - INTERVAL) // INTERVAL) * INTERVAL


# ----------------------------------------------------------------------------- methods
class Dense:
    def __init__(self, torch):
        self.t = torch

    def reset(self, caches, n0):
        pass

    def __call__(self, i, q, kc, vc, lens, n):
        # f32 attention over the whole cache (torch's SDPA took 50 ms a step here for a
        # one-token query with GQA: run 3, bench/results/2026-12-01-h200-accuracy-run3.txt)
        mask = self.t.ones(kc.shape[0], kc.shape[1], n, dtype=self.t.bool, device=kc.device)
        return masked_attention(self.t, q, kc, vc, n, mask)


def scores(torch, q, kc, n):
    """f32 logits [B, Hkv, G, n] of q [B, Hq, D] against the first n cached keys."""
    B, Hq, D = q.shape
    H = kc.shape[1]
    return torch.einsum("bhgd,bhnd->bhgn", q.view(B, H, Hq // H, D).float(),
                        kc[:, :, :n].float()) / math.sqrt(D)


def masked_attention(torch, q, kc, vc, n, mask, s=None):
    """f32 attention of q [B,Hq,D] over the tokens of mask [B,Hkv,n] (shared by a group);
    ``s``: the logits when the caller has them already."""
    B, Hq, D = q.shape
    s = scores(torch, q, kc, n) if s is None else s
    s = s.masked_fill(~mask[:, :, None], float("-inf"))
    p = s.softmax(-1)
    return torch.einsum("bhgn,bhnd->bhgd", p, vc[:, :, :n].float()).reshape(B, Hq, D).to(q.dtype)


def region_mask(torch, B, H, n, Lc, device):
    m = torch.zeros(B, H, n, dtype=torch.bool, device=device)
    m[:, :, :min(SINK, n)] = True
    m[:, :, SINK + Lc:] = True
    return m


class Oracle:
    def __init__(self, torch, budget):
        self.t, self.frac = torch, budget / 100

    def reset(self, caches, n0):
        pass

    def __call__(self, i, q, kc, vc, lens, n):
        torch = self.t
        B, Hq, D = q.shape
        H = kc.shape[1]
        Lc = clustered_len(n)
        mask = region_mask(torch, B, H, n, Lc, q.device)
        T = int(math.floor(self.frac * Lc))
        s = scores(torch, q, kc, n)
        if T > 0:
            r = s.softmax(-1).sum(2)[:, :, SINK:SINK + Lc]       # group-summed true scores
            top = r.topk(T, dim=-1).indices + SINK
            mask.scatter_(2, top, True)
        return masked_attention(torch, q, kc, vc, n, mask, s)


class Quest:
    PAGE = 16

    def __init__(self, torch, budget):
        self.t, self.frac = torch, budget / 100
        self.pages = {}

    def reset(self, caches, n0):
        self.pages = {}

    def __call__(self, i, q, kc, vc, lens, n):
        torch = self.t
        B, Hq, D = q.shape
        H = kc.shape[1]
        G = Hq // H
        Lc = clustered_len(n)
        mask = region_mask(torch, B, H, n, Lc, q.device)
        P = int(math.floor(self.frac * Lc)) // self.PAGE
        if P > 0:
            key = (i, Lc)
            if key not in self.pages:           # page bounds change only when Lc grows
                kr = kc[:, :, SINK:SINK + Lc].float().view(B, H, Lc // self.PAGE, self.PAGE, D)
                self.pages = {k: v for k, v in self.pages.items() if k[0] != i}
                self.pages[key] = (kr.amin(3), kr.amax(3))
            mn, mx = self.pages[key]
            qg = q.view(B, H, G, D).float()
            bound = (torch.einsum("bhgd,bhpd->bhgp", qg.clamp(min=0), mx)
                     + torch.einsum("bhgd,bhpd->bhgp", qg.clamp(max=0), mn)).amax(2)
            top = bound.topk(P, dim=-1).indices
            tok = (top[..., None] * self.PAGE + torch.arange(self.PAGE, device=q.device)).flatten(2)
            mask.scatter_(2, tok + SINK, True)
        return masked_attention(torch, q, kc, vc, n, mask)


class Multipole:
    def __init__(self, torch, lib, builder):
        self.t, self.lib, self.builder = torch, lib, builder
        self.index, self.Lc = None, None
        self.update_s = 0.0

    def reset(self, caches, n0):
        """Build the index of every layer from the prefilled caches (n0 tokens) with the
        builder library (same index layout), the way a model's prefill would."""
        torch = self.t
        B = caches[0][0].shape[0]
        lens = torch.full((B,), n0, dtype=torch.int32, device=DEV)
        self.index = [self.builder.build(k, v, lens) for k, v in caches]
        self.Lc = clustered_len(n0)

    def clone_from(self, other):
        self.index = [[{k: t.clone() if hasattr(t, "clone") else t.copy() for k, t in lvl.items()}
                       for lvl in idx] for idx in other.index]
        self.Lc = other.Lc

    def __call__(self, i, q, kc, vc, lens, n):
        torch = self.t
        l32 = lens.to(torch.int32)
        if n - SINK - self.Lc >= 2 * INTERVAL:  # 128 new tokens: the generation loop's update
            t0 = time.perf_counter()
            self.lib.update(kc, vc, l32, self.index[i])
            if i == len(self.index) - 1:
                self.Lc += INTERVAL
            self.update_s += time.perf_counter() - t0
        return self.lib.step(q, kc, vc, l32, self.index[i])


class CPULib:
    """A CPU library (numpy in and out) behind the torch interface the harness uses:
    ``--device cpu`` runs the whole harness on CPU libraries, a self-test of this script."""

    def __init__(self, torch, m):
        self.t, self.m = torch, m

    def _np(self, x):
        if x.dtype == self.t.bfloat16:
            return x.contiguous().view(self.t.int16).numpy().view(np.uint16)
        return x.numpy().astype(np.int32) if x.dtype in (self.t.int32, self.t.int64) else x.numpy()

    def step_entry(self):
        return self.m.step_entry()

    def build(self, k, v, lens):
        return self.m.build(self._np(k), self._np(v), self._np(lens))

    def update(self, k, v, lens, index):
        return self.m.update(self._np(k), self._np(v), self._np(lens), index)

    def step(self, q, k, v, lens, index):
        out = self.m.step(self._np(q), self._np(k), self._np(v), self._np(lens), index)
        return self.t.from_numpy(out).to(self.t.bfloat16)


# ----------------------------------------------------------------------------- harness
class ErrorMeter:
    """Relative L2 against float64 dense of each layer's attention output."""

    def __init__(self, torch, layers):
        self.t = torch
        self.sum = [0.0] * layers
        self.cnt = [0] * layers

    def add(self, i, q, kc, vc, n, out):
        torch = self.t
        B, Hq, D = q.shape
        H = kc.shape[1]
        s = torch.einsum("bhgd,bhnd->bhgn", q.view(B, H, -1, D).double(),
                         kc[:, :, :n].double()) / math.sqrt(D)
        ref = torch.einsum("bhgn,bhnd->bhgd", s.softmax(-1), vc[:, :, :n].double()).reshape(B, Hq, D)
        e = (out.double() - ref).norm() / ref.norm()
        self.sum[i] += float(e)
        self.cnt[i] += 1

    def result(self):
        per = [s / c if c else float("nan") for s, c in zip(self.sum, self.cnt)]
        return per, float(np.mean(per))


def run_cell(torch, model, task, L, examples, caches0, n0, method, impl, args, seed):
    """Decodes the batch with one method from the prefilled caches; returns the cell."""
    import tasks as T
    B = len(examples)
    dev = DEV
    base, _ = task_spec(task)
    caches = [(k.clone(), v.clone()) for k, v in caches0]
    meter = ErrorMeter(torch, len(caches))
    state = {"step": 0, "measure": True}

    def attend(i, q, kc, vc, lens):
        n = state["n"]
        out = impl(i, q, kc, vc, lens, n)
        if state["measure"]:
            meter.add(i, q, kc, vc, n, out)
        return out

    pos = torch.full((B,), n0, dtype=torch.long, device=dev)

    def feed(tok, measure=True):
        state["n"] = int(n0 + state["step"] + 1)
        state["measure"] = measure
        logits = model.decode(tok, pos + state["step"], caches, attend)
        state["step"] += 1
        return logits.float()

    def recite(logits):
        """Greedy decoding of a passkey's PASSLEN tokens from the logits after the question."""
        outs = []
        for j in range(T.PASSLEN):
            ans = logits.argmax(-1)
            outs.append(ans)
            if j + 1 < T.PASSLEN:
                logits = feed(ans)
        return torch.stack(outs, 1).cpu().numpy()

    first = torch.tensor([int(e.prompt[-1]) for e in examples], device=dev)
    t0 = time.perf_counter()
    extra = {}
    with torch.no_grad():
        if base == "mqar":
            hits = tot = 0
            logits = feed(first)
            for j in range(T.QUERIES):
                ans = logits.argmax(-1)
                want = torch.tensor([e.answers[j] for e in examples], device=dev)
                hits += int((ans == want).sum()); tot += B
                if j + 1 < T.QUERIES:
                    feed(ans)
                    logits = feed(torch.tensor([e.queries[j + 1] for e in examples], device=dev))
            acc = hits / tot
        elif base == "passkey":
            got = recite(feed(first))
            want = np.array([e.answers for e in examples])
            acc = float((got == want).all(1).mean())
            extra["token_accuracy"] = float((got == want).mean())
        else:  # chain: the model samples PASS, a key and 1200 tokens, then is asked
            gen = torch.Generator(device=dev).manual_seed(seed)
            logits = feed(first)
            toks = []
            for j in range(1 + T.PASSLEN + T.CHAIN_TEXT):
                tok = torch.multinomial(chain_constrain(torch, T, logits, j, toks).softmax(-1),
                                        1, generator=gen)[:, 0]
                toks.append(tok)
                logits = feed(tok, measure=(j % args.err_every == 0))
            chain = torch.stack(toks, 1).cpu().numpy()
            feed(torch.full((B,), T.END, device=dev), measure=False)
            got = recite(feed(torch.full((B,), T.ASKPASS, device=dev)))
            want = np.full((B, T.PASSLEN), -1)
            for b in range(B):
                at = np.nonzero(chain[b, :-T.PASSLEN] == T.PASS)[0]
                if len(at):
                    want[b] = chain[b, at[0] + 1:at[0] + 1 + T.PASSLEN]
            acc = float((got == want).all(1).mean())
            extra["token_accuracy"] = float((got == want).mean())
            extra["generated_pass"] = float((chain[:, 0] == T.PASS).mean())
            extra["distinct_key"] = float(np.mean([len(set(w)) == T.PASSLEN for w in want]))
    if DEV == "cuda":
        torch.cuda.synchronize()
    per, mean = meter.result()
    return {"task": task, "length": L, "method": method, "accuracy": acc, "examples": B,
            "attn_error": mean, "attn_error_per_layer": per, "steps": state["step"],
            "seconds": time.perf_counter() - t0,
            "update_seconds": getattr(impl, "update_s", 0.0), **extra}


def chain_constrain(torch, T, logits, j, toks):
    """Constrained sampling of the chain (as a grammar constrains an LLM's output): token 0
    is free (the model must say PASS by itself: ``generated_pass``), tokens 1..PASSLEN are
    value tokens not yet in the key (a key of distinct tokens, as in training), and the rest
    are text tokens. The model's distribution is renormalised over the allowed tokens, so
    what it generates is still its own choice among them."""
    if j == 0:
        return logits
    allow = torch.zeros(logits.shape[-1], dtype=torch.bool, device=logits.device)
    if j <= T.PASSLEN:
        allow[T.VAL0:T.VAL0 + T.NVAL] = True
        allow = allow.expand_as(logits).clone()
        for t in toks[1:]:
            allow[torch.arange(len(t), device=t.device), t] = False
    else:
        allow[T.TEXT0:T.TEXT0 + T.NTEXT] = True
        allow = allow.expand_as(logits)
    return logits.masked_fill(~allow, float("-inf"))


def prefill(torch, model, examples, N, batch=4):
    """Dense prefill of every prompt but its last token into caches [B, Hkv, N, D]."""
    c = model.c
    B = len(examples)
    n0 = len(examples[0].prompt) - 1
    assert all(len(e.prompt) - 1 == n0 for e in examples)
    caches = [(torch.zeros(B, c.num_key_value_heads, N, c.head_dim, dtype=torch.bfloat16, device=DEV),
               torch.zeros(B, c.num_key_value_heads, N, c.head_dim, dtype=torch.bfloat16, device=DEV))
              for _ in range(c.num_hidden_layers)]
    toks = torch.tensor(np.stack([e.prompt[:-1] for e in examples]), device=DEV)
    with torch.no_grad():
        for b in range(0, B, batch):
            kvs = model(toks[b:b + batch], return_kv=True, logits=False)
            for (kc, vc), (k, v) in zip(caches, kvs):
                kc[b:b + batch, :, :n0] = k
                vc[b:b + batch, :, :n0] = v
    return caches, n0


def dump_attention(torch, model, path, total=4096, seed=99):
    """q, K, V of every layer's KV head 0 (and its query heads) on one mqar sequence of
    ``total`` tokens, teacher-forced: K/V of all tokens and the queries at the positions
    of the 16 query keys (where the model retrieves). bf16 as uint16 bit patterns."""
    import tasks as T
    e = T.eval_examples("mqar", total - 2 * T.QUERIES + 1, 1, seed)[0]
    assert len(e.tokens) == total
    qpos = len(e.prompt) - 1 + 2 * np.arange(T.QUERIES)
    toks = torch.tensor(e.tokens[None], device=DEV)
    with torch.no_grad():
        kvs = model(toks, return_kv=True, logits=False, return_q=True)
    G = model.c.num_attention_heads // model.c.num_key_value_heads
    bits = lambda t: t.to(torch.bfloat16).contiguous().view(torch.int16).cpu().numpy().view(np.uint16)
    out = {"tokens": e.tokens.astype(np.int32), "query_positions": qpos.astype(np.int32),
           "answers": np.array(e.answers, np.int32)}
    for i, (k, v, q) in enumerate(kvs):
        out[f"k{i}"] = bits(k[0, 0])                      # [total, D]
        out[f"v{i}"] = bits(v[0, 0])
        out[f"q{i}"] = bits(q[0, :G, qpos].transpose(0, 1))  # [16, G, D]
    np.savez_compressed(path, **out)
    print(f"dumped q/K/V of {len(kvs)} layers to {path}", flush=True)


def check_against_transformers(torch, model, path):
    """Our decoder's logits equal transformers' Qwen3ForCausalLM on the same weights."""
    from transformers import Qwen3ForCausalLM
    hf = Qwen3ForCausalLM.from_pretrained(path, dtype=torch.float32).cuda().eval()
    ours = type(model)(model.c).cuda()
    ours.load_state_dict({k: v.float() for k, v in model.state_dict().items()})
    g = torch.Generator().manual_seed(0)
    toks = torch.randint(16, 1024, (2, 300), generator=g).cuda()
    with torch.no_grad():
        a = hf(toks).logits
        b = ours(toks)
    err = float((a - b).abs().max() / a.abs().max())
    del hf, ours
    return err


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", default="models/qwen3-retrieval", help="model directory (default models/qwen3-retrieval)")
    ap.add_argument("--libs", default="bench/acclibs", help="compiled multipole libraries (default bench/acclibs)")
    ap.add_argument("--out", help="directory for cells.jsonl (one line per cell) and the table")
    ap.add_argument("--table", metavar="DIR", help="print the table of the cells saved in DIR and exit")
    ap.add_argument("--tasks", default="mqar,passkey,chain",
                    help="comma list of mqar, passkey, chain and mqar<N> (MQAR with N pairs in the context, "
                         "16 <= N <= 128, still 16 queries: an evaluation-only variant; e.g. mqar64) "
                         "(default mqar,passkey,chain)")
    ap.add_argument("--lengths", default=",".join(map(str, LENGTHS)), help="prompt lengths (default 8192,16384,32768)")
    ap.add_argument("--count", type=int, default=64, help="examples per task and length (a multiple of the libraries' batch; default 64)")
    ap.add_argument("--chain-count", type=int, default=32, help="examples for chain (default 32)")
    ap.add_argument("--methods", default="all", help="'all' (default), 'oat' (defaults at 3 budgets, one knob at a time at 10%%), 'f32' (the defaults at 3 budgets, bf16 centroids, and the same with f32 centroids), or a comma list")
    ap.add_argument("--chain-methods", default="oat", help="methods for the chain task (default oat: it decodes 1213 steps)")
    ap.add_argument("--err-every", type=int, default=16, help="measure the attention error every N chain steps (default 16)")
    ap.add_argument("--seed", type=int, default=0, help="evaluation seed (default 0)")
    ap.add_argument("--dump", metavar="FILE.npz", help="also save q/K/V of every layer (KV head 0) on a 4096-token mqar sequence")
    ap.add_argument("--device", default="cuda", help="cuda (default), or cpu with CPU libraries (self-test)")
    ap.add_argument("--time-limit", type=float, default=540, help="stop starting new cells after this many seconds (default 540)")
    args = ap.parse_args()
    if args.table:
        print(table(args.table))
        return
    if not args.out:
        ap.error("--out is required (or --table DIR)")
    try:
        specs = {t: task_spec(t) for t in args.tasks.split(",")}
    except ValueError as e:
        ap.error(str(e))
    import torch
    import multipole as mp
    import tasks as T
    from model import load
    global DEV
    DEV = args.device
    os.makedirs(args.out, exist_ok=True)
    t_start = time.perf_counter()
    model = load(args.model, device=DEV)
    try:
        if DEV != "cuda":
            raise RuntimeError("skipped: the check runs on the GPU")  # a failure here is reported, not fatal: the accuracy run is worth keeping
        err = check_against_transformers(torch, model, args.model)
        verdict = "PASS" if err <= 1e-4 else "FAIL"
        msg = f"{verdict}: logits equal transformers' Qwen3ForCausalLM to {err:.1e} (max rel, f32)"
    except Exception as e:  # noqa: BLE001
        msg = f"FAIL: transformers could not run the model: {type(e).__name__}: {e}"
    print("decoder check:", msg, flush=True)
    open(os.path.join(args.out, "decoder_check.txt"), "w").write(msg + "\n")
    if args.dump:
        dump_attention(torch, model, args.dump)
    libs = {}

    def lib(b, r, w, l, f=0):
        name = lib_name(b, r, w, l, f)
        if name not in libs:
            m = mp.load(os.path.join(args.libs, name))
            libs[name] = m if DEV == "cuda" else CPULib(torch, m)
        return libs[name]

    def methods(spec):
        return (all_methods() if spec == "all" else one_at_a_time() if spec == "oat"
                else with_f32_centroids() if spec == "f32" else spec.split(","))

    shape = {a["role"]: a["shape"] for a in lib(10, 1, 0, 1).step_entry().args}
    Bl, N = shape["k"][0], shape["k"][2]   # batch and cache of the libraries
    print(f"libraries: batch {Bl}, cache {N} tokens", flush=True)
    for task, (family, pairs) in specs.items():
        count = args.chain_count if family == "chain" else args.count
        mlist = methods(args.chain_methods if family == "chain" else args.methods)
        for L in map(int, args.lengths.split(",")):
            for part in range(max(1, count // Bl)):
                ex = T.eval_examples(family, L, count, args.seed, pairs=pairs)[part * Bl:(part + 1) * Bl]
                caches, n0 = prefill(torch, model, ex, N)
                built = {}
                for m in mlist:
                    if time.perf_counter() - t_start > args.time_limit:
                        print(f"time limit: skipping {task}@{L} {m}", flush=True)
                        continue
                    kind, kv = parse(m)
                    if kind == "dense":
                        impl = Dense(torch)
                    elif kind == "oracle":
                        impl = Oracle(torch, kv["b"])
                    elif kind == "quest":
                        impl = Quest(torch, kv["b"])
                    else:
                        f = kv.get("f", 0)   # 1: centroids stored in f32 (another layout)
                        key = (kv["w"], kv["l"], f)
                        builder = lib(10, 1, kv["w"], kv["l"], f)
                        impl = Multipole(torch, lib(kv["b"], kv["r"], kv["w"], kv["l"], f), builder)
                        if key not in built:
                            # a pristine index per layout, never decoded with: every method
                            # starts from a copy (updates write the index in place)
                            t0 = time.perf_counter()
                            base = Multipole(torch, builder, builder)
                            base.reset(caches, n0)
                            if DEV == "cuda":
                                torch.cuda.synchronize()
                            built[key] = base
                            print(f"  index w{kv['w']} l{kv['l']} f{f} built in "
                                  f"{time.perf_counter() - t0:.2f}s", flush=True)
                        impl.clone_from(built[key])
                    cell = run_cell(torch, model, task, L, ex, caches, n0, m, impl, args,
                                    seed=args.seed * 1000 + part)
                    cell["part"] = part
                    with open(os.path.join(args.out, "cells.jsonl"), "a") as f:  # one file:
                        f.write(json.dumps(cell) + "\n")  # the device returns a limited count
                    print(f"{task}@{L} part {part} {m}: accuracy {cell['accuracy']:.3f} "
                          f"attn error {cell['attn_error']:.3e} ({cell['seconds']:.1f}s)", flush=True)
                del caches, built
                torch.cuda.empty_cache()
    print(table(args.out))


def table(d):
    """One row per method; per task and length: accuracy (and mean attention error)."""
    cells = [json.load(open(f)) for f in sorted(glob.glob(os.path.join(d, "*.json")))]  # run 3
    path = os.path.join(d, "cells.jsonl")
    if os.path.exists(path):
        cells += [json.loads(line) for line in open(path) if line.strip()]
    agg = {}
    for c in cells:
        a = agg.setdefault((c["method"], c["task"], c["length"]), [0, 0, 0.0, 0])
        a[0] += c["accuracy"] * c["examples"]; a[1] += c["examples"]
        a[2] += c["attn_error"] * c["examples"]; a[3] += c["examples"]
    def col_key(col):   # mqar, its mqar<N> variants by N, passkey, chain; then anything else
        t, L = col
        try:
            base, pairs = task_spec(t)
            return (("mqar", "passkey", "chain").index(base), pairs, t, L)
        except ValueError:
            return (3, 0, t, L)
    cols = sorted({(t, L) for _, t, L in agg}, key=col_key)
    order = {m: i for i, m in enumerate(all_methods())}
    meths = sorted({m for m, _, _ in agg}, key=lambda m: order.get(m, 999))
    kilo = lambda L: f"{L // 1024}K" if L % 1024 == 0 else str(L)
    head = "| method | " + " | ".join(f"{t} {kilo(L)}" for t, L in cols) + " |"
    lines = ["Task accuracy (attention error: relative L2 vs f64 dense, mean over layers and decode steps)", "",
             head, "|---" * (len(cols) + 1) + "|"]
    for m in meths:
        row = []
        for t, L in cols:
            a = agg.get((m, t, L))
            row.append("" if a is None else f"{a[0] / a[1]:.3f} ({a[2] / a[3]:.1e})")
        lines.append(f"| {m} | " + " | ".join(row) + " |")
    return "\n".join(lines)


if __name__ == "__main__":
    main()
